"""Blocked top-k inner products for the loops that search many times (refinement, self-learning).

Evaluation keeps exact fp32 faiss search (align.retrieval). Dictionary induction instead runs
the same search again and again, and there the matrix product is cheap next to selecting the
best entries. So: the product runs in blocks of query rows into reused buffers (no page
faults per block) in the fastest precision the device has — bf16 on CPUs with AMX or
AVX512-BF16 (about 4× fp32), fp32 elsewhere, and on GPUs fp32 with torch's top-k — and
selection uses faiss's heap over each block. bf16 scores differ from fp32 ones by up to
about 3·2⁻⁸ for unit vectors, so callers keep a few more candidates than they need and
rescore those in fp32 (align.induction does; on the kit's fr→fi its induced dictionaries are
then identical to an fp32 search's).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import numpy as np

from .device import torch_device
from .errors import InputError

if TYPE_CHECKING:
    import torch

BLOCK = 1024  # query rows per block: memory is BLOCK × len(base) scores


def compute_dtype(device: str):
    """bf16 on CPUs with bf16 matrix units, fp32 otherwise (GPUs are fast enough in fp32)."""
    import torch

    if device.startswith("cpu"):
        cpu = getattr(torch, "cpu", None)
        try:
            if cpu is not None and (cpu._is_amx_tile_supported() or cpu._is_avx512_bf16_supported()):
                return torch.bfloat16
        except AttributeError:  # torch without the capability probes
            pass
    return torch.float32


def score_blocks(queries, base, *, block: int = BLOCK, low_precision: bool = True
                 ) -> Iterator[tuple[int, "torch.Tensor"]]:
    """Yield (first row, fp32 scores of a block of query rows against all base rows).

    The yielded tensor is a reused buffer: use it (or copy it) before asking for the next block.
    """
    import torch

    dev = torch_device()
    q, b = _as_tensor(queries, dev), _as_tensor(base, dev)
    if q.shape[1] != b.shape[1]:
        raise InputError(f"dimension mismatch: queries have {q.shape[1]}, base has {b.shape[1]}")
    n, m = q.shape[0], b.shape[0]
    dtype = compute_dtype(dev) if low_precision else torch.float32
    with torch.no_grad():
        bT = b.to(dtype).T.contiguous()
        rows = min(block, n)
        buf = torch.empty((rows, m), dtype=dtype, device=dev)
        buf32 = buf if dtype == torch.float32 else torch.empty((rows, m), dtype=torch.float32, device=dev)
        for s in range(0, n, block):
            nb = min(block, n - s)
            torch.matmul(q[s:s + nb].to(dtype), bT, out=buf[:nb])
            if buf32 is not buf:
                buf32[:nb].copy_(buf[:nb])
            yield s, buf32[:nb]


class TopK:
    """Running top-k of the rows of an (n × m) score matrix fed in row blocks (faiss heaps on CPU)."""

    def __init__(self, n: int, k: int):
        self.n, self.k = n, k
        self.scores = np.empty((n, k), dtype=np.float32)
        self.ids = np.empty((n, k), dtype=np.int64)
        self._heaps = None

    def add(self, start: int, block) -> None:
        """Offer the scores of rows start … start+len(block) (a float32 torch tensor, all columns)."""
        nb, m = block.shape
        k = min(self.k, m)
        if block.device.type != "cpu":
            v, i = block.topk(k, dim=1)
            self.scores[start:start + nb, :k], self.ids[start:start + nb, :k] = v.cpu().numpy(), i.cpu().numpy()
            return
        import faiss

        if self._heaps is None:  # keeps the k largest values of each row
            self.k = k
            self.scores, self.ids = self.scores[:, :k].copy(), self.ids[:, :k].copy()
            self._heaps = faiss.float_minheap_array_t()
            self._heaps.nh, self._heaps.k = self.n, k
            self._heaps.val, self._heaps.ids = faiss.swig_ptr(self.scores), faiss.swig_ptr(self.ids)
            self._heaps.heapify()
        self._heaps.addn(m, faiss.swig_ptr(block.contiguous().numpy()), 0, start, nb)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(scores (n, k), indices (n, k)), best first."""
        if self._heaps is not None:
            self._heaps.reorder()
            self._heaps = None
        return self.scores[:, :self.k], self.ids[:, :self.k]


def block_topk(queries, base, k: int, *, block: int = BLOCK, low_precision: bool = True
               ) -> tuple[np.ndarray, np.ndarray]:
    """The `k` largest inner products of each query row among the base rows, best first.

    Returns (scores float32 (n, k), indices int64 (n, k)) as numpy arrays. `low_precision`:
    use bf16 products where the CPU has bf16 units (see the module docstring).
    """
    top = TopK(len(queries), k)
    for s, blk in score_blocks(queries, base, block=block, low_precision=low_precision):
        top.add(s, blk)
    return top.result()


def _as_tensor(x, dev: str):
    import torch

    if isinstance(x, torch.Tensor):
        return x.to(dev, torch.float32).contiguous()
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(dev)
