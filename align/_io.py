"""Small shared I/O helpers: atomic files and folders, opening plain or gzip files, progress bars."""
from __future__ import annotations

import contextlib
import ctypes
import glob
import gzip
import io
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO, Iterable, Iterator, TypeVar

from .errors import InputError, OutputError

T = TypeVar("T")

# Temporary paths of writes under way -> the final paths they become, so that an error names the file the
# user asked for, never the temporary one (see `shown`).
_FINAL: dict[str, str] = {}


def shown(path: str | os.PathLike) -> str:
    """`path` as a message should show it: a path inside a temporary file or folder of a write under way
    (`atomic_write`, `folder_swap`) is given as the final path it stands for."""
    text = os.fspath(path)
    for _ in range(len(_FINAL)):  # nested writes (a file in a folder built in a folder): map each level
        for tmp, final in _FINAL.items():
            if text == tmp or text.startswith(tmp + os.sep):
                text = final + text[len(tmp):]
                break
        else:
            break
    return text


@contextlib.contextmanager
def shown_as(tmp: str | os.PathLike, final: str | os.PathLike) -> Iterator[None]:
    """While the block runs, errors about `tmp` or a file in it name it as `final` (see `shown`)."""
    _FINAL[os.fspath(tmp)] = os.fspath(final)
    try:
        yield
    finally:
        _FINAL.pop(os.fspath(tmp), None)


@contextlib.contextmanager
def writing(path: str | os.PathLike) -> Iterator[None]:
    """Name `path` in an OSError raised while writing it that names no file (a full disk, a file-size limit:
    the write call itself does not know the file's name)."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror or str(exc), os.fspath(path)) from None
        raise


def output_error(exc: OSError, fallback: str | os.PathLike) -> BaseException:
    """The one-line error for a failed write: the file it names (as `shown`), else `fallback`. An error
    about another file (one the block was reading) is returned unchanged."""
    if exc.filename is None:
        where = os.fspath(fallback)
    else:
        where = shown(exc.filename)
        if where == os.fspath(exc.filename) and where != os.fspath(fallback):
            return exc
    return OutputError(f"cannot write: {exc.strerror or exc}", where)


def _temp_name(name: str) -> str:
    """Prefix of the temporary sibling of NAME: `.NAME.PID.` (see `remove_orphans`)."""
    return f".{name}.{os.getpid()}."


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temp file beside `path` and rename it over `path` only if the block succeeds.

    A crash or an exception never leaves a half-written `path`. A `path` ending in
    `.gz` is gzip-compressed.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        remove_orphans(directory, path.name)
        fd, tmp = tempfile.mkstemp(prefix=_temp_name(path.name), suffix=".part", dir=directory)
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", str(path)) from None
    os.close(fd)
    _FINAL[tmp] = str(path)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the final file ordinary permissions
    try:
        with writing(tmp), _output_handle(tmp, path.name, mode, encoding) as handle:
            yield handle
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        error = output_error(exc, path)
        if error is exc:
            raise
        raise error from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        _FINAL.pop(tmp, None)


@contextlib.contextmanager
def _output_handle(tmp: str, final_name: str, mode: str, encoding: str | None) -> Iterator[IO]:
    """The temp file `tmp` opened for writing; gzip-compressed when `final_name` ends in .gz, with the final
    name in the gzip header (what `gunzip -N` restores), not the temp one."""
    binary = "b" in mode
    if not final_name.endswith(".gz"):
        with open(tmp, mode, encoding=None if binary else encoding) as handle:
            yield handle
        return
    with open(tmp, "wb") as raw, gzip.GzipFile(final_name, "wb", compresslevel=5, fileobj=raw) as gz:
        if binary:
            yield gz
        else:
            with io.TextIOWrapper(gz, encoding=encoding) as text:
                yield text


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphans(parent: Path, name: str, legacy_age: float | None = None) -> None:
    """Remove `.NAME.PID.*.part` work folders/files beside NAME whose process no longer runs (killed runs).

    With `legacy_age`, also the `NAME.*.part` ones that older versions named without their process id,
    once they are that many seconds old (the vector caches: no run takes that long to write one)."""
    try:
        found = [(p, True) for p in parent.glob(f".{glob.escape(name)}.*.part")]
        if legacy_age is not None:
            found += [(p, False) for p in parent.glob(f"{glob.escape(name)}.*.part")]
    except OSError:
        return
    now = time.time()
    for p, with_pid in found:
        orphan = False
        if with_pid:
            pid = p.name[len(name) + 2:].split(".", 1)[0]
            orphan = pid.isdigit() and not _alive(int(pid))
        else:
            with contextlib.suppress(OSError):
                orphan = now - p.lstat().st_mtime > legacy_age
        if orphan:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    p.unlink()


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
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_temp_name(path.name), suffix=".part", dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", str(path)) from None
    _FINAL[str(tmp)] = str(path)
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
            old = Path(tempfile.mkdtemp(prefix=_temp_name(path.name), suffix=".part", dir=parent))
            os.rename(path, old / path.name)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        error = output_error(exc, path)
        shutil.rmtree(tmp, ignore_errors=True)
        if error is exc:
            raise
        raise error from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _FINAL.pop(str(tmp), None)


@contextlib.contextmanager
def work_folder(parent: Path, name: str, shown_as: str | os.PathLike) -> Iterator[Path]:
    """A temporary folder `.NAME.PID.*.part` in `parent` for files that are renamed out of it when whole;
    removed on exit, and by `remove_orphans` if the run is killed. An error about a file in it names the
    same file in `shown_as` (see `shown`)."""
    remove_orphans(parent, name)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_name(name), suffix=".part", dir=parent))
    _FINAL[str(tmp)] = os.fspath(shown_as)
    try:
        yield tmp
    finally:
        _FINAL.pop(str(tmp), None)
        shutil.rmtree(tmp, ignore_errors=True)


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
    magic = handle.peek(2)[:2]  # read ahead without consuming: a pipe cannot seek back
    if len(magic) < 2 and not handle.seekable():  # a pipe that gave one byte so far: read it whole (a dictionary)
        with handle:
            data = handle.read()
        handle = io.BufferedReader(io.BytesIO(data))  # type: ignore[arg-type]
        magic = handle.peek(2)[:2]
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    return handle


def progress(iterable: Iterable[T], enabled: bool = False, **kwargs) -> Iterable[T]:
    """Wrap `iterable` in a tqdm bar on stderr when `enabled`; otherwise return it unchanged."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, leave=False, dynamic_ncols=True, **kwargs)
