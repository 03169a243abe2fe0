"""Turning (query, candidate, score) lists into rankings: hits at 1, the best k per query, and one list from
several views' lists (the folds' views of `Reranker(apply_maps="folds")`)."""
from __future__ import annotations

import numpy as np

from .features import list_stats


def hits_at_1(score: np.ndarray, group: np.ndarray, label: np.ndarray, n_queries: int) -> int:
    """How many queries have a gold pair as their best-scored candidate."""
    rank, _, _ = list_stats(np.asarray(score, dtype=np.float64), group, n_queries)
    return int(((rank == 0) & (label > 0)).sum())


def combine(found: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n_queries: int, n_tgt: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(group, target row, score, tie-breaker) of the (group, target row, model score) lists of one view (the
    model's score) or several (`combine_views`)."""
    if len(found) == 1:
        group, tgt, score = found[0]
        return group, tgt, score, score
    return combine_views(found, n_queries, n_tgt)


def combine_views(found: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n_queries: int, n_tgt: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One candidate list per query from the (group, target row, model score) lists of several views:
    (group, target row, minus the mean rank, mean score), sorted by (group, target row). A view that does not
    list a candidate ranks it after its own list and gives it the query's lowest score in that view."""
    keys = np.concatenate([g * n_tgt + t for g, t, _ in found])
    uniq, inv = np.unique(keys, return_inverse=True)
    rank_sum, score_sum = np.zeros(len(uniq)), np.zeros(len(uniq))
    listed_len, listed_low = np.zeros(len(uniq)), np.zeros(len(uniq))
    all_len, all_low = np.zeros(n_queries), np.zeros(n_queries)
    start = 0
    for g, _, score in found:
        at = inv.ravel()[start:start + len(g)]  # distinct within a view
        start += len(g)
        score = np.asarray(score, dtype=np.float64)
        rank, _, _ = list_stats(score, g, n_queries)
        length = np.bincount(g, minlength=n_queries).astype(np.float64)
        low = np.full(n_queries, np.inf)
        np.minimum.at(low, g, score)
        low[~np.isfinite(low)] = 0.0  # no candidate in this view: the same for all, so no effect on the order
        rank_sum[at] += rank
        score_sum[at] += score
        listed_len[at] += length[g]
        listed_low[at] += low[g]
        all_len += length
        all_low += low
    group = uniq // n_tgt
    mean_rank = (rank_sum + all_len[group] - listed_len) / len(found)
    mean_score = (score_sum + all_low[group] - listed_low) / len(found)
    return group, uniq % n_tgt, -mean_rank, mean_score


def top_by_group(score: np.ndarray, group: np.ndarray, tgt: np.ndarray, n_queries: int, k: int,
                 tie: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each group's `k` best (score, tgt), best first; ties broken by `tie` (higher first), then by target row;
    NaN / -1 padding. `group` must be sorted ascending."""
    order = np.lexsort((tgt, -score, group) if tie is None else (tgt, -tie, -score, group))
    starts = np.searchsorted(group, np.arange(n_queries + 1))
    pos = np.arange(len(order)) - starts[group[order]]
    keep = pos < k
    scores = np.full((n_queries, k), np.nan)
    ids = np.full((n_queries, k), -1, dtype=np.int64)
    g, p = group[order][keep], pos[keep]
    scores[g, p], ids[g, p] = score[order][keep], tgt[order][keep]
    return scores, ids
