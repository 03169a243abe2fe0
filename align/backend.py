"""One array-backend handle for numpy and torch, in the manner of VecMap's `xp`.

Numeric code that must run both on a CPU and on a GPU takes an `xp` and calls its methods
(`asarray`, `svd`, `sort_desc`, …) and the operators both libraries share (`@`, `*`, `.T`,
`.sum(1)`), so that one text serves both. `get_backend()` gives numpy when align.device says
'cpu' (a CPU run then never imports torch) and torch on the GPU otherwise.
"""
from __future__ import annotations

import functools

import numpy as np

from .device import small_linalg, torch_device


class NumpyBackend:
    """numpy arrays on the CPU (LAPACK decompositions; faiss heaps for top-k in align.search.topk)."""

    name = "numpy"
    device = "cpu"

    def asarray(self, a, dtype: str = "float32"):
        return np.ascontiguousarray(a, dtype=dtype)

    def to_numpy(self, a, dtype=np.float32) -> np.ndarray:
        return np.asarray(a, dtype=dtype)

    def svd(self, a, *, small: bool = True):
        """(U, S, Vᵀ), thin. `small`: a d × d matrix, decomposed on one thread (see small_linalg)."""
        if small:
            with small_linalg():
                return np.linalg.svd(a, full_matrices=False)
        return np.linalg.svd(a, full_matrices=False)

    def sort_desc(self, a):
        """Each row sorted, largest first."""
        return -np.sort(-a, axis=1)

    def copy(self, a):
        return a.copy()

    def minimum(self, a, value: float):
        return np.minimum(a, value)

    def unique_inverse(self, a):
        """(sorted distinct values, index of each element's value among them)."""
        u, inv = np.unique(a, return_inverse=True)
        return u, inv.ravel()

    def logsumexp(self, a):
        """log Σ exp over each row, stable."""
        m = a.max(axis=1, keepdims=True)
        return (np.log(np.exp(a - m).sum(axis=1, keepdims=True)) + m)[:, 0]


class TorchBackend:
    """torch tensors on `device` (the GPU path; tests run it on the CPU against NumpyBackend)."""

    name = "torch"

    def __init__(self, device: str = "cuda"):
        import torch

        self.torch = torch
        self.device = device

    def asarray(self, a, dtype: str = "float32"):
        t = self.torch
        if isinstance(a, t.Tensor):
            return a.to(self.device, getattr(t, dtype))
        return t.from_numpy(np.ascontiguousarray(a, dtype=dtype)).to(self.device)

    def to_numpy(self, a, dtype=np.float32) -> np.ndarray:
        return a.detach().cpu().numpy().astype(dtype, copy=False)

    def svd(self, a, *, small: bool = True):
        if small:
            with small_linalg():
                return self.torch.linalg.svd(a, full_matrices=False)
        return self.torch.linalg.svd(a, full_matrices=False)

    def sort_desc(self, a):
        return self.torch.sort(a, dim=1, descending=True).values

    def copy(self, a):
        return a.clone()

    def minimum(self, a, value: float):
        return a.clamp(max=value)

    def unique_inverse(self, a):
        return self.torch.unique(a, return_inverse=True)

    def logsumexp(self, a):
        return self.torch.logsumexp(a, dim=1)


Backend = NumpyBackend | TorchBackend


@functools.lru_cache(maxsize=None)
def get_backend(device: str | None = None) -> Backend:
    """The backend for `device` ('cpu' → numpy, anything else → torch on it); default: align.device's choice."""
    device = device or torch_device()
    return NumpyBackend() if device == "cpu" else TorchBackend(device)


def torch_backend(device: str = "cpu") -> TorchBackend:
    """torch on `device` even where numpy would be chosen (tests compare the two backends on a CPU)."""
    return TorchBackend(device)
