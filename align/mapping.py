"""The Mapping object: source/target normalisation steps + a linear map, saved without pickle.

`mapping.transform(x)` = normalise(x) @ W, with the statistics learnt at fit time, so
vectors that were not in the training vocabulary are mapped exactly like the ones that were.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .embeddings import Embeddings
from .errors import InputError
from .normalize import Normalizer

FORMAT_VERSION = 1


class Mapping:
    """A linear map W (d_src × d_tgt, row vectors: y ≈ x W) with the normalisers of both sides."""

    def __init__(self, W: np.ndarray, src_norm: Normalizer | None = None, tgt_norm: Normalizer | None = None,
                 info: dict | None = None):
        W = np.asarray(W, dtype=np.float32)
        if W.ndim != 2:
            raise InputError(f"mapping matrix must be 2-D, got shape {W.shape}")
        self.W = W
        self.src_norm = src_norm or Normalizer(())
        self.tgt_norm = tgt_norm or Normalizer(())
        self.info: dict = dict(info or {})

    def __repr__(self) -> str:
        return f"Mapping({self.W.shape[0]}→{self.W.shape[1]}, {self.info.get('method', '?')})"

    @property
    def src_dim(self) -> int:
        return int(self.W.shape[0])

    def is_orthogonal(self, tol: float = 1e-3) -> bool:
        """True when W is square and WᵀW ≈ I."""
        if self.W.shape[0] != self.W.shape[1]:
            return False
        eye = np.eye(self.W.shape[0], dtype=np.float64)
        return bool(np.abs(self.W.T.astype(np.float64) @ self.W - eye).max() < tol)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Map source vectors (rows) into the target space."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.src_dim:
            raise InputError(f"dimension mismatch: vectors have {x.shape[-1]} dimensions, the mapping expects {self.src_dim}")
        return self.src_norm.transform(x) @ self.W

    def transform_embeddings(self, emb: Embeddings) -> Embeddings:
        """The source vector store mapped into the target space (same words)."""
        return emb.with_vectors(self.transform(emb.vectors))

    def normalize_target(self, emb: Embeddings) -> Embeddings:
        """The target vector store with the target side's recorded normalisation applied."""
        if emb.dim != self.W.shape[1]:
            raise InputError(f"dimension mismatch: target vectors have {emb.dim} dimensions, the mapping gives {self.W.shape[1]}")
        return emb.with_vectors(self.tgt_norm.transform(emb.vectors))

    def save(self, directory: str | os.PathLike) -> None:
        """Write `W.npy` and `mapping.json` (normalisation steps, provenance) into `directory`, atomically."""
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".part", dir=directory.parent))
        try:
            np.save(tmp / "W.npy", self.W)
            meta = {"format": "align-mapping", "version": FORMAT_VERSION, "shape": list(self.W.shape),
                    "src_normalize": self.src_norm.to_json(), "tgt_normalize": self.tgt_norm.to_json(),
                    "info": self.info}
            (tmp / "mapping.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False))
            if directory.exists():
                # keep other files of an output directory: replace only our two files
                for name in ("W.npy", "mapping.json"):
                    os.replace(tmp / name, directory / name)
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                os.replace(tmp, directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "Mapping":
        """Read a mapping written by `save`; a clear error for a missing or foreign directory."""
        directory = Path(directory)
        meta_path, w_path = directory / "mapping.json", directory / "W.npy"
        if not directory.is_dir():
            raise InputError("no such mapping directory", str(directory))
        if not meta_path.exists() or not w_path.exists():
            raise InputError("not a mapping directory (mapping.json and W.npy expected)", str(directory))
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"unreadable mapping.json ({exc})", str(meta_path)) from None
        if meta.get("format") != "align-mapping":
            raise InputError("not an align mapping", str(meta_path))
        try:
            W = np.load(w_path, allow_pickle=False)
        except ValueError as exc:
            raise InputError(f"unreadable matrix ({exc})", str(w_path)) from None
        if list(W.shape) != list(meta.get("shape", W.shape)):
            raise InputError(f"matrix shape {W.shape} disagrees with mapping.json {meta['shape']}", str(w_path))
        return cls(W, Normalizer.from_json(meta["src_normalize"]), Normalizer.from_json(meta["tgt_normalize"]),
                   meta.get("info", {}))
