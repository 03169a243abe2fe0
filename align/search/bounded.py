"""CSLS top-k of query rows against a large target space without the full hubness pass.

CSLS(x, y) = 2cos(x, y) − r_T(x) − r_S(y). The costly term is r_S(y), the mean cosine of target y to
its k nearest sources: for every target it is a search of the whole source space. Only the targets
that can enter some query's top k need it exactly:

1. any k distinct sources give a lower bound L(y) ≤ r_S(y); the sources of y's nearest cells
   (align.search.cells) give a tight one for every target at a small fraction of the full cost;
2. U(x, y) = 2cos(x, y) − L(y) bounds the adjusted score 2cos(x, y) − r_S(y) from above. Exact r_S of
   each query's k best targets by U gives it a k-th best exact adjusted score τ(x);
3. a target with U(x, y) < τ(x) for every query cannot rank; the others get a tighter bound (more
   cells probed), and those that still can rank get their exact r_S.

The result is the full computation's (ties aside), for any number of queries; targets run in
blocks, so memory stays linear in the inputs. With `approx`, r_S and the queries' neighbours come
from the probe search alone (faster, recall below 1).
"""
from __future__ import annotations

import logging
import time

import numpy as np

from .._io import progress as _progress
from .cells import Cells, n_cells_for
from ..backend import get_backend
from .screened import Screen, preload, screen_pays, screened_topk
from .topk import BUFFER_SCORES, _block_products, _Heaps, faiss_knn, top_rows

NPROBE = 4  # cells probed for the lower bounds of every target
NPROBE_TIGHT = 32  # cells probed again for the targets that survive the first bounds
NPROBE_APPROX = 8  # cells probed by --approx, for r_S and for the queries' neighbours
MARGIN = 1e-5  # bounds are lowered by this much: products blocked differently round differently
KEEP = 64  # best upper bounds kept per query in the first pass (a second pass is needed only beyond them)

log = logging.getLogger(__name__)


def bounded_pays(n_queries: int, n_src: int, n_tgt: int) -> bool:
    """The bounded search is worth its set-up (k-means, probes) when the full hubness pass is large:
    more than 1e9 target × source pairs (e.g. 40k × 25k words)."""
    return n_queries > 0 and n_src * n_tgt > 1_000_000_000 and n_src >= 4096 and n_tgt >= 4096


def _query_blocks(n_queries: int, n_cols: int) -> range:
    return range(0, n_queries, max(1, min(n_queries, BUFFER_SCORES // max(1, n_cols))))


def _target_blocks(n_queries: int, n_tgt: int) -> range:
    return range(0, n_tgt, max(1, min(n_tgt, BUFFER_SCORES // max(1, n_queries))))


def _mean_probed(vals: np.ndarray) -> np.ndarray:
    """Mean of k probed cosines per row, −1 for an unfilled slot (every cosine is ≥ −1)."""
    return np.where(np.isfinite(vals), vals, -1.0).mean(axis=1).astype(np.float32)


def _lower_bound(vals: np.ndarray) -> np.ndarray:
    """A lower bound of r from k probed cosines, lowered by MARGIN."""
    return _mean_probed(vals) - np.float32(MARGIN)


def csls_bounded(src: np.ndarray, tgt: np.ndarray, queries: np.ndarray, k: int = 10, *, csls_k: int = 10,
                 approx: bool = False, seed: int = 0, show_progress: bool = False
                 ) -> tuple[np.ndarray, np.ndarray]:
    """CSLS top-k of the `queries` rows of `src` among the rows of `tgt` (both unit rows, one space):
    (scores, target ids), each (n_queries, k), best first. Exact unless `approx`."""
    queries = np.asarray(queries, dtype=np.int64)
    q = np.ascontiguousarray(src[queries], dtype=np.float32)
    k = int(min(k, len(tgt)))
    csls_k = int(min(csls_k, len(src), len(tgt)))
    if approx:
        return _approx(src, tgt, q, k, csls_k, seed)
    if screen_pays(len(q) * k, len(src)) or screen_pays(len(q), len(tgt)):
        preload()  # torch, for the exact r_S, imports while the cells and bounds are computed
    clock = _Clock()
    cells = Cells(src, n_cells_for(len(src), NPROBE), seed=seed)
    clock("cells")
    probed = cells.topk(tgt, csls_k, NPROBE)[0]
    lower, kth = _lower_bound(probed), probed[:, -1].copy()  # kth: a lower bound of each r_S's k-th cosine
    del probed
    clock("bounds")

    # One pass over Q Tᵀ in blocks of queries: r_T of each query, and its KEEP best targets by the upper bound.
    keep = min(KEEP, len(tgt))
    if keep >= csls_k and screen_pays(len(q), len(tgt)):
        r_q, u_vals, u_ids, u_rest = _screened_pass(q, tgt, lower, csls_k, keep, show_progress)
    else:
        r_q, u_vals, u_ids, u_rest = _pass(q, tgt, lower, csls_k, keep, show_progress)
    clock("pass")

    r_src = np.full(len(tgt), np.nan, dtype=np.float32)

    def exact(rows: np.ndarray) -> None:
        todo = rows[np.isnan(r_src[rows])]
        if len(todo):
            r_src[todo] = exact_hubness(tgt[todo], src, csls_k, floor=kth[todo])

    first = np.unique(u_ids[:, :k])
    exact(first)
    clock("exact first")
    tau = _kth_adjusted(q, tgt, first, r_src, k)
    # Targets whose bound reaches τ for some query: from the kept lists, or a second pass for the
    # queries whose KEEP-th bound still reaches τ (their lists may be missing some).
    cand = [u_ids[u_vals >= tau[:, None]]]
    over = np.flatnonzero(u_rest >= tau)
    if len(over):
        cand.append(_reaching(q[over], tgt, lower, tau[over]))
    cand = np.setdiff1d(np.unique(np.concatenate(cand)), first)
    n_reach = len(cand)
    clock("candidates")
    if len(cand):  # tighter bounds for these from more cells; only those still reaching τ are searched
        tight = cells.topk(tgt[cand], csls_k, NPROBE_TIGHT)[0]
        lower[cand] = np.maximum(lower[cand], _lower_bound(tight))
        kth[cand] = np.maximum(kth[cand], tight[:, -1])
        cand = cand[_reaching_any(q, tgt[cand], lower[cand], tau)]
        clock("tight bounds")
        exact(cand)
        clock("exact rest")
    pool = np.union1d(first, cand)
    scores, ids = _best_in(q, tgt, pool, r_src, k)
    clock("rank")
    log.debug("bounded CSLS: %d queries, %d targets, %d sources; exact r_S for %d first + %d of %d reaching "
              "(%d second-pass queries); %s", len(q), len(tgt), len(src), len(first), len(cand), n_reach,
              len(over), clock)
    return scores - r_q[:, None], ids


def _pass(q: np.ndarray, tgt: np.ndarray, lower: np.ndarray, csls_k: int, keep: int, show_progress: bool
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """r_T of each query and its `keep` best targets by U = 2cos − lower: (r_T, U values, target ids, a bound of
    U for every target left out of the kept lists)."""
    r_heap, u_heap = _Heaps(len(q), csls_k), _Heaps(len(q), keep)
    block = max(1, min(len(q), BUFFER_SCORES // len(tgt)))
    products = _block_products(get_backend("cpu"), q, np.ascontiguousarray(tgt, dtype=np.float32), block)
    for s, cos in _progress(products, show_progress and len(q) > block, desc="CSLS bounds",
                            total=-(-len(q) // block), unit="block"):
        r_heap.add(cos, s, 0)
        cos *= 2.0
        cos -= lower[None, :]
        u_heap.add(cos, s, 0)
    u_vals, u_ids = u_heap.result()
    return r_heap.result()[0].mean(axis=1), u_vals, u_ids, u_vals[:, -1]


def _screened_pass(q: np.ndarray, tgt: np.ndarray, lower: np.ndarray, csls_k: int, keep: int,
                   show_progress: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The same from a bfloat16 screen of Q Tᵀ (align.search.screened). Each query keeps its `keep` best
    targets by 2·screen − lower; their U is then computed exactly, and every other target's U is at most
    the kept screen values' least plus 2ε (the fourth array). r_T stays exact: the csls_k-th exact cosine
    among the kept targets bounds the query's csls_k-th cosine from below, and the screen's candidates
    above it less ε are recomputed in fp32."""
    import torch

    screen = Screen(tgt)
    eps = screen.eps(q)
    u_heap = _Heaps(len(q), keep)
    r_q = np.empty(len(q), dtype=np.float32)
    u_vals = np.empty((len(q), keep), dtype=np.float32)
    u_ids = np.empty((len(q), keep), dtype=np.int64)
    lower_t = torch.from_numpy(np.ascontiguousarray(lower, dtype=np.float32))
    block = screen.block_rows(len(q))
    u_buf = torch.empty((block, len(tgt)), dtype=torch.float32)
    starts = range(0, len(q), block)
    with torch.no_grad():
        for s in _progress(starts, show_progress and len(starts) > 1, desc="CSLS bounds", unit="block"):
            e = min(len(q), s + block)
            products = screen.products(q[s:e])
            u = u_buf[:e - s]
            u.copy_(products)
            u.mul_(2.0).sub_(lower_t)
            u_heap.add(u.numpy(), s, 0)
            kept = u_heap.ids[s:e]  # final for these rows (heap order): every target has been offered
            cos = _kept_cosines(q[s:e], tgt, kept)
            floor = np.partition(cos, keep - csls_k, axis=1)[:, keep - csls_k]  # the csls_k-th largest
            vals, _ = screen.exact_top(q[s:e], products, floor - eps[s:e], csls_k)
            r_q[s:e] = vals.mean(axis=1)
            exact_u = 2.0 * cos - lower[kept]
            order = np.argsort(-exact_u, axis=1, kind="stable")
            u_vals[s:e] = np.take_along_axis(exact_u, order, axis=1)
            u_ids[s:e] = np.take_along_axis(kept, order, axis=1)
    rest = u_heap.vals.min(axis=1) + 2.0 * eps  # the heaps' least kept value bounds every target left out
    return r_q, u_vals, u_ids, rest


def _kept_cosines(q: np.ndarray, tgt: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """cos(q_i, tgt[kept[i, j]]) for every kept target of every query, gathering at most BUFFER_SCORES values."""
    out = np.empty(kept.shape, dtype=np.float32)
    step = max(1, BUFFER_SCORES // max(1, kept.shape[1] * tgt.shape[1]))
    for s in range(0, len(q), step):
        out[s:s + step] = np.einsum("id,ikd->ik", q[s:s + step], tgt[kept[s:s + step]])
    return out


class _Clock:
    """Wall and CPU seconds of each phase, for the debug log."""

    def __init__(self):
        self.phases: list[tuple[str, float, float]] = []
        self._t, self._c = time.perf_counter(), time.process_time()

    def __call__(self, name: str) -> None:
        t, c = time.perf_counter(), time.process_time()
        self.phases.append((name, t - self._t, c - self._c))
        self._t, self._c = t, c

    def __str__(self) -> str:
        return ", ".join(f"{n} {w:.2f} s ({c:.2f} s CPU)" for n, w, c in self.phases)


def exact_hubness(rows: np.ndarray, base: np.ndarray, k: int, floor: np.ndarray | None = None) -> np.ndarray:
    """r of each row against the whole base (mean of its k largest inner products): by the bfloat16 screen
    where the CPU has native bfloat16 products (align.search.screened; `floor`: lower bounds of each row's
    k-th product, which spare it a top-k), else by faiss's blocked product-and-heap search on the arrays
    themselves (no index copy; half the CPU time of a numpy pass)."""
    if screen_pays(len(rows), len(base)):
        return screened_topk(rows, base, int(k), floor)[0].mean(axis=1).astype(np.float32)
    return faiss_knn(rows, base, int(k))[0].mean(axis=1).astype(np.float32)


def _kth_adjusted(q: np.ndarray, tgt: np.ndarray, pool: np.ndarray, r_src: np.ndarray, k: int) -> np.ndarray:
    """Each query's k-th best 2cos(x, y) − r_S(y) over the targets of `pool` (exact r_S)."""
    return _best_in(q, tgt, pool, r_src, k)[0][:, -1]


def _best_in(q: np.ndarray, tgt: np.ndarray, pool: np.ndarray, r_src: np.ndarray, k: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Each query's k best targets of `pool` by 2cos(x, y) − r_S(y): (adjusted scores, target ids)."""
    base = np.ascontiguousarray(tgt[pool], dtype=np.float32)
    pen = r_src[pool][None, :]
    kk = int(min(k, len(pool)))
    vals = np.empty((len(q), kk), dtype=np.float32)
    ids = np.empty((len(q), kk), dtype=np.int64)
    blocks = _query_blocks(len(q), len(pool))
    for s in blocks:
        adj = q[s:s + blocks.step] @ base.T
        adj *= 2.0
        adj -= pen
        vals[s:s + blocks.step], j = top_rows(adj, kk)
        ids[s:s + blocks.step] = pool[j]
    return vals, ids


def _reaching(q: np.ndarray, tgt: np.ndarray, lower: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Targets y with 2cos(x, y) − lower(y) ≥ τ(x) for some query x (a pass over all targets)."""
    out = []
    blocks = _target_blocks(len(q), len(tgt))
    for s in blocks:
        hit = _reaching_any(q, tgt[s:s + blocks.step], lower[s:s + blocks.step], tau)
        out.append(s + np.flatnonzero(hit))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _reaching_any(q: np.ndarray, base: np.ndarray, lower: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Mask of the `base` rows whose upper bound 2cos − lower reaches some query's τ."""
    hit = np.zeros(len(base), dtype=bool)
    base = np.ascontiguousarray(base, dtype=np.float32)
    blocks = _query_blocks(len(q), len(base))
    for s in blocks:
        up = q[s:s + blocks.step] @ base.T
        up *= 2.0
        up -= lower[None, :]
        hit |= (up >= tau[s:s + blocks.step, None]).any(axis=0)
    return hit


def _approx(src: np.ndarray, tgt: np.ndarray, q: np.ndarray, k: int, csls_k: int, seed: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """CSLS with r_S from the probe search (align.search.cells). The queries' own search (r_T and the
    ranking) is a probe search too when they are many (more than an eighth of the sources); a few
    queries (a test dictionary) are searched exactly, which costs less than building target cells."""
    src_cells = Cells(src, n_cells_for(len(src), NPROBE_APPROX), seed=seed)
    r_src = _mean_probed(src_cells.topk(tgt, csls_k, NPROBE_APPROX)[0])
    if len(q) <= len(src) // 8:
        r_heap, heap = _Heaps(len(q), csls_k), _Heaps(len(q), k)
        blocks = _target_blocks(len(q), len(tgt))
        for s in blocks:
            cos = q @ tgt[s:s + blocks.step].T
            r_heap.add(cos, 0, s)
            cos -= 0.5 * r_src[None, s:s + blocks.step]
            heap.add(cos, 0, s)
        r_q = r_heap.result()[0].mean(axis=1)
        half, ids = heap.result()
    else:
        tgt_cells = Cells(tgt, n_cells_for(len(tgt), NPROBE_APPROX), seed=seed)
        r_q = _mean_probed(tgt_cells.topk(q, csls_k, NPROBE_APPROX)[0])
        half, ids = tgt_cells.topk(q, k, NPROBE_APPROX, penalty=0.5 * r_src)
    return 2.0 * half - r_q[:, None], ids
