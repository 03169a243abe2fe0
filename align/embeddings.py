"""The vector store: words in frequency order, a word->index map and a float32 matrix.

Formats: word2vec/fastText text (`.vec`, `.txt`, optionally gzipped, with or without
the `N D` header), fastText `.bin` (OOV words through subwords) and a memory-mapped
binary cache written beside a text file on first load.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence, overload

import numpy as np

from ._io import atomic_write, open_binary
from .errors import InputError

CACHE_VERSION = 2  # 2: meta.json keeps the first skipped lines (for the warnings)


@dataclass
class LoadReport:
    """What happened while loading: skipped rows and where the data came from."""

    path: str = ""
    duplicates: int = 0
    first_duplicate_line: int | None = None
    zero_vectors: int = 0
    first_zero_line: int | None = None
    from_cache: bool = False
    cache_path: str | None = None
    parser: str | None = None  # "arrow" (pyarrow's multi-threaded CSV reader) or "python" (line by line)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "duplicates": self.duplicates,
            "zero_vectors": self.zero_vectors,
            "from_cache": self.from_cache,
            "parser": self.parser,
            "seconds": round(self.seconds, 4),
        }


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
        while the source's size and mtime are unchanged.
        """
        if isinstance(path, str) and path.startswith("spacy:"):  # an installed spaCy pipeline's vectors
            from .sources.spacy_vectors import load_spacy_vectors

            return load_spacy_vectors(path[len("spacy:"):], words=words, max_vocab=max_vocab)
        start = time.perf_counter()
        path = Path(path)
        if max_vocab is not None and max_vocab < 1:
            raise InputError(f"max_vocab must be at least 1, got {max_vocab}", str(path))
        if not path.exists():
            raise InputError("no such file", str(path))
        if path.suffix == ".bin":
            emb = _load_fasttext_bin(path, max_vocab, words)
        elif words is not None:
            raise InputError("extra words can only be computed from a fastText .bin model", str(path))
        else:
            emb = None
            if cache:
                emb = _read_cache(path, max_vocab)
            if emb is None:
                full = None if cache else max_vocab
                words_, vectors, report = _parse_text(path, full, encoding)
                emb = cls(words_, vectors, report=report, name=path.name)
                if cache:
                    _write_cache(path, emb)
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
        from .textformat import format_rows

        parts = [f"{len(self)} {self.dim}\n".encode()]
        for s in range(0, len(self), 8192):
            rows = format_rows(self.vectors[s:s + 8192], decimals)
            parts.append(b"".join(w.encode("utf-8") + b" " + r + b"\n" for w, r in zip(self.words[s:s + 8192], rows)))
        return b"".join(parts)


def load_all(paths: Sequence[str | os.PathLike], max_vocab: int | None = None, *, cache: bool = True
             ) -> list[Embeddings]:
    """Load several vector files (a source and a target, most often), like `Embeddings.load` each.

    Text files whose cache is missing or stale are first parsed at the same time, each writing its
    cache: in threads with pyarrow's reader (it parses off the GIL), in worker processes (one per
    file and core) when a file needs the line parser; then every file is loaded in this process
    (from the fresh caches). Any error surfaces from that last load, exactly as `Embeddings.load` reports it.
    """
    todo = [str(p) for p in paths if cache and _needs_parse(p)]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if len(todo) > 1 and _arrow_available():  # pyarrow parses off the GIL: threads are enough
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(todo)) as ex:
            list(ex.map(_warm_cache, todo))
    elif len(todo) > 1 and cores > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        try:
            with ProcessPoolExecutor(min(len(todo), cores), mp_context=multiprocessing.get_context("spawn")) as ex:
                list(ex.map(_warm_cache, todo))
        except Exception:  # pragma: no cover - no worker processes here: the sequential load still works
            pass
    return [Embeddings.load(p, max_vocab, cache=cache) for p in paths]


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
    try:
        return not _stamp_matches(json.loads((_cache_dir(p) / "meta.json").read_text()), p)
    except (OSError, ValueError):
        return True


def _warm_cache(path: str) -> bool:
    """Parse a text file and write its cache (run in a worker process by `load_all`); False on any error."""
    try:
        Embeddings.load(path)
        return True
    except Exception:
        return False


# ---- text parsing -----------------------------------------------------------

def _split_word(line: str) -> tuple[str, str]:
    """Split a line at its first space or tab: fastText words may hold other whitespace."""
    sp, tab = line.find(" "), line.find("\t")
    cut = min(x for x in (sp, tab) if x >= 0) if (sp >= 0 or tab >= 0) else -1
    if cut < 0:
        return line, ""
    return line[:cut], line[cut + 1:]


def _explain_bad_values(rest: str, dim: int | None) -> str:
    fields = rest.split()
    for tok in fields:
        try:
            float(tok)
        except ValueError:
            return f"not a number: {tok[:40]!r}"
    if dim is not None:
        return f"expected {dim} values, found {len(fields)}"
    return "cannot parse the values"


def _parse_text(path: Path, max_vocab: int | None, encoding: str) -> tuple[list[str], np.ndarray, LoadReport]:
    """Parse a word2vec text file: pyarrow's fast reader when the file is regular, else line by line.

    The fast reader hands back (None) on anything it does not handle exactly as the line parser
    does (another encoding, a byte-order mark, tabs, blank lines, ragged rows, a bad value, NaN,
    a header count that does not match); the line parser then gives the same result or the same
    error, with its line number.
    """
    fast = _parse_text_arrow(path, max_vocab, encoding)
    if fast is not None:
        return fast
    return _parse_text_lines(path, max_vocab, encoding)


ARROW_BLOCK = 1 << 20  # bytes per pyarrow parse block when reading only the head of a file


def _parse_text_arrow(path: Path, max_vocab: int | None, encoding: str
                      ) -> tuple[list[str], np.ndarray, LoadReport] | None:
    """Parse with pyarrow's CSV reader (multi-threaded, correctly rounded floats); None to fall back."""
    if encoding.lower().replace("-", "").replace("_", "") != "utf8":
        return None
    try:
        import pyarrow as pa
        import pyarrow.compute as pac
        import pyarrow.csv as pcsv
    except ImportError:  # pragma: no cover - pyarrow is a dependency; the line parser still works
        return None
    try:
        with open_binary(path) as f:
            gz = isinstance(f, gzip.GzipFile)
            first, second = f.readline(), f.readline()
        line1 = first.decode("utf-8").rstrip("\r\n").rstrip(" \t")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError):
        return None
    if not line1 or line1.startswith("\ufeff"):
        return None
    parts = line1.split()
    header = len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit()
    data = (second if header else first).rstrip(b"\r\n")
    if not data or b"\t" in data:
        return None
    trailing = data.endswith(b" ")
    dim = len(data.split(b" ")) - 1 - trailing
    if dim < 1 or (header and dim != int(parts[1])):
        return None
    names = ["w"] + [f"v{i}" for i in range(dim)] + (["pad"] if trailing else [])
    types = {n: pa.float32() for n in names[1:dim + 1]}
    types.update({"w": pa.string(), "pad": pa.string()})
    read = pcsv.ReadOptions(column_names=names, skip_rows=1 if header else 0, block_size=ARROW_BLOCK)
    parse = pcsv.ParseOptions(delimiter=" ", quote_char=False, escape_char=False, double_quote=False,
                              ignore_empty_lines=False)
    convert = pcsv.ConvertOptions(column_types={k: v for k, v in types.items() if k in names}, null_values=[],
                                  strings_can_be_null=False)
    report = LoadReport(path=str(path), parser="arrow")
    words: list[str] = []
    index: dict[str, int] = {}
    kept: list[np.ndarray] = []
    blocks: list[np.ndarray] = []
    rows = 0
    complete = True
    offset = 2 if header else 1  # line number of data row 0
    try:
        stream = pa.input_stream(str(path), compression="gzip" if gz else None)
        if max_vocab is None:  # the whole file: one multi-threaded read
            batches = iter(pcsv.read_csv(stream, read, parse, convert).to_batches())
        else:  # only the head: stream blocks and stop early
            read.use_threads = False
            batches = iter(pcsv.open_csv(stream, read, parse, convert))
        for batch in batches:
            if batch.num_rows == 0:
                continue
            wcol = batch.column(0)
            if pac.any(pac.match_substring(wcol, "\t")).as_py():
                return None
            if trailing and pac.max(pac.utf8_length(batch.column(dim + 1))).as_py():
                return None
            block = np.stack([batch.column(i + 1).to_numpy() for i in range(dim)], axis=1)
            zero = ~block.any(axis=1)
            take = []
            for r, word in enumerate(wcol.to_pylist()):
                if max_vocab is not None and len(words) >= max_vocab:
                    complete = False
                    break
                if word in index:
                    report.duplicates += 1
                    if report.first_duplicate_line is None:
                        report.first_duplicate_line = rows + r + offset
                    continue
                if zero[r]:
                    report.zero_vectors += 1
                    if report.first_zero_line is None:
                        report.first_zero_line = rows + r + offset
                    continue
                index[word] = len(words)
                words.append(word)
                take.append(r)
            blocks.append(block)
            kept.append(np.asarray(take, dtype=np.int64))
            rows += batch.num_rows
            if not complete:
                break
            if max_vocab is not None and len(words) >= max_vocab and next(batches, None) is not None:
                complete = False
                break
    except (pa.ArrowException, ValueError, OSError, EOFError, zlib.error):
        return None
    if not words or (header and complete and int(parts[0]) != rows):
        return None
    vectors = np.concatenate([b[k] for b, k in zip(blocks, kept)])
    if not np.isfinite(vectors).all():
        return None
    report.warnings.extend(_skip_warnings(str(path), report))
    return words, vectors, report


def _parse_text_lines(path: Path, max_vocab: int | None, encoding: str) -> tuple[list[str], np.ndarray, LoadReport]:
    """The reference parser: line by line, with a precise error for every kind of bad line."""
    report = LoadReport(path=str(path), parser="python")
    name = str(path)
    words: list[str] = []
    index: dict[str, int] = {}
    rows: list[np.ndarray] = []
    row_lines: list[int] = []
    header_n: int | None = None
    dim: int | None = None
    data_lines = 0
    lineno = 0
    complete = True
    with open_binary(path) as f, warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            for lineno, raw in enumerate(f, 1):
                try:
                    line = raw.decode(encoding)
                except UnicodeDecodeError as exc:
                    raise InputError(
                        f"not valid {encoding.upper()} text (byte {exc.start + 1} of the line is {raw[exc.start:exc.start + 1]!r}); "
                        "pass the file's encoding", name, lineno) from None
                line = line.rstrip("\r\n").rstrip(" \t")
                if lineno == 1:
                    line = line.lstrip("\ufeff")  # a UTF-8 byte-order mark
                if not line:
                    continue
                if lineno == 1 and header_n is None:
                    parts = line.split()
                    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                        header_n, dim = int(parts[0]), int(parts[1])
                        if dim < 1:
                            raise InputError(f"header gives dimension {dim}", name, 1)
                        continue
                data_lines += 1
                if max_vocab is not None and len(words) >= max_vocab:
                    complete = False
                    break
                word, rest = _split_word(line)
                try:
                    vec = np.fromstring(rest, dtype=np.float32, sep=" ")
                except (ValueError, DeprecationWarning):
                    raise InputError(_explain_bad_values(rest, dim), name, lineno) from None
                if dim is None:
                    if vec.size == 0:
                        raise InputError(f"no vector values after the word {word[:40]!r}", name, lineno)
                    dim = vec.size
                elif vec.size != dim:
                    origin = "the header" if header_n is not None else "the first vector"
                    raise InputError(f"expected {dim} values (as in {origin}), found {vec.size}", name, lineno)
                if word in index:
                    report.duplicates += 1
                    if report.first_duplicate_line is None:
                        report.first_duplicate_line = lineno
                    continue
                if not vec.any():
                    report.zero_vectors += 1
                    if report.first_zero_line is None:
                        report.first_zero_line = lineno
                    continue
                index[word] = len(words)
                words.append(word)
                rows.append(vec)
                row_lines.append(lineno)
        except (EOFError, zlib.error, OSError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"compressed data is truncated or corrupt ({exc})", name, lineno + 1) from None
    if lineno == 0 or (data_lines == 0 and header_n is None):
        raise InputError("file is empty", name)
    if not words:
        raise InputError("no usable vectors (all rows were duplicates or zero)", name)
    if header_n is not None and complete and header_n != data_lines:
        raise InputError(f"header announces {header_n} words but the file holds {data_lines}", name, 1)
    vectors = np.vstack(rows)
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        bad = int(np.argmin(finite))
        raise InputError("vector holds NaN or infinity", name, row_lines[bad])
    report.warnings.extend(_skip_warnings(name, report))
    return words, vectors, report


def _skip_warnings(name: str, report: LoadReport) -> list[str]:
    """The warnings for skipped rows (also rebuilt when loading from the cache)."""
    out = []
    if report.duplicates:
        out.append(
            f"{name}: {report.duplicates} duplicated words ignored (first at line {report.first_duplicate_line}); kept the first occurrence")
    if report.zero_vectors:
        out.append(f"{name}: {report.zero_vectors} zero vectors dropped (first at line {report.first_zero_line})")
    return out


# ---- binary cache -----------------------------------------------------------

def _cache_dir(path: Path) -> Path:
    """Beside the file when its folder is writable, else under $ALIGN_CACHE (default ~/.cache/align/vectors)."""
    beside = path.with_name(path.name + ".align-cache")
    parent = path.parent if str(path.parent) else Path(".")
    # os.access is always true for root: also honour the folder's mode bits (read-only data kits).
    if os.access(parent, os.W_OK) and parent.stat().st_mode & 0o222:
        return beside
    root = Path(os.environ.get("ALIGN_CACHE", Path.home() / ".cache" / "align" / "vectors"))
    key = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
    return root / f"{path.name}.{key}"


def _source_stamp(path: Path) -> dict:
    st = path.stat()
    return {"source": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "version": CACHE_VERSION}


def _stamp_matches(meta: dict, path: Path) -> bool:
    """True when a cache's meta.json was written for the current state of `path` (size, mtime, version)."""
    return all(meta.get(k) == v for k, v in _source_stamp(path).items())


def _read_cache(path: Path, max_vocab: int | None) -> Embeddings | None:
    d = _cache_dir(path)
    try:
        meta = json.loads((d / "meta.json").read_text())
        if not _stamp_matches(meta, path):
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
    report.warnings = _skip_warnings(str(path), report)
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


def _write_cache(path: Path, emb: Embeddings) -> None:
    """Cache `emb` for the text file `path` (see `_cache_dir`); failure to cache is not an error."""
    d = _cache_dir(path)
    meta = _source_stamp(path)
    meta.update(duplicates=emb.report.duplicates, zero_vectors=emb.report.zero_vectors,
                first_duplicate_line=emb.report.first_duplicate_line,
                first_zero_line=emb.report.first_zero_line, words=len(emb), dim=emb.dim)
    if write_vector_dir(d, emb.words, emb.vectors, meta):
        emb.report.cache_path = str(d)


# ---- fastText .bin ----------------------------------------------------------

def load_fasttext_model(path: str | os.PathLike):
    """Load a fastText `.bin` model with fasttext-wheel, quietly, with a clear error on a bad file."""
    import fasttext
    import fasttext.FastText as ft_module

    ft_module.eprint = lambda *a, **k: None  # silence the wrapper's deprecation notice
    try:
        return fasttext.load_model(str(path))
    except (ValueError, RuntimeError, MemoryError) as exc:
        raise InputError(f"not a fastText .bin model ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})",
                         str(path)) from None


def _load_fasttext_bin(path: Path, max_vocab: int | None, extra: Iterable[str] | None) -> Embeddings:
    model = load_fasttext_model(path)
    vocab = list(model.get_words(on_unicode_error="replace"))
    if max_vocab is not None:
        vocab = vocab[:max_vocab]
    seen = set(vocab)
    if extra is not None:
        for w in extra:
            if w not in seen:
                seen.add(w)
                vocab.append(w)
    if not vocab:
        raise InputError("model has no words", str(path))
    vectors = np.stack([model.get_word_vector(w) for w in vocab]).astype(np.float32)
    zero = ~vectors.any(axis=1)
    report = LoadReport(path=str(path))
    if zero.any():  # words with no known subword get a zero vector: keep them out
        report.zero_vectors = int(zero.sum())
        vocab = [w for w, z in zip(vocab, zero) if not z]
        vectors = vectors[~zero]
    return Embeddings(vocab, vectors, subword_model=model, report=report, name=path.name)
