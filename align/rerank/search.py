"""Retrieval statistics of one mapped space for the reranker: exact CSLS candidates of a set of queries and,
for any target asked about, its hubness term r_S and its best source cosines (for reverse ranks).

Nothing builds a V_src × V_tgt matrix: the targets' statistics are computed for the columns that can
matter (pruned by align.search.csls.pruned_topk) and kept, so a later request for the same column is free.
"""
from __future__ import annotations

import numpy as np

from ..space.normalize import unit_rows
from ..search.csls import pruned_topk
from ..search.topk import faiss_knn, top_rows


def mean_top(vals: np.ndarray, k: int) -> np.ndarray:
    """The mean of each row's first `k` values (all of them when a row has fewer), summed in float64: numpy's
    float32 mean sums in an order that depends on the array's shape, which would make a word's statistics
    depend on how many other words were computed with it."""
    k = max(1, min(k, vals.shape[1]))
    return (vals[:, :k].sum(axis=1, dtype=np.float64) / k).astype(np.float32)


PRUNE_SOURCES = 2048  # sources giving every target a cheap lower bound of r_S
COLUMN_BLOCK = 2048  # target rows per product block in `MappedSpace.ensure_columns`


class MappedSpace:
    """Both sides of one map in the shared space (unit rows), with lazily computed per-target statistics.

    `depth` best cosines are kept per query and per target: ranks deeper than `depth` are reported as
    `depth` (a truncation the features share at training and at application time). `sources`: how many leading
    rows of X are the source vocabulary that the targets' statistics count (default: all); rows after them are
    queries only, so a query's features never depend on which other queries were asked with it.
    """

    def __init__(self, X: np.ndarray, Y: np.ndarray, csls_k: int = 10, depth: int = 100, sources: int | None = None):
        self.X, self.Y = unit_rows(X), unit_rows(Y)
        self.base = self.X if sources is None else self.X[:sources]
        self.csls_k = csls_k
        self.depth = min(depth, len(self.base))
        self.r_S = np.full(len(self.Y), np.nan, dtype=np.float32)
        self.src_top = np.full((len(self.Y), self.depth), np.nan, dtype=np.float32)  # best source cosines per target
        self._lower: np.ndarray | None = None

    def statistics(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """What this space has computed about its targets so far: (r_S, best source cosines, the lower bound of
        r_S or None); NaN rows are not computed yet. `adopt` hands them to a space of the same map and vectors."""
        return self.r_S, self.src_top, self._lower

    def adopt(self, statistics: tuple[np.ndarray, np.ndarray, np.ndarray | None]) -> bool:
        """Start from (copies of) the statistics of a space of the very same map and vectors; False, and nothing
        adopted, when their shapes say they belong to another space. They equal what this space would compute
        up to the rounding of the products (faiss blocks them by the number of rows asked at once)."""
        r_S, src_top, lower = statistics
        if r_S.shape != self.r_S.shape or src_top.shape != self.src_top.shape:
            return False
        self.r_S, self.src_top = r_S.copy(), src_top.copy()
        self._lower = self._lower if lower is None else lower.copy()
        return True

    def ensure_columns(self, cols: np.ndarray) -> None:
        """Exact r_S and best source cosines of the target rows `cols` (those not yet known)."""
        cols = np.unique(np.asarray(cols, dtype=np.int64))
        todo = cols[np.isnan(self.r_S[cols])]
        for s in range(0, len(todo), COLUMN_BLOCK):
            blk = todo[s:s + COLUMN_BLOCK]
            vals, _ = faiss_knn(self.Y[blk], self.base, self.depth)
            self.src_top[blk] = vals
            self.r_S[blk] = mean_top(vals, self.csls_k)

    def lower_r_S(self) -> np.ndarray:
        """A lower bound of r_S for every target: its mean over the nearest of a subset of sources."""
        if self._lower is None:
            sub = np.arange(min(PRUNE_SOURCES, len(self.base)))
            vals, _ = faiss_knn(self.Y, self.base[sub], min(self.csls_k, len(sub)))
            # with fewer sources than csls_k the subset's mean is no bound: -1 bounds any cosine mean
            self._lower = (mean_top(vals, vals.shape[1]) - 1e-5 if len(sub) >= self.csls_k
                           else np.full(len(self.Y), -1.0, dtype=np.float32))
        return self._lower

    def query_stats(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cosines to every target (n × V_tgt), r_T of each query, its `depth` best target cosines)."""
        cos = self.X[np.asarray(rows, dtype=np.int64)] @ self.Y.T
        top, _ = top_rows(cos, self.depth)
        return cos, mean_top(top, self.csls_k), top

    def csls_topk(self, cos: np.ndarray, r_T: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact CSLS top-k (scores, target rows) of the queries whose cosines are `cos`, best first.

        Only the targets whose bound can reach a query's top k get exact statistics (align.search.csls.pruned_topk:
        the same result as computing every r_S)."""
        def exact(cols: np.ndarray) -> np.ndarray:
            self.ensure_columns(cols)
            return self.r_S

        return pruned_topk(cos, r_T, self.lower_r_S(), exact, k)
