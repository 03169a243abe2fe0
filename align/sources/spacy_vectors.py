"""Read the static vectors of an installed spaCy pipeline as an `Embeddings` (`spacy:NAME`).

Two kinds of pipeline vectors:

* a table (spaCy's "default" mode): a matrix of word vectors and a key→row map. Pipelines
  pruned with `spacy init vectors --prune` keep N real rows and map many other strings
  onto them (fr_core_news_md: 20,000 rows, 500,000 keys). Only the stored rows are read,
  each under its own word — the first key that spaCy added for that row, which is the
  word the row was made from — in row order, which is the frequency order of the
  fastText file the pipeline was built from.
* floret (hashed subword) vectors: any string has a vector, so a vocabulary decides which
  words to produce: a word list given by the caller, or else the `wordfreq` top-N list
  of the pipeline's language.

spaCy (and wordfreq) are optional: they are imported here only, when a `spacy:` path is used.
`NAME` is an installed pipeline package (`fr_core_news_md`) or a pipeline folder
(`nlp.to_disk`); `spacy:NAME,words=FILE` takes the word list from FILE (first column).
"""
from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from typing import Iterable

import numpy as np

from ..store.vectors import Embeddings, LoadReport
from ..errors import InputError

DEFAULT_FLORET_VOCAB = 50_000
_BATCH = 8192


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Split `NAME,key=value,...` (what follows `spacy:`) into the name and its options."""
    name, *opts = spec.split(",")
    options: dict[str, str] = {}
    for opt in opts:
        key, sep, value = opt.partition("=")
        if not sep or key.strip() not in ("words",):
            raise InputError(f"unknown option {opt!r} in spacy:{spec} (expected words=FILE)")
        options[key.strip()] = value.strip()
    if not name.strip():
        raise InputError("spacy: needs a pipeline name, e.g. spacy:fr_core_news_md")
    return name.strip(), options


def _meta(folder: Path) -> dict:
    try:
        return json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def find_pipeline(name: str) -> tuple[Path, dict]:
    """The data folder of pipeline `name` (a folder, or an installed package, not imported) and its meta."""
    label = f"spacy:{name}"
    folder = Path(name).expanduser()
    if not folder.is_dir():
        try:
            spec = importlib.util.find_spec(name) if name.isidentifier() else None
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            raise InputError(f"no installed spaCy pipeline or folder named {name!r}; install it "
                             f"(python -m spacy download {name}, or pip install its package)", label)
        locations = list(spec.submodule_search_locations or [])
        folder = Path(locations[0]) if locations else Path(spec.origin or "").parent
    if (folder / "vocab").is_dir():
        return folder, _meta(folder)
    meta = _meta(folder)
    if meta:
        sub = folder / f"{meta.get('lang')}_{meta.get('name')}-{meta.get('version')}"
        if (sub / "vocab").is_dir():
            return sub, _meta(sub) or meta
    subs = sorted(p for p in folder.iterdir() if (p / "vocab").is_dir()) if folder.is_dir() else []
    if len(subs) == 1:
        return subs[0], _meta(subs[0]) or meta
    raise InputError(f"{folder} is not a spaCy pipeline (no vocab/ folder)", label)


def _read_words_file(path: str) -> list[str]:
    from .._io import open_binary

    words = []
    with open_binary(path) as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError("not UTF-8 text", path, lineno) from None
            fields = line.split()
            if fields:
                words.append(fields[0])
    if not words:
        raise InputError("word list is empty", path)
    return words


def _unique(words: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for w in words:
        if w and not any(c.isspace() for c in w) and w not in seen:
            seen.add(w)
            out.append(w)
    return out


def _wordfreq_vocab(lang: str, n: int, label: str) -> list[str]:
    try:
        from wordfreq import top_n_list
    except ImportError:
        raise InputError("floret vectors need a vocabulary: pass a word list (spacy:NAME,words=FILE) "
                         "or install wordfreq (pip install 'align[spacy]')", label) from None
    try:
        words = top_n_list(lang, 2 * n, wordlist="large")
    except LookupError:
        words = []
    words = _unique(words)[:n]
    if not words:
        raise InputError(f"wordfreq has no word list for language {lang!r}; pass a word list "
                         "(spacy:NAME,words=FILE)", label)
    return words


def _table_rows(vectors, strings) -> tuple[list[str], list[int], int, bool]:
    """Each stored row's own word, in row order: the first key spaCy added for that row.

    Returns the words, their rows, how many rows were skipped (no string, or a string with
    whitespace that a .vec file cannot hold) and whether the key table is in row order."""
    n_rows = int(vectors.shape[0])
    owner: dict[int, int] = {}
    in_order = True
    for i, (key, row) in enumerate(vectors.key2row.items()):
        row = int(row)
        if i < n_rows and row != i:
            in_order = False
        if row not in owner:
            owner[row] = key
    words, rows, unknown = [], [], 0
    for row in range(n_rows):
        key = owner.get(row)
        if key is None:
            continue
        word = strings[key] if key in strings else ""
        if not word or any(c.isspace() for c in word):
            unknown += 1
            continue
        words.append(word)
        rows.append(row)
    return words, rows, unknown, in_order


def load_spacy_vectors(name: str, words: Iterable[str] | None = None, max_vocab: int | None = None) -> Embeddings:
    """Static vectors of a spaCy pipeline: its stored word rows (table) or `words`/wordfreq words (floret)."""
    start = time.perf_counter()
    name, options = parse_spec(name)
    label = f"spacy:{name}"
    if max_vocab is not None and max_vocab < 1:
        raise InputError(f"max_vocab must be at least 1, got {max_vocab}", label)
    if "words" in options:
        if words is not None:
            raise InputError("give the word list once: words=FILE or the words argument", label)
        words = _read_words_file(options["words"])
    try:
        from spacy.strings import StringStore, get_string_id
        from spacy.vectors import Vectors
    except ImportError:
        raise InputError("reading spaCy vectors needs spaCy: pip install 'align[spacy]'", label) from None
    folder, meta = find_pipeline(name)
    vocab_dir = folder / "vocab"
    try:
        vectors = Vectors().from_disk(vocab_dir)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"cannot read the pipeline's vectors ({exc})", label) from None
    if vectors.mode != "floret" and (vectors.shape[0] == 0 or len(vectors.key2row) == 0):
        raise InputError("the pipeline has no static vectors (try a _md or _lg pipeline)", label)
    report = LoadReport(path=label)

    if vectors.mode == "floret":
        if words is None:
            lang = meta.get("lang") or ""
            vocab = _wordfreq_vocab(lang, max_vocab or DEFAULT_FLORET_VOCAB, label)
        else:
            vocab = _unique(words)
            if max_vocab is not None:
                vocab = vocab[:max_vocab]
            if not vocab:
                raise InputError("the word list holds no usable word", label)
        matrix = np.concatenate([np.asarray(vectors.get_batch(vocab[i:i + _BATCH]), dtype=np.float32)
                                 for i in range(0, len(vocab), _BATCH)])
    else:
        strings = StringStore().from_disk(vocab_dir / "strings.json")
        vocab, rows, unknown, in_order = _table_rows(vectors, strings)
        if unknown:
            report.warnings.append(f"{label}: {unknown} stored rows skipped (no string, or one with spaces)")
        if not in_order:
            report.warnings.append(f"{label}: the key table is not in row order; each row's word is its first key")
        if max_vocab is not None:
            vocab, rows = vocab[:max_vocab], rows[:max_vocab]
        data = np.asarray(vectors.data)
        matrix = np.asarray(data[rows], dtype=np.float32)
        if words is not None:  # extra words the pipeline maps onto (shared) rows
            have = set(vocab)
            extra = [(w, vectors.key2row.get(get_string_id(w))) for w in _unique(words) if w not in have]
            missing = sum(1 for _, r in extra if r is None)
            extra = [(w, int(r)) for w, r in extra if r is not None and r >= 0]
            if extra:
                vocab = vocab + [w for w, _ in extra]
                matrix = np.concatenate([matrix, np.asarray(data[[r for _, r in extra]], dtype=np.float32)])
            if missing:
                report.warnings.append(f"{label}: {missing} requested words have no vector in the pipeline")
    zero = ~matrix.any(axis=1)
    if zero.any():
        report.zero_vectors = int(zero.sum())
        report.warnings.append(f"{label}: {report.zero_vectors} zero vectors dropped")
        vocab = [w for w, z in zip(vocab, zero) if not z]
        matrix = matrix[~zero]
    if not vocab:
        raise InputError("no vectors to read", label)
    emb = Embeddings(vocab, matrix, report=report, name=label)
    report.seconds = time.perf_counter() - start
    return emb
