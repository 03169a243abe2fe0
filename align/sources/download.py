"""Fetch the published fastText vectors and MUSE dictionaries into the data directory.

Standard library only (urllib). A download streams into `NAME.part`, resumes from it with
an HTTP Range request, checks the size the server announced (and a SHA-256 where one is
known), and only then renames it to `NAME`: an interrupted or corrupt download never
leaves a file that looks complete. Gzipped files are decompressed the same way.

The public addresses are in `SOURCES`, relative to `DEFAULT_BASE`; set `$ALIGN_DOWNLOAD_BASE`
to fetch from a mirror (the tests point it at a local server).
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import re
import socket
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from .._io import output_error, writing
from ..errors import AlignError, InputError
from .datadir import (check_code, DICTIONARY_SPLITS, VECTOR_KINDS, dictionaries_dir, dictionary_filename, vector_filename,
                      vectors_dir)

DEFAULT_BASE = "https://dl.fbaipublicfiles.com/"
BASE_ENV = "ALIGN_DOWNLOAD_BASE"

#: Every public address, relative to the base. fastText publishes `.vec` text files
#: (Common Crawl ones gzipped); MUSE publishes its dictionaries as plain text.
SOURCES: dict[str, str] = {
    "vectors/wiki": "fasttext/vectors-wiki/wiki.{lang}.vec",
    "vectors/cc": "fasttext/vectors-crawl/cc.{lang}.300.vec.gz",
    "vectors/aligned": "fasttext/vectors-aligned/wiki.{lang}.align.vec",
    "dictionary": "arrival/dictionaries/{src}-{tgt}{suffix}.txt",
}

#: Known SHA-256 digests by file name. Neither fastText nor MUSE publishes checksums for
#: these files, so the table starts empty; entries added here (or `sha256=` / `--sha256`)
#: are checked. Without one, the size announced by the server is checked, and gzip's CRC.
CHECKSUMS: dict[str, str] = {}

_SPLIT_SUFFIX = {"full": "", "train": ".0-5000", "test": ".5000-6500"}
_CHUNK = 1 << 20


class DownloadError(AlignError):
    """A download that failed: offline, HTTP error, incomplete or corrupt data."""


@dataclass
class DownloadResult:
    """What one download did."""

    url: str
    path: Path
    bytes: int = 0  # size of the final file on disk
    downloaded: int = 0  # bytes transferred by this call
    resumed_from: int = 0  # bytes already in the .part file when this call started
    already_present: bool = False
    sha256: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"url": self.url, "path": str(self.path), "bytes": self.bytes, "downloaded": self.downloaded,
                "resumed_from": self.resumed_from, "already_present": self.already_present,
                "sha256": self.sha256, "seconds": round(self.seconds, 3)}


def base_url() -> str:
    """The download base: `$ALIGN_DOWNLOAD_BASE` or the public fastText/MUSE host."""
    base = os.environ.get(BASE_ENV) or DEFAULT_BASE
    return base if base.endswith("/") else base + "/"


def _code(value: str, what: str) -> str:
    return check_code(value, what)


def vectors_url(lang: str, kind: str = "wiki") -> str:
    """Public address of the fastText vectors of `lang` (`kind`: wiki, cc or aligned)."""
    if kind not in VECTOR_KINDS:
        raise InputError(f"unknown vector kind {kind!r}; choose one of {', '.join(VECTOR_KINDS)}")
    return base_url() + SOURCES[f"vectors/{kind}"].format(lang=_code(lang, "language"))


def dictionary_url(src: str, tgt: str, split: str = "full") -> str:
    """Public address of a MUSE dictionary (`split`: full, train = .0-5000, test = .5000-6500)."""
    if split not in DICTIONARY_SPLITS:
        raise InputError(f"unknown dictionary split {split!r}; choose one of {', '.join(DICTIONARY_SPLITS)}")
    return base_url() + SOURCES["dictionary"].format(src=_code(src, "source language"),
                                                     tgt=_code(tgt, "target language"), suffix=_SPLIT_SUFFIX[split])


# ---- the transfer -------------------------------------------------------------

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _open(url: str, offset: int, timeout: float):
    headers = {"User-Agent": f"align/{__version__}", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    req = urllib.request.Request(url, headers=headers)
    try:
        return urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            return exc  # the caller decides: the .part may already be complete
        if exc.code == 404:
            raise DownloadError(f"not found (HTTP 404): {url}") from None
        raise DownloadError(f"HTTP {exc.code} {exc.reason}: {url}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason.strerror if isinstance(exc.reason, OSError) and exc.reason.strerror else exc.reason
        raise DownloadError(f"cannot reach {url}: {reason} (offline? no proxy?)") from None
    except (socket.timeout, TimeoutError):
        raise DownloadError(f"no answer from {url} within {timeout:g} s (offline?)") from None
    except (http.client.HTTPException, OSError) as exc:
        raise DownloadError(f"cannot download {url}: {exc}") from None


def _content_range_total(value: str | None) -> tuple[int | None, int | None]:
    """(start, total) from `bytes START-END/TOTAL` or `bytes */TOTAL`."""
    m = re.match(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)", value or "")
    if not m:
        return None, None
    start = int(m.group(1)) if m.group(1) is not None else None
    total = int(m.group(2)) if m.group(2) != "*" else None
    return start, total


def fetch(url: str, dest: str | os.PathLike, *, sha256: str | None = None, size: int | None = None,
          force: bool = False, show_progress: bool = False, timeout: float = 30.0) -> DownloadResult:
    """Download `url` to `dest` through `dest.part`, resuming it, checking size and checksum, then renaming."""
    start = time.perf_counter()
    dest = Path(dest)
    sha256 = (sha256 or CHECKSUMS.get(dest.name) or "").lower() or None
    result = DownloadResult(url=url, path=dest)
    if dest.exists() and not force:
        result.already_present, result.bytes = True, dest.stat().st_size
        return result
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    result.resumed_from = offset

    for _attempt in (1, 2):  # a second attempt only when the server cannot resume
        resp = _open(url, offset, timeout)
        status = getattr(resp, "status", None) or resp.getcode()
        total: int | None
        if status == 416:  # nothing left to send: the .part holds the whole file, or junk
            _, total = _content_range_total(resp.headers.get("Content-Range"))
            resp.close()
            if total is not None and total == offset:
                break
            part.unlink(missing_ok=True)
            offset = result.resumed_from = 0
            continue
        if status == 206:
            begin, total = _content_range_total(resp.headers.get("Content-Range"))
            if begin != offset:
                resp.close()
                part.unlink(missing_ok=True)
                offset = result.resumed_from = 0
                continue
        else:  # 200: the server sends the whole file, whatever we asked
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            offset = result.resumed_from = 0
        if size is not None and total is not None and total != size:
            resp.close()
            raise DownloadError(f"server announces {total} bytes, expected {size}: {url}")
        total = total if total is not None else size
        result.downloaded = _stream(resp, part, offset, total, dest.name, url, show_progress)
        break
    else:  # pragma: no cover - two restarts in a row
        raise DownloadError(f"the server cannot resume {url}; delete {part} and try again")

    got = part.stat().st_size
    expected = total if total is not None else size
    if expected is not None and got < expected:
        raise DownloadError(f"download incomplete: {got} of {expected} bytes of {url}; "
                            f"run the same command again to resume ({part.name} kept)")
    if expected is not None and got > expected:
        part.unlink(missing_ok=True)
        raise DownloadError(f"downloaded {got} bytes but {expected} were announced: {url}; corrupt, removed")
    digest = _sha256(part)
    if sha256 is not None and digest != sha256:
        part.unlink(missing_ok=True)
        raise DownloadError(f"checksum mismatch for {url}: SHA-256 {digest}, expected {sha256}; "
                            "the corrupt download was removed, run the command again")
    os.replace(part, dest)
    result.bytes, result.sha256 = got, digest
    result.seconds = time.perf_counter() - start
    return result


def _stream(resp, part: Path, offset: int, total: int | None, label: str, url: str, show_progress: bool) -> int:
    """Append the response body to `part`; returns the bytes written. Keeps `part` on interruption."""
    bar = None
    if show_progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                   desc=label, leave=False, dynamic_ncols=True)
    written = 0
    try:
        with resp, open(part, "ab" if offset else "wb") as out:
            while True:
                block = resp.read(_CHUNK)
                if not block:
                    break
                with writing(part):  # a local write error is not a broken download
                    out.write(block)
                    out.flush()
                written += len(block)
                if bar is not None:
                    bar.update(len(block))
    except OSError as exc:
        if exc.filename == str(part):
            raise output_error(exc, part) from None
        raise _interrupted(exc, url, offset + written, total) from None
    except http.client.HTTPException as exc:
        raise _interrupted(exc, url, offset + written, total) from None
    finally:
        if bar is not None:
            bar.close()
    return written


def _interrupted(exc: BaseException, url: str, have: int, total: int | None) -> DownloadError:
    """The error for a download cut by the network: run again to resume."""
    of = f" of {total}" if total is not None else ""
    return DownloadError(f"download of {url} interrupted after {have}{of} bytes ({exc or type(exc).__name__}); "
                         f"run the same command again to resume")


def gunzip(src: str | os.PathLike, dest: str | os.PathLike, show_progress: bool = False) -> Path:
    """Decompress `src` to `dest` through `dest.part`; a corrupt or truncated gzip is an error and leaves no `dest`."""
    src, dest = Path(src), Path(dest)
    part = dest.with_name(dest.name + ".part")
    bar = None
    if show_progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=src.stat().st_size, unit="B", unit_scale=True, unit_divisor=1024,
                   desc=f"gunzip {src.name}", leave=False, dynamic_ncols=True)
    try:
        with open(src, "rb") as raw, gzip.GzipFile(fileobj=raw) as f, open(part, "wb") as out:
            while True:
                block = f.read(_CHUNK)
                if not block:
                    break
                with writing(dest):  # a local write error is not corrupt data
                    out.write(block)
                    out.flush()
                if bar is not None:
                    bar.n = raw.tell()
                    bar.refresh()
    except (OSError, EOFError, zlib.error) as exc:
        part.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename == str(dest):
            raise output_error(exc, dest) from None
        raise DownloadError(f"{src}: corrupt or truncated gzip data ({exc}); delete it and download again") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        if bar is not None:
            bar.close()
    os.replace(part, dest)
    return dest


# ---- what users fetch -----------------------------------------------------------

def _check_first_line(path: Path, kind: str) -> None:
    """Refuse an obviously wrong body (an HTML page, an empty file) before it gets its final name."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if head[:2] == b"\x1f\x8b":
        return
    line = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    if not line or line.lower().startswith(("<!doctype", "<html", "<?xml")):
        raise DownloadError(f"{path.name}: the server did not send a {kind} file (first line {line[:60]!r})")


def download_vectors(lang: str, kind: str = "wiki", *, dest_dir: str | os.PathLike | None = None,
                     decompress: bool = True, sha256: str | None = None, force: bool = False,
                     show_progress: bool = False) -> DownloadResult:
    """Fetch the fastText vectors of `lang` into the data directory (`fasttext/`), by their published name."""
    url = vectors_url(lang, kind)
    folder = Path(dest_dir) if dest_dir is not None else vectors_dir()
    fetched = folder / url.rsplit("/", 1)[1]  # as published (cc: .vec.gz)
    final = folder / vector_filename(lang, kind) if decompress else fetched
    if final.is_file() and not force:
        return DownloadResult(url=url, path=final, bytes=final.stat().st_size, already_present=True)
    result = fetch(url, fetched, sha256=sha256, force=force, show_progress=show_progress)
    try:
        _check_first_line(result.path, "vectors")
    except DownloadError:
        result.path.unlink(missing_ok=True)
        raise
    if final != fetched:
        try:
            gunzip(fetched, final, show_progress=show_progress)
        except DownloadError:
            fetched.unlink(missing_ok=True)
            raise
        fetched.unlink()
        result.path, result.bytes = final, final.stat().st_size
    return result


def download_dictionary(src: str, tgt: str, split: str = "full", *, dest_dir: str | os.PathLike | None = None,
                        sha256: str | None = None, force: bool = False,
                        show_progress: bool = False) -> DownloadResult:
    """Fetch a MUSE dictionary into the data directory (`muse/`), by its published name."""
    url = dictionary_url(src, tgt, split)
    folder = Path(dest_dir) if dest_dir is not None else dictionaries_dir()
    dest = folder / dictionary_filename(src, tgt, split)
    result = fetch(url, dest, sha256=sha256, force=force, show_progress=show_progress)
    if not result.already_present:
        try:
            _check_first_line(dest, "dictionary")
            from ..store.dictionary import Dictionary

            Dictionary.load(dest)
        except AlignError as exc:
            dest.unlink(missing_ok=True)
            raise DownloadError(f"{url}: not a MUSE dictionary ({exc}); removed") from None
    return result


__all__ = ["CHECKSUMS", "DEFAULT_BASE", "BASE_ENV", "SOURCES", "DownloadError", "DownloadResult", "base_url",
           "dictionary_url", "download_dictionary", "download_vectors", "fetch", "gunzip",
           "vectors_url"]
