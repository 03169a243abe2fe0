"""Reading a matrix back from a `.npy` file the tool wrote (a mapping's W, a vector cache), trusting nothing:
an empty or cut file, a foreign format, pickled objects, a structured or non-numeric dtype, the wrong number
of dimensions and NaN or infinite values are each a one-line InputError naming the file."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError

FINITE_CHECK_ROWS = 1 << 16  # rows checked at a time: no full-size temporary for a large memory-mapped matrix


def all_finite(matrix: np.ndarray) -> bool:
    """True when no value is NaN or infinite (checked in blocks of rows)."""
    for start in range(0, max(len(matrix), 1), FINITE_CHECK_ROWS):
        if not np.isfinite(matrix[start:start + FINITE_CHECK_ROWS]).all():
            return False
    return True


def read_matrix(path: str | os.PathLike, *, mmap: bool = False, finite: bool = True) -> np.ndarray:
    """The 2-D numeric matrix stored in the `.npy` file `path` (memory-mapped with `mmap`).

    Raises InputError naming `path` for anything else; with `finite`, also for NaN or infinite values."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", str(path)) from None
    if size == 0:
        raise InputError("empty file (0 bytes), not a .npy matrix", str(path))
    try:
        matrix = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:  # cut, foreign, pickled: numpy says which
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"not a readable .npy matrix ({detail})", str(path)) from None
    if not isinstance(matrix, np.ndarray):  # an .npz archive
        raise InputError("not a .npy matrix (an archive of several arrays)", str(path))
    if matrix.dtype.fields is not None or matrix.dtype.kind not in "fiu":
        raise InputError(f"holds values of type {matrix.dtype}, not numbers", str(path))
    if matrix.ndim != 2:
        raise InputError(f"holds an array of shape {matrix.shape}, not a 2-D matrix", str(path))
    if finite and not all_finite(matrix):
        raise InputError("holds NaN or infinite values", str(path))
    return matrix
