"""Seedless alignment (issue 4): built point clouds that are rotations of each other are aligned,
unrelated clouds are reported as failed (exit code 3), and restarts are reproducible."""
from __future__ import annotations

import json

import numpy as np
import pytest

from align.aligners.unsupervised import UnsupervisedAligner, initial_dictionary, sorted_similarity_signature
from align.store.vectors import Embeddings
from align.errors import AlignmentFailed
from align.space.normalize import Normalizer

from conftest import run_cli, write_vec

N, DIM = 800, 32


def cloud(seed: int, n: int = N, dim: int = DIM) -> np.ndarray:
    """A non-uniform cloud: Gaussian clusters of different sizes and spreads, plus a heavy-tailed scale."""
    rng = np.random.default_rng(seed)
    k = 12
    centers = rng.normal(size=(k, dim)) * 2.0
    sizes = rng.dirichlet(np.ones(k) * 0.7)
    which = rng.choice(k, size=n, p=sizes)
    spread = rng.uniform(0.3, 1.5, size=k)
    x = centers[which] + rng.normal(size=(n, dim)) * spread[which, None]
    x *= rng.lognormal(0.0, 0.3, size=(n, 1))
    return x.astype(np.float32)


def rotated_pair(seed: int = 0, noise: float = 0.05) -> tuple[Embeddings, Embeddings, np.ndarray]:
    """Source cloud, its noisy rotation with the frequency order shuffled within windows of 8, and the truth."""
    rng = np.random.default_rng(seed + 100)
    x = cloud(seed)
    q, _ = np.linalg.qr(rng.normal(size=(DIM, DIM)))
    y = x @ q + noise * rng.normal(size=x.shape) * np.linalg.norm(x, axis=1, keepdims=True) / np.sqrt(DIM)
    order = np.argsort(np.arange(N) + rng.uniform(0, 8, size=N))  # noisy frequency ranks
    y = y[order]
    truth = np.argsort(order)  # source row i is target row truth[i]
    src = Embeddings([f"s{i}" for i in range(N)], x)
    tgt = Embeddings([f"t{j}" for j in range(N)], y.astype(np.float32))
    return src, tgt, truth


SMALL = dict(init_vocab=500, start_vocab=300, vocab=N, refine_vocab=N)


def p_at_1(mapping, src: Embeddings, tgt: Embeddings, truth: np.ndarray) -> float:
    """Share of source words whose cosine nearest target is the true one."""
    s = mapping.transform(src.vectors)
    t = mapping.normalize_target(tgt).vectors
    s /= np.linalg.norm(s, axis=1, keepdims=True)
    t = t / np.linalg.norm(t, axis=1, keepdims=True)
    return float(np.mean((s @ t.T).argmax(axis=1) == truth))


def test_signature_is_rotation_invariant():
    x = Normalizer().fit_transform(cloud(1)[:300])
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(DIM, DIM)))
    a = sorted_similarity_signature(x)
    b = sorted_similarity_signature((x @ q).astype(np.float32))
    assert np.allclose(a, b, atol=1e-4)


def test_initial_dictionary_finds_true_pairs():
    src, tgt, truth = rotated_pair()
    X, Y = Normalizer().fit_transform(src.vectors), Normalizer().fit_transform(tgt.vectors)
    pairs = initial_dictionary(X, Y, n=500)
    right = np.mean(truth[pairs[:, 0]] == pairs[:, 1])
    assert right > 0.1  # far above chance (1/600): enough for self-learning to take over


def test_rotation_is_recovered_without_seeds():
    src, tgt, truth = rotated_pair()
    aligner = UnsupervisedAligner(**SMALL, seed=0)
    mapping = aligner.fit(src, tgt)
    assert p_at_1(mapping, src, tgt, truth) == 1.0
    assert not aligner.failed_
    assert aligner.distinctiveness_ - aligner.null_ > 0.04
    assert mapping.is_orthogonal()
    assert len(aligner.restarts_) == 1 and aligner.induced_ is not None


def test_unrelated_clouds_fail():
    src = Embeddings([f"s{i}" for i in range(N)], cloud(3))
    tgt = Embeddings([f"t{i}" for i in range(N)], cloud(4))
    aligner = UnsupervisedAligner(**SMALL, restarts=2, seed=0)
    aligner.fit(src, tgt)
    assert aligner.failed_
    assert len(aligner.restarts_) == 2


def test_restarts_stop_at_the_first_that_converges():
    """`restarts` is the most runs: a converged run ends the search unless every restart is asked for;
    on unrelated clouds no run converges, so all are run and the result is failed."""
    src, tgt, truth = rotated_pair()
    first = UnsupervisedAligner(**SMALL, restarts=3, seed=0)
    m = first.fit(src, tgt)
    assert first.restarts_converged_ == [True] and len(first.restarts_) == 1 and not first.failed_
    assert p_at_1(m, src, tgt, truth) == 1.0 and m.info["restarts_converged"] == [True]
    every = UnsupervisedAligner(**SMALL, restarts=3, seed=0, stop_when_converged=False)
    every.fit(src, tgt)
    assert every.restarts_converged_ == [True, True, True] and every.restarts_[0] == first.restarts_[0]
    noise = UnsupervisedAligner(**SMALL, restarts=3, seed=0)
    noise.fit(Embeddings([f"s{i}" for i in range(N)], cloud(3)), Embeddings([f"t{i}" for i in range(N)], cloud(4)))
    assert noise.restarts_converged_ == [False, False, False] and noise.failed_


def test_restarts_reproducible_and_best_kept():
    src, tgt, _ = rotated_pair(seed=2)
    a = UnsupervisedAligner(**SMALL, restarts=2, seed=7, citation_refine=5)
    m1 = a.fit(src, tgt)
    b = UnsupervisedAligner(**SMALL, restarts=2, seed=7, citation_refine=5)
    m2 = b.fit(src, tgt)
    assert a.restarts_ == b.restarts_
    assert np.array_equal(m1.W, m2.W)
    assert a.best_restart_ == int(np.argmax(a.restarts_))
    # the citation refit moves the kept map, so its criterion is judged again; without it, the kept run's stays
    c = UnsupervisedAligner(**SMALL, restarts=2, seed=7)
    c.fit(src, tgt)
    assert c.restarts_ == a.restarts_ and c.citation_history_ == [] and len(a.citation_history_) == 5
    assert c.criterion_ == pytest.approx(max(c.restarts_), abs=1e-6)


def _write_pair(tmp_path, src: Embeddings, tgt: Embeddings, truth: np.ndarray | None = None):
    s = write_vec(tmp_path / "src.vec", src.words, src.vectors)
    t = write_vec(tmp_path / "tgt.vec", tgt.words, tgt.vectors)
    d = None
    if truth is not None:
        d = tmp_path / "test.txt"
        d.write_text("".join(f"{src.words[i]} {tgt.words[truth[i]]}\n" for i in range(0, N, 3)))
    return s, t, d


CLI_SMALL = ["--init-vocab", "500", "--start-vocab", "300", "--vocab", str(N), "--refine-vocab", str(N)]


def test_cli_unsupervised_success(tmp_path):
    src, tgt, truth = rotated_pair()
    s, t, d = _write_pair(tmp_path, src, tgt, truth)
    out = tmp_path / "out"
    res = run_cli(["unsupervised", "xx", "yy", "--src-emb", s, "--tgt-emb", t, "--dico-eval", d, "--output", out,
                   "--restarts", "2", "--all-restarts", "--seed", "3", "--citation-refine", "5", "--json", "-q",
                   *CLI_SMALL])
    assert res.exit_code == 0, res.stderr
    m = json.loads(res.stdout)
    assert m["failed"] is False
    assert m["eval"]["csls"]["precision_at_1"] == 100.0 and m["eval"]["nn"]["precision_at_1"] == 100.0
    assert len(m["restarts"]) == 2 and m["restarts"][m["best_restart"]] == max(m["restarts"])
    assert len(m["restarts_converged"]) == 2 and m["restarts_converged"][m["best_restart"]]
    assert len(m["citation_history"]) == 5  # the citation refits ran on the kept map
    assert {"seconds", "device", "criterion", "distinctiveness", "null_distinctiveness"} <= set(m)
    for name in ("W.npy", "mapping.json", "xx.mapped.vec", "induced.txt", "metrics.json"):
        assert (out / name).exists(), name
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["failed"] is False and saved["restarts"] == m["restarts"]
    # the same seed gives the same restarts
    res2 = run_cli(["unsupervised", "xx", "yy", "--src-emb", s, "--tgt-emb", t, "--restarts", "2", "--seed", "3",
                    "--all-restarts", "--json", "-q", *CLI_SMALL])
    assert res2.exit_code == 0 and json.loads(res2.stdout)["restarts"] == m["restarts"]
    assert json.loads(res2.stdout)["citation_history"] == []  # not asked for
    assert "eval" not in json.loads(res2.stdout)  # --dico-eval is optional


def test_cli_unsupervised_failure_exit_code(tmp_path):
    src = Embeddings([f"s{i}" for i in range(N)], cloud(3))
    tgt = Embeddings([f"t{i}" for i in range(N)], cloud(4))
    s, t, _ = _write_pair(tmp_path, src, tgt)
    out = tmp_path / "out"
    res = run_cli(["unsupervised", "xx", "yy", "--src-emb", s, "--tgt-emb", t, "--output", out, "--json", "-q",
                   *CLI_SMALL])
    assert res.exit_code == AlignmentFailed.exit_code == 3
    m = json.loads(res.stdout)
    assert m["failed"] is True and "criterion" in m
    assert "did not converge" in res.stderr
    assert json.loads((out / "metrics.json").read_text())["failed"] is True
    # text output also reports the figures before failing
    res = run_cli(["unsupervised", "xx", "yy", "--src-emb", s, "--tgt-emb", t, "-q", *CLI_SMALL])
    assert res.exit_code == 3 and "criterion" in res.stdout


def test_cli_adversarial_small(tmp_path):
    src, tgt, truth = rotated_pair()
    s, t, d = _write_pair(tmp_path, src, tgt, truth)
    res = run_cli(["adversarial", "xx", "yy", "--src-emb", s, "--tgt-emb", t, "--dico-eval", d, "--epochs", "1",
                   "--epoch-size", "640", "--refine", "1", "--json", "-q", "--seed", "1"])
    assert res.exit_code in (0, 3), res.stderr
    m = json.loads(res.stdout)
    assert m["failed"] is (res.exit_code == 3)
    # the verdict agrees with what the test dictionary says of the map, whichever it is
    assert m["failed"] is (m["eval"]["csls"]["precision_at_1"] < 50.0), m["eval"]["csls"]
    assert len(m["restarts"]) == 1 and "csls" in m["eval"]
