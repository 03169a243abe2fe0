"""Running one cell: the alignment job of the single-pair commands (align.jobs.run_alignment), with
vectors and dictionaries read once per process.

`run_cell` never raises for a failing run (except KeyboardInterrupt/SystemExit): it returns a record
with status "failed" and the one-line error, so one bad cell does not stop the grid.
"""
from __future__ import annotations

import contextlib
import functools
import os
import platform
import time
from collections import OrderedDict
from datetime import datetime, timezone

from .cells import Cell

# Vector sets and dictionaries already read by this process (a worker runs many cells on the same files),
# keyed by the file's path, size and modification time: a file changed since is read again.
# Vector sets are kept for the most recently used VECTOR_SETS_KEPT files only: a grid over many
# languages runs its cells source by source, so a few sets cover its working set without holding all.
VECTOR_SETS_KEPT = 8
_VECTORS: OrderedDict[tuple, object] = OrderedDict()
_DICTIONARIES: dict[tuple, object] = {}


def _stamp(path: str) -> tuple:
    try:
        st = os.stat(path)
    except OSError:  # the loader reports the missing file
        return (path, None, None)
    return (path, st.st_size, st.st_mtime_ns)


def cached_vectors(path: str, max_vocab: int):
    """The Embeddings of `path` (first `max_vocab` words), read once per process while the file is
    unchanged. Jobs never modify their input vectors (aligners normalise copies), so cells share them."""
    key = (_stamp(path), max_vocab)
    if key in _VECTORS:
        _VECTORS.move_to_end(key)
        return _VECTORS[key]
    from .. import Embeddings

    emb = Embeddings.load(path, max_vocab=max_vocab)
    _VECTORS[key] = emb
    while len(_VECTORS) > VECTOR_SETS_KEPT:
        _VECTORS.popitem(last=False)
    return emb


def cached_dictionary(path: str, reverse: bool):
    """The Dictionary of `path`, read once per process while the file is unchanged; `reverse` swaps
    each pair (target→source)."""
    key = (_stamp(path), reverse)
    if key not in _DICTIONARIES:
        from .. import Dictionary

        d = Dictionary.load(path)
        if reverse:
            d = Dictionary([(t, s) for s, t in d.pairs], name=d.name + " (reversed)", path=d.path)
        _DICTIONARIES[key] = d
    return _DICTIONARIES[key]


def run_cell(cell: Cell, threads: int | None = None) -> dict:
    """Run `cell` and return its results record (status "ok" with metrics, or "failed" with the error);
    `threads`: the BLAS/OpenMP threads the caller gave the cell, recorded with it."""
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    record = {"id": cell.id, "key": cell.key, "index": cell.index, "params": cell.params(), "started_at": started_at}
    try:
        metrics = _run(cell, t0)
        record.update(status="ok", error=None, metrics=metrics)
    except Exception as exc:  # recorded; the grid goes on
        record.update(status="failed", error=one_line_error(exc), metrics=None)
    record["seconds"] = round(time.perf_counter() - t0, 3)
    record["threads"] = threads
    record["versions"] = versions()
    record["machine"] = machine()
    return record


def _run(cell: Cell, started: float) -> dict:
    src = cached_vectors(cell.src_vectors, cell.max_vocab)
    tgt = cached_vectors(cell.tgt_vectors, cell.max_vocab)
    test = cached_dictionary(cell.test, cell.reverse) if cell.test else None
    output = _part_folder(cell.save_to) if cell.save_to else None
    seeds = cached_dictionary(cell.train, cell.reverse) if cell.train is not None else None
    from .._io import shown_as
    from ..jobs import run_alignment

    with shown_as(output, cell.save_to) if output is not None else contextlib.nullcontext():
        _, metrics = run_alignment(src, tgt, seeds, method=cell.method, dico_eval=test, output=output,
                                   src_lang=cell.src, tgt_lang=cell.tgt, started=started, seed=cell.seed,
                                   **cell.options)
    if output is not None:  # swap the finished folder in whole
        _swap_in(output, cell.save_to)
        metrics.pop("outputs", None)
        metrics["mapping"] = cell.save_to
    return metrics


def _part_folder(final: str) -> str:
    head, name = os.path.split(final)
    return os.path.join(head, f".{name}.part")


def _swap_in(part: str, final: str) -> None:
    import shutil

    if os.path.isdir(final):
        shutil.rmtree(final)
    os.replace(part, final)


def one_line_error(exc: BaseException) -> str:
    """`Type: message` on one line (the message's lines joined), for the results record."""
    text = " ".join(str(exc).split()) or repr(exc)
    return f"{type(exc).__name__}: {text}"


@functools.lru_cache(maxsize=None)
def versions() -> dict:
    """Versions of align and of its numeric libraries (torch read from package metadata: not imported)."""
    from importlib.metadata import PackageNotFoundError, version

    import numpy

    from .. import __version__

    out = {"align": __version__, "numpy": numpy.__version__, "python": platform.python_version()}
    for name, dists in (("torch", ("torch",)), ("faiss", ("faiss-cpu", "faiss-gpu", "faiss"))):
        out[name] = None
        for dist in dists:
            try:
                out[name] = version(dist)
                break
            except PackageNotFoundError:
                continue
    return out


@functools.lru_cache(maxsize=None)
def machine() -> dict:
    """Host name, CPU model, core count and the device the jobs use."""
    from ..device import describe

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"host": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "device": describe()}
