"""The torch code that runs on a GPU, run here on the CPU against the numpy path a CPU run takes.

CI has no GPU; these keep the GPU branches' logic tested (same results as the CPU branches)."""
from __future__ import annotations

import numpy as np

from align.aligners.procrustes import _procrustes_torch, procrustes
from align.aligners.unsupervised import _signature_torch, sorted_similarity_signature
from align.similarity import _row_col_topk_torch, row_col_topk


def test_torch_row_col_topk_matches_the_numpy_pass():
    rng = np.random.default_rng(0)
    Q, B = rng.normal(size=(530, 12)).astype(np.float32), rng.normal(size=(410, 12)).astype(np.float32)
    for cols in (True, False):
        ref = row_col_topk(Q, B, 6, cols=cols, block=100)
        got = _row_col_topk_torch(Q, B, 6, 6, cols, 100, "cpu")  # several blocks, a ragged last one
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
    np.testing.assert_allclose(_procrustes_torch(X, Y, None, "cpu"), procrustes(X, Y), atol=1e-5)
    np.testing.assert_allclose(_procrustes_torch(X, Y, w, "cpu"), procrustes(X, Y, w), atol=1e-5)


def test_torch_signature_matches_numpy():
    X = np.random.default_rng(2).normal(size=(150, 10)).astype(np.float32)
    np.testing.assert_allclose(_signature_torch(X, "cpu"), sorted_similarity_signature(X), atol=1e-4)
