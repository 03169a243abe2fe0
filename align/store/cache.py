"""The binary vector cache: a memory-mapped copy of a parsed text file, reused while the file is unchanged.

Where caches live: beside the text file when its folder is writable, else under
`$ALIGN_CACHE/vectors` (`$ALIGN_CACHE` is the root of every cache align keeps; default ~/.cache/align).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from .._io import remove_orphans
from ..errors import AlignError
from .matrix import read_matrix
from .report import LoadReport, skip_warnings
from .vectors import Embeddings

CACHE_VERSION = 3  # 2: meta.json keeps the first skipped lines (for the warnings); 3: inode, ctime, fingerprint
ORPHAN_AGE = 3600.0  # seconds after which a work folder named without a process id (older versions) is removed


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


FINGERPRINT_BYTES = 1 << 20  # the cache key hashes this much of the file's head and of its tail


def fingerprint(path: Path, size: int) -> str:
    """sha1 of the first and the last MiB of the file (the whole file when smaller than 2 MiB): with the
    inode and ctime it tells a file replaced by another of the same size and mtime (`cp -p`), for the cost
    of reading 2 MiB instead of the whole file."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        h.update(f.read(FINGERPRINT_BYTES))
        if size > FINGERPRINT_BYTES:
            f.seek(max(FINGERPRINT_BYTES, size - FINGERPRINT_BYTES))
            h.update(f.read(FINGERPRINT_BYTES))
    return h.hexdigest()


def source_stamp(path: Path) -> dict:
    """What identifies the current state of the text file `path`: path, size, mtime, inode, ctime (which no
    copy can set) and a fingerprint of its head and tail."""
    st = path.stat()
    return {"source": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "inode": [st.st_dev, st.st_ino], "ctime_ns": st.st_ctime_ns,
            "fingerprint": fingerprint(path, st.st_size), "version": CACHE_VERSION}


def stamp_matches(meta: dict, path: Path, stamp: dict | None = None) -> bool:
    """True when a cache's meta.json was written for the current state of `path` (`source_stamp`)."""
    stamp = source_stamp(path) if stamp is None else stamp
    return isinstance(meta, dict) and all(meta.get(k) == v for k, v in stamp.items())


def read_cache(path: Path, max_vocab: int | None, problems: list[str] | None = None) -> Embeddings | None:
    """The cached vectors of the text file `path`, or None: when there is no cache, and when it is stale (the
    file changed) or unusable (a cut or damaged file, NaN, words that do not match), which is then said in
    `problems`, so that the caller parses the file again and warns. Never raises for a bad cache."""
    d = cache_dir(path)
    if not (d / "meta.json").exists():
        return None
    problems = [] if problems is None else problems
    try:
        meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
        if not stamp_matches(meta, path):
            problems.append(f"{path}: changed since its binary cache was written (or an older align wrote it); "
                            "parsed again")
            return None
        vectors = read_matrix(d / "vectors.npy", mmap=True)
        if vectors.shape != (meta.get("words"), meta.get("dim")):
            raise ValueError(f"vectors.npy holds {vectors.shape}, meta.json says {meta.get('words')} × {meta.get('dim')}")
        n = len(vectors) if max_vocab is None else min(max_vocab, len(vectors))
        with open(d / "words.txt", encoding="utf-8", newline="\n") as f:
            words = f.read().split("\n")[:-1] if max_vocab is None else [next(f)[:-1] for _ in range(n)]
        if len(words) != n:
            raise ValueError(f"words.txt holds {len(words)} words for {n} vectors")
        report = LoadReport(path=str(path), from_cache=True, cache_path=str(d),
                            duplicates=meta.get("duplicates", 0), zero_vectors=meta.get("zero_vectors", 0),
                            first_duplicate_line=meta.get("first_duplicate_line"),
                            first_zero_line=meta.get("first_zero_line"))
        report.warnings = skip_warnings(str(path), report)
        return Embeddings(words, vectors[:n], report=report, name=path.name)
    except (OSError, ValueError, AlignError, StopIteration, TypeError) as exc:  # UnicodeDecodeError: a ValueError
        problems.append(f"{path}: its binary cache {d} is unusable ({exc or type(exc).__name__}); parsed again")
        return None


def write_vector_dir(d: Path, words: Sequence[str], vectors: np.ndarray, meta: dict) -> bool:
    """Write vectors.npy + words.txt + meta.json into folder `d` atomically (temp folder, then rename).

    Returns False instead of raising when the folder cannot be written: a cache is optional. Work
    folders that killed runs left beside `d` are removed first (align._io.remove_orphans).
    """
    try:
        d.parent.mkdir(parents=True, exist_ok=True)
        remove_orphans(d.parent, d.name, legacy_age=ORPHAN_AGE)
        tmp = Path(tempfile.mkdtemp(prefix=f".{d.name}.{os.getpid()}.", suffix=".part", dir=d.parent))
    except OSError:
        return False
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp creates 0700: a cache others may read, like its source
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


def write_cache(path: Path, emb: Embeddings, stamp: dict | None = None) -> None:
    """Cache `emb` for the text file `path` (see `cache_dir`); failure to cache is not an error. `stamp`: the
    file's `source_stamp` taken before it was parsed (so that a file changed meanwhile is parsed again)."""
    d = cache_dir(path)
    try:
        meta = dict(source_stamp(path) if stamp is None else stamp)
    except OSError:
        return
    meta.update(duplicates=emb.report.duplicates, zero_vectors=emb.report.zero_vectors,
                first_duplicate_line=emb.report.first_duplicate_line,
                first_zero_line=emb.report.first_zero_line, words=len(emb), dim=emb.dim)
    if write_vector_dir(d, emb.words, emb.vectors, meta):
        emb.report.cache_path = str(d)


# ---- fastText .bin ----------------------------------------------------------


# ---- streaming a text file into the cache -------------------------------------

NPY_HEADER = 128  # bytes of the .npy header written first and rewritten with the final shape


def _npy_header(n: int, dim: int) -> bytes:
    """A .npy (version 1.0) header for an (n, dim) little-endian float32 C-order array, padded to NPY_HEADER."""
    text = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (n, dim)
    text += " " * (NPY_HEADER - 10 - 1 - len(text)) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


class CacheWriter:
    """Rows appended straight to the cache's vectors.npy in a temporary folder (a `RowSink` for the
    text parser); `finish` writes the words and the stamp and swaps the folder in whole."""

    def __init__(self, path: Path):
        self.path = path
        self.stamp = source_stamp(path)  # taken before parsing: a file changed meanwhile is parsed again next time
        self.dir = cache_dir(path)
        self.dir.parent.mkdir(parents=True, exist_ok=True)
        remove_orphans(self.dir.parent, self.dir.name, legacy_age=ORPHAN_AGE)  # as write_vector_dir does
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.dir.name}.{os.getpid()}.", suffix=".part", dir=self.dir.parent))
        self._f = open(self.tmp / "vectors.npy", "wb")
        self.rows, self.dim, self.failed = 0, None, False
        self.reset()

    @classmethod
    def open(cls, path: Path) -> "CacheWriter | None":
        """A writer for the cache of `path`, or None when no cache folder can be written (a cache is optional)."""
        try:
            return cls(path)
        except OSError:
            return None

    def reset(self) -> None:
        """Forget the rows written so far (the parser starts again)."""
        self.rows, self.dim = 0, None
        try:
            self._f.seek(0)
            self._f.truncate()
            self._f.write(_npy_header(0, 0))
        except OSError:  # a full disk or a file-size limit: no cache, the parse goes on
            self.failed = True

    def add(self, rows: np.ndarray) -> None:
        if self.dim is None:
            self.dim = int(rows.shape[1])
        self.rows += len(rows)
        if self.failed:
            return
        try:
            self._f.write(np.ascontiguousarray(rows, dtype="<f4").tobytes())
        except OSError:
            self.failed = True

    def finish(self, words: Sequence[str], report: LoadReport) -> bool:
        """Complete the header, write words.txt and meta.json, and put the folder in place; False (and
        nothing left behind) when the cache could not be written."""
        if len(words) != self.rows:
            raise ValueError(f"{len(words)} words but {self.rows} rows were written")
        try:
            if self.failed:
                raise OSError("the cache could not be written")
            self._finish(words, report)
            return True
        except OSError:
            self.abort()
            return False

    def _finish(self, words: Sequence[str], report: LoadReport) -> None:
        self._f.seek(0)
        self._f.write(_npy_header(self.rows, self.dim or 0))
        self._f.close()
        with open(self.tmp / "words.txt", "w", encoding="utf-8", newline="\n") as f:
            for s in range(0, len(words), 65536):
                f.write("".join(w + "\n" for w in words[s:s + 65536]))
        meta = dict(self.stamp)
        meta.update(duplicates=report.duplicates, zero_vectors=report.zero_vectors,
                    first_duplicate_line=report.first_duplicate_line, first_zero_line=report.first_zero_line,
                    words=len(words), dim=self.dim)
        (self.tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        if self.dir.exists():
            shutil.rmtree(self.dir, ignore_errors=True)
        os.replace(self.tmp, self.dir)

    def abort(self) -> None:
        try:
            self._f.close()
        except OSError:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)


def stream_to_cache(path: Path, max_vocab: int | None, encoding: str) -> Embeddings | None:
    """Parse the text file `path` straight into its binary cache and load it from there (memory-mapped):
    the process never holds the text or the whole matrix. None when no cache can be written (the caller
    then parses in memory, as without a cache)."""
    from .text import parse_text

    writer = CacheWriter.open(path)
    if writer is None:
        return None
    try:
        words, _, report = parse_text(path, None, encoding, sink=writer)
    except BaseException:
        writer.abort()
        raise
    if not writer.finish(words, report):  # no cache after all (disk full, file-size limit): parse in memory
        return None
    del words
    emb = read_cache(path, max_vocab)
    if emb is not None:
        emb.report.from_cache, emb.report.parser = False, report.parser
    return emb
