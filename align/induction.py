"""Dictionary induction from a mapped space, and the unsupervised model-selection criterion.

Shared by refinement, the unsupervised methods and `translate`: one CSLS pass among the
most frequent words gives both the induced pairs and the criterion (MUSE's mean cosine of
CSLS source→target translations of the most frequent source words).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .retrieval import knn, normalize_rows

MODES: tuple[str, ...] = ("mutual", "s2t", "t2s", "union", "intersection")
# Default candidate set for induced dictionaries: the 8,000 most frequent words of each side. On the kit
# (fr→fi, en→fr) refinement is as accurate with 8k as with MUSE's 15k, at 3.5× less compute.
REFINE_VOCAB = 8000


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
    """
    if mode not in MODES:
        raise InputError(f"unknown dictionary induction mode {mode!r}; choose from {', '.join(MODES)}")
    S = normalize_rows(src_mapped[:max_rank])
    T = normalize_rows(tgt[:max_rank])
    r_t = knn(S, T, csls_k)[0].mean(axis=1)  # r_T(x) for every source
    r_s = knn(T, S, csls_k)[0].mean(axis=1)  # r_S(y) for every target
    ones_s = np.ones((len(S), 1), np.float32)
    ones_t = np.ones((len(T), 1), np.float32)
    ip_st, nn_st = knn(np.hstack([S, ones_s]), np.hstack([T, -0.5 * r_s[:, None]]), 1)
    nn_st = nn_st[:, 0]
    cos_st = ip_st[:, 0] + 0.5 * r_s[nn_st]
    csls_st = 2 * cos_st - r_t - r_s[nn_st]
    n_crit = min(criterion_words, len(S))
    criterion = float(cos_st[:n_crit].mean())

    s2t = np.stack([np.arange(len(S)), nn_st], axis=1)
    if mode == "s2t":
        return Induced(s2t.astype(np.int64), csls_st.astype(np.float32), criterion)
    ip_ts, nn_ts = knn(np.hstack([T, ones_t]), np.hstack([S, -0.5 * r_t[:, None]]), 1)
    nn_ts = nn_ts[:, 0]
    cos_ts = ip_ts[:, 0] + 0.5 * r_t[nn_ts]
    csls_ts = 2 * cos_ts - r_s - r_t[nn_ts]
    t2s = np.stack([nn_ts, np.arange(len(T))], axis=1)
    if mode == "t2s":
        return Induced(t2s.astype(np.int64), csls_ts.astype(np.float32), criterion)
    if mode in ("mutual", "intersection"):
        keep = nn_ts[nn_st] == np.arange(len(S))
        return Induced(s2t[keep].astype(np.int64), csls_st[keep].astype(np.float32), criterion)
    # union: all s2t pairs plus the t2s pairs not already there
    st_set = {(int(a), int(b)) for a, b in s2t}
    extra = np.array([(a, b) not in st_set for a, b in t2s.tolist()], dtype=bool)
    pairs = np.vstack([s2t, t2s[extra]]).astype(np.int64)
    scores = np.concatenate([csls_st, csls_ts[extra]]).astype(np.float32)
    return Induced(pairs, scores, criterion)
