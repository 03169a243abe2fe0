"""Small shared I/O helpers: atomic files and folders, opening plain or gzip files, progress bars."""
from __future__ import annotations

import contextlib
import ctypes
import gzip
import os
import shutil
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphans(parent: Path, name: str) -> None:
    """Remove `.NAME.PID.*.part` work folders/files beside NAME whose process no longer runs (killed runs)."""
    for p in parent.glob(f".{name}.*.part"):
        pid = p.name[len(name) + 2:].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


@contextlib.contextmanager
def folder_swap(path: str | os.PathLike, markers: tuple[str, ...] = ("mapping.json", "metrics.json")
                ) -> Iterator[Path]:
    """Build a folder in a temporary sibling and put it at `path` whole, only if the block succeeds.

    An earlier folder at `path` is exchanged for the new one in one atomic step and removed only then,
    so a failed or killed run leaves either the old folder untouched or the new one complete. An
    existing folder is replaced only when it is empty or holds one of `markers` (an output of this
    tool): never a folder of other files.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.exists():
        if not path.is_dir():
            raise InputError("exists and is not a folder", str(path))
        if any(path.iterdir()) and not any((path / m).exists() for m in markers):
            raise InputError("refusing to replace a folder that is not an output of align "
                             f"(no {' or '.join(markers)} in it)", str(path))
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder ({exc.strerror})", str(parent)) from None
    remove_orphans(parent, path.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".part", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp creates 0700; give the final folder ordinary permissions
    try:
        yield tmp
        if not path.exists():
            os.rename(tmp, path)
        elif _exchange(tmp, path):
            shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the earlier folder
        else:  # no atomic exchange here: move the old folder aside, put the new one in, drop the old
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".part", dir=parent))
            os.rename(path, old / path.name)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
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
