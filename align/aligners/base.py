"""The aligner contract, after scikit-learn: `Aligner(**params).fit(src, tgt, seeds) -> Mapping`.

Constructor arguments are stored unchanged (`get_params()` reads them back by introspection, so
mapping.json records every one); validation and device decisions happen in `fit`; what a fit
learns sits in attributes with a trailing underscore, the same for every aligner:
`history_` (one flat dict per iteration, each with an "iteration" key), `best_iteration_`,
`n_iter_` and `induced_` (the induced dictionary, or None).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .._params import Params
from ..device import describe as describe_device
from ..errors import InputError
from ..search.induction import Induced
from ..space.mapping import Mapping
from ..space.normalize import Normalizer, parse_steps
from ..store.dictionary import Dictionary
from ..store.vectors import Embeddings


@dataclass
class Prepared:
    """Normalised matrices of both sides, their normalisers and the seed pairs as row indices."""

    X: np.ndarray
    Y: np.ndarray
    pairs: np.ndarray  # (n, 2) int64: (source row, target row)
    src_norm: Normalizer
    tgt_norm: Normalizer


def prepare(src: Embeddings, tgt: Embeddings, seeds: Dictionary | None, normalize,
            same_dim: bool = True) -> Prepared:
    """Validate the inputs, fit the normalisers on each side and look the seeds up.

    Errors: dimension mismatch, an empty seed set, a seed set with no pair in the vocabularies.
    """
    if not isinstance(src, Embeddings) or not isinstance(tgt, Embeddings):
        raise InputError("src and tgt must be Embeddings")
    if same_dim and src.dim != tgt.dim:
        raise InputError(f"dimension mismatch: source vectors have {src.dim} dimensions, target vectors {tgt.dim}")
    if seeds is None:
        pairs = np.zeros((0, 2), dtype=np.int64)
    else:
        if len(seeds) == 0:
            raise InputError("the seed dictionary is empty")
        pairs = seeds.indices(src, tgt)
        if len(pairs) == 0:
            cov = seeds.coverage(src, tgt)
            raise InputError(
                f"no seed pair has both words in the vocabularies ({cov.pairs} pairs: {cov.dropped_src} unknown "
                f"source words, {cov.dropped_tgt} unknown target words)", seeds.path or seeds.name or None)
    src_norm = Normalizer(parse_steps(normalize))
    tgt_norm = Normalizer(parse_steps(normalize))
    X = src_norm.fit_transform(src.vectors)
    Y = tgt_norm.fit_transform(tgt.vectors)
    return Prepared(X, Y, pairs, src_norm, tgt_norm)


def _jsonable(value):
    """Parameters as mapping.json stores them: tuples as lists, numpy scalars as Python numbers."""
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass
class Fitted:
    """What an aligner's `_fit` returns: the map(s), the iteration log and the kept iteration."""

    W: np.ndarray
    history: list[dict]
    best_iteration: int
    W_tgt: np.ndarray | None = None
    induced: Induced | None = None
    info: dict | None = None  # method-specific provenance for mapping.json


class Aligner(Params):
    """Base of every aligner. Subclasses set `method` (their registry name) and `seedless`, store their
    constructor arguments with `self._store(locals())`, and implement `_validate()` and `_fit(prepared, src, tgt)`."""

    method: str = ""
    seedless: bool = False

    def __repr__(self) -> str:
        defaults = self.defaults()
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults.get(k)]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _validate(self) -> None:
        """Raise InputError for a parameter that cannot work (called by `fit`)."""

    def _split(self, p: Prepared, src: Embeddings) -> tuple[Prepared, Embeddings]:
        """What `_fit` sees of the source side: all of it (seedless aligners hold some words out to judge on)."""
        return p, src

    def _fit(self, p: Prepared, src: Embeddings, tgt: Embeddings) -> Fitted:
        raise NotImplementedError

    def fit(self, src: Embeddings, tgt: Embeddings, seeds: Dictionary | None = None) -> Mapping:
        """Validate the parameters and inputs, learn the map, and return it with its provenance."""
        start = time.perf_counter()
        if self.seedless and seeds is not None:
            raise InputError(f"{self.method} aligns without seeds: pass no seed dictionary "
                             "(use procrustes or rcsls to learn from one)")
        if not self.seedless and seeds is None:
            raise InputError(f"{self.method} needs a seed dictionary")
        self._validate()
        p = prepare(src, tgt, seeds, self.normalize)
        fitted = self._fit(*self._split(p, src), tgt)
        self.history_, self.best_iteration_ = fitted.history, fitted.best_iteration
        self.n_iter_, self.induced_ = len(fitted.history), fitted.induced
        info = {"method": self.method, "params": {k: _jsonable(v) for k, v in self.provenance_params().items()},
                "seed_pairs": int(len(p.pairs)), "history": self.history_, "best_iteration": self.best_iteration_,
                "n_iter": self.n_iter_, **(fitted.info or {}), "device": describe_device(),
                "fit_seconds": round(time.perf_counter() - start, 3), "src": src.name, "tgt": tgt.name}
        return Mapping(fitted.W, p.src_norm, p.tgt_norm, info, W_tgt=fitted.W_tgt)
