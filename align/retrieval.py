"""Cross-lingual k-NN retrieval: cosine NN, CSLS and inverted softmax.

Pure functions over float32 matrices. The k-NN steps run in faiss (GPU when visible);
the hubness corrections are folded into one extra dimension so that the final ranking
is also a faiss inner-product search. Nothing builds a V_src x V_tgt matrix: memory
grows with the vocabularies, not their product.
"""
from __future__ import annotations

from typing import Literal

import numpy as np

from ._io import progress as _progress
from .device import faiss_gpus, torch_device
from .errors import InputError

Method = Literal["nn", "csls", "isf"]
METHODS: tuple[str, ...] = ("nn", "csls", "isf")
BLOCK = 4096


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Copy of `x` (float32, C-contiguous) with rows of unit length; zero rows stay zero."""
    x = np.array(x, dtype=np.float32, order="C", copy=True)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    x /= norms
    return x


def unit_rows(x: np.ndarray, tol: float = 1e-5) -> np.ndarray:
    """`x` as float32 rows of unit length: `x` itself when they already are (a mapped, normalised space
    usually is: no copy of a large matrix), else `normalize_rows(x)`."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    sq = np.einsum("ij,ij->i", x, x)
    if np.all((np.abs(sq - 1.0) <= tol) | (sq == 0.0)):
        return x
    return normalize_rows(x)


# Below this many scores (queries × targets) and without a GPU, NN retrieval of a few queries is one
# numpy product and a heap pass (a test dictionary against a vocabulary: 2× faster than a faiss index).
SMALL_PRODUCT = 16_000_000


def _index(base: np.ndarray):
    import faiss

    index = faiss.IndexFlatIP(base.shape[1])
    if faiss_gpus():
        res = faiss.StandardGpuResources()
        index = faiss.index_cpu_to_gpu(res, 0, index)
    index.add(np.ascontiguousarray(base, dtype=np.float32))
    return index


def knn(queries: np.ndarray, base: np.ndarray, k: int, *, show_progress: bool = False,
        desc: str = "k-NN") -> tuple[np.ndarray, np.ndarray]:
    """The `k` largest inner products of each query row among the `base` rows.

    Returns (scores, indices), both (n_queries, k), best first. Runs in query blocks.
    """
    if queries.shape[1] != base.shape[1]:
        raise InputError(f"dimension mismatch: queries have {queries.shape[1]}, base has {base.shape[1]}")
    k = min(k, base.shape[0])
    index = _index(base)
    n = queries.shape[0]
    scores = np.empty((n, k), dtype=np.float32)
    ids = np.empty((n, k), dtype=np.int64)
    starts = range(0, n, BLOCK)
    for s in _progress(starts, show_progress and len(starts) > 1, desc=desc, total=len(starts), unit="block"):
        q = np.ascontiguousarray(queries[s:s + BLOCK], dtype=np.float32)
        scores[s:s + BLOCK], ids[s:s + BLOCK] = index.search(q, k)
    return scores, ids


def mean_knn_similarity(queries: np.ndarray, base: np.ndarray, k: int = 10, **kw) -> np.ndarray:
    """r(x): mean similarity of each query to its `k` nearest base rows (CSLS's hubness term)."""
    scores, _ = knn(queries, base, k, **kw)
    return scores.mean(axis=1)


def log_partition(targets: np.ndarray, sources: np.ndarray, beta: float, *, sample: int | None = None,
                  seed: int = 0, show_progress: bool = False) -> np.ndarray:
    """log Σ_x exp(β·cos(x, y)) for every target row y, over all (or `sample` random) source rows.

    Computed in target blocks with torch (GPU when visible); never holds more than a block.
    """
    import torch

    dev = torch_device()
    if sample is not None and sample < sources.shape[0]:
        rng = np.random.default_rng(seed)
        sources = sources[rng.choice(sources.shape[0], sample, replace=False)]
    src = torch.from_numpy(np.ascontiguousarray(sources, dtype=np.float32)).to(dev)
    out = np.empty(targets.shape[0], dtype=np.float32)
    block = max(256, min(BLOCK, int(2e8 // max(1, sources.shape[0]))))
    starts = range(0, targets.shape[0], block)
    with torch.no_grad():
        for s in _progress(starts, show_progress and len(starts) > 1, desc="ISF partition", total=len(starts),
                           unit="block"):
            t = torch.from_numpy(np.ascontiguousarray(targets[s:s + block], dtype=np.float32)).to(dev)
            out[s:s + block] = torch.logsumexp(beta * (t @ src.T), dim=1).cpu().numpy()
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
    show_progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The `k` best target rows for each query, by `method`.

    `src` is the whole (mapped) source space and `tgt` the target space, both (V, d);
    `queries` are row indices into `src` (default: all rows). Similarities are cosines
    (rows are unit-normalised first unless `normalize=False`).

    - nn:   cos(x, y)
    - csls: 2cos(x, y) − r_T(x) − r_S(y), r = mean cosine to the `csls_k` nearest
            neighbours in the other space (Conneau et al. 2018)
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
        if queries is not None and len(q) * len(tgt) <= SMALL_PRODUCT and not faiss_gpus():
            from .similarity import top_rows

            return top_rows(q @ tgt.T, k)
        return knn(q, tgt, k, show_progress=show_progress, desc="NN")
    ones = np.ones((q.shape[0], 1), dtype=np.float32)
    if method == "csls":
        if queries is not None and _prune_pays(len(q), len(src), len(tgt)):
            return csls_pruned(src, tgt, np.asarray(queries, dtype=np.int64), k, csls_k=csls_k)
        r_src = mean_knn_similarity(tgt, src, csls_k, show_progress=show_progress, desc="CSLS r_S")
        r_tgt = mean_knn_similarity(q, tgt, csls_k)
        base = np.hstack([tgt, -0.5 * r_src[:, None]])
        scores, ids = knn(np.hstack([q, ones]), base, k, show_progress=show_progress, desc="CSLS")
        return 2.0 * scores - r_tgt[:, None], ids
    # isf
    logz = log_partition(tgt, src, isf_beta, sample=isf_sample, show_progress=show_progress)
    base = np.hstack([tgt, -(logz / isf_beta)[:, None]])
    scores, ids = knn(np.hstack([q, ones]), base, k, show_progress=show_progress, desc="ISF")
    return isf_beta * scores, ids


PRUNE_SOURCES = 2048  # sources that give every target a cheap lower bound of r_S (csls_pruned)


def _prune_pays(n_queries: int, n_src: int, n_tgt: int) -> bool:
    """Pruned CSLS is worth it for a few queries (a test dictionary) against large vocabularies."""
    return n_src > 4 * PRUNE_SOURCES and n_queries * n_tgt <= 16_000_000 and n_queries <= n_src // 4


def csls_pruned(src: np.ndarray, tgt: np.ndarray, queries: np.ndarray, k: int = 10, *, csls_k: int = 10
                ) -> tuple[np.ndarray, np.ndarray]:
    """Exact CSLS top-k of a few query rows, computing r_S only for the targets that can rank.

    r_S(y), the mean cosine of target y to its `csls_k` nearest sources, is what makes CSLS cost a
    full target × source search. A top-k over any subset of sources gives a lower bound L(y) ≤ r_S(y),
    hence an upper bound 2cos(x, y) − L(y) of every query's score. Exact r_S of the targets with the
    best bounds gives each query a k-th best exact score τ; a target whose bound stays below τ for
    every query cannot enter any top-k, so r_S is computed exactly only for the others. Same result
    as the full computation (rows are unit length; inputs as in `retrieve`).
    """
    from .similarity import top_rows

    q = np.ascontiguousarray(src[queries], dtype=np.float32)
    k = min(k, len(tgt))
    cos = q @ tgt.T  # n_queries × n_tgt: small by _prune_pays
    r_tgt = top_rows(cos, csls_k)[0].mean(axis=1)  # r_T of the queries, from the same cosines
    sub = np.union1d(np.arange(min(PRUNE_SOURCES, len(src))), queries)
    lower = mean_knn_similarity(tgt, np.ascontiguousarray(src[sub]), csls_k) - 1e-5  # margin for rounding
    upper = cos * 2.0
    upper -= lower[None, :]
    r_src = np.full(len(tgt), np.nan, dtype=np.float32)

    def exact(cols: np.ndarray) -> None:
        todo = cols[np.isnan(r_src[cols])]
        if len(todo):
            r_src[todo] = mean_knn_similarity(np.ascontiguousarray(tgt[todo]), src, csls_k)

    first = np.unique(top_rows(upper, k)[1])
    if len(first) > len(tgt) // 2:  # bounds too loose to prune (unstructured data): compute every r_S
        first = np.arange(len(tgt))
    exact(first)
    tau = top_rows(2.0 * cos[:, first] - r_src[first][None, :], k)[0][:, -1]  # each query's k-th best exact score
    cand = np.union1d(first, np.flatnonzero((upper >= tau[:, None]).any(axis=0)))
    exact(cand)
    scores, top = top_rows(2.0 * cos[:, cand] - r_src[cand][None, :], k)
    return scores - r_tgt[:, None], cand[top].astype(np.int64)
