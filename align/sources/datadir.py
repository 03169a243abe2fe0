"""Where downloaded vectors and dictionaries live, and how commands find them by name.

The data directory is `$ALIGN_DATA` (default `~/.cache/align`); fastText vectors go in
`fasttext/` under it and MUSE dictionaries in `muse/`, under their published names.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import AlignError, InputError

VECTOR_KINDS = ("wiki", "cc", "aligned")
DICTIONARY_SPLITS = ("full", "train", "test")

# file names as published (fastText) / as MUSE ships them
_VECTOR_NAMES = {
    "wiki": ("wiki.{lang}.vec",),
    "cc": ("cc.{lang}.300.vec", "cc.{lang}.300.vec.gz"),
    "aligned": ("wiki.{lang}.align.vec",),
}
_DICTIONARY_SUFFIX = {"full": "", "train": ".0-5000", "test": ".5000-6500"}


class NotDownloaded(AlignError):
    """A file that `align download` would fetch is not in the data directory."""


def data_dir() -> Path:
    """The data directory: `$ALIGN_DATA`, default `~/.cache/align` (not created here)."""
    env = os.environ.get("ALIGN_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "align"


def vectors_dir() -> Path:
    """Folder of downloaded fastText vectors."""
    return data_dir() / "fasttext"


def dictionaries_dir() -> Path:
    """Folder of downloaded MUSE dictionaries."""
    return data_dir() / "muse"


def _check_kind(kind: str) -> None:
    if kind not in VECTOR_KINDS:
        raise AlignError(f"unknown vector kind {kind!r}; choose one of {', '.join(VECTOR_KINDS)}")


def _check_split(split: str) -> None:
    if split not in DICTIONARY_SPLITS:
        raise AlignError(f"unknown dictionary split {split!r}; choose one of {', '.join(DICTIONARY_SPLITS)}")


# A language code: letters, digits, '-' and '_'; `\Z`, not `$`, which would also let "fr\n" through.
LANG_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}\Z")


def check_code(value: str, what: str = "language") -> str:
    """`value` when it is a language code (so that it can name no other folder), else InputError."""
    if not isinstance(value, str) or not LANG_CODE.match(value):
        raise InputError(f"not a language code: {value!r} ({what})")
    return value


def vector_filename(lang: str, kind: str = "wiki") -> str:
    """Published file name of the fastText vectors of `lang` (uncompressed form)."""
    _check_kind(kind)
    return _VECTOR_NAMES[kind][0].format(lang=lang)


def dictionary_filename(src: str, tgt: str, split: str = "full") -> str:
    """MUSE file name: `{src}-{tgt}.txt`, `.0-5000.txt` (train) or `.5000-6500.txt` (test)."""
    _check_split(split)
    return f"{src}-{tgt}{_DICTIONARY_SUFFIX[split]}.txt"


def find_vectors(lang: str, kind: str | None = None) -> Path:
    """Path of downloaded vectors for `lang` (wiki, then cc, then aligned unless `kind` is given)."""
    check_code(lang)
    kinds = VECTOR_KINDS if kind is None else (kind,)
    for k in kinds:
        _check_kind(k)
        for pattern in _VECTOR_NAMES[k]:
            p = vectors_dir() / pattern.format(lang=lang)
            if p.is_file():
                return p
    what = f"{kind} vectors" if kind else "vectors"
    cmd = f"align download vectors {lang}" + (f" --kind {kind}" if kind and kind != "wiki" else "")
    raise NotDownloaded(f"no fastText {what} for {lang!r} in {vectors_dir()}; fetch them with: {cmd}")


def find_dictionary(src: str, tgt: str, split: str = "full") -> Path:
    """Path of a downloaded MUSE dictionary, or an error naming the command that fetches it."""
    check_code(src, "source language")
    check_code(tgt, "target language")
    p = dictionaries_dir() / dictionary_filename(src, tgt, split)
    if p.is_file():
        return p
    cmd = f"align download dictionary {src} {tgt}" + (f" --split {split}" if split != "full" else "")
    raise NotDownloaded(f"no MUSE dictionary {p.name} in {dictionaries_dir()}; fetch it with: {cmd}")
