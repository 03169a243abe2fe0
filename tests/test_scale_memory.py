"""Large matrices are normalised in blocks, with the values of a one-shot normalisation."""
from __future__ import annotations

import numpy as np

from align.space import normalize


def test_normalize_rows_in_blocks_equals_one_shot(monkeypatch):
    x = np.random.default_rng(3).normal(size=(1000, 17)).astype(np.float32) * 3
    x[7] = 0
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    monkeypatch.setattr(normalize, "NORM_ROWS", 64)
    got = normalize.normalize_rows(x)
    np.testing.assert_array_equal(got, x / norms)
    assert not np.shares_memory(got, x) and np.all(got[7] == 0)
