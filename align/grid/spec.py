"""Grid specifications: a TOML file naming vector sets, dictionaries, language pairs, methods and seeds.

Every problem is an `InputError` naming the spec file (and the line, where one can be found), raised
before any cell runs, so that a typo never costs a half-run grid. Relative paths are read from the
spec file's folder, so a spec works from any working directory.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..jobs.run import MAX_VOCAB

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT_MAX_VOCAB = MAX_VOCAB  # a cell's vocabulary cut-off unless the spec sets one: the single-pair jobs'
# Options a cell sets itself; a method table may not set them.
RESERVED_OPTIONS = ("seed", "show_progress")
TOP_LEVEL_KEYS = ("max_vocab", "seeds", "pairs", "save_mappings", "vectors", "dictionaries", "methods")
_LANG = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_LABEL = re.compile(r"^[A-Za-z0-9_+][A-Za-z0-9_+.-]*$")


@dataclass(frozen=True)
class DictionarySpec:
    """The dictionaries of one direction: training and test files (either may be absent); `reverse`
    reads each file as target→source (a fr-fi file serving fi→fr)."""

    train: Path | None
    test: Path | None
    reverse: bool = False


@dataclass(frozen=True)
class MethodSpec:
    """One method of the grid: a label (the table's key), an aligner name and its options."""

    label: str
    method: str
    options: dict = field(default_factory=dict)

    def full_options(self) -> dict:
        """Every option of the aligner, its defaults filled in (tuples as lists, as JSON keeps them): what a
        cell records and hashes, so that a changed library default reruns the cells that relied on it."""
        from ..aligners import get_aligner

        full = {k: v for k, v in get_aligner(self.method).defaults().items() if k not in RESERVED_OPTIONS}
        full.update(self.options)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in full.items()}

    @property
    def supervised(self) -> bool:
        """Whether the method learns from a seed dictionary (then each pair needs a training file)."""
        from ..aligners import get_aligner

        return not get_aligner(self.method).seedless


@dataclass
class GridSpec:
    """A validated grid: what `expand_cells` turns into cells."""

    path: Path
    vectors: dict[str, Path]
    dictionaries: dict[tuple[str, str], DictionarySpec]
    pairs: list[tuple[str, str]]
    methods: list[MethodSpec]
    seeds: list[int]
    max_vocab: int = DEFAULT_MAX_VOCAB
    save_mappings: bool = False


def load_spec(path: str | Path) -> GridSpec:
    """Read and validate the grid spec at `path`; raise `InputError` naming the file on any problem."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such grid spec file" if not path.exists() else "is not a file", str(path))
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _decode_error_line(str(exc))
        raise InputError(f"not valid TOML: {_strip_position(str(exc))}", str(path), line) from None
    return parse_spec(raw, path, text)


def parse_spec(raw: dict, path: Path, text: str = "") -> GridSpec:
    """Validate a parsed spec table (`raw`) read from `path`; `text` helps point at lines in errors."""
    def fail(message: str, *keys: str) -> InputError:
        return InputError(message, str(path), _line_of(text, keys))

    unknown = sorted(set(raw) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise fail(f"unknown key {unknown[0]!r}; the spec knows {', '.join(TOP_LEVEL_KEYS)}", unknown[0])
    base = path.parent
    vectors = _vectors(raw.get("vectors"), base, fail)
    dictionaries = _dictionaries(raw.get("dictionaries", {}), base, vectors, fail)
    pairs = _pairs(raw.get("pairs", "all"), vectors, fail)
    methods = _methods(raw.get("methods"), fail)
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                            for s in seeds):
        raise fail("'seeds' must be a non-empty list of non-negative integers", "seeds")
    if len(set(seeds)) != len(seeds):
        raise fail("'seeds' lists a seed twice", "seeds")
    max_vocab = raw.get("max_vocab", DEFAULT_MAX_VOCAB)
    if not isinstance(max_vocab, int) or isinstance(max_vocab, bool) or max_vocab < 1:
        raise fail(f"'max_vocab' must be a positive integer, got {max_vocab!r}", "max_vocab")
    save = raw.get("save_mappings", False)
    if not isinstance(save, bool):
        raise fail("'save_mappings' must be true or false", "save_mappings")
    for m in methods:
        if not m.supervised:
            continue
        for src, tgt in pairs:
            d = dictionaries.get((src, tgt))
            if d is None or d.train is None:
                raise fail(f"method {m.label!r} needs a training dictionary for {src}-{tgt}: add "
                           f"[dictionaries.{src}-{tgt}] with 'train'", "methods", m.label)
    return GridSpec(path=path, vectors=vectors, dictionaries=dictionaries, pairs=pairs, methods=methods,
                    seeds=list(seeds), max_vocab=max_vocab, save_mappings=save)


def _file(value, base: Path, fail, *keys: str) -> Path:
    if not isinstance(value, str) or not value:
        raise fail(f"{'.'.join(keys)} must be a file path", *keys)
    p = Path(value).expanduser()
    p = p if p.is_absolute() else base / p
    if not p.is_file():
        raise fail(f"{'.'.join(keys)}: no such file {value!r} (relative paths are read from the spec's folder)", *keys)
    return p.resolve()


def _vectors(table, base: Path, fail) -> dict[str, Path]:
    if not isinstance(table, dict) or not table:
        raise fail("the spec needs a [vectors] table: a language code = a vectors file, per language", "vectors")
    out = {}
    for lang, value in table.items():
        if not _LANG.match(lang) or "-" in lang:
            raise fail(f"bad language code {lang!r} in [vectors] (letters, digits, underscores)", "vectors", lang)
        out[lang] = _file(value, base, fail, "vectors", lang)
    return out


def _pair_key(text: str, vectors: dict, fail, *keys: str) -> tuple[str, str]:
    parts = text.split("-") if isinstance(text, str) else []
    if len(parts) != 2 or not all(parts):
        raise fail(f"{text!r} is not a pair; write SRC-TGT, e.g. 'en-fr'", *keys)
    src, tgt = parts
    for lang in (src, tgt):
        if lang not in vectors:
            raise fail(f"pair {text!r}: no vectors for {lang!r} in [vectors]", *keys)
    if src == tgt:
        raise fail(f"pair {text!r} maps a language onto itself", *keys)
    return src, tgt


def _dictionaries(table, base: Path, vectors: dict, fail) -> dict[tuple[str, str], DictionarySpec]:
    if not isinstance(table, dict):
        raise fail("[dictionaries] must be a table of SRC-TGT = { train = ..., test = ... }", "dictionaries")
    out = {}
    for name, entry in table.items():
        key = _pair_key(name, vectors, fail, "dictionaries", name)
        if not isinstance(entry, dict):
            raise fail(f"dictionaries.{name} must be a table with 'train' and/or 'test'", "dictionaries", name)
        extra = sorted(set(entry) - {"train", "test", "reverse"})
        if extra:
            raise fail(f"dictionaries.{name}: unknown key {extra[0]!r} (train, test, reverse)", "dictionaries", name)
        if "train" not in entry and "test" not in entry:
            raise fail(f"dictionaries.{name} names neither a 'train' nor a 'test' file", "dictionaries", name)
        reverse = entry.get("reverse", False)
        if not isinstance(reverse, bool):
            raise fail(f"dictionaries.{name}.reverse must be true or false", "dictionaries", name)
        train = _file(entry["train"], base, fail, "dictionaries", name, "train") if "train" in entry else None
        test = _file(entry["test"], base, fail, "dictionaries", name, "test") if "test" in entry else None
        out[key] = DictionarySpec(train, test, reverse)
    return out


def _pairs(value, vectors: dict, fail) -> list[tuple[str, str]]:
    if value == "all":
        langs = list(vectors)
        return [(s, t) for s in langs for t in langs if s != t]
    if not isinstance(value, list) or not value:
        raise fail("'pairs' must be \"all\" (every direction among [vectors]) or a list like [\"en-fr\", \"fr-en\"]",
                   "pairs")
    out = [_pair_key(p, vectors, fail, "pairs") for p in value]
    if len(set(out)) != len(out):
        raise fail("'pairs' lists a pair twice", "pairs")
    return out


def _methods(table, fail) -> list[MethodSpec]:
    if not isinstance(table, dict) or not table:
        raise fail("the spec needs a [methods] table: a label = { method = \"procrustes\", options... }", "methods")
    out = []
    for label, entry in table.items():
        if not _LABEL.match(label):
            raise fail(f"bad method label {label!r} (letters, digits and _ + . - only: it names cells and folders)",
                       "methods", label)
        if not isinstance(entry, dict) or "method" not in entry:
            raise fail(f"methods.{label} must be a table with a 'method' key", "methods", label)
        options = {k: v for k, v in entry.items() if k != "method"}
        method = entry["method"]
        from ..aligners import ALIGNERS

        if method not in ALIGNERS:
            raise fail(f"methods.{label}: unknown method {method!r}; choose {', '.join(ALIGNERS)}", "methods", label)
        for name in RESERVED_OPTIONS:
            if name in options:
                raise fail(f"methods.{label}: {name!r} is set by the grid (use the top-level 'seeds')", "methods", label)
        _check_options(label, method, options, fail)
        out.append(MethodSpec(label, method, options))
    return out


def _check_options(label: str, method: str, options: dict, fail) -> None:
    """Check the options against the aligner now (names, then values as its `fit` would), so that a typo or
    a bad value is a spec error rather than the same failure in every cell."""
    from ..aligners import get_aligner

    cls = get_aligner(method)
    accepted = [n for n in cls.param_names() if n not in RESERVED_OPTIONS]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise fail(f"methods.{label}: unknown option {unknown[0]!r} for {method}; it takes {', '.join(accepted)}",
                   "methods", label)
    try:
        cls(**options)._validate()
    except InputError as exc:
        raise fail(f"methods.{label}: {exc}", "methods", label) from None
    except (TypeError, ValueError):
        defaults = cls.defaults()
        bad = next((k for k, v in options.items() if defaults.get(k) is not None
                    and not isinstance(v, type(defaults[k])) and not (isinstance(defaults[k], float)
                                                                     and isinstance(v, int))), None)
        raise fail(f"methods.{label}: bad value for {bad or 'an option'!r}"
                   + (f" ({options[bad]!r}; the default is {defaults[bad]!r})" if bad else ""), "methods", label) from None


def _decode_error_line(message: str) -> int | None:
    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else None


def _strip_position(message: str) -> str:
    return re.sub(r"\s*\(at line \d+, column \d+\)", "", message)


def _line_of(text: str, keys: tuple[str, ...]) -> int | None:
    """Best-effort line of `keys` (a table path) in the spec's text: the line of the deepest key found,
    searching each key after the previous one's line; None when the first key is not found."""
    if not text or not keys:
        return None
    lines = text.splitlines()
    start, found = 0, None
    for depth, key in enumerate(keys):
        pattern = re.compile(rf'^\s*(\[\s*)?("?{re.escape(key)}"?\s*[=\].]|.*\.\s*"?{re.escape(key)}"?\s*\])')
        for i in range(start, len(lines)):
            if pattern.search(lines[i]):
                start, found = i, i + 1
                break
        else:
            break
    return found
