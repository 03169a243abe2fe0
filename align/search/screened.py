"""Exact top-k inner products by a bfloat16 screen, for CPUs that multiply bfloat16 natively.

bfloat16 keeps 8 significant bits, so a product of rows rounded to it is off by at most
ε = error_bound(d)·‖x‖·‖y‖ (both inputs and the output rounded, fp32 accumulation). The screen
computes every product in bfloat16 (AVX-512 BF16 / AMX run it about three times faster than fp32 per
core), keeps each row's candidates that reach a lower bound of its k-th true product less ε — a set
that provably holds its true top k — and recomputes those exactly in fp32. The result is the fp32
search's, ties and last-bit rounding aside.
"""
from __future__ import annotations

import functools
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..device import available_cores, small_linalg
from .topk import BUFFER_SCORES, faiss_knn

UNIT_ROUNDOFF = 2.0 ** -8  # bfloat16: 8 significant bits, round to nearest
EXACT_ROWS = 32  # rows recomputed together: their candidates barely overlap, so small groups multiply least
GATHER_COLUMNS = 1 << 14  # a group's candidate rows gathered at most; beyond, the group searches the whole base
MIN_PAIRS = 200_000_000  # below this many row × base pairs, the fp32 search is fast enough on its own


def error_bound(dim: int) -> float:
    """Largest error of one screened product per unit of ‖x‖·‖y‖: both inputs rounded (2u + u²), the fp32
    sum rounded to bfloat16 (u on a value of at most 1 + 2u), fp32 accumulation of `dim` terms (dim·2⁻²³);
    with a factor of 1.25 of headroom."""
    u = UNIT_ROUNDOFF
    return 1.25 * (3 * u + 4 * u * u + dim * 2.0 ** -23)


@functools.lru_cache(maxsize=1)
def bf16_native() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (the Linux flags avx512_bf16 or amx_bf16)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def screen_pays(n_rows: int, n_base: int) -> bool:
    """The screen is used on a CPU with native bfloat16 products, for searches of MIN_PAIRS pairs or more."""
    return n_rows * n_base >= MIN_PAIRS and bf16_native()


def preload() -> None:
    """Start importing torch in a background thread where the screen can run: the import (about a second)
    then overlaps the work that precedes the screen instead of adding to it."""
    import importlib
    import sys
    import threading

    if bf16_native() and "torch" not in sys.modules:
        threading.Thread(target=importlib.import_module, args=("torch",), name="align-import-torch").start()


class Screen:
    """A base matrix kept in bfloat16 beside its fp32 rows, for screened searches against it: the screened
    products of row blocks, each row's error bound ε, and the exact top k of a block from its screen."""

    def __init__(self, base: np.ndarray):
        import torch

        self.torch = torch
        self.base = np.ascontiguousarray(base, dtype=np.float32)
        with warnings.catch_warnings():  # a read-only memory-mapped cache: torch warns, but nothing writes to it
            warnings.simplefilter("ignore", UserWarning)
            full = torch.from_numpy(self.base)
        self.base_h = full.to(torch.bfloat16)
        top = float(torch.linalg.vector_norm(full, dim=1).max()) if len(self.base) else 0.0
        self.unit = error_bound(self.base.shape[1]) * top  # ε of a row of norm 1
        self.width = -(-len(self.base) // 8) * 8  # mask rows padded to whole 64-bit words
        self._mask = np.zeros((0, self.width), dtype=bool)
        self._out = None

    def block_rows(self, n: int) -> int:
        """Rows per block: one block's screen (and its mask) holds at most BUFFER_SCORES entries."""
        return max(1, min(n, BUFFER_SCORES // max(1, len(self.base))))

    def eps(self, rows: np.ndarray) -> np.ndarray:
        """Each row's error bound: |screened − exact product| ≤ ε for every base row."""
        return (self.unit * np.sqrt(np.einsum("ij,ij->i", rows, rows))).astype(np.float32)

    def products(self, rows: np.ndarray):
        """The screened products of a block of rows (at most `block_rows` of them) with every base row: a
        (len(rows), len(base)) bfloat16 tensor, valid until the next call (one buffer serves every block:
        a fresh one per block costs the kernel's page faults again each time)."""
        torch = self.torch
        if self._out is None or len(self._out) < len(rows):
            self._out = torch.empty((len(rows), len(self.base)), dtype=torch.bfloat16)
        out = self._out[:len(rows)]
        torch.matmul(torch.from_numpy(rows).to(torch.bfloat16), self.base_h.T, out=out)
        return out

    def exact_top(self, rows: np.ndarray, screen, thr: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Each row's exact top k among the base rows whose screened product reaches `thr` (per row; it must be at
        most a lower bound of the row's k-th product less its ε, or the result may miss a row of the top k).
        The rows are split over the cores: each part scans its mask and recomputes its candidates."""
        n = len(rows)
        if len(self._mask) < n:
            self._mask = np.zeros((n, self.width), dtype=bool)
        bits = _bf16_below(self.torch.from_numpy(np.asarray(thr, dtype=np.float32)))
        vals = np.empty((n, k), dtype=np.float32)
        ids = np.empty((n, k), dtype=np.int64)
        step = -(-n // max(1, min(available_cores(), -(-n // EXACT_ROWS))))

        def part(a: int) -> None:
            b = min(n, a + step)
            r, c = _at_least(screen[a:b], bits[a:b], self._mask[a:b])
            cuts = np.searchsorted(r, np.arange(0, b - a + EXACT_ROWS, EXACT_ROWS))
            for j, x in enumerate(range(a, b, EXACT_ROWS)):
                y = min(b, x + EXACT_ROWS)
                vals[x:y], ids[x:y] = _exact_best(rows[x:y], self.base, c[cuts[j]:cuts[j + 1]], k)

        with small_linalg(), ThreadPoolExecutor(max(1, -(-n // step))) as ex:  # one BLAS thread per part
            list(ex.map(part, range(0, n, step)))
        return vals, ids


def screened_topk(rows: np.ndarray, base: np.ndarray, k: int, floor: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The `k` largest inner products of each row among the base rows, best first, exact:
    (scores float32 (n, k), base ids int64 (n, k)); k is capped at the base size.

    `floor`: optional lower bounds of each row's k-th largest product (e.g. the k-th of any k base rows):
    a candidate then needs a screened score of floor − ε. Rows without a finite one take the k-th
    screened score less 2ε, which needs a top-k of the screen."""
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    n, m = len(rows), len(base)
    k = int(min(k, m))
    out_v = np.empty((n, k), dtype=np.float32)
    out_i = np.empty((n, k), dtype=np.int64)
    if n == 0 or k == 0:
        return out_v, out_i
    screen = Screen(base)
    eps = screen.eps(rows)
    given = np.full(n, -np.inf, dtype=np.float32) if floor is None else np.asarray(floor, dtype=np.float32)
    block = screen.block_rows(n)
    with screen.torch.no_grad():
        for s in range(0, n, block):
            e = min(n, s + block)
            products = screen.products(rows[s:e])
            thr = given[s:e] - eps[s:e]
            open_ = ~np.isfinite(thr)
            if open_.any():
                kth = products[screen.torch.from_numpy(open_)].topk(k, dim=1).values[:, -1].float().numpy()
                thr[open_] = kth - 2.0 * eps[s:e][open_]
            out_v[s:e], out_i[s:e] = screen.exact_top(rows[s:e], products, thr, k)
    return out_v, out_i


def _bf16_below(thr):
    """Each threshold as a bfloat16 no larger than it (rounded towards −inf), as its int16 bits."""
    import torch

    thr = thr.float()
    h = thr.to(torch.bfloat16)
    over = h.float() > thr
    h[over] = torch.nextafter(h[over], torch.full_like(h[over], -torch.inf))
    return h.view(torch.int16).numpy()


def _at_least(screen, thr_bits: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the screen's entries ≥ each row's threshold, both in bfloat16 bits, row-major.

    bfloat16 bits order like signed integers for values ≥ 0 and reversed below 0; a negative threshold
    (rare: then most entries pass) is compared in float32 instead. The mask is scanned as 64-bit words:
    hits are sparse, and finding the few non-zero words is much faster than a byte-wise nonzero."""
    import torch

    m = screen.shape[1]
    bits = screen.view(torch.int16).numpy()
    pos = thr_bits >= 0
    if pos.all():
        np.greater_equal(bits, thr_bits[:, None], out=mask[:, :m])
    else:
        thr = torch.from_numpy(thr_bits).view(torch.bfloat16).float()
        mask[:, :m] = (screen.float() >= thr[:, None]).numpy()
    words = np.flatnonzero(mask.reshape(-1).view(np.uint64) != 0)  # a bool array: numpy's fast nonzero
    hit_word, byte = np.nonzero(mask.reshape(-1, 8)[words])
    flat = words[hit_word] * 8 + byte
    return flat // mask.shape[1], flat % mask.shape[1]


def _exact_best(rows: np.ndarray, base: np.ndarray, cols: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k best base rows among `cols` (the union of the rows' candidates), by fp32 products: the
    other rows' candidates are exact products too, so a row's top k over the union is its top k."""
    cols = np.unique(cols)
    if len(cols) > GATHER_COLUMNS:  # loose thresholds (a zero row, a weak floor): search the base in place
        return faiss_knn(rows, base, k)
    prod = rows @ base[cols].T
    # argpartition, not top_rows: these small selections run in several threads at once, where faiss's heaps
    # (OpenMP inside) wait on each other
    j = np.argpartition(-prod, k - 1, axis=1)[:, :k] if prod.shape[1] > k else np.broadcast_to(
        np.arange(prod.shape[1]), prod.shape)
    vals = np.take_along_axis(prod, j, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(vals, order, axis=1), cols[np.take_along_axis(j, order, axis=1)]
