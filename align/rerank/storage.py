"""A fitted reranker on disk: rerank.json (parameters, feature names, normalisers, figures), the model in its
library's text format, each view's map matrices as .npy, the seed pairs as text and their folds as .npy; no
pickle. Format 2 holds one set of maps per view; format 1 (one set) still loads."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..space.normalize import Normalizer
from ..store.dictionary import Dictionary
from .models import load_model

FORMAT_VERSION = 2


def write_reranker(r, tmp: Path) -> None:
    """Write into an existing folder: rerank.json (parameters, feature names, normalisers, figures), the
    model in its library's text format (model.txt for LightGBM, model.json for logistic regression),
    each view's map matrices as .npy (view{v}.{map}.W.npy), the seed pairs as text and their folds as
    seed_folds.npy (no pickle)."""
    model_file = "model.txt" if r.model == "lightgbm" else "model.json"
    (tmp / model_file).write_text(r.model_.to_text(), encoding="utf-8")
    views = []
    for v, (maps, extra_map) in enumerate(r.view_maps_):
        files = {}
        for name, (W, Wt) in [*maps.items(), *([("extra", extra_map)] if r.has_extra_ else [])]:
            stem = f"view{v}.{name}"
            np.save(tmp / f"{stem}.W.npy", W)
            if Wt is not None:
                np.save(tmp / f"{stem}.W_tgt.npy", Wt)
            files[name] = {"W": f"{stem}.W.npy", "W_tgt": None if Wt is None else f"{stem}.W_tgt.npy"}
        views.append(files)
    Dictionary(r.seed_words_).save(tmp / "seeds.txt")
    np.save(tmp / "seed_folds.npy", np.asarray(r.seed_folds_, dtype=np.int64))
    meta = {"format": "align-rerank", "version": FORMAT_VERSION, "params": r.params_json(),
            "model_file": model_file, "feature_names": r.feature_names_, "views": views,
            "seed_folds": "seed_folds.npy",
            "identical_chosen": r.identical_, "has_extra": r.has_extra_,
            "src_normalize": r.src_norm_.to_json(),
            "tgt_normalize": r.tgt_norm_.to_json(), "importances": r.importances_,
            "train": r.train_, "timing": r.timing_}
    if r.has_extra_:
        meta.update(extra_src_normalize=r.extra_src_norm_.to_json(),
                    extra_tgt_normalize=r.extra_tgt_norm_.to_json())
    (tmp / "rerank.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")


def read_reranker(cls, directory: Path):
    """The `cls` (Reranker) written by `write_reranker` into `directory`; one-line errors for a missing,
    foreign, newer or malformed directory. Rerankers of format 1 (one set of maps, no folds) load as
    apply_maps="all" without spelled-alike candidates, so they rank as they did."""
    meta_path = directory / "rerank.json"
    if not meta_path.exists():
        raise InputError("not a reranker directory (rerank.json expected)", str(directory))
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"unreadable rerank.json ({exc})", str(meta_path)) from None
    if meta.get("format") != "align-rerank":
        raise InputError("not an align reranker", str(meta_path))
    if not isinstance(meta.get("version"), int) or meta["version"] > FORMAT_VERSION:
        raise InputError(f"reranker format version {meta.get('version')!r}: this align reads versions up to "
                         f"{FORMAT_VERSION}", str(meta_path))
    p = meta["params"]
    known = set(cls.param_names())
    r = cls(**{n: v for n, v in p.items() if n in known})

    def matrix(name: str | None):
        if name is None:
            return None
        try:
            return np.load(directory / name, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputError(f"unreadable matrix ({exc})", str(directory / name)) from None

    if "identical" not in p:  # written before spelled-alike candidates existed: it never used them
        r.identical = False
    if "apply_maps" not in p:  # written before the folds' views existed: one view of all seeds
        r.apply_maps = "all"
    r.identical_ = bool(meta.get("identical_chosen", False))
    r.has_extra_ = bool(meta["has_extra"])
    r.view_maps_ = []
    try:
        for files in meta["views"] if meta["version"] >= 2 else [meta["maps"]]:
            maps = {name: (matrix(f["W"]), matrix(f["W_tgt"])) for name, f in files.items()}
            extra_map = maps.pop("extra", None)
            r.view_maps_.append((maps, extra_map))
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"malformed map list in rerank.json ({exc!r})", str(meta_path)) from None
    try:
        text = (directory / meta["model_file"]).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"unreadable model ({exc.strerror})", str(directory / meta["model_file"])) from None
    r.model_ = load_model(p["model"], text, p["model_params"], p["seed"])
    r.feature_names_ = list(meta["feature_names"])
    r.src_norm_ = Normalizer.from_json(meta["src_normalize"])
    r.tgt_norm_ = Normalizer.from_json(meta["tgt_normalize"])
    if r.has_extra_:
        r.extra_src_norm_ = Normalizer.from_json(meta["extra_src_normalize"])
        r.extra_tgt_norm_ = Normalizer.from_json(meta["extra_tgt_normalize"])
    r.seed_words_ = Dictionary.load(directory / "seeds.txt").pairs
    folds = meta.get("seed_folds")
    r.seed_folds_ = (np.zeros(len(r.seed_words_), np.int64) if folds is None
                     else np.asarray(folds if isinstance(folds, list) else matrix(folds), dtype=np.int64))
    if len(r.seed_folds_) != len(r.seed_words_):
        raise InputError("seeds.txt does not match the folds in rerank.json", str(directory / "seeds.txt"))
    r.importances_, r.train_, r.timing_ = meta["importances"], meta["train"], meta.get("timing", {})
    return r
