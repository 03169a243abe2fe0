"""Dictionary induction from a mapped space, and the unsupervised model-selection criterion.

Shared by refinement, the unsupervised methods and `translate`: one CSLS pass among the
most frequent words gives both the induced pairs and the criterion (MUSE's mean cosine of
CSLS source→target translations of the most frequent source words).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .retrieval import normalize_rows
from .similarity import TopK, block_topk, score_blocks

MODES: tuple[str, ...] = ("mutual", "s2t", "t2s", "union", "intersection")
# Default candidate set for induced dictionaries: the 8,000 most frequent words of each side. On the kit
# (fr→fi, en→fr) refinement is as accurate with 8k as with MUSE's 15k, at 3.5× less compute.
REFINE_VOCAB = 8000
# CSLS candidates per word rescored in fp32 after a low-precision pass (see align.similarity).
RESCORE = 4


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
    low_precision: bool = True,
) -> Induced:
    """Induce a dictionary by CSLS nearest neighbours among the `max_rank` most frequent words.

    `mode`: `mutual` (= `intersection`: pairs that are each other's CSLS nearest neighbour),
    `s2t`, `t2s`, or `union` of both directions. Rows of both inputs are unit-normalised here.

    Three blocked passes over the similarities (align.similarity; bf16 products where the CPU
    has bf16 units unless `low_precision=False`): sources → r_T; targets → r_S and the target→source
    CSLS candidates; sources → the source→target CSLS candidates. Each word's `RESCORE` best
    candidates (and `csls_k + RESCORE` for r) are rescored with exact fp32 cosines, so bf16
    rounding neither picks the neighbour nor shifts r.
    """
    import torch

    if mode not in MODES:
        raise InputError(f"unknown dictionary induction mode {mode!r}; choose from {', '.join(MODES)}")
    S = normalize_rows(src_mapped[:max_rank])
    T = normalize_rows(tgt[:max_rank])
    lp = {"low_precision": low_precision}
    r_t = _mean_top(S, T, block_topk(S, T, csls_k + RESCORE, **lp)[1], csls_k)  # r_T(x) for every source
    top_t, cand_ts = TopK(len(T), csls_k + RESCORE), TopK(len(T), RESCORE)
    r_t_row = None
    for s, blk in score_blocks(T, S, **lp):
        top_t.add(s, blk)  # r_S(y) needs the plain cosines: collect them before the block is changed
        r_t_row = torch.from_numpy(r_t).to(blk.device) if r_t_row is None else r_t_row
        cand_ts.add(s, blk.mul_(2).sub_(r_t_row))  # 2cos(y, x) − r_T(x)
    r_s = _mean_top(T, S, top_t.result()[1], csls_k)  # r_S(y) for every target
    nn_ts, cos_ts = _rescore(T, S, cand_ts.result()[1], r_t)
    cand_st = TopK(len(S), RESCORE)
    r_s_row = torch.from_numpy(r_s)
    for s, blk in score_blocks(S, T, **lp):
        r_s_row = r_s_row.to(blk.device)
        cand_st.add(s, blk.mul_(2).sub_(r_s_row))  # 2cos(x, y) − r_S(y)
    nn_st, cos_st = _rescore(S, T, cand_st.result()[1], r_s)
    csls_st = 2 * cos_st - r_t - r_s[nn_st]
    csls_ts = 2 * cos_ts - r_s - r_t[nn_ts]
    n_crit = min(criterion_words, len(S))
    criterion = float(cos_st[:n_crit].mean())

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
    st_set = {(int(a), int(b)) for a, b in s2t}
    extra = np.array([(a, b) not in st_set for a, b in t2s.tolist()], dtype=bool)
    pairs = np.vstack([s2t, t2s[extra]]).astype(np.int64)
    scores = np.concatenate([csls_st, csls_ts[extra]]).astype(np.float32)
    return Induced(pairs, scores, criterion)


def _mean_top(Q: np.ndarray, B: np.ndarray, cand: np.ndarray, k: int) -> np.ndarray:
    """Mean of the `k` largest exact fp32 cosines among each query's candidates (CSLS's r)."""
    cos = np.einsum("nd,ncd->nc", Q, B[cand])
    return -np.sort(-cos, axis=1)[:, :k].mean(axis=1).astype(np.float32)


def _rescore(Q: np.ndarray, B: np.ndarray, cand: np.ndarray, r_other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Among each query's candidates, the CSLS nearest neighbour by exact fp32 cosines, and its cosine."""
    cos = np.einsum("nd,ncd->nc", Q, B[cand])
    j = (2 * cos - r_other[cand]).argmax(axis=1)
    rows = np.arange(len(Q))
    return cand[rows, j].astype(np.int64), cos[rows, j].astype(np.float32)
