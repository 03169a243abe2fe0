"""Train monolingual fastText vectors on a text corpus (fasttext-wheel).

Writes `PREFIX.bin` (the model: OOV words through subwords), `PREFIX.vec` (word2vec
text, most frequent word first) and the binary cache of the `.vec`; all through temp
files renamed at the end, so an interrupted run leaves no half-written model.

Progress comes from fastText itself: it prints "Progress: 42.0% words/sec/thread: …
ETA: …" on the C-level stderr; while training, that stream is read through a pipe and
turned into a progress bar (or a callback), and its last figures are kept in the result.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .._io import open_binary, output_error, work_folder, writing
from ..store.vectors import Embeddings
from ..errors import InputError

MODELS = ("skipgram", "cbow")

_PROGRESS = re.compile(
    r"Progress:\s*([\d.]+)%\s*words/sec/thread:\s*(\d+)\s*lr:\s*(-?[\d.eE+-]+)\s*avg\.loss:\s*([\d.eE+-]+|nan|inf)"
    r"\s*ETA:\s*(\d+)h\s*(\d+)m\s*(\d+)s")
_READ = re.compile(r"Read (\d+)M words")
_NWORDS = re.compile(r"Number of words:\s*(\d+)")


@dataclass
class TrainProgress:
    """One progress report from fastText."""

    percent: float = 0.0
    words_per_sec_thread: int = 0
    lr: float = 0.0
    loss: float = 0.0
    eta_seconds: int = 0


@dataclass
class TrainResult:
    """What `fit_fasttext` produced and how fast."""

    embeddings: Embeddings
    bin_path: Path
    vec_path: Path
    model: str
    dim: int
    epochs: int
    threads: int
    lines: int  # corpus lines
    tokens: int  # whitespace-separated words in the corpus (one epoch)
    vocab_size: int  # words fastText kept (count >= min_count), as in the .vec
    seconds: float = 0.0  # the whole run: corpus check, training, writing
    train_seconds: float = 0.0  # fastText's train call (vocabulary pass + epochs)
    words_per_sec: float = 0.0  # tokens * epochs / train_seconds
    fasttext_words_per_sec_thread: int | None = None  # fastText's own last figure
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "bin": str(self.bin_path), "vec": str(self.vec_path), "model": self.model, "dim": self.dim,
            "epochs": self.epochs, "threads": self.threads, "lines": self.lines, "tokens": self.tokens,
            "vocab_size": self.vocab_size, "seconds": round(self.seconds, 3),
            "train_seconds": round(self.train_seconds, 3), "words_per_sec": round(self.words_per_sec, 1),
            "fasttext_words_per_sec_thread": self.fasttext_words_per_sec_thread,
        }


# ---- the corpus ---------------------------------------------------------------

def _check_corpus(path: Path, copy_to: Path | None) -> tuple[int, int]:
    """Check that `path` is non-empty UTF-8 text, count lines and words; decompress it to `copy_to`."""
    name = str(path)
    lines = tokens = 0
    out = open(copy_to, "wb") if copy_to is not None else None
    try:
        with open_binary(path) as f:
            lineno = 0
            try:
                for lineno, raw in enumerate(f, 1):
                    try:
                        text = raw.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        bad = raw[exc.start:exc.start + 1]
                        raise InputError(f"not UTF-8 text (byte {exc.start + 1} of the line is {bad!r}); "
                                         "fastText needs UTF-8", name, lineno) from None
                    tokens += len(text.split())
                    if out is not None:
                        out.write(raw)
            except (EOFError, OSError) as exc:
                if isinstance(exc, InputError):
                    raise
                raise InputError(f"compressed data is truncated or corrupt ({exc})", name, lineno + 1) from None
            lines = lineno
    finally:
        if out is not None:
            out.close()
    if tokens == 0:
        raise InputError("corpus is empty (no words)", name)
    return lines, tokens


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


# ---- fastText's stderr -----------------------------------------------------------

class _StderrCapture:
    """Route the process's fd 2 through a pipe while fastText trains; parse its progress lines."""

    def __init__(self, forward: bool):
        self.forward = forward
        self.latest: TrainProgress | None = None
        self.read_millions: int | None = None
        self.n_words: int | None = None
        self.active = False
        self._saved: int | None = None
        self._thread: threading.Thread | None = None
        self._real = None

    def __enter__(self) -> "_StderrCapture":
        try:
            import sys

            with contextlib.suppress(Exception):
                sys.stderr.flush()
            self._saved = os.dup(2)
            r, w = os.pipe()
            os.dup2(w, 2)
            os.close(w)
        except OSError:
            self._saved = None
            return self
        self.active = True
        self._real = open(os.dup(self._saved), "w", encoding="utf-8", errors="replace")
        self._thread = threading.Thread(target=self._reader, args=(r,), daemon=True)
        self._thread.start()
        return self

    @property
    def real_stderr(self):
        """A text stream on the terminal's stderr (fd 2 itself is the pipe while capturing)."""
        import sys

        return self._real if self._real is not None else sys.stderr

    def _handle(self, piece: str) -> None:
        piece = piece.strip()
        if not piece:
            return
        m = _PROGRESS.search(piece)
        if m:
            pct, wps, lr, loss, h, mi, s = m.groups()
            self.latest = TrainProgress(float(pct), int(wps), float(lr), float(loss),
                                        int(h) * 3600 + int(mi) * 60 + int(s))
            return
        m = _READ.search(piece)
        if m:
            self.read_millions = int(m.group(1))
            return
        m = _NWORDS.search(piece)
        if m:
            self.n_words = int(m.group(1))
            return
        if piece.startswith("Number of labels"):
            return
        if self.forward and self._real is not None:
            self._real.write(piece + "\n")
            self._real.flush()

    def _reader(self, fd: int) -> None:
        buf = ""
        with open(fd, "rb", buffering=0) as pipe:
            while True:
                chunk = pipe.read(65536)
                if not chunk:
                    break
                buf += chunk.decode("utf-8", "replace")
                parts = re.split(r"[\r\n]", buf)
                buf = parts.pop()
                for p in parts:
                    self._handle(p)
        self._handle(buf)

    def __exit__(self, *exc) -> None:
        if not self.active:
            return
        os.dup2(self._saved, 2)  # closes the pipe's last write end: the reader sees EOF
        os.close(self._saved)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._real is not None:
            self._real.close()
            self._real = None
        self.active = False


# ---- training -------------------------------------------------------------------

def _validate(model: str, dim: int, epochs: int, min_count: int, minn: int, maxn: int, threads: int) -> None:
    if model not in MODELS:
        raise InputError(f"unknown model {model!r}; choose skipgram or cbow")
    for name, value, low in (("dim", dim, 1), ("epochs", epochs, 1), ("min_count", min_count, 1),
                             ("threads", threads, 1), ("minn", minn, 0), ("maxn", maxn, 0)):
        if value < low:
            raise InputError(f"{name} must be at least {low}, got {value}")
    if maxn and minn > maxn:
        raise InputError(f"minn ({minn}) is larger than maxn ({maxn}); use maxn 0 for no subwords")


def _train(fasttext, kwargs: dict, capture: _StderrCapture, show_progress: bool,
           on_progress: Callable[[TrainProgress], None] | None):
    """Run fastText in a worker thread (it releases the GIL) and report its progress from this one."""
    box: dict = {}

    def work() -> None:
        try:
            box["model"] = fasttext.train_unsupervised(**kwargs)
        except BaseException as exc:  # handed to the calling thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="fasttext-train", daemon=True)
    bar = None
    if show_progress:
        from tqdm.auto import tqdm

        # {unit} carries fastText's own figures: words/s and ETA
        bar = tqdm(total=100, desc="reading corpus", unit="", leave=False, dynamic_ncols=True,
                   file=capture.real_stderr, bar_format="{desc}: {percentage:3.0f}%|{bar}| {unit}")
    worker.start()
    last = None

    def update() -> None:
        nonlocal last
        p = capture.latest
        if p is not None and p is not last:
            last = p
            if on_progress is not None:
                on_progress(p)
            if bar is not None:
                bar.set_description_str("training", refresh=False)
                bar.n = min(100.0, p.percent)
                eta = time.strftime("%H:%M:%S", time.gmtime(p.eta_seconds))
                bar.unit = f"{p.words_per_sec_thread * kwargs['thread']:,} words/s, ETA {eta}"
                bar.refresh()

    try:
        while worker.is_alive():
            worker.join(0.2)
            update()
        # fastText's last progress line may still be in the pipe: give the reader a moment
        deadline = time.monotonic() + 1.0
        while "error" not in box and (last is None or last.percent < 100) and time.monotonic() < deadline:
            time.sleep(0.02)
            update()
    finally:
        if bar is not None:
            bar.close()
    if "error" in box:
        raise box["error"]
    return box["model"]


def fit_fasttext(corpus: str | os.PathLike, output_prefix: str | os.PathLike, model: str = "skipgram",
                 dim: int = 300, epochs: int = 5, min_count: int = 5, minn: int = 3, maxn: int = 6,
                 threads: int | None = None, show_progress: bool = False, *,
                 lr: float | None = None, bucket: int = 2_000_000,
                 on_progress: Callable[[TrainProgress], None] | None = None) -> TrainResult:
    """Train fastText on `corpus` (plain or gzip UTF-8 text), write PREFIX.bin/.vec and the cache; return a report."""
    start = time.perf_counter()
    threads = threads if threads is not None else (os.cpu_count() or 1)
    _validate(model, dim, epochs, min_count, minn, maxn, threads)
    if bucket < 1:
        raise InputError(f"bucket must be at least 1, got {bucket}")
    corpus = Path(corpus)
    if not corpus.exists():
        raise InputError("no such file", str(corpus))
    if corpus.is_dir():
        raise InputError("is a directory, not a corpus file", str(corpus))
    prefix = Path(output_prefix)
    bin_path, vec_path = prefix.with_name(prefix.name + ".bin"), prefix.with_name(prefix.name + ".vec")
    out_dir = prefix.parent if str(prefix.parent) else Path(".")
    out_dir.mkdir(parents=True, exist_ok=True)

    import fasttext
    import fasttext.FastText as ft_module

    ft_module.eprint = lambda *a, **k: None  # the wrapper's deprecation notice
    with work_folder(out_dir, prefix.name + ".train", out_dir) as work:
        plain = work / "corpus.txt" if _is_gzip(corpus) else None
        lines, tokens = _check_corpus(corpus, plain)
        kwargs = dict(input=str(plain or corpus), model=model, dim=dim, epoch=epochs, minCount=min_count,
                      minn=minn if maxn else 0, maxn=maxn, thread=threads, verbose=2)
        if lr is not None:
            kwargs["lr"] = lr
        if kwargs["maxn"]:
            kwargs["bucket"] = bucket  # subword hash buckets (the .bin holds bucket x dim floats)
        t0 = time.perf_counter()
        capture = _StderrCapture(forward=show_progress)
        with capture:
            if not capture.active:
                kwargs["verbose"] = 0
            try:
                ft = _train(fasttext, kwargs, capture, show_progress, on_progress)
            except (ValueError, RuntimeError) as exc:
                msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                if "Empty vocabulary" in msg or "empty" in msg.lower():
                    raise InputError(f"no word occurs {min_count} times or more; lower --min-count",
                                     str(corpus)) from None
                raise InputError(f"fastText failed: {msg}", str(corpus)) from None
        train_seconds = time.perf_counter() - t0
        if plain is not None:
            plain.unlink()  # free the disk before writing the outputs

        words = list(ft.get_words(on_unicode_error="replace"))
        if not words:
            raise InputError(f"no word occurs {min_count} times or more; lower --min-count", str(corpus))
        import numpy as np

        vectors = np.stack([ft.get_word_vector(w) for w in words]).astype(np.float32)
        tmp_bin, tmp_vec = work / bin_path.name, work / vec_path.name
        try:
            with writing(tmp_bin):
                ft.save_model(str(tmp_bin))
            _check_saved_bin(tmp_bin)
            Embeddings(words, vectors).save(tmp_vec)
            os.replace(tmp_bin, bin_path)  # both written whole first: the pair is replaced in two quick renames
            os.replace(tmp_vec, vec_path)
        except OSError as exc:
            raise output_error(exc, bin_path) from None

    emb = Embeddings.load(vec_path)  # parses what was written and writes the binary cache beside it
    emb.subword_model = ft
    seconds = time.perf_counter() - start
    p = capture.latest
    result = TrainResult(
        embeddings=emb, bin_path=bin_path, vec_path=vec_path, model=model, dim=dim, epochs=epochs,
        threads=threads, lines=lines, tokens=tokens, vocab_size=len(words), seconds=seconds,
        train_seconds=train_seconds, words_per_sec=tokens * epochs / train_seconds if train_seconds > 0 else 0.0,
        fasttext_words_per_sec_thread=p.words_per_sec_thread if p is not None else None)
    result.warnings.extend(emb.report.warnings)
    return result


def _check_saved_bin(path: Path) -> None:
    """fastText's save does not report a write that failed (a full disk, a file-size limit): the file it
    left must have the size its header declares."""
    from ..store.fasttext_header import read_layout

    try:
        read_layout(path)
    except InputError:
        raise OSError(errno.EIO, "the model was not written whole (a full disk or a file-size limit?)",
                      str(path)) from None


def train_fasttext(corpus: str | os.PathLike, output_prefix: str | os.PathLike, model: str = "skipgram",
                   dim: int = 300, epochs: int = 5, min_count: int = 5, minn: int = 3, maxn: int = 6,
                   threads: int | None = None, show_progress: bool = False, **kwargs) -> Embeddings:
    """Train fastText on `corpus`, write PREFIX.bin and PREFIX.vec, return the vectors (OOV through `.bin`)."""
    return fit_fasttext(corpus, output_prefix, model, dim, epochs, min_count, minn, maxn, threads,
                        show_progress, **kwargs).embeddings
