"""The numeric code a GPU runs (align.backend's torch backend), run here on the CPU against the numpy backend.

CI has no GPU; these keep the torch side of every backend-written computation tested (same results)."""
from __future__ import annotations

import numpy as np

from align.aligners.procrustes import procrustes
from align.aligners.rcsls import RCSLSAligner
from align.aligners.unsupervised import sorted_similarity_signature
from align.backend import get_backend, torch_backend
from align.search.retrieval import log_partition
from align.search.topk import row_col_topk
from align.store.dictionary import Dictionary
from align.store.vectors import Embeddings

NP, TORCH = get_backend("cpu"), torch_backend("cpu")


def test_torch_row_col_topk_matches_the_numpy_pass():
    rng = np.random.default_rng(0)
    Q, B = rng.normal(size=(530, 12)).astype(np.float32), rng.normal(size=(410, 12)).astype(np.float32)
    for cols in (True, False):
        ref = row_col_topk(Q, B, 6, cols=cols, block=100, xp=NP)
        got = row_col_topk(Q, B, 6, cols=cols, block=100, xp=TORCH)  # several blocks, a ragged last one
        for a, b in zip(ref, got):
            if a is None:
                assert b is None
            elif a.dtype == np.int64:
                assert b.dtype == np.int64 and np.array_equal(a, b)
            else:
                np.testing.assert_allclose(a, b, atol=1e-5)


def test_torch_procrustes_matches_numpy():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(200, 20)).astype(np.float32), rng.normal(size=(200, 20)).astype(np.float32)
    w = rng.random(200)
    np.testing.assert_allclose(procrustes(X, Y, xp=TORCH), procrustes(X, Y, xp=NP), atol=1e-5)
    np.testing.assert_allclose(procrustes(X, Y, w, xp=TORCH), procrustes(X, Y, w, xp=NP), atol=1e-5)
    W = procrustes(X, Y, xp=NP)
    np.testing.assert_allclose(W @ W.T, np.eye(20), atol=1e-5)


def test_torch_signature_matches_numpy():
    X = np.random.default_rng(2).normal(size=(150, 10)).astype(np.float32)
    np.testing.assert_allclose(sorted_similarity_signature(X, xp=TORCH), sorted_similarity_signature(X, xp=NP),
                               atol=1e-4)


def test_torch_rcsls_descent_matches_numpy():
    """The RCSLS loop, written once, gives the same map and loss curve on both backends."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 16)).astype(np.float32)
    R = np.linalg.qr(rng.normal(size=(16, 16)))[0].astype(np.float32)
    Y = X @ R + 0.3 * rng.normal(size=X.shape).astype(np.float32)
    src = Embeddings([f"s{i}" for i in range(300)], X)
    tgt = Embeddings([f"t{i}" for i in range(300)], Y)
    seeds = Dictionary([(f"s{i}", f"t{i}") for i in range(120)])
    from align.aligners.base import prepare

    aligner = RCSLSAligner(epochs=6, lr=1.0, k=5)
    p = prepare(src, tgt, seeds, aligner.normalize)
    W0 = procrustes(p.X[p.pairs[:, 0]], p.Y[p.pairs[:, 1]], xp=NP)
    W_np, h_np = aligner._descend(p, W0, NP)
    W_t, h_t = aligner._descend(p, W0, TORCH)
    np.testing.assert_allclose(W_t, W_np, atol=1e-4)
    np.testing.assert_allclose([h["loss"] for h in h_t], [h["loss"] for h in h_np], atol=1e-4)


def test_torch_log_partition_matches_numpy(monkeypatch):
    rng = np.random.default_rng(4)
    T, S = rng.normal(size=(70, 8)).astype(np.float32), rng.normal(size=(90, 8)).astype(np.float32)
    import align.search.retrieval as retrieval

    ref = log_partition(T, S, 2.0)
    monkeypatch.setattr(retrieval, "get_backend", lambda: TORCH)
    np.testing.assert_allclose(log_partition(T, S, 2.0), ref, atol=1e-4)
    brute = np.log(np.exp(2.0 * T.astype(np.float64) @ S.T.astype(np.float64)).sum(axis=1))
    np.testing.assert_allclose(ref, brute, atol=1e-4)
