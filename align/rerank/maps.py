"""The cheap candidate maps the reranker fits on each cross-fitting fold and on all seeds.

Each map is fitted on normalised matrices and seed rows and returns (W_src, W_tgt or None); the shared
space is (X W_src, Y W_tgt). One name per map, so a saved reranker records which it used.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..aligners.multistep import multistep
from ..aligners.procrustes import procrustes
from ..errors import InputError

REFINE_ROUNDS = 3
REFINE_VOCAB = 8000
RCSLS_EPOCHS = 10
RCSLS_NEGATIVES = 20000

MapFit = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, "np.ndarray | None"]]


def _procrustes(X: np.ndarray, Y: np.ndarray, pairs: np.ndarray):
    return procrustes(X[pairs[:, 0]], Y[pairs[:, 1]]), None


def _multistep(X: np.ndarray, Y: np.ndarray, pairs: np.ndarray):
    """VecMap's supervised mapping: whiten, orthogonal map, re-weight by S^0.5, de-whiten."""
    A, B = X[pairs[:, 0]], Y[pairs[:, 1]]
    if len(A) < A.shape[1]:  # too few pairs to whiten: the re-weighted orthogonal map alone
        return multistep(A, B, whiten=False, reweight=0.5)
    return multistep(A, B, whiten=True, reweight=0.5)


def _rcsls(X: np.ndarray, Y: np.ndarray, pairs: np.ndarray):
    """A short RCSLS run (few epochs, negatives among the most frequent words), from Procrustes."""
    from ..aligners.rcsls import RCSLSAligner

    W0 = procrustes(X[pairs[:, 0]], Y[pairs[:, 1]])
    W, _ = RCSLSAligner(epochs=RCSLS_EPOCHS, max_neg=RCSLS_NEGATIVES).descend(X, Y, pairs, W0)
    return W, None


def _refined(X: np.ndarray, Y: np.ndarray, pairs: np.ndarray):
    """The multi-step map refined by REFINE_ROUNDS rounds of self-learning (mutual CSLS pairs among the
    REFINE_VOCAB most frequent words, added to the seeds); the round with the best unsupervised criterion
    is kept, as `ProcrustesAligner` does."""
    from ..search.induction import induce

    W, Wt = _multistep(X, Y, pairs)
    best = (-np.inf, W, Wt)
    Xr, Yr = X[:REFINE_VOCAB], Y[:REFINE_VOCAB]
    for it in range(REFINE_ROUNDS + 1):
        ind = induce(Xr @ W, Yr @ Wt, max_rank=REFINE_VOCAB, mode="mutual")
        if ind.criterion > best[0]:
            best = (ind.criterion, W, Wt)
        if it == REFINE_ROUNDS:
            break
        W, Wt = _multistep(X, Y, np.unique(np.vstack([pairs, ind.pairs]), axis=0))
    return best[1], best[2]


MAPS: dict[str, MapFit] = {"procrustes": _procrustes, "multistep": _multistep, "refined": _refined,
                           "rcsls": _rcsls}


def parse_maps(spec) -> tuple[str, ...]:
    """'procrustes,multistep' (commas or spaces) or a sequence of names -> a tuple of known map names (order kept, no repeats)."""
    names = spec.replace(",", " ").split() if isinstance(spec, str) else [str(s) for s in spec]
    names = list(dict.fromkeys(n for n in names if n))
    if not names:
        raise InputError("the reranker needs at least one candidate map")
    unknown = [n for n in names if n not in MAPS]
    if unknown:
        raise InputError(f"unknown candidate map {unknown[0]!r}; choose from {', '.join(MAPS)}")
    return tuple(names)


def fit_map(name: str, X: np.ndarray, Y: np.ndarray, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Fit the map `name` on the seed rows `pairs` ((source row, target row), int64)."""
    W, Wt = MAPS[name](X, Y, pairs)
    return np.asarray(W, dtype=np.float32), None if Wt is None else np.asarray(Wt, dtype=np.float32)
