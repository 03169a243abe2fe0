"""One place that decides CPU or GPU for torch and faiss, and says which."""
from __future__ import annotations

import contextlib
import functools
import os
from typing import Iterator


def _gpu_possible() -> bool:
    """False when no GPU can be used, decided without importing torch (2+ s on a small CPU machine):
    ALIGN_DEVICE=cpu, no torch, a CPU-only torch build ('+cpu'), or no GPU driver nodes."""
    if os.environ.get("ALIGN_DEVICE", "").lower() == "cpu":
        return False
    try:
        from importlib.metadata import PackageNotFoundError, version

        if "+cpu" in version("torch"):
            return False
    except PackageNotFoundError:  # pragma: no cover - torch is a hard dependency
        return False
    return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia", "/dev/kfd"))


@functools.lru_cache(maxsize=None)
def torch_device() -> str:
    """'cuda' when torch sees a GPU (and ALIGN_DEVICE does not say 'cpu'), else 'cpu'.

    On 'cpu' the dense steps (products, Procrustes SVDs) run in numpy/LAPACK and faiss, so a CPU run
    never pays torch's import; torch is imported only where a GPU may be used, or for methods that
    need its autograd (adversarial training; RCSLS has a numpy path with its gradient in closed form)."""
    if not _gpu_possible():
        return "cpu"
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except Exception:  # pragma: no cover - torch is a hard dependency
        return "cpu"


@functools.lru_cache(maxsize=None)
def faiss_gpus() -> int:
    """Number of GPUs faiss can use (0 with faiss-cpu or ALIGN_DEVICE=cpu)."""
    if os.environ.get("ALIGN_DEVICE", "").lower() == "cpu":
        return 0
    import faiss

    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get is not None else 0


def describe() -> str:
    """A short description of the devices in use, e.g. 'cpu' or 'cuda (NVIDIA H100), faiss-gpu'."""
    dev = torch_device()
    if dev == "cuda":
        import torch

        name = torch.cuda.get_device_name(0)
        dev = f"cuda ({name})"
    return f"{dev}, faiss-{'gpu' if faiss_gpus() else 'cpu'}"


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def loaded_torch():
    """The torch module if it is imported and its import has finished (align.search.screened may be importing
    it in a background thread), else None: code that only adjusts torch's threads must not touch it before."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or getattr(getattr(torch, "__spec__", None), "_initializing", False):
        return None
    return torch


@functools.lru_cache(maxsize=None)
def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries, found once (a scan costs a few ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextlib.contextmanager
def small_linalg() -> Iterator[None]:
    """Run dense decompositions of small matrices (d × d SVD) on one CPU thread.

    Multi-threaded LAPACK is many times slower than one thread on a 300 × 300 SVD on a small machine
    (worse when other jobs hold the cores): its threads spin waiting. This
    limits numpy's BLAS (threadpoolctl) and, when torch is already imported, torch's threads.
    """
    torch = loaded_torch()
    n = torch.get_num_threads() if torch is not None else 1
    with _blas_controller().limit(limits=1, user_api="blas"):
        if torch is not None and n > 1:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch is not None and n > 1:
                torch.set_num_threads(n)
