"""Checking a fastText `.bin` against the sizes its own header declares, before fastText reads it.

fastText's loader does not notice a file cut short: it fills what is missing with garbage and returns a
model whose words and vectors are wrong. The layout (fastText 0.9, our own reading of its format): a
magic number and version (2 int32), the training arguments (12 int32 and one float64), the dictionary
(int32 size, nwords, nlabels; int64 ntokens, prune-index size; then each entry as a NUL-terminated word,
an int64 count and an int8 type; then the prune index as int32 pairs), then for the input and the output
matrix a quantisation flag (1 byte) and, unquantised, int64 rows and columns followed by rows × columns
float32 values. So the exact size of a whole file follows from its head.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

MAGIC = 793712314
ARGS_BYTES = 12 * 4 + 8
DICT_HEAD = struct.Struct("<iiiqq")
MATRIX_HEAD = struct.Struct("<qq")


@dataclass
class BinLayout:
    """What a `.bin` header declares: dimension, words, matrices' shapes and the file size they add up to
    (None for a quantised model, whose matrices are not checked)."""

    dim: int
    words: int
    input_shape: tuple[int, int] | None
    output_shape: tuple[int, int] | None
    expected_size: int | None


class _Reader:
    def __init__(self, f, path: str):
        self.f, self.path = f, path

    def take(self, n: int, what: str) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise InputError(f"fastText .bin cut short: the file ends inside {what}", self.path)
        return data


def _word_entries(r: _Reader, size: int) -> None:
    """Skip `size` dictionary entries (a NUL-terminated word, then 9 bytes), reading in blocks."""
    buf, pos, left = b"", 0, size
    while left:
        end = buf.find(b"\0", pos)
        if end < 0 or end + 10 > len(buf):
            more = r.f.read(1 << 20)
            if not more:
                raise InputError(f"fastText .bin cut short: the file ends inside the dictionary "
                                 f"({size - left} of {size} words)", r.path)
            buf, pos = buf[pos:] + more, 0
            continue
        pos, left = end + 10, left - 1
    r.f.seek(pos - len(buf), os.SEEK_CUR)  # give back what was read past the last entry


def read_layout(path: str | os.PathLike) -> BinLayout:
    """The layout `path`'s header declares; InputError naming the file when it is not a fastText model or
    when the file is shorter or longer than the header says."""
    path = Path(path)
    where = str(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        r = _Reader(f, where)
        magic, version = struct.unpack("<ii", r.take(8, "the header"))
        if magic != MAGIC:
            raise InputError("not a fastText .bin model (wrong magic number)", where)
        args = struct.unpack("<12id", r.take(ARGS_BYTES, "the training arguments"))
        dim = args[0]
        n_entries, n_words, _, _, prune = DICT_HEAD.unpack(r.take(DICT_HEAD.size, "the dictionary header"))
        if dim < 1 or n_entries < 0 or n_words < 0 or n_words > n_entries:
            raise InputError(f"not a fastText .bin model (header declares dimension {dim}, {n_words} words)",
                             where)
        _word_entries(r, n_entries)
        r.take(8 * max(prune, 0), "the prune index")  # -1: not pruned
        shapes: list[tuple[int, int]] = []
        for which in ("input", "output"):
            quantised = r.take(1, f"the {which} matrix header")[0]
            if quantised:
                return BinLayout(dim, n_words, shapes[0] if shapes else None, None, None)
            rows, cols = MATRIX_HEAD.unpack(r.take(MATRIX_HEAD.size, f"the {which} matrix header"))
            if rows < 0 or cols != dim:
                raise InputError(f"fastText .bin damaged: its {which} matrix is declared {rows} × {cols} "
                                 f"for dimension {dim}", where)
            shapes.append((rows, cols))
            start = f.tell()
            f.seek(start + 4 * rows * cols)
            if start + 4 * rows * cols > size:
                missing = start + 4 * rows * cols - size
                raise InputError(f"fastText .bin cut short: its {which} matrix ({rows} × {cols}) lacks "
                                 f"{missing:,} bytes (the file has {size:,})", where)
        expected = f.tell()
    if expected != size:
        raise InputError(f"fastText .bin damaged: {size - expected:,} bytes past the end its header declares",
                         where)
    return BinLayout(dim, n_words, shapes[0], shapes[1], expected)
