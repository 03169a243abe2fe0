"""A fitted reranker on disk: rerank.json (parameters, feature names, normalisers, figures), the model in its
library's text format, each view's map matrices as .npy, the seed pairs as text and their folds as .npy; no
pickle. Format 2 holds one set of maps per view; format 3 requires the checksums of the model and of the feature
names; formats 1 (one set of maps) and 2 still load."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..space.normalize import Normalizer
from ..store.dictionary import Dictionary
from .models import load_model

FORMAT_VERSION = 3  # 3: the model's and the feature names' checksums are required


def write_reranker(r, tmp: Path) -> None:
    """Write into an existing folder: rerank.json (parameters, feature names, normalisers, figures), the
    model in its library's text format (model.txt for LightGBM, model.json for logistic regression),
    each view's map matrices as .npy (view{v}.{map}.W.npy), the seed pairs as text and their folds as
    seed_folds.npy (no pickle)."""
    model_file = "model.txt" if r.model == "lightgbm" else "model.json"
    model_text = r.model_.to_text()
    (tmp / model_file).write_text(model_text, encoding="utf-8")
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
            "model_file": model_file, "model_sha256": _sha256(model_text),
            "feature_names": r.feature_names_, "features_sha256": _sha256("\n".join(r.feature_names_)),
            "views": views,
            "seed_folds": "seed_folds.npy",
            "identical_chosen": r.identical_, "has_extra": r.has_extra_, "vocab": None if r.vocab_ is None else list(r.vocab_),
            "src_normalize": r.src_norm_.to_json(),
            "tgt_normalize": r.tgt_norm_.to_json(), "importances": r.importances_,
            "train": r.train_, "timing": r.timing_}
    if r.has_extra_:
        meta.update(extra_src_normalize=r.extra_src_norm_.to_json(),
                    extra_tgt_normalize=r.extra_tgt_norm_.to_json())
    (tmp / "rerank.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")


def _sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_reranker(cls, directory: Path):
    """The `cls` (Reranker) written by `write_reranker` into `directory`; one-line errors naming the file for a
    missing, foreign, newer, damaged or edited directory. Rerankers of format 1 (one set of maps, no folds)
    load as apply_maps="all" without spelled-alike candidates, so they rank as they did."""
    meta_path = directory / "rerank.json"
    if not meta_path.exists():
        raise InputError("not a reranker directory (rerank.json expected)", str(directory))
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"unreadable rerank.json ({exc})", str(meta_path)) from None
    if not isinstance(meta, dict) or meta.get("format") != "align-rerank":
        raise InputError("not an align reranker", str(meta_path))
    version = meta.get("version")
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
        raise InputError(f"reranker format version {version!r}: this align reads versions 1 to {FORMAT_VERSION}",
                         str(meta_path))
    try:
        r = _read(cls, directory, meta)
        r.validate(check_encoder=False)  # parameters edited into something fit would refuse
    except InputError as exc:
        if exc.path is not None:
            raise
        raise InputError(str(exc), str(meta_path)) from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise InputError(f"malformed rerank.json ({type(exc).__name__}: {exc})", str(meta_path)) from None
    return r


def _matrix(directory: Path, name: str | None, ndim: int = 2, kind: str = "f"):
    """A saved array, checked for its number of dimensions and kind (float or integer)."""
    if name is None:
        return None
    path = directory / name
    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable matrix ({exc})", str(path)) from None
    if a.ndim != ndim or a.dtype.kind != kind or 0 in a.shape:
        raise InputError(f"expected a {ndim}-D {'float' if kind == 'f' else 'integer'} array, got shape "
                         f"{a.shape} of {a.dtype}", str(path))
    if kind == "f" and not np.isfinite(a).all():
        raise InputError("holds NaN or infinite values", str(path))
    return a


def _check_shapes(directory: Path, views: list[dict], view_maps: list, extra: bool,
                  dims: tuple[int | None, int | None]) -> None:
    """Every view's maps (`view_maps`, loaded from the files `views` names) take the same source and target
    dimensions (those of the normalisers, where they record one), and a map's two sides meet in one shared
    space; one-line errors naming the matrix."""
    seen: dict[bool, tuple[int, int]] = {}
    first: dict[bool, str] = {}
    for files, (maps, extra_map) in zip(views, view_maps):
        for name, f in files.items():
            is_extra = extra and name == "extra"
            W, Wt = extra_map if is_extra else maps[name]
            if Wt is not None and Wt.shape[1] != W.shape[1]:
                raise InputError(f"shape {Wt.shape} does not meet its source map's {W.shape} in one space",
                                 str(directory / f["W_tgt"]))
            shape = (W.shape[0], W.shape[1] if Wt is None else Wt.shape[0])
            expected = seen.setdefault(is_extra, shape if is_extra else
                                       (dims[0] or shape[0], dims[1] or shape[1]))
            first.setdefault(is_extra, f["W"])
            if shape != expected:
                bad = f["W"] if W.shape[0] != expected[0] or Wt is None else f["W_tgt"]
                known = (is_extra or not all(dims)) and first[is_extra] != f["W"]  # known from another view only
                where = f"{first[is_extra]}'s" if known else "the normalisers'"
                raise InputError(f"maps {shape[0]}-dim sources onto {shape[1]}-dim targets, against {where} "
                                 f"{expected[0]} and {expected[1]}", str(directory / bad))


def _read(cls, directory: Path, meta: dict):
    p = meta["params"]
    known = set(cls.param_names())
    r = cls(**{n: v for n, v in p.items() if n in known})
    if "identical" not in p:  # written before spelled-alike candidates existed: it never used them
        r.identical = False
    if "apply_maps" not in p:  # written before the folds' views existed: one view of all seeds
        r.apply_maps = "all"
    r.identical_, r.has_extra_ = meta.get("identical_chosen", False), meta["has_extra"]
    if not isinstance(r.identical_, bool) or not isinstance(r.has_extra_, bool):
        raise InputError("identical_chosen and has_extra must be true or false", str(directory / "rerank.json"))
    # before format 3, every word of an extra space counted as its source vocabulary: rank as it was fitted
    r.legacy_extra_vocabulary = r.has_extra_ and meta["version"] < 3
    r.view_maps_ = []
    view_files = meta["views"] if meta["version"] >= 2 else [meta["maps"]]
    for files in view_files:
        maps = {name: (_matrix(directory, f["W"]), _matrix(directory, f["W_tgt"])) for name, f in files.items()}
        extra_map = maps.pop("extra", None)
        if not maps or (r.has_extra_ and extra_map is None):
            raise InputError("a view without its maps in rerank.json", str(directory / "rerank.json"))
        r.view_maps_.append((maps, extra_map))
    if not r.view_maps_:
        raise InputError("no maps in rerank.json", str(directory / "rerank.json"))
    model_path = directory / str(meta["model_file"])
    try:
        text = model_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"unreadable model ({getattr(exc, 'strerror', None) or exc})", str(model_path)) from None
    if meta["version"] >= 3 and not all(isinstance(meta.get(k), str) for k in ("model_sha256", "features_sha256")):
        raise InputError("model_sha256 or features_sha256 missing (edited)", str(directory / "rerank.json"))
    if "model_sha256" in meta and meta["model_sha256"] != _sha256(text):
        raise InputError("the model does not match its checksum in rerank.json (damaged or edited)", str(model_path))
    try:
        r.model_ = load_model(p["model"], text, p["model_params"], p["seed"])
    except InputError as exc:
        raise InputError(str(exc), str(model_path)) from None
    r.feature_names_ = [str(n) for n in meta["feature_names"]]
    meta_path = str(directory / "rerank.json")
    if "features_sha256" in meta and meta["features_sha256"] != _sha256("\n".join(r.feature_names_)):
        raise InputError("feature_names do not match their checksum (edited)", meta_path)
    if r.model_.n_features != len(r.feature_names_):
        raise InputError(f"{len(r.feature_names_)} feature names for a model trained on {r.model_.n_features} "
                         "features", meta_path)
    r.src_norm_ = Normalizer.from_json(meta["src_normalize"])
    r.tgt_norm_ = Normalizer.from_json(meta["tgt_normalize"])
    _check_shapes(directory, view_files, r.view_maps_, r.has_extra_, (r.src_norm_.dim, r.tgt_norm_.dim))
    if r.has_extra_:
        r.extra_src_norm_ = Normalizer.from_json(meta["extra_src_normalize"])
        r.extra_tgt_norm_ = Normalizer.from_json(meta["extra_tgt_normalize"])
    r.seed_words_ = Dictionary.load(directory / "seeds.txt").pairs
    folds = meta.get("seed_folds")
    if folds is None:
        r.seed_folds_ = np.zeros(len(r.seed_words_), np.int64)
    elif isinstance(folds, list):
        r.seed_folds_ = np.asarray(folds, dtype=np.int64)
    else:
        r.seed_folds_ = _matrix(directory, folds, ndim=1, kind="i").astype(np.int64)
    n_views = len(r.view_maps_)
    if r.apply_maps == "folds" and n_views != r.folds:
        raise InputError(f"{n_views} views for {r.folds} folds", str(directory / "rerank.json"))
    if len(r.seed_folds_) != len(r.seed_words_) or (
            n_views > 1 and not np.array_equal(np.unique(r.seed_folds_), np.arange(n_views))):
        raise InputError(f"the seeds' folds do not match seeds.txt and the {n_views} views",
                         str(directory / (folds if isinstance(folds, str) else "rerank.json")))
    vocab = meta.get("vocab")  # written since the sizes were recorded
    if vocab is not None and not (isinstance(vocab, list) and len(vocab) == 2
                                  and all(type(n) is int and n > 0 for n in vocab)):
        raise InputError(f"vocab must be two word counts, got {vocab!r}", str(directory / "rerank.json"))
    r.vocab_ = None if vocab is None else tuple(vocab)
    r.importances_, r.train_, r.timing_ = meta["importances"], meta["train"], meta.get("timing", {})
    r.fit_seconds_ = r.timing_.get("fit_seconds")
    return r
