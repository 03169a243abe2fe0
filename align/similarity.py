"""Blocked top-k inner products for the loops that search many times (refinement, self-learning).

One pass over the similarities of two sets gives what CSLS needs on both sides: each row's
and each column's `k` best scores with their indices. The product runs in blocks of rows
(memory: one block × all columns) and the selection uses faiss's heaps on the CPU (numpy
products, so that a CPU run never needs torch) and torch's top-k on a GPU. Evaluation keeps
its own exact search (align.retrieval).
"""
from __future__ import annotations

import numpy as np

from .device import torch_device
from .errors import InputError

BLOCK = 2048  # rows per block: memory is two buffers of BLOCK × len(base) scores, capped by BUFFER_SCORES
BUFFER_SCORES = 1 << 26  # at most 64M scores (256 MiB) per buffer: a 2M-word base gets 32-row blocks
# Rows transposed at a time for the column heaps: a (len(base) × TILE) copy stays in cache (on a 2-core
# EPYC, 256-row tiles transpose an 8k × 8k pass in 0.05 s, whole 2048-row blocks in 0.21 s).
TILE = 256


class _Heaps:
    """Running top-k of the rows of an (n × m) score matrix fed in row blocks (faiss min-heaps)."""

    def __init__(self, n: int, k: int):
        import faiss

        self.vals = np.empty((n, k), dtype=np.float32)
        self.ids = np.empty((n, k), dtype=np.int64)
        h = faiss.float_minheap_array_t()
        h.nh, h.k = n, k
        h.val, h.ids = faiss.swig_ptr(self.vals), faiss.swig_ptr(self.ids)
        h.heapify()
        self._h, self._ptr = h, faiss.swig_ptr

    def add(self, block: np.ndarray, first_heap: int, first_id: int) -> None:
        """Offer `block` (rows = heaps first_heap…, columns = ids first_id…; C-contiguous float32)."""
        self._h.addn(block.shape[1], self._ptr(block), first_id, first_heap, block.shape[0])

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        self._h.reorder()  # best first
        return self.vals, self.ids


def _check(queries: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    q = np.ascontiguousarray(queries, dtype=np.float32)
    b = np.ascontiguousarray(base, dtype=np.float32)
    if q.ndim != 2 or b.ndim != 2 or q.shape[1] != b.shape[1]:
        raise InputError(f"dimension mismatch: queries have shape {q.shape}, base has {b.shape}")
    return q, b


def row_col_topk(queries: np.ndarray, base: np.ndarray, k: int, *, cols: bool = True, block: int = BLOCK
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """In one blocked pass over Q Bᵀ: each query's `k` best base rows and (with `cols`) each base row's `k`
    best queries. Returns (row scores (n, k), row ids, column scores (m, k), column ids), best first;
    k is capped at the other side's size."""
    q, b = _check(queries, base)
    n, m = len(q), len(b)
    kr, kc = min(k, m), min(k, n)
    if torch_device() == "cuda":
        return _row_col_topk_torch(q, b, kr, kc, cols, block, "cuda")
    rows = _Heaps(n, kr)
    colh = _Heaps(m, kc) if cols else None
    bT = b.T  # a transposed view: BLAS reads it as is (a contiguous copy costs 10–20 ms for 20k rows)
    block = max(1, min(block, BUFFER_SCORES // max(1, m)))
    starts = range(0, n, block)
    bufs = [np.empty((min(block, n), m), dtype=np.float32) for _ in range(min(2, len(starts)))]
    tile = min(TILE, block, n)
    tbuf = np.empty((m, tile), dtype=np.float32) if cols else None

    def product(i: int) -> np.ndarray:
        s = starts[i]
        out = bufs[i % len(bufs)][:min(block, n - s)]
        np.matmul(q[s:s + len(out)], bT, out=out)
        return out

    # The heaps hold the GIL and run on one core; the next block's product (numpy releases the GIL)
    # runs meanwhile in a worker thread, into the other of two buffers.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as ex:
        pending = ex.submit(product, 0)
        for i, s in enumerate(starts):
            blk = pending.result()
            if i + 1 < len(starts):
                pending = ex.submit(product, i + 1)
            rows.add(blk, s, 0)
            if colh is not None:  # the column heaps need columns contiguous: transpose in narrow tiles
                for u in range(0, len(blk), tile):
                    nt = min(tile, len(blk) - u)
                    t = tbuf if nt == tile else np.empty((m, nt), dtype=np.float32)
                    np.copyto(t, blk[u:u + nt].T)
                    colh.add(t, 0, s + u)
    rv, ri = rows.result()
    if colh is None:
        return rv, ri, None, None
    cv, ci = colh.result()
    return rv, ri, cv, ci


def _row_col_topk_torch(q, b, kr, kc, cols, block, dev: str):
    """row_col_topk with torch's top-k on `dev` (the GPU path; tests run it on the CPU)."""
    import torch

    qt, bt = torch.from_numpy(q).to(dev), torch.from_numpy(b).to(dev)
    rv, ri, cv, ci = [], [], None, None
    with torch.no_grad():
        for s in range(0, len(q), block):
            blk = qt[s:s + block] @ bt.T
            v, i = blk.topk(kr, dim=1)
            rv.append(v), ri.append(i)
            if cols:
                v, i = blk.topk(min(kc, blk.shape[0]), dim=0)
                i = i + s
                if cv is not None:
                    v, j = torch.cat([cv, v]).topk(min(kc, len(cv) + len(v)), dim=0)
                    i = torch.gather(torch.cat([ci, i]), 0, j)
                cv, ci = v, i
        out = [torch.cat(rv).cpu().numpy(), torch.cat(ri).cpu().numpy().astype(np.int64)]
        if cols:
            out += [cv.T.contiguous().cpu().numpy(), ci.T.contiguous().cpu().numpy().astype(np.int64)]
        else:
            out += [None, None]
    return tuple(out)


def top_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The `k` largest entries of each row of a score matrix in memory, best first: (values, column ids)."""
    scores = np.ascontiguousarray(scores, dtype=np.float32)
    h = _Heaps(len(scores), min(k, scores.shape[1]))
    h.add(scores, 0, 0)
    return h.result()


def block_topk(queries: np.ndarray, base: np.ndarray, k: int, *, block: int = BLOCK
               ) -> tuple[np.ndarray, np.ndarray]:
    """The `k` largest inner products of each query row among the base rows, best first:
    (scores float32 (n, k), indices int64 (n, k))."""
    rv, ri, _, _ = row_col_topk(queries, base, k, cols=False, block=block)
    return rv, ri


def best_adjusted(queries: np.ndarray, base: np.ndarray, cand_scores: np.ndarray, cand_ids: np.ndarray,
                  penalty: np.ndarray, *, block: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """For each query, the base row maximising 2·score − penalty[row] (CSLS up to a per-query constant),
    exactly, and its plain score.

    The search starts from each query's best plain scores (`cand_*`, best first). A base row outside
    them has a score of at most the last candidate's, c, so it can only win when its penalty is below
    τ = 2c − (best candidate's value); those rows (few: the words with the lowest penalties) are
    searched exactly, for the queries where any exist."""
    adj = 2.0 * cand_scores - penalty[cand_ids]
    j = adj.argmax(axis=1)
    rows = np.arange(len(cand_ids))
    best_id, best_score, best_adj = cand_ids[rows, j].copy(), cand_scores[rows, j].copy(), adj[rows, j].copy()
    if cand_ids.shape[1] >= len(base):
        return best_id.astype(np.int64), best_score.astype(np.float32)
    tau = 2.0 * cand_scores[:, -1] - best_adj
    order = np.argsort(penalty, kind="stable")
    sorted_pen = penalty[order]
    unsure = np.flatnonzero(tau > sorted_pen[0])
    if len(unsure):
        q, b = _check(queries, base)
        unsure = unsure[np.argsort(tau[unsure])]  # similar τ in one block: similar prefixes of `order`
        for s in range(0, len(unsure), block):
            idx = unsure[s:s + block]
            cut = int(np.searchsorted(sorted_pen, tau[idx].max()))
            sub = order[:cut]
            sc = q[idx] @ b[sub].T
            a = 2.0 * sc - sorted_pen[None, :cut]
            jj = a.argmax(axis=1)
            better = a[np.arange(len(idx)), jj] > best_adj[idx]
            win = idx[better]
            best_id[win], best_score[win] = sub[jj[better]], sc[np.arange(len(idx))[better], jj[better]]
            best_adj[win] = a[np.arange(len(idx))[better], jj[better]]
    return best_id.astype(np.int64), best_score.astype(np.float32)
