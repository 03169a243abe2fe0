"""Exact CSLS without the full hubness pass (align.search.bounded), the probe search behind it
(align.search.cells) and --approx: compared with the brute-force computation on random data."""
from __future__ import annotations

import json

import numpy as np
import pytest

from align import Dictionary, Embeddings, evaluate_bli, retrieve
from align.search import bounded
from align.search.cells import Cells
from conftest import run_cli, write_vec


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n_src: int, n_tgt: int, d: int = 24, n_clusters: int = 60, seed: int = 0):
    """Word-vector-like data: clusters with spread that grows with the row (rare words are noisier),
    a target for every source (the same word, perturbed), hubs and anti-hubs."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_clusters, d))
    z = rng.integers(n_clusters, size=max(n_src, n_tgt))
    spread = np.linspace(0.4, 1.6, max(n_src, n_tgt))[:, None]
    words = centers[z] + spread * rng.normal(size=(len(z), d))
    src = words[:n_src]
    tgt = words[:n_tgt] + 0.5 * rng.normal(size=(n_tgt, d))
    tgt[rng.choice(n_tgt, 20, replace=False)] *= 0.05  # near the origin after centring: hubs or anti-hubs
    tgt -= tgt.mean(axis=0)
    return _unit(src), _unit(tgt)


def full_csls(src: np.ndarray, tgt: np.ndarray, queries: np.ndarray, csls_k: int = 10) -> np.ndarray:
    """The brute-force CSLS matrix of the queries (float64, every hubness term from the full product)."""
    s, t = src.astype(np.float64), tgt.astype(np.float64)
    full = s @ t.T
    r_t = np.sort(full[queries], axis=1)[:, -csls_k:].mean(axis=1)
    r_s = np.sort(full, axis=0)[-csls_k:, :].mean(axis=0)
    return 2 * full[queries] - r_t[:, None] - r_s[None, :]


def assert_exact(scores: np.ndarray, ids: np.ndarray, ref: np.ndarray, k: int) -> None:
    """The brute-force top-k: the same ids except between float32 near-ties, the same scores."""
    ref_ids = np.argsort(-ref, axis=1, kind="stable")[:, :k]
    ref_scores = np.take_along_axis(ref, ref_ids, axis=1)
    np.testing.assert_allclose(scores, ref_scores, atol=2e-5)
    differ = ids != ref_ids
    got = np.take_along_axis(ref, ids, axis=1)
    assert np.all(np.abs(got - ref_scores)[differ] < 2e-5), "a rank differs beyond a float32 tie"
    assert differ.mean() < 0.01


@pytest.fixture(scope="module")
def space():
    return clustered(3000, 3500)


@pytest.mark.parametrize("n_queries,csls_k", [(150, 10), (150, 3), (3000, 10)])
def test_bounded_csls_equals_the_full_computation(space, n_queries, csls_k, monkeypatch):
    """Exact for a test dictionary and for every source as a query, computing r_S for few targets."""
    src, tgt = space
    queries = np.random.default_rng(1).permutation(len(src))[:n_queries]
    searched = []
    exact = bounded.exact_hubness
    monkeypatch.setattr(bounded, "exact_hubness",
                        lambda rows, base, k, **kw: searched.append(len(rows)) or exact(rows, base, k, **kw))
    scores, ids = bounded.csls_bounded(src, tgt, queries, 10, csls_k=csls_k)
    assert_exact(scores, ids, full_csls(src, tgt, queries, csls_k), 10)
    if n_queries < 1000:
        assert 0 < sum(searched) < len(tgt) // 2  # r_S was computed for a minority of the targets


@pytest.mark.parametrize("screen", [False, True])
def test_bounded_csls_second_pass_and_unstructured_data(monkeypatch, screen):
    """Queries whose kept upper bounds all reach τ get a second pass over the targets; random data
    without clusters (loose bounds) still gives the exact answer, with or without the bfloat16 screen."""
    monkeypatch.setattr(bounded, "screen_pays", lambda *a: screen)
    rng = np.random.default_rng(5)
    src, tgt = _unit(rng.normal(size=(1500, 16))), _unit(rng.normal(size=(1700, 16)))
    queries = rng.choice(1500, 80, replace=False)
    monkeypatch.setattr(bounded, "KEEP", 12)
    calls = []
    reaching = bounded._reaching
    monkeypatch.setattr(bounded, "_reaching", lambda *a: calls.append(len(a[0])) or reaching(*a))
    scores, ids = bounded.csls_bounded(src, tgt, queries, 10)
    assert calls and calls[0] > 0
    assert_exact(scores, ids, full_csls(src, tgt, queries), 10)


def test_screened_topk_equals_the_fp32_search():
    """The bfloat16 screen keeps every row's true top k (torch emulates bfloat16 where the CPU lacks it):
    with no floor (the screen's own k-th score), with lower bounds from k random base rows, and with
    rows whose floor is missing."""
    from align.search.screened import screened_topk
    from align.search.topk import faiss_knn

    rng = np.random.default_rng(0)
    src, tgt = _unit(rng.normal(size=(4000, 96))), _unit(rng.normal(size=(1200, 96)))  # dense top lists
    ref_v, ref_i = faiss_knn(tgt, src, 10)
    some = np.sort(rng.choice(len(src), (len(tgt), 10)), axis=1)
    floor = np.einsum("id,ikd->ik", tgt, src[some]).min(axis=1)  # the smallest of 10 exact products
    floor[::7] = -np.inf
    for f in (None, floor, ref_v[:, -1]):  # the last: the tightest floor there is
        v, i = screened_topk(tgt, src, 10, f)
        np.testing.assert_allclose(v, ref_v, atol=1e-5)
        differ = i != ref_i
        assert differ.mean() < 0.005
        exact = np.einsum("id,ikd->ik", tgt, src[i])
        np.testing.assert_allclose(exact, ref_v, atol=1e-5)  # a differing id is a float32 tie


def test_bounded_csls_through_the_screen(space, monkeypatch):
    """The bounded search with its exact hubness terms from the screen: the brute-force answer."""
    src, tgt = space
    queries = np.random.default_rng(2).permutation(len(src))[:200]
    monkeypatch.setattr(bounded, "screen_pays", lambda *a: True)
    import align.search.screened as screened

    calls = []
    real = screened.screened_topk
    monkeypatch.setattr(bounded, "screened_topk", lambda *a: calls.append(len(a[0])) or real(*a))
    scores, ids = bounded.csls_bounded(src, tgt, queries, 10)
    assert calls
    assert_exact(scores, ids, full_csls(src, tgt, queries), 10)


def test_retrieve_uses_the_bounded_search_on_large_spaces(space, monkeypatch):
    src, tgt = space
    queries = np.arange(0, 3000, 25)
    used = []
    import align.search.retrieval as retrieval

    monkeypatch.setattr(retrieval, "bounded_pays", lambda *a: True)
    monkeypatch.setattr(retrieval, "prune_pays", lambda *a: False)
    real = retrieval.csls_bounded
    monkeypatch.setattr(retrieval, "csls_bounded", lambda *a, **kw: used.append(kw.get("approx")) or real(*a, **kw))
    scores, ids = retrieve(src, tgt, queries, k=10, method="csls")
    assert used == [None]
    assert_exact(scores, ids, full_csls(src, tgt, queries), 10)
    assert not bounded.bounded_pays(1500, 20_000, 20_000) and bounded.bounded_pays(1500, 107_441, 200_000)


def test_cells_probing_every_cell_is_exact(space):
    src, tgt = space
    cells = Cells(src, 16, seed=3)
    assert sum(np.diff(cells.starts)) == len(src)
    vals, ids = cells.topk(tgt[:200], 7, nprobe=16)
    full = tgt[:200] @ src.T
    ref = np.sort(full, axis=1)[:, ::-1][:, :7]
    np.testing.assert_allclose(vals, ref, atol=1e-5)
    np.testing.assert_allclose(np.take_along_axis(full, ids, axis=1), vals, atol=1e-5)
    pen = np.linspace(0, 0.3, len(src)).astype(np.float32)
    pvals, pids = cells.topk(tgt[:200], 5, nprobe=16, penalty=pen)
    np.testing.assert_allclose(pvals, np.sort(full - pen, axis=1)[:, ::-1][:, :5], atol=1e-5)
    few, few_ids = cells.topk(tgt[:200], 7, nprobe=2)  # fewer cells: distinct real rows, lower values
    assert np.all(few <= vals + 1e-6) and all(len(set(r)) == 7 for r in few_ids.tolist())


def test_cells_unfilled_slots():
    base = _unit(np.random.default_rng(2).normal(size=(40, 8)))
    cells = Cells(base, 8, seed=0)
    vals, ids = cells.topk(base[:5], 30, nprobe=1)  # one cell holds fewer than 30 rows
    assert np.all(ids[~np.isfinite(vals)] == -1) and np.isneginf(vals).any()
    assert np.all(ids[np.isfinite(vals)] >= 0)


def test_approx_recall(space):
    src, tgt = space
    queries = np.arange(0, 3000, 10)
    exact = np.argsort(-full_csls(src, tgt, queries), axis=1)[:, :10]
    _, ids = bounded.csls_bounded(src, tgt, queries, 10, approx=True)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids.tolist(), exact.tolist())])
    assert 0.8 < recall <= 1.0
    _, many = bounded.csls_bounded(src, tgt, np.arange(3000), 10, approx=True)  # target cells for the queries
    exact_all = np.argsort(-full_csls(src, tgt, np.arange(3000)), axis=1)[:, :10]
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(many.tolist(), exact_all.tolist())]) > 0.6


def test_evaluate_and_cli_approx(tmp_path, space):
    src, tgt = space
    s_words, t_words = [f"s{i}" for i in range(len(src))], [f"t{i}" for i in range(len(tgt))]
    pairs = [(f"s{i}", f"t{i}") for i in range(0, 3000, 15)]
    d = Dictionary(pairs)
    res = evaluate_bli(Embeddings(s_words, src), Embeddings(t_words, tgt), d, "csls", approx=True)
    assert res.approx and res.to_dict()["approx"] is True and res.precision_at_10 > 50
    exact = evaluate_bli(Embeddings(s_words, src), Embeddings(t_words, tgt), d, "csls")
    assert not exact.approx and abs(exact.precision_at_1 - res.precision_at_1) < 10
    sp = write_vec(tmp_path / "s.vec", s_words, src)
    tp = write_vec(tmp_path / "t.vec", t_words, tgt)
    (tmp_path / "d.txt").write_text("".join(f"{a} {b}\n" for a, b in pairs))
    out = run_cli(["bli-eval", "--src-emb", sp, "--tgt-emb", tp, "--dico", tmp_path / "d.txt", "--approx", "--json"])
    assert out.exit_code == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["approx"] is True and got["n_queries"] == len(pairs)
