"""Dictionary induction from a mapped space, and the unsupervised model-selection criterion.

Shared by refinement, the unsupervised methods and `translate`: one CSLS pass among the
most frequent words gives both the induced pairs and the criterion (MUSE's mean cosine of
CSLS source→target translations of the most frequent source words).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..space.normalize import normalize_rows
from .csls import csls_nearest

MODES: tuple[str, ...] = ("mutual", "s2t", "t2s", "union", "intersection")
# Default candidate set for induced dictionaries: the 8,000 most frequent words of each side; refinement
# is as accurate with them as with MUSE's 15k, for much less compute (benchmarks/RESULTS.md).
REFINE_VOCAB = 8000
# Best plain cosines kept per word in the one pass; CSLS picks among them (exactly: see csls_argmax).
CANDIDATES = 32


@dataclass
class Induced:
    """Induced pairs (source row, target row) with their CSLS scores, and the criterion."""

    pairs: np.ndarray  # (n, 2) int64
    scores: np.ndarray  # (n,) float32, CSLS score of each pair
    criterion: float  # mean cosine of the CSLS s2t translations of the first `criterion_words` sources


def induce(
    src_mapped: np.ndarray,
    tgt: np.ndarray,
    *,
    max_rank: int = REFINE_VOCAB,
    mode: str = "mutual",
    csls_k: int = 10,
    criterion_words: int = 10000,
) -> Induced:
    """Induce a dictionary by CSLS nearest neighbours among the `max_rank` most frequent words.

    `mode`: `mutual` (= `intersection`: pairs that are each other's CSLS nearest neighbour),
    `s2t`, `t2s`, or `union` of both directions. Rows of both inputs are unit-normalised here.

    The CSLS neighbours of both directions come from one blocked pass (align.search.csls.csls_nearest).
    """
    if mode not in MODES:
        raise InputError(f"unknown dictionary induction mode {mode!r}; choose from {', '.join(MODES)}")
    S = normalize_rows(src_mapped[:max_rank])
    T = normalize_rows(tgt[:max_rank])
    near = csls_nearest(S, T, csls_k, CANDIDATES)
    nn_st, nn_ts, csls_st, csls_ts = near.src_pick, near.tgt_pick, near.src_csls, near.tgt_csls
    criterion = float(near.src_cos[:min(criterion_words, len(S))].mean())

    s2t = np.stack([np.arange(len(S)), nn_st], axis=1)
    t2s = np.stack([nn_ts, np.arange(len(T))], axis=1)
    if mode == "s2t":
        return Induced(s2t.astype(np.int64), csls_st.astype(np.float32), criterion)
    if mode == "t2s":
        return Induced(t2s.astype(np.int64), csls_ts.astype(np.float32), criterion)
    if mode in ("mutual", "intersection"):
        keep = nn_ts[nn_st] == np.arange(len(S))
        return Induced(s2t[keep].astype(np.int64), csls_st[keep].astype(np.float32), criterion)
    # union: all s2t pairs plus the t2s pairs not already there
    extra = nn_st[nn_ts] != np.arange(len(T))
    pairs = np.vstack([s2t, t2s[extra]]).astype(np.int64)
    scores = np.concatenate([csls_st, csls_ts[extra]]).astype(np.float32)
    return Induced(pairs, scores, criterion)
