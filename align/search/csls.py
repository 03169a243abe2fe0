"""CSLS (Conneau et al. 2018), the one scorer every part of align uses: hubness terms, scores, exact top-k.

CSLS(x, y) = 2cos(x, y) − r_T(x) − r_S(y), where r_T(x) is the mean cosine of a (mapped) source x to
its k nearest targets and r_S(y) that of a target y to its k nearest sources. Rows are unit length.
Nothing here builds a V_src × V_tgt matrix: every search runs in blocks (align.search.topk).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backend import Backend
from .topk import block_topk, row_col_topk, top_rows


def hubness(queries: np.ndarray, base: np.ndarray, k: int = 10, *, xp: Backend | None = None) -> np.ndarray:
    """r: the mean of each query row's `k` largest inner products with the base rows (CSLS's hubness term)."""
    scores, _ = block_topk(queries, base, k, xp=xp)
    return scores.mean(axis=1)


def hubness_both(S: np.ndarray, T: np.ndarray, k: int = 10, *, xp: Backend | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(r_T of every S row, r_S of every T row), both from one blocked pass over S Tᵀ."""
    rv, _, cv, _ = row_col_topk(S, T, k, xp=xp)
    return rv.mean(axis=1), cv.mean(axis=1)


def csls_scores(cos: np.ndarray, r_query: np.ndarray, r_base: np.ndarray) -> np.ndarray:
    """CSLS of a block of cosines (queries × base rows in memory): 2cos − r(query) − r(base row)."""
    return 2.0 * cos - r_query[:, None] - r_base[None, :]


def csls_pairs(cos: np.ndarray, r_query: np.ndarray, r_target: np.ndarray) -> np.ndarray:
    """CSLS of paired entries (element by element): 2cos − r(query) − r(target)."""
    return (2.0 * cos - r_query - r_target).astype(np.float32, copy=False)


def augment(S: np.ndarray, T: np.ndarray, r_src: np.ndarray, r_tgt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[S, 1, −r_src/2] and [T, −r_tgt/2, 1]: their inner product is CSLS/2, so one plain top-k pass over the
    augmented rows ranks targets by CSLS for every source (rows) and sources for every target (columns).
    `r_src`: r_T of each S row; `r_tgt`: r_S of each T row."""
    one_s, one_t = np.ones((len(S), 1), np.float32), np.ones((len(T), 1), np.float32)
    return (np.hstack([S, one_s, -0.5 * r_src[:, None]]).astype(np.float32),
            np.hstack([T, -0.5 * r_tgt[:, None], one_t]).astype(np.float32))


def csls_topk(S: np.ndarray, T: np.ndarray, k: int, r_src: np.ndarray, r_tgt: np.ndarray, *, cols: bool = False,
              xp: Backend | None = None):
    """Exact CSLS top-k of every S row among the T rows (and with `cols`, of every T row among the S rows).

    Returns (scores, ids) per direction, best first: (row scores, row ids, column scores, column ids)."""
    A, B = augment(S, T, r_src, r_tgt)
    rv, ri, cv, ci = row_col_topk(A, B, k, cols=cols, xp=xp)
    return 2.0 * rv, ri, (None if cv is None else 2.0 * cv), ci


def csls_argmax(queries: np.ndarray, base: np.ndarray, cand_scores: np.ndarray, cand_ids: np.ndarray,
                penalty: np.ndarray, *, block: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """For each query, the base row maximising 2·score − penalty[row] (CSLS up to a per-query constant),
    exactly, and its plain score.

    The search starts from each query's best plain scores (`cand_*`, best first). A base row outside
    them has a score of at most the last candidate's, c, so it can only win when its penalty is below
    τ = 2c − (best candidate's value); those rows (few: the words with the lowest penalties) are
    searched exactly, for the queries where any exist."""
    adj = 2.0 * cand_scores - penalty[cand_ids]
    j = adj.argmax(axis=1)
    rows = np.arange(len(cand_ids))
    best_id, best_score, best_adj = cand_ids[rows, j].copy(), cand_scores[rows, j].copy(), adj[rows, j].copy()
    if cand_ids.shape[1] >= len(base):
        return best_id.astype(np.int64), best_score.astype(np.float32)
    tau = 2.0 * cand_scores[:, -1] - best_adj
    order = np.argsort(penalty, kind="stable")
    sorted_pen = penalty[order]
    unsure = np.flatnonzero(tau > sorted_pen[0])
    if len(unsure):
        q = np.ascontiguousarray(queries, dtype=np.float32)
        b = np.ascontiguousarray(base, dtype=np.float32)
        unsure = unsure[np.argsort(tau[unsure])]  # similar τ in one block: similar prefixes of `order`
        for s in range(0, len(unsure), block):
            idx = unsure[s:s + block]
            cut = int(np.searchsorted(sorted_pen, tau[idx].max()))
            sub = order[:cut]
            sc = q[idx] @ b[sub].T
            a = 2.0 * sc - sorted_pen[None, :cut]
            jj = a.argmax(axis=1)
            better = a[np.arange(len(idx)), jj] > best_adj[idx]
            win = idx[better]
            best_id[win], best_score[win] = sub[jj[better]], sc[np.arange(len(idx))[better], jj[better]]
            best_adj[win] = a[np.arange(len(idx))[better], jj[better]]
    return best_id.astype(np.int64), best_score.astype(np.float32)


@dataclass
class Nearest:
    """Every source's CSLS nearest target and every target's CSLS nearest source, with the plain cosine and
    the CSLS score of each pick."""

    src_pick: np.ndarray  # (n_src,) int64: the target row each source picks
    src_cos: np.ndarray
    src_csls: np.ndarray
    tgt_pick: np.ndarray  # (n_tgt,) int64: the source row each target picks
    tgt_cos: np.ndarray
    tgt_csls: np.ndarray


def csls_nearest(S: np.ndarray, T: np.ndarray, csls_k: int = 10, candidates: int = 32) -> Nearest:
    """CSLS nearest neighbours in both directions, exactly, from one blocked pass over S Tᵀ: each word's
    `candidates` best cosines give both hubness terms and the candidates among which `csls_argmax` picks."""
    rv, ri, cv, ci = row_col_topk(S, T, max(candidates, csls_k))
    r_src = rv[:, :csls_k].mean(axis=1)  # r_T of each source
    r_tgt = cv[:, :csls_k].mean(axis=1)  # r_S of each target
    st, cos_st = csls_argmax(S, T, rv, ri, r_tgt)
    ts, cos_ts = csls_argmax(T, S, cv, ci, r_src)
    return Nearest(st, cos_st, csls_pairs(cos_st, r_src, r_tgt[st]), ts, cos_ts, csls_pairs(cos_ts, r_tgt, r_src[ts]))


PRUNE_SOURCES = 2048  # sources that give every target a cheap lower bound of r_S (csls_pruned)


def prune_pays(n_queries: int, n_src: int, n_tgt: int) -> bool:
    """Pruned CSLS is worth it for a few queries (a test dictionary) against large vocabularies."""
    return n_src > 4 * PRUNE_SOURCES and n_queries * n_tgt <= 16_000_000 and n_queries <= n_src // 4


def csls_pruned(src: np.ndarray, tgt: np.ndarray, queries: np.ndarray, k: int = 10, *, csls_k: int = 10
                ) -> tuple[np.ndarray, np.ndarray]:
    """Exact CSLS top-k of a few query rows, computing r_S only for the targets that can rank.

    r_S(y) is what makes CSLS cost a full target × source search. A top-k over any subset of sources
    gives a lower bound L(y) ≤ r_S(y), hence an upper bound 2cos(x, y) − L(y) of every query's score.
    Exact r_S of the targets with the best bounds gives each query a k-th best exact score τ; a target
    whose bound stays below τ for every query cannot enter any top-k, so r_S is computed exactly only
    for the others. Same result as the full computation (rows are unit length).
    """
    q = np.ascontiguousarray(src[queries], dtype=np.float32)
    cos = q @ tgt.T  # n_queries × n_tgt: small by prune_pays
    r_tgt = top_rows(cos, csls_k)[0].mean(axis=1)  # r_T of the queries, from the same cosines
    sub = np.union1d(np.arange(min(PRUNE_SOURCES, len(src))), queries)
    lower = hubness(tgt, np.ascontiguousarray(src[sub]), csls_k) - 1e-5  # margin for rounding
    r_src = np.full(len(tgt), np.nan, dtype=np.float32)

    def exact(cols: np.ndarray) -> np.ndarray:
        todo = cols[np.isnan(r_src[cols])]
        if len(todo):
            r_src[todo] = hubness(np.ascontiguousarray(tgt[todo]), src, csls_k)
        return r_src

    return pruned_topk(cos, r_tgt, lower, exact, k)


def pruned_topk(cos: np.ndarray, r_query: np.ndarray, lower: np.ndarray, exact, k: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """The exact CSLS top-k of queries whose cosines to every target are `cos` (in memory), given a lower
    bound `lower` ≤ r_S of every target and `exact(cols)`, which makes r_S exact for the target columns
    `cols` and returns the (n_tgt,) array holding it (see `csls_pruned`)."""
    k = min(k, cos.shape[1])
    upper = cos * 2.0
    upper -= lower[None, :]
    first = np.unique(top_rows(upper, k)[1])
    if len(first) > cos.shape[1] // 2:  # bounds too loose to prune (unstructured data): compute every r_S
        first = np.arange(cos.shape[1])
    r_src = exact(first)
    tau = top_rows(csls_scores(cos[:, first], r_query, r_src[first]), k)[0][:, -1]  # each query's k-th best
    cand = np.union1d(first, np.flatnonzero((upper >= (tau + r_query)[:, None]).any(axis=0)))
    r_src = exact(cand)
    scores, top = top_rows(csls_scores(cos[:, cand], r_query, r_src[cand]), k)
    return scores, cand[top].astype(np.int64)
