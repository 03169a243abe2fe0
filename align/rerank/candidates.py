"""Candidate lists: the union of each map's exact CSLS top-k for every query, with every pair's features.

A `View` is one set of fitted maps applied to the normalised spaces; `candidate_pairs` turns a View and
query rows into `Pairs`. An optional extra space (another embedding of the same words, e.g. the bridge
encoder's) adds the `encoder` feature group; its rows are looked up through the words. The target word
spelled like the query can join its list too (`Pairs.injected` marks it when no map proposed it).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .features import (AffixOdds, QueryStats, family_features, frequency_features, nearest_seeds,
                       neighbour_features, offset_features, space_features, string_features,
                       suffix_seed_likeness)
from ..space.normalize import unit_rows
from .search import MappedSpace


@dataclass
class ExtraSpace:
    """Normalised matrices of another embedding of both languages and, for each row of the main spaces,
    its row there (-1 when the word is missing). The first `sources` rows of X are its source vocabulary;
    rows after them are query words only (see `MappedSpace`)."""

    X: np.ndarray
    Y: np.ndarray
    src_rows: np.ndarray
    tgt_rows: np.ndarray
    sources: int | None = None

    @property
    def tgt_back(self) -> np.ndarray:
        """For each row of the extra target space, its row in the main target space (-1: none)."""
        back = np.full(len(self.Y), -1, dtype=np.int64)
        held = np.flatnonzero(self.tgt_rows >= 0)
        back[self.tgt_rows[held]] = held
        return back


@dataclass
class View:
    """Fitted maps applied to the normalised spaces: one MappedSpace per candidate map (main rows), and
    optionally the extra space mapped by its own map."""

    spaces: dict[str, MappedSpace]
    extra: tuple[MappedSpace, ExtraSpace] | None = None
    X: np.ndarray | None = None  # the normalised spaces, unit rows (for the neighbours' votes)
    Y: np.ndarray | None = None
    seeds: np.ndarray | None = None  # the (source row, target row) pairs the maps were fitted on
    _seedlike: np.ndarray | None = None
    _suffix: np.ndarray | None = None
    _affix: AffixOdds | None = None

    def state(self) -> "ViewState":
        """What this view has computed about the targets, to seed a view of the same maps, seeds and vectors."""
        return ViewState({name: space.statistics() for name, space in self.spaces.items()},
                         self._seedlike, self._suffix, self._affix)

    def adopt(self, state: "ViewState") -> None:
        """Start from the `state` of a view of the same maps, seeds and vectors (copied: `state` stays as it was,
        so what a view computes later never depends on which views came before it)."""
        if set(state.spaces) != set(self.spaces):
            return
        if not all([space.adopt(state.spaces[name]) for name, space in self.spaces.items()]):
            return
        self._seedlike = self._seedlike if state.seedlike is None else state.seedlike
        self._suffix = self._suffix if state.suffix is None else state.suffix
        self._affix = self._affix if state.affix is None else state.affix

    def affix_odds(self, src_words: list[str], tgt_words: list[str]) -> AffixOdds:
        """The seeds' (source ending, target ending) log-odds (features.AffixOdds), computed once."""
        if self._affix is None:
            self._affix = AffixOdds(src_words, tgt_words, self.seeds)
        return self._affix

    def suffix_likeness(self, tgt_words: list[str]) -> np.ndarray:
        """How much each target word's ending looks like the seed targets' (features.suffix_seed_likeness)."""
        if self._suffix is None:
            self._suffix = suffix_seed_likeness(tgt_words, self.seeds[:, 1], seed=0)
        return self._suffix

    def seed_likeness(self) -> np.ndarray:
        """How much each target word looks like the seed targets (align.seedlike), computed once."""
        if self._seedlike is None:
            from ..aligners.seedlike import seed_likeness

            self._seedlike = seed_likeness(self.Y, self.seeds[:, 1], seed=0).astype(np.float32)
        return self._seedlike


@dataclass
class ViewState:
    """Per-target statistics a View computes lazily (each map's r_S, best source cosines and lower bound; the
    targets' seed-likeness; the seeds' ending odds): computed once per view and vectors, not per use."""

    spaces: dict[str, tuple]
    seedlike: np.ndarray | None
    suffix: np.ndarray | None
    affix: "AffixOdds | None"

    @property
    def nbytes(self) -> int:
        """The arrays' size (bytes): the best source cosines dominate, depth floats per target and map."""
        arrays = [a for stats in self.spaces.values() for a in stats] + [self.seedlike, self.suffix]
        return sum(a.nbytes for a in arrays if a is not None)


@dataclass
class Pairs:
    """(query, candidate) pairs: `group[i]` indexes `rows` (sorted ascending), `tgt[i]` is a target row."""

    rows: np.ndarray
    group: np.ndarray
    tgt: np.ndarray
    features: dict[str, np.ndarray] = field(default_factory=dict)
    injected: np.ndarray | None = None  # True for a spelled-alike candidate that no map proposed

    def __len__(self) -> int:
        return len(self.tgt)

    def subset(self, pair_mask: np.ndarray, query_mask: np.ndarray | None = None) -> "Pairs":
        """The pairs where `pair_mask` holds, of the queries where `query_mask` holds (default: all; the
        pairs of a dropped query must be dropped by `pair_mask` too)."""
        if query_mask is None:
            query_mask = np.ones(len(self.rows), dtype=bool)
        new_index = np.cumsum(query_mask) - 1
        return Pairs(self.rows[query_mask], new_index[self.group[pair_mask]], self.tgt[pair_mask],
                     {n: v[pair_mask] for n, v in self.features.items()},
                     None if self.injected is None else self.injected[pair_mask])

    def without_injected(self) -> "Pairs":
        """The pairs that some map proposed (the spelled-alike candidates dropped)."""
        return self if self.injected is None else self.subset(~self.injected)


def drop_injected(parts: list[tuple[Pairs, np.ndarray]]) -> list[tuple[Pairs, np.ndarray]]:
    """Labelled pairs [(Pairs, labels)] without their spelled-alike candidates."""
    return [(P.without_injected(), y if P.injected is None else y[~P.injected]) for P, y in parts]


def make_view(X: np.ndarray, Y: np.ndarray, maps: dict[str, tuple[np.ndarray, np.ndarray | None]],
              seeds: np.ndarray, csls_k: int = 10, depth: int = 100, extra: ExtraSpace | None = None,
              extra_map: tuple[np.ndarray, np.ndarray | None] | None = None) -> View:
    """Apply each fitted map (W, W_tgt), fitted on `seeds`, to the normalised matrices X (sources) and
    Y (targets)."""
    spaces = {name: MappedSpace(X @ W, Y if Wt is None else Y @ Wt, csls_k, depth) for name, (W, Wt) in maps.items()}
    ex = None
    if extra is not None and extra_map is not None:
        W, Wt = extra_map
        ex = (MappedSpace(extra.X @ W, extra.Y if Wt is None else extra.Y @ Wt, csls_k, depth, extra.sources),
              extra)
    return View(spaces, ex, unit_rows(X), unit_rows(Y), np.asarray(seeds, dtype=np.int64))


def spelled_alike(rows: np.ndarray, src_words: list[str], tgt_words: list[str]) -> np.ndarray:
    """For each source row, the target row of the same string, or -1."""
    index = {w: j for j, w in enumerate(tgt_words)}
    return np.fromiter((index.get(src_words[i], -1) for i in rows), dtype=np.int64, count=len(rows))


class StringMemo:
    """The string features of (source row, target row) pairs, kept across the views that rank the same queries:
    they list mostly the same candidates, and spelling does not depend on the map. Each pair's features are
    computed alone, so a kept value equals a fresh one."""

    def __init__(self, n_tgt: int):
        self.n_tgt = n_tgt
        self.keys = np.empty(0, dtype=np.int64)  # sorted
        self.values: dict[str, np.ndarray] = {}

    def features(self, q_rows: np.ndarray, tgt: np.ndarray, src_words: list[str], tgt_words: list[str]
                 ) -> dict[str, np.ndarray]:
        keys = q_rows * self.n_tgt + tgt
        new = np.setdiff1d(keys, self.keys)
        if len(new):
            found = string_features([src_words[i] for i in new // self.n_tgt], [tgt_words[j] for j in new % self.n_tgt])
            order = np.argsort(np.concatenate([self.keys, new]), kind="stable")
            self.keys = np.concatenate([self.keys, new])[order]
            self.values = {n: np.concatenate([self.values[n], v])[order] if self.values else v[order]
                           for n, v in found.items()}
        at = np.searchsorted(self.keys, keys)
        return {n: v[at] for n, v in self.values.items()}


def candidate_pairs(view: View, rows: np.ndarray, k: int, src_words: list[str], tgt_words: list[str],
                    identical: bool = False, strings: StringMemo | None = None) -> Pairs:
    """The union of the maps' CSLS top-k of each query row (the extra space's too, for the queries it holds),
    with all features. With `identical`, the target word spelled like the query joins its candidates too
    (marked in `Pairs.injected` when no map proposed it): cognates and names that every map misses.
    `strings`: string features kept from other views of the same vocabularies."""
    rows = np.asarray(rows, dtype=np.int64)
    n_tgt = len(tgt_words)
    query_ids = np.arange(len(rows))[:, None]
    stats, keys = {}, []
    for name, space in view.spaces.items():
        stats[name] = st = QueryStats(space, rows)
        _, ids = space.csls_topk(st.cos, st.r_T, k)
        keys.append((query_ids * n_tgt + ids).ravel())
    if view.extra is not None:
        space, ex = view.extra
        q = ex.src_rows[rows]
        extra_stats = QueryStats(space, np.maximum(q, 0))
        _, ids = space.csls_topk(extra_stats.cos, extra_stats.r_T, k)
        main = ex.tgt_back[ids]  # the extra space's targets as rows of the main target space
        held = (main >= 0) & (q[:, None] >= 0)
        keys.append((query_ids * n_tgt + main)[held])
    uniq, agree = np.unique(np.concatenate(keys), return_counts=True)
    injected = np.zeros(len(uniq), dtype=bool)
    if identical:
        same = spelled_alike(rows, src_words, tgt_words)
        extra_keys = np.setdiff1d(np.flatnonzero(same >= 0) * n_tgt + same[same >= 0], uniq)
        uniq = np.concatenate([uniq, extra_keys])
        agree = np.concatenate([agree, np.zeros(len(extra_keys), dtype=agree.dtype)])
        injected = np.concatenate([injected, np.ones(len(extra_keys), dtype=bool)])
        order = np.argsort(uniq, kind="stable")
        uniq, agree, injected = uniq[order], agree[order], injected[order]
    group, tgt = uniq // n_tgt, uniq % n_tgt
    with np.errstate(all="ignore"):  # tiny vocabularies give empty or infinite terms: they become NaN features
        feats = _features(view, stats, rows, group, tgt, agree, src_words, tgt_words,
                          (q, extra_stats) if view.extra is not None else None, strings)
    return Pairs(rows, group, tgt, feats, injected)


def _features(view: View, stats: dict, rows: np.ndarray, group: np.ndarray, tgt: np.ndarray, agree: np.ndarray,
              src_words: list[str], tgt_words: list[str], extra, strings: StringMemo | None = None
              ) -> dict[str, np.ndarray]:
    """Every feature group of the pairs (rows[group], tgt); `extra`: (the queries' rows in the extra space, their
    QueryStats there) or None; `strings`: see `candidate_pairs`."""
    feats: dict[str, np.ndarray] = {}
    for name, space in view.spaces.items():
        feats.update(space_features(space, stats[name], group, tgt, name))
    feats["agree.maps"] = agree.astype(np.float32)
    mean_csls = np.mean([feats[f"csls.{name}.score"] for name in view.spaces], axis=0)
    feats.update(family_features(group, tgt, tgt_words, mean_csls))
    near = nearest_seeds(view.X, view.seeds, rows)
    feats.update(neighbour_features(view.Y, view.seeds, near, group, tgt))
    for name, space in view.spaces.items():
        feats.update(offset_features(space, view.seeds, near, rows, group, tgt, name))
    feats["seedlike.score"] = view.seed_likeness()[tgt]
    feats["seedlike.suffix"] = view.suffix_likeness(tgt_words)[tgt]
    feats.update(frequency_features(rows[group], tgt))
    pair_src, pair_tgt = [src_words[i] for i in rows[group]], [tgt_words[j] for j in tgt]
    feats.update(view.affix_odds(src_words, tgt_words).features(pair_src, pair_tgt))
    feats.update(string_features(pair_src, pair_tgt) if strings is None else
                 strings.features(rows[group], tgt, src_words, tgt_words))
    if extra is not None:
        q, extra_stats = extra
        space, ex = view.extra
        t = ex.tgt_rows[tgt]
        valid = (q[group] >= 0) & (t >= 0)
        for key, val in space_features(space, extra_stats, group, np.maximum(t, 0), "encoder", valid).items():
            feats[f"encoder.{key}"] = val
    return feats
