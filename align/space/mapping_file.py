"""Reading a saved mapping folder back, trusting nothing: `mapping.json` is checked field by field against
the matrices beside it, so a damaged or hand-edited folder is a one-line InputError naming the file and the
field, never a traceback and never a mapping that fails later or gives NaN."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..store.matrix import read_matrix
from .normalize import STEPS, Normalizer

FORMAT = "align-mapping"
RECORDED_OPS = ("unit", "center", "unitdim")  # what a fitted normaliser records (iternorm expands to these)
INFO_FIELDS = (("src_path", str, "a path"), ("tgt_path", str, "a path"), ("src_lang", str, "a string"),
               ("tgt_lang", str, "a string"), ("method", str, "a string"), ("failed", bool, "true or false"))


def _shape(value, key: str, where: str) -> list[int]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
        raise InputError(f'"{key}" must be a list of two positive integers, got {json.dumps(value)[:60]}', where)
    return value


def _statistic(value, key: str, dim: int, where: str, nonzero: bool = False) -> np.ndarray:
    if not isinstance(value, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise InputError(f'"{key}" must be a list of numbers', where)
    if len(value) != dim:
        raise InputError(f'"{key}" holds {len(value)} values, the matrix has {dim} rows', where)
    if not all(math.isfinite(v) for v in value) or (nonzero and any(v == 0 for v in value)):
        raise InputError(f'"{key}" holds {"zero, " if nonzero else ""}NaN or infinite values', where)
    return np.asarray(value, dtype=np.float32)


def parse_normalizer(obj, key: str, dim: int, where: str) -> Normalizer:
    """The Normalizer described by `obj` (mapping.json's `key`) for vectors of `dim` dimensions."""
    if not isinstance(obj, dict):
        raise InputError(f'"{key}" must be an object with "steps" and "recorded"', where)
    steps, recorded = obj.get("steps"), obj.get("recorded")
    if not isinstance(steps, list) or not all(isinstance(s, str) and s in STEPS for s in steps):
        raise InputError(f'"{key}.steps" must be a list of normalisation steps ({", ".join(STEPS)})', where)
    if not isinstance(recorded, list) or not all(isinstance(r, dict) for r in recorded):
        raise InputError(f'"{key}.recorded" must be a list of objects', where)
    norm = Normalizer(tuple(steps))
    for i, r in enumerate(recorded):
        op = r.get("op")
        if op not in RECORDED_OPS:
            raise InputError(f'"{key}.recorded[{i}].op" must be one of {", ".join(RECORDED_OPS)}, got {op!r}', where)
        step = {"op": op}
        if op == "center":
            step["mean"] = _statistic(r.get("mean"), f"{key}.recorded[{i}].mean", dim, where)
        elif op == "unitdim":
            step["std"] = _statistic(r.get("std"), f"{key}.recorded[{i}].std", dim, where, nonzero=True)
        norm.recorded.append(step)
    return norm


def read_mapping(directory: str | Path) -> tuple[np.ndarray, np.ndarray | None, Normalizer, Normalizer, dict]:
    """(W, W_tgt or None, source normaliser, target normaliser, info) of the mapping folder `directory`."""
    directory = Path(directory)
    meta_path, w_path = directory / "mapping.json", directory / "W.npy"
    if not directory.is_dir():
        raise InputError("no such mapping directory", str(directory))
    if not meta_path.is_file() or not w_path.is_file():
        raise InputError("not a mapping directory (mapping.json and W.npy expected)", str(directory))
    where = str(meta_path)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"unreadable mapping.json ({exc})", where) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", where) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError("not an align mapping (no \"format\": \"align-mapping\")", where)
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InputError(f'"version" must be a positive integer, got {json.dumps(version)}', where)
    from .mapping import FORMAT_VERSION

    if version > FORMAT_VERSION:
        raise InputError(f"written by a newer align (format version {version}; this one reads {FORMAT_VERSION})",
                         where)
    shape = _shape(meta.get("shape"), "shape", where)
    W = read_matrix(w_path)
    if list(W.shape) != shape:
        raise InputError(f"matrix shape {W.shape} disagrees with mapping.json {shape}", str(w_path))
    W_tgt = None
    if meta.get("tgt_shape") is not None:
        tgt_shape = _shape(meta["tgt_shape"], "tgt_shape", where)
        t_path = directory / "W_tgt.npy"
        if not t_path.is_file():
            raise InputError("mapping.json names a target-side matrix but W_tgt.npy is missing", str(directory))
        W_tgt = read_matrix(t_path)
        if list(W_tgt.shape) != tgt_shape:
            raise InputError(f"matrix shape {W_tgt.shape} disagrees with mapping.json {tgt_shape}", str(t_path))
        if tgt_shape[1] != shape[1]:
            raise InputError(f"target-side matrix {tgt_shape} does not match the source-side {shape}", where)
    for key in ("src_normalize", "tgt_normalize"):
        if key not in meta:
            raise InputError(f'"{key}" is missing', where)
    src_norm = parse_normalizer(meta["src_normalize"], "src_normalize", shape[0], where)
    tgt_norm = parse_normalizer(meta["tgt_normalize"], "tgt_normalize",
                                shape[1] if W_tgt is None else W_tgt.shape[0], where)
    info = meta.get("info", {})
    if not isinstance(info, dict):
        raise InputError('"info" must be an object', where)
    for key, kind, name in INFO_FIELDS:  # the fields the tool itself reads back
        if info.get(key) is not None and not isinstance(info[key], kind):
            raise InputError(f'"info.{key}" must be {name}, got {json.dumps(info[key])[:60]}', where)
    return W, W_tgt, src_norm, tgt_norm, info
