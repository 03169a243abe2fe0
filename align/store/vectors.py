"""The vector store: words in frequency order, a word->index map and a float32 matrix (after gensim's
KeyedVectors). Loading dispatches on the file: text (align.store.text) through the binary cache
(align.store.cache), fastText `.bin` (align.store.fasttext_bin), or an installed spaCy pipeline.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Iterable, Sequence, overload

import numpy as np

from .._io import atomic_write
from ..device import available_cores
from ..errors import InputError
from .report import LoadReport


class Embeddings:
    """A vocabulary (most frequent first) and its float32 matrix, like gensim's KeyedVectors.

    `emb["word"]` is a vector, `"word" in emb` a membership test, `emb[:1000]` the
    1000 most frequent words, `len(emb)` the vocabulary size.
    """

    def __init__(
        self,
        words: Sequence[str],
        vectors: np.ndarray,
        *,
        subword_model=None,
        report: LoadReport | None = None,
        name: str = "",
    ):
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            raise InputError(f"vectors must be a 2-D matrix, got shape {vectors.shape}")
        if len(words) != vectors.shape[0]:
            raise InputError(f"{len(words)} words but {vectors.shape[0]} vectors")
        if vectors.dtype != np.float32:
            vectors = vectors.astype(np.float32)
        self.words: list[str] = list(words)
        self.vectors: np.ndarray = vectors
        self.index: dict[str, int] = {}
        for i, w in enumerate(self.words):
            if w in self.index:
                raise InputError(f"duplicate word {w!r} at rows {self.index[w]} and {i}")
            self.index[w] = i
        self.subword_model = subword_model
        self.report = report or LoadReport()
        self.name = name

    # ---- container protocol -------------------------------------------------
    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.index

    @overload
    def __getitem__(self, key: str) -> np.ndarray: ...
    @overload
    def __getitem__(self, key: slice) -> "Embeddings": ...

    def __getitem__(self, key):
        if isinstance(key, slice):
            if key.start not in (None, 0) or key.step not in (None, 1):
                raise ValueError("only prefix slices emb[:n] are supported (words are in frequency order)")
            return self.head(key.stop if key.stop is not None else len(self))
        if isinstance(key, str):
            return self.get_vector(key)
        raise TypeError(f"index with a word or a prefix slice, not {type(key).__name__}")

    def __repr__(self) -> str:
        return f"Embeddings({len(self)} words, dim {self.dim}{', ' + self.name if self.name else ''})"

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def get_index(self, word: str) -> int:
        """Row of `word`; KeyError if absent."""
        return self.index[word]

    def get_vector(self, word: str, oov: bool = False) -> np.ndarray:
        """Vector of `word`; with `oov=True` and a fastText `.bin` model, OOV words get subword vectors."""
        i = self.index.get(word)
        if i is not None:
            return self.vectors[i]
        if oov and self.subword_model is not None:
            return np.asarray(self.subword_model.get_word_vector(word), dtype=np.float32)
        raise KeyError(word)

    def lookup(self, words: Iterable[str], oov: bool = False) -> np.ndarray:
        """Matrix of the vectors of `words`, in order."""
        words = list(words)
        if not words:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.get_vector(w, oov=oov) for w in words])

    def head(self, n: int | None) -> "Embeddings":
        """The `n` most frequent words (a view of the matrix, no copy)."""
        if n is None or n >= len(self):
            return self
        if n < 1:
            raise InputError(f"max_vocab must be at least 1, got {n}")
        return Embeddings(self.words[:n], self.vectors[:n], subword_model=self.subword_model,
                          report=self.report, name=self.name)

    def with_vectors(self, vectors: np.ndarray) -> "Embeddings":
        """Same words, new matrix (e.g. after normalisation or mapping)."""
        out = Embeddings.__new__(Embeddings)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape[0] != len(self.words):
            raise InputError(f"{len(self.words)} words but {vectors.shape[0]} vectors")
        out.words, out.index, out.vectors = self.words, self.index, vectors
        out.subword_model, out.report, out.name = self.subword_model, self.report, self.name
        return out

    # ---- I/O ----------------------------------------------------------------
    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        max_vocab: int | None = None,
        *,
        cache: bool = True,
        words: Iterable[str] | None = None,
        encoding: str = "utf-8",
    ) -> "Embeddings":
        """Load vectors from a text (`.vec`/`.txt`, gz or not), fastText `.bin`, or cache file.

        `max_vocab` keeps the N most frequent words. `words` (fastText `.bin` only) adds
        those words, computing OOV ones from subwords. Text files are cached beside the
        file (or under `$ALIGN_CACHE` when that folder is read-only) and the cache is reused
        while the source is unchanged (align.store.cache.source_stamp); a stale or broken cache is
        parsed again, with a warning in `report.warnings`, never an error.
        """
        if isinstance(path, str) and path.startswith("spacy:"):  # an installed spaCy pipeline's vectors
            from ..sources.spacy_vectors import load_spacy_vectors

            return load_spacy_vectors(path[len("spacy:"):], words=words, max_vocab=max_vocab)
        start = time.perf_counter()
        path = Path(path)
        if max_vocab is not None and max_vocab < 1:
            raise InputError(f"max_vocab must be at least 1, got {max_vocab}", str(path))
        if not path.exists():
            raise InputError("no such file", str(path))
        if not path.is_file() and not path.is_dir():  # a pipe or a device: the text is read more than once
            raise InputError("not a regular file (a pipe?): save the vectors to a file first", str(path))
        if path.suffix == ".bin":
            from .fasttext_bin import load_bin

            emb = load_bin(path, max_vocab, words)
        elif words is not None:
            raise InputError("extra words can only be computed from a fastText .bin model", str(path))
        else:
            from .cache import read_cache, source_stamp, stream_to_cache, write_cache
            from .text import parse_text

            emb, problems = None, []
            if cache:  # from the cache; else parsed straight into it, block by block
                emb = read_cache(path, max_vocab, problems)
                if emb is None:
                    emb = stream_to_cache(path, max_vocab, encoding)
                    if emb is not None:
                        emb.report.cache_problems = problems
                        emb.report.warnings[:0] = problems
            if emb is None:
                full = None if cache else max_vocab
                stamp = source_stamp(path) if cache else None
                words_, vectors, report = parse_text(path, full, encoding)
                emb = cls(words_, vectors, report=report, name=path.name)
                if cache:
                    write_cache(path, emb, stamp)
                emb.report.cache_problems = problems
                emb.report.warnings[:0] = problems
                emb = emb.head(max_vocab)
        emb.report.seconds = time.perf_counter() - start
        emb.report.path = str(path)
        return emb

    def save(self, path: str | os.PathLike, decimals: int = 6, *, text: bytes | None = None) -> None:
        """Write word2vec text (`N D` header, one word per line, `decimals` digits after the point;
        gzip if `.gz`), atomically. `text`: the bytes of `to_text(decimals)` if already made."""
        with atomic_write(path, "wb") as f:
            f.write(self.to_text(decimals) if text is None else text)

    def to_text(self, decimals: int = 6) -> bytes:
        """The word2vec text file of these vectors, as bytes (what `save` writes)."""
        from .text import vec_text

        return vec_text(self.words, self.vectors, decimals)


def load_all(paths: Sequence[str | os.PathLike], max_vocab: int | None = None, *, cache: bool = True
             ) -> list[Embeddings]:
    """Load several vector files (a source and a target, most often), like `Embeddings.load` each.

    Text files whose cache is missing or stale are first parsed at the same time, each writing its
    cache: in threads with pyarrow's reader (it parses off the GIL), in worker processes (one per
    file and core) when a file needs the line parser; then every file is loaded in this process
    (from the fresh caches). Any error surfaces from that last load, exactly as `Embeddings.load` reports it.
    """
    todo = list(dict.fromkeys(str(p) for p in paths if cache and _needs_parse(p)))  # a file given twice: once
    notes: dict[str, list[str]] = {}
    cores = available_cores()
    if len(todo) > 1 and _arrow_available():  # pyarrow parses off the GIL: threads are enough
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(todo)) as ex:
            notes = dict(zip(todo, ex.map(_warm_cache, todo)))
    elif len(todo) > 1 and cores > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        try:
            with ProcessPoolExecutor(min(len(todo), cores), mp_context=multiprocessing.get_context("spawn")) as ex:
                notes = dict(zip(todo, ex.map(_warm_cache, todo)))
        except Exception:  # pragma: no cover - no worker processes here: the sequential load still works
            pass
    out = [Embeddings.load(p, max_vocab, cache=cache) for p in paths]
    for p, emb in zip(paths, out):  # what the parallel parse said about a stale or broken cache
        emb.report.warnings[:0] = [w for w in notes.get(str(p), []) if w not in emb.report.warnings]
    return out


def _arrow_available() -> bool:
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:  # pragma: no cover - a dependency
        return False
    return True


def _needs_parse(path: str | os.PathLike) -> bool:
    """True for an existing text vector file whose binary cache is missing or stale."""
    if isinstance(path, str) and path.startswith("spacy:"):
        return False
    p = Path(path)
    if p.suffix == ".bin" or not p.is_file():
        return False
    from .cache import cache_dir, stamp_matches

    try:
        return not stamp_matches(json.loads((cache_dir(p) / "meta.json").read_text()), p)
    except (OSError, ValueError):
        return True


def _warm_cache(path: str) -> list[str]:
    """Parse a text file and write its cache (run in a worker by `load_all`); the cache warnings it gave
    (a stale or broken cache), or none on any error (the caller's own load reports it)."""
    try:
        emb = Embeddings.load(path)
    except Exception:
        return []
    return emb.report.cache_problems
