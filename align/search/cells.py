"""An inverted file over a base matrix: spherical k-means cells (faiss) and a blocked probe search.

`Cells(base).topk(queries, k, nprobe)` gives each query the `k` largest inner products among the
base rows of its `nprobe` nearest cells, computed as one matrix product per cell (all the queries
that probe it against the cell's rows), so it runs at BLAS speed. Two uses:

- any k distinct base rows give a *lower bound* of a row's mean top-k similarity (CSLS's hubness
  term), and the probed rows are distinct; the exact CSLS search (align.search.bounded) prunes with it;
- it is the approximate k-NN of `--approx` (recall below 1: the true neighbours may lie in other cells).

Queries are processed in chunks and no cell product is larger than a block, so memory stays linear
in the inputs.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..device import available_cores, small_linalg
from ..errors import InputError
from .topk import block_topk, top_rows

CHUNK = 1 << 18  # queries grouped by cell at a time
BLOCK = 1 << 13  # queries per product within one cell
SAMPLE = 16  # k-means training points per cell
NITER = 5  # k-means iterations (cells only need to be good, never exact: the results do not depend on them)


def n_cells_for(n: int, nprobe: int) -> int:
    """Cells for `n` base rows: √(nprobe·n) balances scanning the centroids against scanning the probed cells."""
    return int(np.clip(round(np.sqrt(max(1, nprobe) * n)), 1, max(1, n // 8)))


class Cells:
    """Spherical k-means cells of the rows of `base` (unit rows), deterministic given `seed`."""

    def __init__(self, base: np.ndarray, n_cells: int, *, seed: int = 0):
        import faiss

        if base.ndim != 2 or len(base) == 0:
            raise InputError(f"cells need a non-empty 2-D base, got shape {base.shape}")
        self.base = base
        n, d = base.shape
        n_cells = int(max(1, min(n_cells, n)))
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(n, min(n, SAMPLE * n_cells), replace=False))
        km = faiss.Kmeans(d, n_cells, niter=NITER, seed=seed, spherical=True,
                          max_points_per_centroid=SAMPLE, min_points_per_centroid=1, verbose=False)
        km.train(np.ascontiguousarray(base[sample], dtype=np.float32))
        self.centroids = np.ascontiguousarray(km.centroids, dtype=np.float32)
        cell = block_topk(base, self.centroids, 1)[1][:, 0]
        self.order = np.argsort(cell, kind="stable")  # base rows grouped by cell
        self.starts = np.searchsorted(cell[self.order], np.arange(len(self.centroids) + 1))

    def __len__(self) -> int:
        return len(self.centroids)

    def topk(self, queries: np.ndarray, k: int, nprobe: int, *, penalty: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        """Each query's `k` best base rows by q·b − penalty[b] among the rows of its `nprobe` nearest cells:
        (scores (n, k) float32, base row ids (n, k) int64), best first; slots that no probed row filled
        hold −inf and id −1."""
        q_all = np.ascontiguousarray(queries, dtype=np.float32)
        if q_all.ndim != 2 or q_all.shape[1] != self.base.shape[1]:
            raise InputError(f"dimension mismatch: queries have shape {q_all.shape}, base has {self.base.shape}")
        nprobe = int(max(1, min(nprobe, len(self))))
        vals = np.full((len(q_all), k), -np.inf, dtype=np.float32)
        ids = np.full((len(q_all), k), -1, dtype=np.int64)
        for c0 in range(0, len(q_all), CHUNK):
            q = q_all[c0:c0 + CHUNK]
            v, i = self._chunk(q, k, nprobe, penalty)
            vals[c0:c0 + len(q)], ids[c0:c0 + len(q)] = v, i
        return vals, ids

    def _chunk(self, q: np.ndarray, k: int, nprobe: int, penalty: np.ndarray | None):
        n = len(q)
        probes = block_topk(q, self.centroids, nprobe)[1].ravel()  # (query, probe) pairs, query-major
        by_cell = np.argsort(probes, kind="stable")
        bounds = np.searchsorted(probes[by_cell], np.arange(len(self) + 1))
        vals = np.full((n * nprobe, k), -np.inf, dtype=np.float32)
        ids = np.full((n * nprobe, k), -1, dtype=np.int64)
        pen_all = None if penalty is None else np.asarray(penalty, dtype=np.float32)

        def cell(c: int) -> None:  # fills the slots of the (query, probe) pairs of cell c: disjoint per cell
            rows = self.order[self.starts[c]:self.starts[c + 1]]
            if len(rows) == 0:
                return
            members = np.ascontiguousarray(self.base[rows], dtype=np.float32)
            pen = None if pen_all is None else pen_all[rows][None, :]
            kk = int(min(k, len(rows)))
            slots = by_cell[bounds[c]:bounds[c + 1]]
            for s in range(0, len(slots), BLOCK):
                part = slots[s:s + BLOCK]
                scores = q[part // nprobe] @ members.T
                if pen is not None:
                    scores -= pen
                v, j = top_rows(scores, kk)
                vals[part, :kk], ids[part, :kk] = v, rows[j]

        # The products per cell are small: threaded BLAS loses more in hand-offs than it gains, so each
        # runs on one BLAS thread and the cells are spread over the cores instead.
        todo = np.flatnonzero(np.diff(bounds))
        with small_linalg(), ThreadPoolExecutor(available_cores()) as ex:
            list(ex.map(cell, todo))
        vals, ids = vals.reshape(n, nprobe * k), ids.reshape(n, nprobe * k)
        v, j = top_rows(vals, k)
        out = np.take_along_axis(ids, np.maximum(j, 0), axis=1)
        empty = (j < 0) | ~np.isfinite(v)  # fewer than k rows in the probed cells
        v[empty], out[empty] = -np.inf, -1
        return v, out
