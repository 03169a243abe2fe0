"""One place that decides CPU or GPU for torch and faiss, and says which."""
from __future__ import annotations

import contextlib
import functools
import os
from typing import Iterator


@functools.lru_cache(maxsize=None)
def torch_device() -> str:
    """'cuda' when torch sees a GPU (and ALIGN_DEVICE does not say 'cpu'), else 'cpu'."""
    if os.environ.get("ALIGN_DEVICE", "").lower() == "cpu":
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


@contextlib.contextmanager
def small_linalg() -> Iterator[None]:
    """Run torch's dense decompositions of small matrices (d × d SVD) on one CPU thread.

    torch's multi-threaded LAPACK path is 10–50× slower than one thread on a 300 × 300 SVD
    (0.24 s against 0.02 s on a 2-core machine, worse when other jobs hold the cores).
    """
    import torch

    n = torch.get_num_threads()
    if torch_device() == "cpu" and n > 1:
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(n)
    else:
        yield
