"""Retrieval (NN, CSLS, inverted softmax) against brute force, and the MUSE BLI protocol."""
from __future__ import annotations

import json

import numpy as np
import pytest

import align.search.retrieval
import align.search.topk
import align.space.normalize
from align.search import csls
from align import Dictionary, Embeddings, InputError, evaluate_bli, retrieve
from align.search.evaluate import bli_queries, precision_at
from conftest import run_cli, write_vec


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _orthogonal(d: int, rng) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))


# ---- brute-force references (float64, full matrices; small data only) -----------

def ref_nn(src, tgt, queries):
    return _unit(src)[queries] @ _unit(tgt).T


def ref_csls(src, tgt, queries, k=10):
    s, t = _unit(src), _unit(tgt)
    full = s @ t.T  # (V_src, V_tgt)
    r_t = np.sort(full, axis=1)[:, -k:].mean(axis=1)  # r_T(x): x's k nearest targets
    r_s = np.sort(full, axis=0)[-k:, :].mean(axis=0)  # r_S(y): y's k nearest sources
    return 2 * full[queries] - r_t[queries, None] - r_s[None, :]


def ref_isf(src, tgt, queries, beta=1.0):
    full = beta * (_unit(src) @ _unit(tgt).T)
    m = full.max(axis=0)
    log_z = m + np.log(np.exp(full - m).sum(axis=0))  # over all sources, for each target
    return full[queries] - log_z[None, :]


REFS = {"nn": ref_nn, "csls": ref_csls, "isf": ref_isf}


def assert_same_topk(scores, ids, ref_full, k, atol=1e-4):
    """Same top-k as the brute-force score matrix: indices equal (up to float32 near-ties), scores within atol."""
    assert scores.shape == ids.shape == (ref_full.shape[0], k)
    ref_ids = np.argsort(-ref_full, axis=1, kind="stable")[:, :k]
    ref_scores = np.take_along_axis(ref_full, ref_ids, axis=1)
    np.testing.assert_allclose(scores, ref_scores, atol=atol)
    got_under_ref = np.take_along_axis(ref_full, ids, axis=1)
    np.testing.assert_allclose(got_under_ref, scores, atol=atol)
    mismatch = ids != ref_ids
    assert mismatch.mean() < 0.01, f"{mismatch.sum()} of {mismatch.size} ranks differ"
    assert np.all(np.abs(got_under_ref - ref_scores)[mismatch] < 1e-5), "a rank differs beyond a float32 tie"
    assert all(len(set(row)) == k for row in ids.tolist())


@pytest.fixture(scope="module")
def small_problem():
    rng = np.random.default_rng(7)
    src = rng.normal(size=(300, 16)) * rng.uniform(0.5, 3.0, size=(300, 1))  # not unit length
    tgt = rng.normal(size=(280, 16)) * rng.uniform(0.5, 3.0, size=(280, 1))
    queries = rng.choice(300, size=60, replace=False)
    return src.astype(np.float32), tgt.astype(np.float32), queries


@pytest.mark.parametrize("method,kw", [("nn", {}), ("csls", {}), ("csls", {"csls_k": 3}),
                                       ("isf", {}), ("isf", {"isf_beta": 10.0}), ("isf", {"isf_beta": 30.0})])
def test_retrieve_matches_brute_force(small_problem, method, kw):
    src, tgt, queries = small_problem
    scores, ids = retrieve(src, tgt, queries, k=10, method=method, **kw)
    if method == "nn":
        ref = ref_nn(src, tgt, queries)
    elif method == "csls":
        ref = ref_csls(src, tgt, queries, k=kw.get("csls_k", 10))
    else:
        ref = ref_isf(src, tgt, queries, beta=kw.get("isf_beta", 1.0))
    assert_same_topk(scores, ids, ref, 10)


@pytest.mark.parametrize("csls_k", [10, 3])
def test_pruned_csls_equals_the_full_computation(csls_k, monkeypatch):
    """The pruned path (r_S only for targets that can rank) gives the brute-force CSLS top-k, also
    when hubs and anti-hubs make the lower bounds loose."""
    rng = np.random.default_rng(11)
    src = rng.normal(size=(2400, 12))
    tgt = rng.normal(size=(1800, 12))
    hubs = rng.choice(1800, 60, replace=False)
    tgt[hubs] += 3 * src[:60]  # targets close to many sources: large r_S
    queries = rng.choice(2400, size=60, replace=False)
    monkeypatch.setattr(csls, "PRUNE_SOURCES", 200)
    assert csls.prune_pays(60, 2400, 1800)
    exact_rows = []
    full_knn = csls.hubness

    def counting(q, base, k=10, **kw):
        if len(base) == 2400:  # an exact r_S over all sources
            exact_rows.append(len(q))
        return full_knn(q, base, k, **kw)

    monkeypatch.setattr(csls, "hubness", counting)
    scores, ids = retrieve(src.astype(np.float32), tgt.astype(np.float32), queries, k=10, method="csls",
                           csls_k=csls_k)
    assert 0 < sum(exact_rows) < 1800  # pruned: r_S was not computed for every target
    assert_same_topk(scores, ids, ref_csls(src, tgt, queries, k=csls_k), 10)


def test_unit_rows_copies_only_when_rows_are_not_unit():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 8)).astype(np.float32)
    before = x.copy()
    y = align.space.normalize.unit_rows(x)
    assert y is not x and np.allclose(np.linalg.norm(y, axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(x, before)  # the input is left as it was
    z = np.vstack([y, np.zeros((1, 8), np.float32)])
    assert align.space.normalize.unit_rows(z) is z  # unit rows (and zero rows) are used as they are


@pytest.mark.parametrize("method", ["nn", "csls", "isf"])
def test_retrieve_blocked_equals_unblocked(small_problem, method, monkeypatch):
    """Small query blocks (several top-k blocks, several partition blocks) change nothing."""
    src, tgt, queries = small_problem
    s0, i0 = retrieve(src, tgt, None, k=5, method=method)
    monkeypatch.setattr(align.search.retrieval, "BLOCK", 17)
    monkeypatch.setattr(align.search.topk, "BUFFER_SCORES", 17 * len(tgt))
    s1, i1 = retrieve(src, tgt, None, k=5, method=method)
    np.testing.assert_array_equal(i0, i1)
    np.testing.assert_allclose(s0, s1, atol=1e-5)
    assert s0.shape == (300, 5)


def test_retrieve_default_queries_and_small_target(small_problem):
    src, tgt, _ = small_problem
    scores, ids = retrieve(src, tgt[:4], None, k=10, method="nn")
    assert ids.shape == (300, 4)  # k is capped at the target vocabulary
    assert_same_topk(scores, ids, ref_nn(src, tgt[:4], np.arange(300)), 4)


def test_retrieve_rejects_bad_arguments(small_problem):
    src, tgt, queries = small_problem
    with pytest.raises(InputError, match="unknown retrieval"):
        retrieve(src, tgt, queries, method="cosine")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="dimension mismatch"):
        retrieve(src, tgt[:, :8], queries)


# ---- end-to-end BLI on synthetic spaces -----------------------------------------------

@pytest.fixture(scope="module")
def rotated():
    """source: 2000 Gaussian vectors; target = source @ R + small noise; true pairs as dictionary."""
    rng = np.random.default_rng(11)
    n, d = 2000, 50
    x = rng.normal(size=(n, d)).astype(np.float32)
    r = _orthogonal(d, rng).astype(np.float32)
    y = x @ r + 0.01 * rng.normal(size=(n, d)).astype(np.float32)
    src = Embeddings([f"s{i}" for i in range(n)], x)
    tgt = Embeddings([f"t{i}" for i in range(n)], y)
    dico = Dictionary([(f"s{i}", f"t{i}") for i in range(n)])
    return src, tgt, dico, r


@pytest.mark.parametrize("method", ["nn", "csls", "isf"])
def test_rotation_undone_is_perfect(rotated, method):
    src, tgt, dico, r = rotated
    res = evaluate_bli(src.with_vectors(src.vectors @ r), tgt, dico, method)
    assert res.precision_at_1 == 100.0 and res.precision_at_10 == 100.0
    assert res.n_queries == 2000 and res.coverage == 1.0 and res.retrieval == method


@pytest.mark.parametrize("method", ["nn", "csls", "isf"])
def test_rotation_not_undone_is_chance(rotated, method):
    src, tgt, dico, _ = rotated
    res = evaluate_bli(src, tgt, dico, method)
    assert res.precision_at_1 < 1.0 and res.precision_at_10 < 3.0
    assert res.n_queries == 2000


def test_csls_recovers_from_hubs():
    """Queries share a common direction; three target hubs lie on it. Each query's true
    translation is less similar to it (cos 0.69) than the hubs are (cos ~0.70), so NN maps
    every query to a hub; CSLS subtracts the hubs' high similarity to all sources."""
    rng = np.random.default_rng(3)
    n, d = 500, 300

    def off_axis(k):
        u = rng.normal(size=(k, d))
        u[:, 0] = 0
        return u / np.linalg.norm(u, axis=1, keepdims=True)

    m = np.zeros(d)
    m[0] = 1.0
    u, v = off_axis(n), off_axis(n)
    v -= (v * u).sum(axis=1, keepdims=True) * u
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    c = 0.38
    x = m + u
    y = m + c * u + np.sqrt(1 - c * c) * v
    hubs = m + 0.05 * off_axis(3)
    src = Embeddings([f"q{i}" for i in range(n)], x)
    tgt = Embeddings([f"y{i}" for i in range(n)] + ["hub0", "hub1", "hub2"], np.vstack([y, hubs]))
    dico = Dictionary([(f"q{i}", f"y{i}") for i in range(n)])

    nn = evaluate_bli(src, tgt, dico, "nn", keep_predictions=True)
    csls = evaluate_bli(src, tgt, dico, "csls", keep_predictions=True)
    assert nn.precision_at_1 < 5.0
    share_hub = np.mean([p[0].startswith("hub") for p in nn.predictions.values()])
    assert share_hub > 0.9  # NN's failure is hubness, not noise
    assert csls.precision_at_1 > 90.0
    assert not any(p[0].startswith("hub") for p in csls.predictions.values())


# ---- the MUSE protocol ------------------------------------------------------------

def test_precision_at_hand_made():
    ids = np.array([[3, 1, 2, 9, 8, 7, 6, 5, 4, 0],
                    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
                    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
                    [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]])
    gold = [{3}, {4, 7}, {0, 42}, {99}]
    p = precision_at(ids, gold)
    # query 0: rank 0; query 1: rank 4 (4 before 7); query 2: rank 9; query 3: never
    assert p == {1: 25.0, 5: 50.0, 10: 75.0}
    assert precision_at(ids, gold, ks=(2, 4)) == {2: 25.0, 4: 25.0}
    assert precision_at(np.zeros((0, 10), dtype=np.int64), []) == {1: 0.0, 5: 0.0, 10: 0.0}


@pytest.fixture
def circle(tmp_path):
    """Sources and targets on a circle: ranks follow angular distance, no ties."""
    def at(deg):
        r = np.deg2rad(np.asarray(deg, dtype=np.float64))
        return np.stack([np.cos(r), np.sin(r)], axis=1)

    tgt = Embeddings([f"t{i}" for i in range(20)], at(np.arange(20) * 15.0))
    src = Embeddings(["s0", "s1", "s2", "s3", "s4"], at([2.0, 47.0, 92.0, 137.0, 182.0]))
    dico_path = tmp_path / "circle.txt"
    dico_path.write_text(
        "s0 t5\ns0 t0\n"      # two golds; t0 is s0's nearest target: correct at 1
        "s1 t2\n"             # t2 is s1's 3rd nearest (t3, t4, t2): correct at 5, not at 1
        "s2 t11\n"            # 10th nearest: correct at 10 only
        "s3 t0\n"             # far away: never correct
        "s1 inconnu\n"        # unknown target: dropped, s1 still a query through its known gold
        "zz t1\n"             # unknown source
        "s0 t0\n")            # repeated pair: kept once
    return src, tgt, Dictionary.load(dico_path)


def test_muse_protocol_aggregates_by_source(circle):
    src, tgt, dico = circle
    rows, gold, cov = bli_queries(src, tgt, dico)
    assert [src.words[i] for i in rows] == ["s0", "s1", "s2", "s3"]
    assert [sorted(tgt.words[j] for j in g) for g in gold] == [["t0", "t5"], ["t2"], ["t11"], ["t0"]]
    res = evaluate_bli(src, tgt, dico, "nn", keep_predictions=True)
    assert res.n_queries == 4  # distinct sources, not pairs
    assert (res.precision_at_1, res.precision_at_5, res.precision_at_10) == (25.0, 50.0, 75.0)
    assert res.predictions["s1"][:3] == ["t3", "t4", "t2"]
    assert res.predictions["s0"][0] == "t0"
    assert res.coverage_detail == {"pairs": 7, "kept": 5, "dropped_src": 1, "dropped_tgt": 1,
                                   "sources": 4, "coverage": round(5 / 7, 6)}
    assert res.coverage == round(5 / 7, 6)


def test_coverage_counts():
    src = Embeddings(["a", "b", "c"], np.eye(3))
    tgt = Embeddings(["x", "y"], np.eye(3)[:2])
    dico = Dictionary([("a", "x"), ("a", "y"), ("b", "q"), ("q", "x"), ("q", "q"), ("c", "y")])
    cov = dico.coverage(src, tgt)
    # a source missing from the source vocabulary counts as dropped_src even if its target is missing too
    assert (cov.pairs, cov.kept, cov.dropped_src, cov.dropped_tgt, cov.sources) == (6, 3, 2, 1, 2)
    assert cov.ratio == pytest.approx(0.5)
    assert dico.indices(src, tgt).tolist() == [[0, 0], [0, 1], [2, 1]]


def test_exclude_identical():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6, 4))
    src = Embeddings(["paris", "chat", "berlin", "tokyo", "chien", "x"], x)
    tgt = Embeddings(["paris", "kissa", "berlin", "tokio", "koira", "y"], x)
    dico = Dictionary([("paris", "paris"), ("chat", "kissa"), ("berlin", "berlin"), ("tokyo", "tokio"),
                       ("chien", "koira")])
    full = evaluate_bli(src, tgt, dico, "nn")
    excl = evaluate_bli(src, tgt, dico, "nn", exclude_identical=True, keep_predictions=True)
    assert full.n_queries == 5 and excl.n_queries == 3
    assert set(excl.predictions) == {"chat", "tokyo", "chien"}
    assert excl.precision_at_1 == 100.0
    only_identical = Dictionary([("paris", "paris"), ("berlin", "berlin")])
    assert evaluate_bli(src, tgt, only_identical, "nn").n_queries == 2
    with pytest.raises(InputError, match="no dictionary pair"):
        evaluate_bli(src, tgt, only_identical, "nn", exclude_identical=True)


def test_evaluate_rejects_dimension_mismatch_and_unknown_method():
    a = Embeddings(["a"], np.ones((1, 3)))
    b = Embeddings(["a"], np.ones((1, 4)))
    with pytest.raises(InputError, match="dimension mismatch"):
        evaluate_bli(a, b, Dictionary([("a", "a")]))
    with pytest.raises(InputError, match="unknown retrieval"):
        evaluate_bli(a, a, Dictionary([("a", "a")]), "cosine")


# ---- the command line ----------------------------------------------------------------

JSON_KEYS = {"precision_at_1", "precision_at_5", "precision_at_10", "coverage", "n_queries", "retrieval", "device"}


@pytest.fixture
def cli_space(tmp_path, rotated):
    src, tgt, _, r = rotated
    n = 300
    s = write_vec(tmp_path / "src.vec", src.words[:n], src.vectors[:n] @ r)
    t = write_vec(tmp_path / "tgt.vec.gz", tgt.words[:n], tgt.vectors[:n])
    dico = tmp_path / "test.txt"
    dico.write_text("".join(f"s{i} t{i}\n" for i in range(0, n, 3)) + "s1 t_unknown\n")
    return s, t, dico


@pytest.mark.parametrize("method", ["nn", "csls", "isf"])
def test_cli_json(cli_space, method):
    s, t, dico = cli_space
    res = run_cli(["bli-eval", "--src-emb", s, "--tgt-emb", t, "--dico", dico, "--retrieval", method, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert JSON_KEYS <= set(out)
    assert out["retrieval"] == method
    assert out["precision_at_1"] == 100.0 and out["precision_at_10"] == 100.0
    assert out["n_queries"] == 100
    assert out["coverage"] == round(100 / 101, 6)
    assert out["coverage_detail"]["dropped_tgt"] == 1
    assert "cpu" in out["device"] or "cuda" in out["device"]


def test_cli_json_all_and_table(cli_space):
    s, t, dico = cli_space
    res = run_cli(["bli-eval", "--src-emb", s, "--tgt-emb", t, "--dico", dico, "--retrieval", "all", "--json", "-q"])
    assert res.exit_code == 0, res.output
    assert res.stderr == ""  # --quiet: no progress bars
    out = json.loads(res.stdout)["results"]
    assert set(out) == {"nn", "csls", "isf"}
    assert all(JSON_KEYS <= set(r) and r["precision_at_1"] == 100.0 for r in out.values())
    table = run_cli(["bli-eval", "--src-emb", s, "--tgt-emb", t, "--dico", dico, "--retrieval", "csls", "-q"])
    assert table.exit_code == 0
    assert "P@1" in table.stdout and "csls" in table.stdout and "100.00" in table.stdout
    assert "101 pairs, 100 kept (0 unknown source, 1 unknown target)" in table.stdout


def test_cli_exclude_identical(tmp_path):
    x = np.random.default_rng(0).normal(size=(4, 5))
    s = write_vec(tmp_path / "s.vec", ["paris", "chat", "berlin", "chien"], x)
    t = write_vec(tmp_path / "t.vec", ["paris", "kissa", "berlin", "koira"], x)
    dico = tmp_path / "d.txt"
    dico.write_text("paris paris\nchat kissa\nberlin berlin\nchien koira\n")
    base = ["bli-eval", "--src-emb", s, "--tgt-emb", t, "--dico", dico, "--json", "-q", "--retrieval", "nn"]
    assert json.loads(run_cli(base).stdout)["n_queries"] == 4
    res = run_cli(base + ["--exclude-identical"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["n_queries"] == 2


def test_cli_dimension_mismatch_is_one_line(tmp_path):
    rng = np.random.default_rng(0)
    s = write_vec(tmp_path / "s.vec", ["a", "b"], rng.normal(size=(2, 4)))
    t = write_vec(tmp_path / "t.vec", ["a", "b"], rng.normal(size=(2, 3)))
    dico = tmp_path / "d.txt"
    dico.write_text("a a\n")
    res = run_cli(["bli-eval", "--src-emb", s, "--tgt-emb", t, "--dico", dico])
    assert res.exit_code == 2
    assert len(res.stderr_lines()) == 1 and res.stderr.startswith("error: ")
    assert "dimension mismatch" in res.stderr and "Traceback" not in res.output


def test_cli_usage_error_exit_code(cli_space):
    s, t, dico = cli_space
    res = run_cli(["bli-eval", "--src-emb", s, "--tgt-emb", t, "--dico", dico, "--retrieval", "cosine"])
    assert res.exit_code == 2
    assert "Invalid value" in res.stderr and "Traceback" not in res.output


@pytest.mark.parametrize("preset,expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_import_sets_passive_openmp_wait_unless_chosen(preset, expected):
    """Importing align makes faiss's OpenMP threads wait passively, but keeps a policy the user set."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if preset:
        env["OMP_WAIT_POLICY"] = preset
    out = subprocess.run([sys.executable, "-c", "import os, align; print(os.environ['OMP_WAIT_POLICY'])"],
                         env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert out == expected
