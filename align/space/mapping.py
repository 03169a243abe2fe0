"""The Mapping object: source/target normalisation steps + linear maps, saved without pickle.

`mapping.transform(x)` = normalise(x) @ W, with the statistics learnt at fit time, so
vectors that were not in the training vocabulary are mapped exactly like the ones that were.
Methods that move both spaces (VecMap-style whitening and re-weighting) also carry a
target-side matrix `W_tgt`: the shared space is then normalise(y) @ W_tgt on the target side.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .._io import folder_swap, writing
from ..store.vectors import Embeddings
from ..errors import InputError
from .normalize import Normalizer

FORMAT_VERSION = 1


class Mapping:
    """A linear map W (d_src × d_out, row vectors: y ≈ x W) with the normalisers of both sides.

    `W_tgt` (d_tgt × d_out), when given, maps the normalised target vectors too (y W_tgt);
    without it the target side is only normalised.
    """

    def __init__(self, W: np.ndarray, src_norm: Normalizer | None = None, tgt_norm: Normalizer | None = None,
                 info: dict | None = None, W_tgt: np.ndarray | None = None):
        W = np.asarray(W, dtype=np.float32)
        if W.ndim != 2:
            raise InputError(f"mapping matrix must be 2-D, got shape {W.shape}")
        if W_tgt is not None:
            W_tgt = np.asarray(W_tgt, dtype=np.float32)
            if W_tgt.ndim != 2 or W_tgt.shape[1] != W.shape[1]:
                raise InputError(f"target-side matrix of shape {W_tgt.shape} does not match the source-side {W.shape}")
        for name, M in (("W", W), ("W_tgt", W_tgt)):
            if M is not None and not np.isfinite(M).all():
                raise InputError(f"the mapping matrix {name} holds NaN or infinite values")
        self.W = W
        self.W_tgt = W_tgt
        self.src_norm = src_norm or Normalizer(())
        self.tgt_norm = tgt_norm or Normalizer(())
        self.info: dict = dict(info or {})

    def __repr__(self) -> str:
        return f"Mapping({self.W.shape[0]}→{self.W.shape[1]}, {self.info.get('method', '?')})"

    @classmethod
    def pair(cls, src_side: "Mapping", tgt_side: "Mapping") -> "Mapping":
        """The source→target mapping made of two mappings into one shared space (`align multi` writes
        one per language): sources through `src_side`, targets through `tgt_side` (its W as W_tgt)."""
        for side in (src_side, tgt_side):
            if side.W_tgt is not None or side.tgt_norm.steps:
                raise InputError("only mappings into a shared space (one per language, as `align multi` writes) "
                                 "can be paired; this one has a target side of its own")
        if src_side.W.shape[1] != tgt_side.W.shape[1]:
            raise InputError(f"the two mappings lead to spaces of {src_side.W.shape[1]} and "
                             f"{tgt_side.W.shape[1]} dimensions")
        info = {"method": "pair", "src_lang": src_side.info.get("src_lang"), "tgt_lang": tgt_side.info.get("src_lang"),
                "src_path": src_side.info.get("src_path"), "tgt_path": tgt_side.info.get("src_path"),
                "src_side": src_side.info, "tgt_side": tgt_side.info}
        return cls(src_side.W, src_side.src_norm, tgt_side.src_norm, info, W_tgt=tgt_side.W)

    @property
    def src_dim(self) -> int:
        return int(self.W.shape[0])

    @property
    def tgt_dim(self) -> int:
        """Dimension of the target vectors this mapping expects."""
        return int(self.W.shape[1] if self.W_tgt is None else self.W_tgt.shape[0])

    def is_orthogonal(self, tol: float = 1e-3) -> bool:
        """True when W (and W_tgt, if any) is square and WᵀW ≈ I."""
        for M in (self.W, self.W_tgt):
            if M is None:
                continue
            if M.shape[0] != M.shape[1]:
                return False
            eye = np.eye(M.shape[0], dtype=np.float64)
            if np.abs(M.T.astype(np.float64) @ M - eye).max() >= tol:
                return False
        return True

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Map source vectors (rows) into the target space."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.src_dim:
            raise InputError(f"dimension mismatch: vectors have {x.shape[-1]} dimensions, the mapping expects {self.src_dim}")
        return self.src_norm.transform(x) @ self.W

    def transform_embeddings(self, emb: Embeddings) -> Embeddings:
        """The source vector store mapped into the target space (same words)."""
        with _naming(emb):
            return emb.with_vectors(self.transform(emb.vectors))

    def transform_target(self, y: np.ndarray) -> np.ndarray:
        """Target vectors (rows) into the shared space: normalised, and mapped by W_tgt when there is one."""
        y = np.asarray(y, dtype=np.float32)
        if y.ndim != 2 or y.shape[1] != self.tgt_dim:
            raise InputError(f"dimension mismatch: target vectors have {y.shape[-1]} dimensions, "
                             f"the mapping expects {self.tgt_dim}")
        y = self.tgt_norm.transform(y)
        return y if self.W_tgt is None else y @ self.W_tgt

    def normalize_target(self, emb: Embeddings) -> Embeddings:
        """The target vector store in the shared space (recorded normalisation, then W_tgt if any)."""
        with _naming(emb):
            return emb.with_vectors(self.transform_target(emb.vectors))

    def save(self, directory: str | os.PathLike) -> None:
        """Write `W.npy` and `mapping.json` (normalisation steps, provenance) as the folder `directory`, whole:
        built aside and swapped in (align._io.folder_swap)."""
        with folder_swap(directory) as tmp:
            self.write_files(tmp)

    def write_files(self, folder: Path) -> None:
        """Write `W.npy` (and `W_tgt.npy`) and `mapping.json` into an existing `folder`."""
        with writing(folder / "W.npy"):
            np.save(folder / "W.npy", self.W)
        if self.W_tgt is not None:
            with writing(folder / "W_tgt.npy"):
                np.save(folder / "W_tgt.npy", self.W_tgt)
        meta = {"format": "align-mapping", "version": FORMAT_VERSION, "shape": list(self.W.shape),
                "tgt_shape": None if self.W_tgt is None else list(self.W_tgt.shape),
                "src_normalize": self.src_norm.to_json(), "tgt_normalize": self.tgt_norm.to_json(),
                "info": self.info}
        with writing(folder / "mapping.json"):
            (folder / "mapping.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "Mapping":
        """Read a mapping written by `save`; a one-line InputError naming the file for a missing, foreign or
        damaged folder (every field of mapping.json and both matrices are checked: align.space.mapping_file)."""
        from .mapping_file import read_mapping

        W, W_tgt, src_norm, tgt_norm, info = read_mapping(directory)
        return cls(W, src_norm, tgt_norm, info, W_tgt)


@contextmanager
def _naming(emb: Embeddings):
    """A dimension mismatch between a vector store and a mapping names the file the vectors came from."""
    try:
        yield
    except InputError as exc:
        where = emb.report.path or emb.name
        if exc.path is not None or not where or not str(exc).startswith("dimension mismatch"):
            raise
        raise InputError(str(exc), where) from None
