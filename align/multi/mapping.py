"""MultiMapping: one `Mapping` per language into one shared space, saved as one folder.

Layout of a saved folder (written beside its final place and swapped in whole):

    DIR/multi.json      format, languages, hub, mode, provenance
    DIR/<lang>/         a normal mapping folder (W.npy, mapping.json) per language: the
                        language's vectors into the shared space; `Mapping.load` reads it

Any two languages form a pair mapping (`pair`, `Mapping.pair`), which `align translate`
and `align bli-eval` take as `--mapping DIR/<src> --tgt-mapping DIR/<tgt>`.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .._io import folder_swap
from ..errors import InputError
from ..space import Mapping

FORMAT = "align-multi"
FORMAT_VERSION = 1
MANIFEST = "multi.json"
MARKERS = (MANIFEST, "metrics.json")  # an existing folder holding one of these may be replaced by a new run
_LANG = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def check_language_code(code: str) -> str:
    """A language code usable as a folder name: a letter, then letters, digits or '_'."""
    if not isinstance(code, str) or not _LANG.match(code):
        raise InputError(f"bad language code {code!r}: use a letter, then letters, digits or '_'")
    return code


class MultiMapping:
    """Language → `Mapping` into one shared space, with the run's provenance in `info`."""

    def __init__(self, mappings: dict[str, Mapping], info: dict | None = None):
        if len(mappings) < 2:
            raise InputError("a shared space needs at least two languages")
        dims = {m.W.shape[1] for m in mappings.values()}
        if len(dims) != 1:
            raise InputError(f"the per-language mappings disagree on the shared space's dimension: {sorted(dims)}")
        self.mappings = {check_language_code(lang): m for lang, m in mappings.items()}
        self.info: dict = dict(info or {})

    def __repr__(self) -> str:
        return f"MultiMapping({', '.join(self.languages)}; {self.info.get('mode', '?')})"

    @property
    def languages(self) -> list[str]:
        return list(self.mappings)

    def __getitem__(self, lang: str) -> Mapping:
        if lang not in self.mappings:
            raise InputError(f"no language {lang!r} in this shared space ({', '.join(self.languages)})")
        return self.mappings[lang]

    def __contains__(self, lang: object) -> bool:
        return lang in self.mappings

    def pair(self, src: str, tgt: str) -> Mapping:
        """The src→tgt mapping through the shared space (usable wherever a bilingual mapping is)."""
        return Mapping.pair(self[src], self[tgt])

    def write_into(self, directory: Path) -> None:
        """Write the manifest and one mapping folder per language into the existing folder `directory`."""
        for lang, m in self.mappings.items():
            (directory / lang).mkdir()
            m.write_files(directory / lang)
        manifest = {"format": FORMAT, "version": FORMAT_VERSION, "languages": self.languages, "info": self.info}
        (directory / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")

    def save(self, directory: str | os.PathLike) -> None:
        """Write the folder beside `directory` and swap it in whole (see the module's layout); an existing
        folder is replaced only if it is an earlier output (align._io.folder_swap)."""
        with folder_swap(directory, MARKERS) as tmp:
            self.write_into(tmp)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "MultiMapping":
        """Read a folder written by `save`; a clear error for a missing or foreign folder."""
        directory = Path(directory)
        path = directory / MANIFEST
        if not directory.is_dir():
            raise InputError("no such folder", str(directory))
        if not path.exists():
            raise InputError(f"not a shared-space folder ({MANIFEST} expected)", str(directory))
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"unreadable manifest ({exc})", str(path)) from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise InputError("not an align shared-space manifest", str(path))
        languages = manifest.get("languages")
        if not isinstance(languages, list) or not languages:
            raise InputError("the manifest lists no languages", str(path))
        return cls({lang: Mapping.load(directory / check_language_code(lang)) for lang in languages},
                   manifest.get("info", {}))
