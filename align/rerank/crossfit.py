"""K-fold cross-fitting by source word: the candidates and features of each fold's queries come from maps
fitted on the other folds only, so the ranking model never learns from a map that saw the query's own pairs."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError


@dataclass
class Fold:
    """One fold: its query rows (distinct seed sources) and the seed pairs its maps are fitted on."""

    index: int
    queries: np.ndarray
    fit_pairs: np.ndarray


def source_folds(pairs: np.ndarray, folds: int, seed: int = 0) -> list[Fold]:
    """Split the distinct source rows of `pairs` ((source row, target row)) into `folds` random folds;
    each fold's maps are fitted on the pairs of the other folds."""
    sources = np.unique(pairs[:, 0])
    if folds < 2:
        raise InputError(f"cross-fitting needs at least 2 folds, got {folds}")
    if len(sources) < folds:
        raise InputError(f"the seed dictionary has {len(sources)} distinct source words, fewer than {folds} folds")
    order = np.random.default_rng(seed).permutation(len(sources))
    fold_of = np.empty(len(sources), dtype=np.int64)
    fold_of[order] = np.arange(len(sources)) % folds
    pair_fold = fold_of[np.searchsorted(sources, pairs[:, 0])]
    return [Fold(f, np.sort(sources[fold_of == f]), pairs[pair_fold != f]) for f in range(folds)]


def gold_labels(rows: np.ndarray, group: np.ndarray, tgt: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """1 where (rows[group], tgt) is a pair of `pairs`, else 0 (int32)."""
    n_tgt = int(max(tgt.max(initial=0), pairs[:, 1].max(initial=0))) + 1
    gold = np.unique(pairs[:, 0] * n_tgt + pairs[:, 1])
    keys = rows[group] * n_tgt + tgt
    return np.isin(keys, gold).astype(np.int32)


def has_gold(group: np.ndarray, labels: np.ndarray, n_queries: int) -> np.ndarray:
    """For each of `n_queries` queries, whether one of its pairs (`group`: their query index) is gold."""
    return np.bincount(group, weights=labels, minlength=n_queries) > 0
