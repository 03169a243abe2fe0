"""A filter for self-learning: keep induced pairs whose target word looks like a seed target.

Why: refinement drifts. On fr→fi the induced pairs slide from the base forms that a
dictionary lists towards inflected forms that sit close to them in the space (Finnish has
many), and each refit on them moves the map further from the test dictionary's kind of word.
The seed dictionary says what kind of target word a translation is. A logistic classifier
on the target vectors learns that from the seeds: positives are the seed targets, negatives
random other frequent target words. An induced pair is kept when its target scores at least
the `percentile`-th percentile of the seed targets' own scores. Only the seeds are used,
never a test dictionary.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError

NEGATIVE_POOL = 20000  # negatives are drawn among this many most frequent target words
NEGATIVES_PER_SEED = 3


def seed_likeness(Y: np.ndarray, positives: np.ndarray, *, seed: int = 0, iterations: int = 300,
                  lr: float = 0.5, l2: float = 1e-3) -> np.ndarray:
    """Score of every row of Y (higher: more like the rows in `positives`), a linear logistic model.

    Full-batch gradient descent from zero for a fixed number of steps (deterministic, and the
    early stop regularises along with `l2`); negatives are drawn with `seed`.
    """
    positives = np.unique(np.asarray(positives, dtype=np.int64))
    if len(positives) == 0:
        raise InputError("the seed-likeness filter needs at least one seed target")
    pool = np.setdiff1d(np.arange(min(NEGATIVE_POOL, len(Y))), positives)
    n_neg = min(len(pool), NEGATIVES_PER_SEED * len(positives))
    if n_neg == 0:
        raise InputError("the seed-likeness filter needs target words that are not seed targets")
    rng = np.random.default_rng(seed)
    negatives = rng.choice(pool, n_neg, replace=False)
    # float32 steps: faster than float64, with scores that agree to far below the percentile's resolution
    F = np.vstack([Y[positives], Y[negatives]]).astype(np.float32)
    labels = np.r_[np.ones(len(positives)), np.zeros(n_neg)].astype(np.float32)
    w = np.zeros(F.shape[1], dtype=np.float32)
    b = 0.0
    from ..device import small_linalg

    with small_linalg():  # hundreds of small matrix-vector products: BLAS threads only wait on each other
        for _ in range(iterations):
            p = 1.0 / (1.0 + np.exp(-(F @ w + b)))
            g = p - labels
            w -= lr * (F.T @ g / len(labels) + l2 * w)
            b -= lr * float(g.mean())
    return np.asarray(Y, dtype=np.float64) @ w.astype(np.float64) + b


def seed_like_mask(Y: np.ndarray, positives: np.ndarray, percentile: float, *, seed: int = 0) -> np.ndarray:
    """Boolean mask over the rows of Y: score ≥ the `percentile`-th percentile of the positives' scores."""
    if not 0 <= percentile <= 100:
        raise InputError(f"the filter percentile must be within 0..100, got {percentile}")
    scores = seed_likeness(Y, positives, seed=seed)
    threshold = np.quantile(scores[np.unique(positives)], percentile / 100.0)
    return scores >= threshold
