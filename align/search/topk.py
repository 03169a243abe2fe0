"""The blocked top-k kernel: each row's (and optionally each column's) k largest inner products.

One pass over Q Bᵀ in blocks of rows (memory: one block × all of B) gives the k best base rows of
every query and, with `cols`, the k best queries of every base row: what CSLS needs on both sides.
The block loop is written once; the running top-k behind it is faiss's heaps on numpy (a CPU
run never imports torch) and torch's top-k on a GPU (align.backend).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import numpy as np

from ..backend import Backend, get_backend
from ..errors import InputError

BLOCK = 2048  # rows per block: memory is two buffers of BLOCK × len(base) scores, capped by BUFFER_SCORES
BUFFER_SCORES = 1 << 26  # at most 64M scores (256 MiB) per buffer: a 2M-word base gets 32-row blocks
# Rows transposed at a time for the column heaps: a (len(base) × TILE) copy stays in cache.
TILE = 256
# faiss's exhaustive search blocks its products 4096 queries × 1024 base rows by default; against a large
# base, larger blocks (one 256 MiB buffer) run the products nearer the cores' peak and cut its CPU time by
# about a quarter, while against a small one (the kit's 20,000 words) they are slower than the default.
FAISS_QUERY_BLOCK = 16384
FAISS_BASE_BLOCK = 4096
FAISS_LARGE_BASE = 65536  # base rows from which the larger blocks are used


class _Heaps:
    """Running top-k of the rows of an (n × m) score matrix fed in blocks (faiss min-heaps, numpy)."""

    def __init__(self, n: int, k: int):
        import faiss

        self.vals = np.empty((n, k), dtype=np.float32)
        self.ids = np.empty((n, k), dtype=np.int64)
        h = faiss.float_minheap_array_t()
        h.nh, h.k = n, k
        h.val, h.ids = faiss.swig_ptr(self.vals), faiss.swig_ptr(self.ids)
        h.heapify()
        self._h, self._ptr = h, faiss.swig_ptr
        self._tile: np.ndarray | None = None

    def add(self, block: np.ndarray, first_heap: int, first_id: int) -> None:
        """Offer `block` (rows = heaps first_heap…, columns = ids first_id…; C-contiguous float32)."""
        self._h.addn(block.shape[1], self._ptr(block), first_id, first_heap, block.shape[0])

    def add_rows(self, block: np.ndarray, first: int) -> None:
        """Offer a block of rows first… of the score matrix to the row heaps."""
        self.add(block, first, 0)

    def add_columns(self, block: np.ndarray, first: int) -> None:
        """Offer a block of rows first… of the score matrix to the column heaps (transposed in narrow tiles:
        the heaps need columns contiguous, and a (m × TILE) copy stays in cache)."""
        m = block.shape[1]
        for u in range(0, len(block), TILE):
            nt = min(TILE, len(block) - u)
            if self._tile is None or self._tile.shape != (m, nt):
                self._tile = np.empty((m, nt), dtype=np.float32)
            np.copyto(self._tile, block[u:u + nt].T)
            self.add(self._tile, 0, first + u)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        self._h.reorder()  # best first
        return self.vals, self.ids


class _TorchTopk:
    """Running top-k of rows or columns with torch's top-k (the GPU path)."""

    def __init__(self, xp, n: int, k: int):
        self.xp, self.k = xp, k
        self.vals: list = []
        self.ids: list = []
        self.cv = self.ci = None

    def add_rows(self, block, first: int) -> None:
        v, i = block.topk(self.k, dim=1)
        self.vals.append(v), self.ids.append(i)

    def add_columns(self, block, first: int) -> None:
        v, i = block.topk(min(self.k, block.shape[0]), dim=0)
        i = i + first
        if self.cv is not None:
            v, j = self.xp.torch.cat([self.cv, v]).topk(min(self.k, len(self.cv) + len(v)), dim=0)
            i = self.xp.torch.gather(self.xp.torch.cat([self.ci, i]), 0, j)
        self.cv, self.ci = v, i

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        t = self.xp.torch
        v, i = (t.cat(self.vals), t.cat(self.ids)) if self.vals else (self.cv.T, self.ci.T)
        return self.xp.to_numpy(v.contiguous()), self.xp.to_numpy(i.contiguous(), np.int64)


def _accumulator(xp: Backend, n: int, k: int):
    return _Heaps(n, k) if xp.name == "numpy" else _TorchTopk(xp, n, k)


def _block_products(xp: Backend, q, b, block: int) -> Iterator[tuple[int, object]]:
    """(first row, Q[first:first+block] Bᵀ) for every block. On numpy the next block's product runs in a
    worker thread (numpy releases the GIL) into the other of two buffers, while the heaps (which hold
    the GIL, on one core) take the current one."""
    n, m = len(q), len(b)
    starts = range(0, n, block)
    if xp.name != "numpy":
        with xp.torch.no_grad():
            for s in starts:
                yield s, q[s:s + block] @ b.T
        return
    bT = b.T  # a transposed view: BLAS reads it as is
    bufs = [np.empty((min(block, n), m), dtype=np.float32) for _ in range(min(2, len(starts)))]

    def product(i: int) -> np.ndarray:
        s = starts[i]
        out = bufs[i % len(bufs)][:min(block, n - s)]
        np.matmul(q[s:s + len(out)], bT, out=out)
        return out

    with ThreadPoolExecutor(1) as ex:
        pending = ex.submit(product, 0)
        for i, s in enumerate(starts):
            blk = pending.result()
            if i + 1 < len(starts):
                pending = ex.submit(product, i + 1)
            yield s, blk


def _check(queries: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q = np.ascontiguousarray(queries, dtype=np.float32)
    b = np.ascontiguousarray(base, dtype=np.float32)
    if q.ndim != 2 or b.ndim != 2 or q.shape[1] != b.shape[1]:
        raise InputError(f"dimension mismatch: queries have shape {q.shape}, base has {b.shape}")
    return q, b


def row_col_topk(queries: np.ndarray, base: np.ndarray, k: int, *, cols: bool = True, block: int = BLOCK,
                 xp: Backend | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """In one blocked pass over Q Bᵀ: each query's `k` best base rows and (with `cols`) each base row's `k`
    best queries. Returns numpy (row scores (n, k), row ids, column scores (m, k), column ids), best first;
    k is capped at the other side's size."""
    xp = xp or get_backend()
    q, b = _check(queries, base) if xp.name == "numpy" else (xp.asarray(queries), xp.asarray(base))
    if q.shape[1] != b.shape[1]:
        raise InputError(f"dimension mismatch: queries have shape {tuple(q.shape)}, base has {tuple(b.shape)}")
    n, m = len(q), len(b)
    kr, kc = min(k, m), min(k, n)
    block = max(1, min(block, BUFFER_SCORES // max(1, m)))
    rows = _accumulator(xp, n, kr)
    columns = _accumulator(xp, m, kc) if cols else None
    for s, blk in _block_products(xp, xp.asarray(q), xp.asarray(b), block):
        rows.add_rows(blk, s)
        if columns is not None:
            columns.add_columns(blk, s)
    rv, ri = rows.result()
    if columns is None:
        return rv, ri, None, None
    cv, ci = columns.result()
    return rv, ri, cv, ci


def block_topk(queries: np.ndarray, base: np.ndarray, k: int, *, block: int = BLOCK, xp: Backend | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """The `k` largest inner products of each query row among the base rows, best first:
    (scores float32 (n, k), indices int64 (n, k)).

    On numpy the rows-only pass is faiss's exhaustive search, which blocks the products the same way and
    runs its heaps on every core (the column heaps of `row_col_topk` need one pass over both sides)."""
    xp = xp or get_backend()
    if xp.name == "numpy":
        q, b = _check(queries, base)
        return faiss_knn(q, b, k)
    rv, ri, _, _ = row_col_topk(queries, base, k, cols=False, block=block, xp=xp)
    return rv, ri


def faiss_knn(queries: np.ndarray, base: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """faiss's exhaustive inner-product search (threaded products and heaps), with FAISS_*_BLOCK blocks against
    a base of FAISS_LARGE_BASE rows or more:
    (scores float32 (n, k), indices int64 (n, k)), best first; k is capped at the base size."""
    import faiss

    q, b = _check(queries, base)
    saved = faiss.cvar.distance_compute_blas_query_bs, faiss.cvar.distance_compute_blas_database_bs
    if len(b) >= FAISS_LARGE_BASE:
        faiss.cvar.distance_compute_blas_query_bs = FAISS_QUERY_BLOCK
        faiss.cvar.distance_compute_blas_database_bs = FAISS_BASE_BLOCK
    try:
        scores, ids = faiss.knn(q, b, min(k, len(b)), metric=faiss.METRIC_INNER_PRODUCT)
    finally:
        faiss.cvar.distance_compute_blas_query_bs, faiss.cvar.distance_compute_blas_database_bs = saved
    return scores, ids.astype(np.int64, copy=False)


def top_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The `k` largest entries of each row of a score matrix in memory, best first: (values, column ids)."""
    scores = np.ascontiguousarray(scores, dtype=np.float32)
    h = _Heaps(len(scores), min(k, scores.shape[1]))
    h.add(scores, 0, 0)
    return h.result()
