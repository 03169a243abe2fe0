"""Cross-lingual k-NN retrieval: cosine NN, CSLS and inverted softmax, as pure functions over float32 matrices.

Every search is the blocked top-k kernel (align.search.topk) and every CSLS score comes from
align.search.csls; nothing builds a V_src × V_tgt matrix: memory grows with the vocabularies,
not their product.
"""
from __future__ import annotations

from typing import Literal

import numpy as np

from .._io import progress as _progress
from ..backend import get_backend
from ..errors import InputError
from ..space.normalize import unit_rows
from .bounded import bounded_pays, csls_bounded
from .csls import csls_pruned, csls_topk, hubness, prune_pays
from .topk import block_topk

Method = Literal["nn", "csls", "isf"]
METHODS: tuple[str, ...] = ("nn", "csls", "isf")
BLOCK = 4096  # target rows per block of the inverted-softmax partition


def knn(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The `k` largest inner products of each query row among the `base` rows: (scores, indices), best first."""
    if queries.shape[1] != base.shape[1]:
        raise InputError(f"dimension mismatch: queries have {queries.shape[1]}, base has {base.shape[1]}")
    return block_topk(queries, base, min(k, base.shape[0]))


def log_partition(targets: np.ndarray, sources: np.ndarray, beta: float, *, sample: int | None = None,
                  seed: int = 0, show_progress: bool = False) -> np.ndarray:
    """log Σ_x exp(β·cos(x, y)) for every target row y, over all (or `sample` random) source rows.

    Computed in target blocks (GPU when there is one); never holds more than a block of scores."""
    xp = get_backend()
    if sample is not None and sample < sources.shape[0]:
        rng = np.random.default_rng(seed)
        sources = sources[rng.choice(sources.shape[0], sample, replace=False)]
    src = xp.asarray(sources)
    out = np.empty(targets.shape[0], dtype=np.float32)
    block = max(256, min(BLOCK, int(2e8 // max(1, sources.shape[0]))))
    starts = range(0, targets.shape[0], block)
    for s in _progress(starts, show_progress and len(starts) > 1, desc="ISF partition", total=len(starts),
                       unit="block"):
        t = xp.asarray(targets[s:s + block])
        out[s:s + block] = xp.to_numpy(xp.logsumexp(beta * (t @ src.T)))
    return out


def retrieve(
    src: np.ndarray,
    tgt: np.ndarray,
    queries: np.ndarray | None = None,
    k: int = 10,
    method: Method = "csls",
    *,
    csls_k: int = 10,
    isf_beta: float = 1.0,
    isf_sample: int | None = None,
    normalize: bool = True,
    approx: bool = False,
    show_progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The `k` best target rows for each query, by `method`.

    `src` is the whole (mapped) source space and `tgt` the target space, both (V, d);
    `queries` are row indices into `src` (default: all rows). Similarities are cosines
    (rows are unit-normalised first unless `normalize=False`).

    - nn:   cos(x, y)
    - csls: 2cos(x, y) − r_T(x) − r_S(y) (align.search.csls); exact, and on large spaces without
            the full hubness pass (align.search.bounded); with `approx`, the neighbour searches
            behind it are probe searches of k-means cells (faster, not exact)
    - isf:  log softmax over sources of β·cos(x, y) (Smith et al. 2017); β=1 by default,
            as in VecMap's evaluator, which reproduces its figures

    Returns (scores, indices), each (n_queries, k), best first.
    """
    if method not in METHODS:
        raise InputError(f"unknown retrieval {method!r}; choose one of {', '.join(METHODS)}")
    if src.shape[1] != tgt.shape[1]:
        raise InputError(f"dimension mismatch: source vectors have {src.shape[1]}, target vectors {tgt.shape[1]}")
    if normalize:
        src, tgt = unit_rows(src), unit_rows(tgt)
    q = src if queries is None else src[np.asarray(queries, dtype=np.int64)]
    q = np.ascontiguousarray(q, dtype=np.float32)
    k = min(k, tgt.shape[0])
    if method == "nn":
        return block_topk(q, tgt, k)
    if method == "csls":
        rows = np.arange(len(src)) if queries is None else np.asarray(queries, dtype=np.int64)
        if approx:
            return csls_bounded(src, tgt, rows, k, csls_k=csls_k, approx=True, show_progress=show_progress)
        if queries is not None and prune_pays(len(q), len(src), len(tgt)):
            return csls_pruned(src, tgt, rows, k, csls_k=csls_k)
        if get_backend().name == "numpy" and bounded_pays(len(q), len(src), len(tgt)):
            return csls_bounded(src, tgt, rows, k, csls_k=csls_k, show_progress=show_progress)
        r_tgt = hubness(tgt, src, csls_k)  # r_S of every target
        r_q = hubness(q, tgt, csls_k)  # r_T of the queries
        scores, ids, _, _ = csls_topk(q, tgt, k, r_q, r_tgt)
        return scores, ids
    # isf: inverted softmax, the partition of each target folded into one extra dimension
    logz = log_partition(tgt, src, isf_beta, sample=isf_sample, show_progress=show_progress)
    ones = np.ones((q.shape[0], 1), dtype=np.float32)
    scores, ids = block_topk(np.hstack([q, ones]), np.hstack([tgt, -(logz / isf_beta)[:, None]]).astype(np.float32), k)
    return isf_beta * scores, ids
