"""Bilingual dictionaries from installed FreeDict dictd files (Debian `dict-freedict-*`).

A dictd dictionary is an index (`NAME.index`: headword TAB offset TAB length, both in
dictd's base 64) and a data file (`NAME.dict.dz`, dictzip = gzip, or plain `NAME.dict`).
FreeDict entries, rendered from TEI, look like::

    abattre /a.batʁ/ <v>
    1. lamauttaa
    Affaiblir physiquement et moralement
    2. tappaa, surmonter 2.
    Assassiner par arme à feu

the headword line (pronunciation, part of speech), then per sense a line of
comma-separated translations (numbered `N.` when there are several senses), followed by
definitions, notes, examples and sub-sense markers (` N.`), which are dropped. Only
single-word headwords and translations are kept.
"""
from __future__ import annotations

import gzip
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .._io import atomic_write
from ..store.dictionary import Dictionary
from ..errors import InputError

DICTD_DIR = Path("/usr/share/dictd")
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_VALUE = {c: i for i, c in enumerate(_B64)}
_SENSE = re.compile(r"^(\d+)\.(?:\s+(.*))?$")
_SUBSENSE_TAIL = re.compile(r"\s+\d+\.\s*$")
# one word: letters, optionally joined by hyphens or apostrophes (no digits, no spaces)
_WORD = re.compile(r"^[^\W\d_]+(?:[-'’][^\W\d_]+)*$")


def dictd_number(text: str) -> int:
    """Decode a dictd base-64 number (offsets and lengths in `.index` files)."""
    n = 0
    for c in text:
        try:
            n = n * 64 + _B64_VALUE[c]
        except KeyError:
            raise ValueError(f"not a dictd base-64 number: {text!r}") from None
    return n


def resolve_dictd(source: str | os.PathLike) -> tuple[Path, Path]:
    """(index, data) of a dictd dictionary given as `PATH.index` or an installed NAME (`fra-fin`)."""
    p = Path(source)
    if p.suffix == ".index":
        candidates = [p]
    elif p.with_name(p.name + ".index").is_file():
        candidates = [p.with_name(p.name + ".index")]
    else:
        candidates = [DICTD_DIR / f"{stem}.index" for stem in (str(source), f"freedict-{source}")]
    index = next((c for c in candidates if c.is_file()), None)
    if index is None:
        hint = "" if p.suffix == ".index" else (
            f"; install it (apt-get install dict-freedict-{p.name.removeprefix('freedict-')}) or give a .index path")
        raise InputError(f"no dictd index found{hint}", str(candidates[0]))
    stem = index.name[:-len(".index")]
    for data in (index.with_name(stem + ".dict.dz"), index.with_name(stem + ".dict")):
        if data.is_file():
            return index, data
    raise InputError(f"no data file {stem}.dict.dz or {stem}.dict beside the index", str(index))


def _read_data(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            magic = f.read(2)
        if magic == b"\x1f\x8b":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read dictd data ({exc})", str(path)) from None


def _headword(line: str) -> str:
    """The headword of an entry's first line, without `<pos>` and `/pronunciation/`."""
    line = re.sub(r"\s*<[^<>]*>\s*$", "", line.strip())
    while True:
        stripped = re.sub(r"\s*/[^/]*/\s*$", "", line)
        if stripped == line:
            return line.strip()
        line = stripped


def _split_translations(text: str) -> list[str]:
    text = _SUBSENSE_TAIL.sub("", text.strip())
    if re.fullmatch(r"\d+\.", text):
        return []
    return [t.strip() for t in re.split(r"[,;]", text) if t.strip()]


def parse_entry(text: str) -> tuple[str, list[str]]:
    """(headword, translations) of one dictd entry; definitions, notes and examples are dropped."""
    lines = text.rstrip("\n").split("\n")
    head = _headword(lines[0]) if lines else ""
    body = lines[1:]
    first = next((i for i, line in enumerate(body) if line.strip()), None)
    if first is None:
        return head, []
    m = _SENSE.match(body[first])
    if not (m and m.group(1) == "1"):  # a single sense: its first line holds the translations
        return head, _split_translations(body[first])
    translations: list[str] = []
    expected = 1
    for line in body[first:]:
        m = _SENSE.match(line)  # sense lines start at column 0; sub-sense markers are indented
        if m and int(m.group(1)) == expected:
            translations.extend(_split_translations(m.group(2) or ""))
            expected += 1
    return head, translations


def read_dictd(source: str | os.PathLike) -> Iterator[tuple[str, list[str]]]:
    """Yield (headword, translations) for each entry of a dictd dictionary, in index order."""
    index, data_path = resolve_dictd(source)
    data = _read_data(data_path)
    seen: set[tuple[int, int]] = set()
    with open(index, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise InputError("not UTF-8 text", str(index), lineno) from None
            if not line:
                continue
            fields = line.split("\t")
            if len(fields) < 3:
                raise InputError(f"expected 'headword TAB offset TAB length', found {len(fields)} fields",
                                 str(index), lineno)
            word = fields[0]
            if word.startswith(("00database", "00-database")):
                continue
            try:
                offset, length = dictd_number(fields[1]), dictd_number(fields[2])
            except ValueError as exc:
                raise InputError(str(exc), str(index), lineno) from None
            if offset + length > len(data):
                raise InputError(f"entry {word!r} points past the end of {data_path.name}", str(index), lineno)
            if (offset, length) in seen:
                continue
            seen.add((offset, length))
            try:
                text = data[offset:offset + length].decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"entry {word!r} is not UTF-8 text", str(data_path)) from None
            head, translations = parse_entry(text)
            yield head or word, translations


def is_single_word(word: str) -> bool:
    """One word: letters, possibly joined by hyphens or apostrophes; no spaces, digits or punctuation."""
    return bool(_WORD.match(word))


def freedict_dictionary(source: str | os.PathLike, lowercase: bool = False) -> Dictionary:
    """All single-word (headword, translation) pairs of a dictd dictionary, in index order."""
    pairs: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for head, translations in read_dictd(source):
        if not is_single_word(head):
            continue
        for t in translations:
            if not is_single_word(t):
                continue
            pair = (head.lower(), t.lower()) if lowercase else (head, t)
            if pair not in seen:
                seen.add(pair)
                pairs.append(pair)
    if not pairs:
        raise InputError("no single-word entries found", str(source))
    return Dictionary(pairs, name=Path(str(source)).name)


@dataclass
class SplitReport:
    """How a dictionary was split by source-word frequency."""

    pairs: int  # single-word pairs read
    kept: int  # pairs whose source is in the source vectors (and target in the target ones)
    dropped_src: int
    dropped_tgt: int
    train_pairs: int
    test_pairs: int
    train_sources: int
    test_sources: int
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def split_by_frequency(d: Dictionary, src_words: list[str], test_size: int | float = 0.25,
                       tgt_words: set[str] | None = None) -> tuple[Dictionary, Dictionary, SplitReport]:
    """Split `d` into train/test by source word: test sources spread evenly over the frequency ranks
    of `src_words` (most frequent first); no source word is in both. `test_size`: a count or a fraction."""
    rank = {}
    for i, w in enumerate(src_words):
        rank.setdefault(w, i)
    kept, dropped_src, dropped_tgt = [], 0, 0
    for s, t in d.pairs:
        if s not in rank:
            dropped_src += 1
        elif tgt_words is not None and t not in tgt_words:
            dropped_tgt += 1
        else:
            kept.append((s, t))
    sources = sorted({s for s, _ in kept}, key=rank.__getitem__)
    n = len(sources)
    if n < 2:
        raise InputError(f"only {n} of its source words have a pair left to split ({dropped_src} pairs lack the "
                         f"source word in the source vectors, {dropped_tgt} the target word in the target vectors)",
                         d.path or d.name or None)
    if isinstance(test_size, float) and not isinstance(test_size, bool):
        if not 0 < test_size < 1:
            raise InputError(f"test fraction must be between 0 and 1, got {test_size}")
        n_test = max(1, round(test_size * n))
    else:
        n_test = int(test_size)
    if not 1 <= n_test < n:
        raise InputError(f"test size must be between 1 and {n - 1} source words, got {n_test}")
    test = {sources[(i * n) // n_test] for i in range(n_test)}
    ordered = sorted(kept, key=lambda p: (rank[p[0]], p[1]))
    train_d = Dictionary([p for p in ordered if p[0] not in test], name="train")
    test_d = Dictionary([p for p in ordered if p[0] in test], name="test")
    report = SplitReport(pairs=len(d), kept=len(kept), dropped_src=dropped_src, dropped_tgt=dropped_tgt,
                         train_pairs=len(train_d), test_pairs=len(test_d), train_sources=n - len(test),
                         test_sources=len(test))
    return train_d, test_d, report


def import_freedict(source: str | os.PathLike, output_prefix: str | os.PathLike, *,
                    src_emb: str | None = None, tgt_emb: str | None = None, lowercase: bool = False,
                    test_size: int | float = 0.25, max_vocab: int | None = None) -> SplitReport:
    """Write a FreeDict dictionary in MUSE format: PREFIX.train.txt/.test.txt split against `src_emb`,
    or PREFIX.txt (all pairs) without vectors."""
    from ..store.vectors import Embeddings

    d = freedict_dictionary(source, lowercase=lowercase)
    prefix = Path(output_prefix)
    if src_emb is None:
        if tgt_emb is not None:
            raise InputError("--tgt-emb needs --src-emb (the split is by source-word frequency)")
        out = prefix.with_name(prefix.name + ".txt")
        d.save(out)
        n_src = len({s for s, _ in d.pairs})
        return SplitReport(pairs=len(d), kept=len(d), dropped_src=0, dropped_tgt=0, train_pairs=len(d),
                           test_pairs=0, train_sources=n_src, test_sources=0, files=[str(out)])
    src_words = Embeddings.load(src_emb, max_vocab=max_vocab).words
    tgt_words = set(Embeddings.load(tgt_emb, max_vocab=max_vocab).words) if tgt_emb is not None else None
    train_d, test_d, report = split_by_frequency(d, src_words, test_size, tgt_words)
    outs = [prefix.with_name(f"{prefix.name}.{part}.txt") for part in ("train", "test")]
    # both files written aside before either replaces an earlier one: a failed run leaves the earlier pair
    with atomic_write(outs[0]) as f_train, atomic_write(outs[1]) as f_test:
        for f, dd in ((f_train, train_d), (f_test, test_d)):
            f.write("".join(f"{s} {t}\n" for s, t in dd.pairs))
    report.files.extend(str(out) for out in outs)
    return report
