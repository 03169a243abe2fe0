"""Cells: one run of the grid each (a direction, a method with its options, a seed), in spec order."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from .spec import DEFAULT_MAX_VOCAB, GridSpec


@dataclass(frozen=True)
class Cell:
    """Everything one run needs, as plain values (it travels to worker processes and Ray tasks).

    `id` names the cell in tables (`en-fr.procrustes.s0`); `key` is a hash of every parameter, so
    that a finished cell is skipped on a rerun only while its parameters are unchanged."""

    id: str
    key: str
    src: str
    tgt: str
    method_label: str
    method: str
    options: dict = field(default_factory=dict)
    seed: int = 0
    max_vocab: int = DEFAULT_MAX_VOCAB
    src_vectors: str = ""
    tgt_vectors: str = ""
    train: str | None = None
    test: str | None = None
    reverse: bool = False
    save_to: str | None = None  # a folder for the cell's mapping and outputs, or None
    index: int = 0  # the cell's place in the spec's order (tables sort by it)

    def params(self) -> dict:
        """The cell's full parameters, as recorded in results.jsonl."""
        out = asdict(self)
        for name in ("id", "key", "save_to", "index"):
            out.pop(name)
        return out


def expand_cells(spec: GridSpec, mappings_dir: str | None = None) -> list[Cell]:
    """The grid's cells, pairs × methods × seeds in spec order. With `mappings_dir` (and the spec's
    `save_mappings`), each cell writes its mapping into a subfolder named after its id."""
    cells = []
    for src, tgt in spec.pairs:
        dico = spec.dictionaries.get((src, tgt))
        for m in spec.methods:
            for seed in spec.seeds:
                cid = f"{src}-{tgt}.{m.label}.s{seed}"
                params = dict(src=src, tgt=tgt, method_label=m.label, method=m.method, options=m.full_options(),
                              seed=seed, max_vocab=spec.max_vocab,
                              src_vectors=str(spec.vectors[src]), tgt_vectors=str(spec.vectors[tgt]),
                              train=str(dico.train) if (dico and dico.train and m.supervised) else None,
                              test=str(dico.test) if (dico and dico.test) else None,
                              reverse=bool(dico.reverse) if dico else False)
                save_to = f"{mappings_dir}/{cid}" if (mappings_dir and spec.save_mappings) else None
                cells.append(Cell(id=cid, key=params_key(params), save_to=save_to, index=len(cells), **params))
    return cells


def params_key(params: dict) -> str:
    """A short, stable hash of a cell's parameters (key order does not matter)."""
    blob = json.dumps(params, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
