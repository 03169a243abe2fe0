"""The `align multi` job, shared by the CLI and scripts: load N vector sets, fit one shared space, evaluate
language pairs through it, write one folder (align.multi.mapping's layout plus metrics.json)."""
from __future__ import annotations

import json
import time
from pathlib import Path

from .._io import folder_swap
from ..device import describe as describe_device
from ..errors import InputError
from ..multi import MultiAligner, MultiMapping
from ..multi.mapping import MARKERS
from ..search.evaluate import evaluate_bli
from ..store import Dictionary, load_all

METRICS = "metrics.json"


def parse_pair(spec: str) -> tuple[str, str]:
    """'SRC-TGT' -> (src, tgt); language codes hold no '-'."""
    parts = spec.split("-")
    if len(parts) != 2 or not all(parts):
        raise InputError(f"expected a language pair SRC-TGT (e.g. fr-fi), got {spec!r}")
    return parts[0], parts[1]


def evaluate_pairs(mm: MultiMapping, spaces: dict, evals: dict[tuple[str, str], Dictionary],
                   retrievals=("nn", "csls"), show_progress: bool = False) -> dict:
    """BLI of every evaluated pair through the shared space: {"src-tgt": {retrieval: result dict}}."""
    out = {}
    for (src, tgt), dico in evals.items():
        for lang in (src, tgt):
            if lang not in spaces:
                raise InputError(f"the {src}-{tgt} test dictionary names {lang!r}, which has no vectors",
                                 dico.path or None)
        m = mm.pair(src, tgt)
        s, t = m.transform_embeddings(spaces[src]), m.normalize_target(spaces[tgt])
        out[f"{src}-{tgt}"] = {r: evaluate_bli(s, t, dico, r, show_progress=show_progress).to_dict()
                               for r in retrievals}
    return out


def run_multi(vectors: dict[str, str], dictionaries: dict[tuple[str, str], str], *,
              evals: dict[tuple[str, str], str] | None = None, output: str | Path | None = None,
              max_vocab: int | None = None, cache: bool = True, show_progress: bool = False,
              **params) -> tuple[MultiMapping, dict]:
    """Fit a shared space of the `vectors` (language → path) on the `dictionaries` ((src, tgt) → path),
    evaluate the `evals` pairs, write `output` (the MultiMapping folder plus metrics.json, swapped in
    whole); `params` go to MultiAligner. Returns (multi-mapping, metrics)."""
    started = time.perf_counter()
    langs = list(vectors)
    for what, pairs in (("dictionary", dictionaries), ("test dictionary", evals or {})):
        for src, tgt in pairs:
            for lang in (src, tgt):
                if lang not in vectors:  # before any loading: a typo fails at once
                    raise InputError(f"the {src}-{tgt} {what} names {lang!r}, which has no vectors "
                                     f"(languages: {', '.join(langs)})")
    spaces = dict(zip(langs, load_all([vectors[lang] for lang in langs], max_vocab, cache=cache)))
    dicos = {pair: Dictionary.load(path) for pair, path in dictionaries.items()}
    tests = {pair: Dictionary.load(path) for pair, path in (evals or {}).items()}
    aligner = MultiAligner(show_progress=show_progress, **params)
    mm = aligner.fit(spaces, dicos)
    for lang, emb in spaces.items():
        path = vectors[lang]
        mm[lang].info["src_path"] = path if path.startswith("spacy:") else str(Path(path).resolve())
    metrics = {"languages": langs, "mode": aligner.mode, "hub": aligner.hub_, "params": mm.info["params"],
               "seed_pairs": aligner.seed_pairs_, "unused_dictionaries": aligner.unused_dictionaries_,
               "ignored_params": aligner.ignored_params_,
               "induced_pairs": aligner.induced_pairs_,
               "history": aligner.history_, "best_iteration": aligner.best_iteration_,
               "converged_at": aligner.converged_at_, "fit_seconds": mm.info.get("fit_seconds"),
               "eval": evaluate_pairs(mm, spaces, tests, show_progress=show_progress)}
    metrics["device"] = describe_device()
    metrics["seconds"] = round(time.perf_counter() - started, 3)
    if output is not None:
        metrics["output"] = str(output)
        with folder_swap(output, MARKERS) as tmp:
            mm.write_into(tmp)
            with open(tmp / METRICS, "w", encoding="utf-8") as f:  # last: its presence marks a whole folder
                json.dump(metrics, f, indent=1, ensure_ascii=False)
    return mm, metrics
