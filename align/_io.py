"""Small shared I/O helpers: atomic writes, opening plain or gzip files, progress bars."""
from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
from pathlib import Path
from typing import IO, Iterable, Iterator, TypeVar

from .errors import InputError

T = TypeVar("T")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temp file beside `path` and rename it over `path` only if the block succeeds.

    A crash or an exception never leaves a half-written `path`. A `path` ending in
    `.gz` is gzip-compressed.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the final file ordinary permissions
    binary = "b" in mode
    try:
        if path.suffix == ".gz":
            raw = gzip.open(tmp, "wb" if binary else "wt", encoding=None if binary else encoding, compresslevel=5)
        else:
            raw = open(tmp, mode, encoding=None if binary else encoding)
        with raw as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def open_binary(path: str | os.PathLike) -> IO[bytes]:
    """Open a plain or gzip file for reading bytes, with a clear error when it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", str(path))
    if path.is_dir():
        raise InputError("is a directory, not a file", str(path))
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", str(path)) from None
    magic = handle.read(2)
    handle.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    return handle


def progress(iterable: Iterable[T], enabled: bool = False, **kwargs) -> Iterable[T]:
    """Wrap `iterable` in a tqdm bar on stderr when `enabled`; otherwise return it unchanged."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, leave=False, dynamic_ncols=True, **kwargs)
