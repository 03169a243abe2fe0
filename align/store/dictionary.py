"""Bilingual dictionaries (MUSE format), coverage accounting and seed builders."""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .._io import atomic_write, open_binary
from .vectors import Embeddings
from ..errors import InputError


@dataclass
class Coverage:
    """How many dictionary pairs survive the vocabularies, and why the others were dropped."""

    pairs: int
    kept: int
    dropped_src: int  # pairs whose source word is not in the source vocabulary
    dropped_tgt: int  # pairs whose source is known but whose target is not
    sources: int  # distinct source words among the kept pairs

    @property
    def ratio(self) -> float:
        return self.kept / self.pairs if self.pairs else 0.0

    def to_dict(self) -> dict:
        return {"pairs": self.pairs, "kept": self.kept, "dropped_src": self.dropped_src,
                "dropped_tgt": self.dropped_tgt, "sources": self.sources, "coverage": round(self.ratio, 6)}


class Dictionary:
    """A list of (source, target) word pairs; a source may have many targets."""

    def __init__(self, pairs: Iterable[tuple[str, str]], name: str = "", path: str | None = None):
        self.pairs: list[tuple[str, str]] = list(pairs)
        self.name = name
        self.path = path  # the file it was read from, for error messages

    def __len__(self) -> int:
        return len(self.pairs)

    def __iter__(self):
        return iter(self.pairs)

    def __repr__(self) -> str:
        return f"Dictionary({len(self)} pairs{', ' + self.name if self.name else ''})"

    @classmethod
    def load(cls, path: str | os.PathLike, lowercase: bool = False, encoding: str = "utf-8") -> "Dictionary":
        """Read `source target` lines (space or tab separated), or `source target score` lines (what `save`
        with scores and the induced.txt of an output folder hold; the score is dropped). Blank lines are
        skipped; exact duplicate pairs are kept once; any other malformed line is an error."""
        name = str(path)
        pairs: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        with open_binary(path) as f:
            for lineno, raw in enumerate(f, 1):
                try:
                    line = raw.decode(encoding)
                except UnicodeDecodeError as exc:
                    raise InputError(f"not valid {encoding.upper()} text (byte {exc.start + 1} of the line)",
                                     name, lineno) from None
                if lineno == 1:
                    line = line.lstrip("\ufeff")  # a UTF-8 byte-order mark
                fields = line.split()
                if not fields:
                    continue
                if len(fields) == 3 and _is_score(fields[2]):
                    fields = fields[:2]  # `source target score`: an induced dictionary (induced.txt) as seeds
                if len(fields) != 2:
                    raise InputError(f"expected 'source target' (or 'source target score'), found {len(fields)} "
                                     "fields" + (f" (the third, {fields[2]!r}, is not a number)"
                                                 if len(fields) == 3 else ""), name, lineno)
                pair = (fields[0].lower(), fields[1].lower()) if lowercase else (fields[0], fields[1])
                if pair not in seen:
                    seen.add(pair)
                    pairs.append(pair)
        if not pairs:
            raise InputError("dictionary is empty", name)
        return cls(pairs, name=Path(path).name, path=str(path))

    def save(self, path: str | os.PathLike, scores: Sequence[float] | None = None) -> None:
        """Write `source target` (or `source target score`) lines atomically."""
        with atomic_write(path, "w") as f:
            for i, (s, t) in enumerate(self.pairs):
                f.write(f"{s} {t}\n" if scores is None else f"{s} {t} {scores[i]:.6f}\n")

    def reversed(self) -> "Dictionary":
        """The target→source dictionary."""
        return Dictionary([(t, s) for s, t in self.pairs], name=self.name + " (reversed)")

    def without_identical(self) -> "Dictionary":
        """Drop pairs whose two words are the same string (fastText's --nomatch)."""
        return Dictionary([(s, t) for s, t in self.pairs if s != t], name=self.name)

    def __add__(self, other: "Dictionary") -> "Dictionary":
        seen = set(self.pairs)
        extra = [p for p in other.pairs if p not in seen]
        return Dictionary(self.pairs + extra, name=f"{self.name}+{other.name}")

    def coverage(self, src: Embeddings, tgt: Embeddings) -> Coverage:
        """Count the pairs whose both words are in the vocabularies, MUSE-style."""
        dropped_src = sum(1 for s, _ in self.pairs if s not in src)
        dropped_tgt = sum(1 for s, t in self.pairs if s in src and t not in tgt)
        kept = len(self.pairs) - dropped_src - dropped_tgt
        sources = len({s for s, t in self.pairs if s in src and t in tgt})
        return Coverage(len(self.pairs), kept, dropped_src, dropped_tgt, sources)

    def indices(self, src: Embeddings, tgt: Embeddings) -> np.ndarray:
        """(n, 2) int64 array of (source row, target row) for the pairs both vocabularies hold."""
        rows = [(src.index[s], tgt.index[t]) for s, t in self.pairs if s in src.index and t in tgt.index]
        return np.asarray(rows, dtype=np.int64).reshape(-1, 2)


def _is_score(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def identical_seeds(src: Embeddings, tgt: Embeddings, max_vocab: int | None = None) -> Dictionary:
    """Pairs of identical strings present in both vocabularies (among the first `max_vocab` of each)."""
    s = src.head(max_vocab)
    t = tgt.head(max_vocab)
    return Dictionary([(w, w) for w in s.words if w in t.index], name="identical")


_NUMERAL = re.compile(r"^[0-9]+([.,][0-9]+)*\Z")


def numeral_seeds(src: Embeddings, tgt: Embeddings, max_vocab: int | None = None) -> Dictionary:
    """Pairs of identical numerals (digits, with optional . or , groups) present in both vocabularies."""
    s = src.head(max_vocab)
    t = tgt.head(max_vocab)
    return Dictionary([(w, w) for w in s.words if _NUMERAL.match(w) and w in t.index], name="numerals")


def build_seeds(spec: str, src: Embeddings, tgt: Embeddings, max_vocab: int | None = None) -> Dictionary:
    """Seed pairs from a spec: a dictionary path, `identical`, `numerals`, or several joined by `+`
    (e.g. `identical+numerals`, `train.txt+numerals`)."""
    parts = [p for p in spec.split("+") if p]
    if not parts:
        raise InputError("empty seed specification")
    out: Dictionary | None = None
    for part in parts:
        if part == "identical":
            d = identical_seeds(src, tgt, max_vocab)
        elif part == "numerals":
            d = numeral_seeds(src, tgt, max_vocab)
        else:
            d = Dictionary.load(part)
        out = d if out is None else out + d
    assert out is not None
    if len(out) == 0:
        raise InputError(f"the seed dictionary {spec!r} is empty for these vocabularies")
    return out
