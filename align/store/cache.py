"""The binary vector cache: a memory-mapped copy of a parsed text file, reused while the file is unchanged.

Where caches live: beside the text file when its folder is writable, else under
`$ALIGN_CACHE/vectors` (`$ALIGN_CACHE` is the root of every cache align keeps; default ~/.cache/align).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from .report import LoadReport, skip_warnings
from .vectors import Embeddings

CACHE_VERSION = 2  # 2: meta.json keeps the first skipped lines (for the warnings)


def cache_root() -> Path:
    """`$ALIGN_CACHE`, the root of align's caches (vectors/, bridge/); default ~/.cache/align."""
    return Path(os.environ.get("ALIGN_CACHE") or Path.home() / ".cache" / "align")


def cache_dir(path: Path) -> Path:
    """Beside the file when its folder is writable, else under $ALIGN_CACHE/vectors."""
    beside = path.with_name(path.name + ".align-cache")
    parent = path.parent if str(path.parent) else Path(".")
    # os.access is always true for root: also honour the folder's mode bits (read-only data kits).
    if os.access(parent, os.W_OK) and parent.stat().st_mode & 0o222:
        return beside
    root = cache_root() / "vectors"
    key = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
    return root / f"{path.name}.{key}"


def _source_stamp(path: Path) -> dict:
    st = path.stat()
    return {"source": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "version": CACHE_VERSION}


def stamp_matches(meta: dict, path: Path) -> bool:
    """True when a cache's meta.json was written for the current state of `path` (size, mtime, version)."""
    return all(meta.get(k) == v for k, v in _source_stamp(path).items())


def read_cache(path: Path, max_vocab: int | None) -> Embeddings | None:
    d = cache_dir(path)
    try:
        meta = json.loads((d / "meta.json").read_text())
        if not stamp_matches(meta, path):
            return None
        vectors = np.load(d / "vectors.npy", mmap_mode="r")
        n = len(vectors) if max_vocab is None else min(max_vocab, len(vectors))
        with open(d / "words.txt", encoding="utf-8", newline="\n") as f:
            words = f.read().split("\n")[:-1] if max_vocab is None else [next(f)[:-1] for _ in range(n)]
        if len(words) != n:
            return None
    except (OSError, ValueError, KeyError, StopIteration):
        return None
    report = LoadReport(path=str(path), from_cache=True, cache_path=str(d),
                        duplicates=meta.get("duplicates", 0), zero_vectors=meta.get("zero_vectors", 0),
                        first_duplicate_line=meta.get("first_duplicate_line"),
                        first_zero_line=meta.get("first_zero_line"))
    report.warnings = skip_warnings(str(path), report)
    return Embeddings(words, vectors[:n], report=report, name=path.name)


def write_vector_dir(d: Path, words: Sequence[str], vectors: np.ndarray, meta: dict) -> bool:
    """Write vectors.npy + words.txt + meta.json into folder `d` atomically (temp folder, then rename).

    Returns False instead of raising when the folder cannot be written: a cache is optional.
    """
    try:
        d.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=d.name + ".", suffix=".part", dir=d.parent))
    except OSError:
        return False
    try:
        np.save(tmp / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
        with open(tmp / "words.txt", "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(w + "\n" for w in words))
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        if d.exists():
            shutil.rmtree(d, ignore_errors=True)
        os.replace(tmp, d)
        return True
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return False


def write_cache(path: Path, emb: Embeddings) -> None:
    """Cache `emb` for the text file `path` (see `cache_dir`); failure to cache is not an error."""
    d = cache_dir(path)
    meta = _source_stamp(path)
    meta.update(duplicates=emb.report.duplicates, zero_vectors=emb.report.zero_vectors,
                first_duplicate_line=emb.report.first_duplicate_line,
                first_zero_line=emb.report.first_zero_line, words=len(emb), dim=emb.dim)
    if write_vector_dir(d, emb.words, emb.vectors, meta):
        emb.report.cache_path = str(d)


# ---- fastText .bin ----------------------------------------------------------
