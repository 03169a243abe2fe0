"""What every aligner shares: input validation, normalisation, seed indices."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..store.dictionary import Dictionary
from ..store.vectors import Embeddings
from ..errors import InputError
from ..space.normalize import Normalizer, parse_steps


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
