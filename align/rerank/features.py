"""Features of (query, candidate) pairs, vectorised over all pairs at once.

Pairs are given as `group` (index of the query, sorted ascending) and `tgt` (target row). Every feature is
named `GROUP.what` (or `GROUP.MAP.what`); the groups are what the ablation removes in turn:
- `csls`, `nn`: each map's CSLS / cosine score, its rank among the query's candidates, its margin to the
  query's best candidate and to the next candidate;
- `rank`: each map's rank of the candidate among all targets by cosine (truncated at the map's depth);
- `hubness`: each map's r_T (query) and r_S (candidate);
- `reverse`: each map's reverse rank (how many sources are nearer the candidate than the query);
- `agree`: how many maps' CSLS top-k hold the candidate;
- `family`: the candidate among the candidates of its query that share its first letters (inflected forms
  of one stem): how many there are, how much longer and less frequent it is than the shortest and the
  most frequent of them, and how far its CSLS score is from their best (citation forms are short and
  frequent);
- `neighbours`: how near the candidate is, in the target space, to the seed translations of the query's
  nearest seed sources (a local, non-linear view of the dictionary), and whether it is one of them;
- `seedlike`: how much the candidate looks like the seed targets, by its vector (align.aligners.seedlike)
  and by its ending (`suffix_seed_likeness`): dictionaries list one kind of form, e.g. citation forms;
- `freq`: frequency ranks of both words (vocabulary rows) and their difference;
- `string`: normalised edit similarity, Jaro-Winkler, common prefix, character n-gram overlap, identity,
  length ratio;
- `encoder`: the `csls`/`nn`/`rank`/`hubness`/`reverse` features of an extra space (e.g. the bridge
  encoder's vectors, mapped by their own Procrustes map); NaN where it lacks a word.
"""
from __future__ import annotations

import numpy as np

from ..search.csls import csls_pairs
from .search import MappedSpace

GROUPS: tuple[str, ...] = ("csls", "nn", "rank", "hubness", "reverse", "agree", "family", "neighbours", "seedlike",
                           "freq", "string", "encoder")
NEIGHBOURS = 10  # seed sources nearest a query that vote for its candidates
NEIGHBOUR_TEMPERATURE = 0.05  # softmax temperature of their votes over source cosines
FAMILY_PREFIX = 4  # letters two candidates share to count as forms of one stem


def _starts(group: np.ndarray, n_queries: int) -> np.ndarray:
    return np.searchsorted(group, np.arange(n_queries + 1))


def list_stats(score: np.ndarray, group: np.ndarray, n_queries: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pair: rank of its score among its query's candidates (0 = best), margin to the query's best
    score (≤ 0) and margin to the next lower score (NaN for the last). NaN scores rank last."""
    s = np.where(np.isnan(score), -np.inf, score)
    order = np.lexsort((-s, group))
    starts = _starts(group, n_queries)
    sorted_group = group[order]
    rank = np.empty(len(s), dtype=np.float32)
    rank[order] = np.arange(len(s)) - starts[sorted_group]
    ss = s[order]
    best = np.full(n_queries, np.nan, dtype=np.float64)
    nonempty = starts[:-1] < starts[1:]
    best[nonempty] = ss[starts[:-1][nonempty]]
    nxt = np.full(len(s), np.nan)
    same = sorted_group[:-1] == sorted_group[1:]
    with np.errstate(invalid="ignore"):  # -inf − -inf (pairs without a score): NaN, as wanted
        to_best = s - best[group]
        nxt[:-1][same] = ss[:-1][same] - ss[1:][same]
    to_next = np.empty(len(s), dtype=np.float64)
    to_next[order] = nxt
    bad = ~np.isfinite(s)
    to_best, to_next = to_best.astype(np.float32), to_next.astype(np.float32)
    to_best[bad], to_next[bad] = np.nan, np.nan
    to_next[~np.isfinite(to_next)] = np.nan
    return rank, to_best, to_next


class QueryStats:
    """What a mapped space knows about a set of queries: cosines to every target, r_T, best cosines."""

    def __init__(self, space: MappedSpace, rows: np.ndarray):
        self.rows = np.asarray(rows, dtype=np.int64)
        self.cos, self.r_T, self.top = space.query_stats(self.rows)


def space_features(space: MappedSpace, stats: QueryStats, group: np.ndarray, tgt: np.ndarray, prefix: str,
                   valid: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Features of one mapped space for the pairs (stats.rows[group], tgt); `prefix` names the map.

    `valid` (bool per pair), when given, marks the pairs the space holds (both words in its vocabulary);
    `tgt` must then be a valid row wherever `valid` is False too (any row: its values become NaN)."""
    n_q = len(stats.rows)
    space.ensure_columns(tgt if valid is None else tgt[valid])
    cos = stats.cos[group, tgt]
    r_T, r_S = stats.r_T[group], space.r_S[tgt]
    csls = csls_pairs(cos, r_T, r_S)
    nn_rank = (stats.top[group] > cos[:, None]).sum(axis=1).astype(np.float32)
    rev = (space.src_top[tgt] > cos[:, None]).sum(axis=1).astype(np.float32)
    out: dict[str, np.ndarray] = {}
    if valid is not None:
        for a in (cos, r_S, csls, nn_rank, rev):
            a[~valid] = np.nan
        r_T = np.where(valid, r_T, np.nan)
    for name, score in (("csls", csls), ("nn", cos)):
        rank, to_best, to_next = list_stats(score, group, n_q)
        out[f"{name}.{prefix}.score"] = score.astype(np.float32)
        out[f"{name}.{prefix}.list_rank"] = rank
        out[f"{name}.{prefix}.to_best"] = to_best
        out[f"{name}.{prefix}.to_next"] = to_next
    out[f"rank.{prefix}.nn_rank"] = np.log1p(nn_rank)
    out[f"hubness.{prefix}.r_T"] = r_T.astype(np.float32)
    out[f"hubness.{prefix}.r_S"] = r_S.astype(np.float32)
    out[f"reverse.{prefix}.rank"] = np.log1p(rev)
    return out


def frequency_features(q_rows: np.ndarray, tgt: np.ndarray) -> dict[str, np.ndarray]:
    """Log frequency ranks (vocabulary rows, most frequent first) of both words and their difference."""
    fs, ft = np.log1p(q_rows).astype(np.float32), np.log1p(tgt).astype(np.float32)
    return {"freq.src": fs, "freq.tgt": ft, "freq.diff": ft - fs}


def string_features(src_words: list[str], tgt_words: list[str]) -> dict[str, np.ndarray]:
    """Spelling similarity of paired words: rapidfuzz's normalised Levenshtein and Jaro-Winkler similarity,
    common-prefix length (absolute and over the shorter word), cosine of character 1–3-gram counts
    (scikit-learn's hashing vectoriser), identity and length ratio."""
    from rapidfuzz import process
    from rapidfuzz.distance import JaroWinkler, Levenshtein, Prefix

    lev = process.cpdist(src_words, tgt_words, scorer=Levenshtein.normalized_similarity, workers=1)
    jw = process.cpdist(src_words, tgt_words, scorer=JaroWinkler.normalized_similarity, workers=1)
    prefix = process.cpdist(src_words, tgt_words, scorer=Prefix.similarity, workers=1).astype(np.float32)
    ls = np.fromiter((len(w) for w in src_words), dtype=np.float32, count=len(src_words))
    lt = np.fromiter((len(w) for w in tgt_words), dtype=np.float32, count=len(tgt_words))
    shorter = np.maximum(np.minimum(ls, lt), 1.0)
    return {"string.levenshtein": lev.astype(np.float32), "string.jaro_winkler": jw.astype(np.float32),
            "string.prefix": prefix, "string.prefix_ratio": prefix / shorter,
            "string.ngram": ngram_overlap(src_words, tgt_words),
            "string.identical": np.fromiter((a == b for a, b in zip(src_words, tgt_words)), dtype=np.float32,
                                            count=len(src_words)),
            "string.length_ratio": shorter / np.maximum(np.maximum(ls, lt), 1.0)}


def ngram_overlap(a: list[str], b: list[str]) -> np.ndarray:
    """Cosine of the character 1–3-gram count vectors (word-boundary padded) of each pair (a[i], b[i])."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vec = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 3), n_features=1 << 18, alternate_sign=False,
                            norm="l2", lowercase=True)
    words = list(dict.fromkeys(a + b))
    at = {w: i for i, w in enumerate(words)}
    H = vec.transform(words)
    ia = np.fromiter((at[w] for w in a), dtype=np.int64, count=len(a))
    ib = np.fromiter((at[w] for w in b), dtype=np.int64, count=len(b))
    return np.asarray(H[ia].multiply(H[ib]).sum(axis=1), dtype=np.float32).ravel()


def family_features(group: np.ndarray, tgt: np.ndarray, tgt_words: list[str], score: np.ndarray
                    ) -> dict[str, np.ndarray]:
    """Features of each candidate within its family: the candidates of the same query whose words share
    the first FAMILY_PREFIX letters (or are the same shorter word)."""
    words = [tgt_words[j] for j in tgt]
    keys = np.array([f"{g}\t{w[:FAMILY_PREFIX]}" for g, w in zip(group.tolist(), words)])
    _, fam, size = np.unique(keys, return_inverse=True, return_counts=True)
    fam = fam.ravel()
    n_fam = len(size)
    length = np.fromiter((len(w) for w in words), dtype=np.float32, count=len(words))
    shortest = np.full(n_fam, np.inf, dtype=np.float32)
    np.minimum.at(shortest, fam, length)
    most_frequent = np.full(n_fam, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(most_frequent, fam, tgt)
    s = np.where(np.isnan(score), -np.inf, score).astype(np.float64)
    best = np.full(n_fam, -np.inf)
    np.maximum.at(best, fam, s)
    to_best = (s - best[fam]).astype(np.float32)
    to_best[~np.isfinite(to_best)] = np.nan
    return {"family.size": size[fam].astype(np.float32) - 1.0,
            "family.longer_than_shortest": length - shortest[fam],
            "family.freq_vs_most_frequent": (np.log1p(tgt) - np.log1p(most_frequent[fam])).astype(np.float32),
            "family.csls_to_best": to_best}


def neighbour_features(X: np.ndarray, Y: np.ndarray, seeds: np.ndarray, rows: np.ndarray, group: np.ndarray,
                       tgt: np.ndarray) -> dict[str, np.ndarray]:
    """Votes of the NEIGHBOURS seed pairs whose sources are nearest each query (cosine in the normalised
    source space, the query itself excluded), weighted by a softmax of that cosine: the weighted mean and
    the maximum target-space cosine of the candidate to their targets, and the weight of the pairs whose
    target is the candidate. X, Y: unit rows; seeds: (source row, target row) pairs the maps were fitted on."""
    from ..search.topk import top_rows

    n = min(NEIGHBOURS, len(seeds))
    sim = X[rows] @ X[seeds[:, 0]].T
    sim[rows[:, None] == seeds[None, :, 0]] = -np.inf  # never a query's own pair
    near_sim, near = top_rows(sim, n)
    w = np.exp((near_sim - near_sim[:, :1]) / NEIGHBOUR_TEMPERATURE)
    w[~np.isfinite(near_sim)] = 0.0
    w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    mean = np.zeros(len(tgt), dtype=np.float32)
    best = np.full(len(tgt), -1.0, dtype=np.float32)
    same = np.zeros(len(tgt), dtype=np.float32)
    yc = Y[tgt]
    for j in range(n):
        t_j = seeds[near[group, j], 1]
        c = np.einsum("ij,ij->i", yc, Y[t_j])
        mean += w[group, j] * c
        best = np.maximum(best, c)
        same += w[group, j] * (t_j == tgt)
    return {"neighbours.mean_cos": mean, "neighbours.max_cos": best, "neighbours.same": same,
            "neighbours.nearest_source": near_sim[:, 0][group].astype(np.float32)}


SUFFIX_NEGATIVES = 3  # random non-seed target words per seed target, for the suffix classifier
SUFFIX_POOL = 20000  # negatives are drawn among this many most frequent target words


def _suffixes(word: str) -> list[str]:
    return [f"s{n}:{word[-n:]}" for n in range(1, 5) if len(word) >= n] + [f"len:{min(len(word), 12)}"]


def suffix_seed_likeness(tgt_words: list[str], positives: np.ndarray, seed: int = 0) -> np.ndarray:
    """How much each target word's ending (last 1–4 letters, length) looks like the seed targets': a
    logistic regression of the seed targets against random other frequent target words over hashed
    endings. Inflected forms differ from citation forms by their endings."""
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.linear_model import LogisticRegression

    positives = np.unique(np.asarray(positives, dtype=np.int64))
    pool = np.setdiff1d(np.arange(min(SUFFIX_POOL, len(tgt_words))), positives)
    rng = np.random.default_rng(seed)
    negatives = rng.choice(pool, min(len(pool), SUFFIX_NEGATIVES * len(positives)), replace=False)
    vec = HashingVectorizer(analyzer=_suffixes, n_features=1 << 14, alternate_sign=False, norm=None)
    H = vec.transform(tgt_words)
    rows = np.concatenate([positives, negatives])
    y = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))])
    from ..device import small_linalg

    with small_linalg():  # many tiny BLAS calls: threads only wait on each other
        clf = LogisticRegression(C=1.0, max_iter=1000).fit(H[rows], y)
    return clf.decision_function(H).astype(np.float32)


def stack(features: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    """The (n_pairs × len(names)) float32 matrix of the named features, in that order."""
    return np.column_stack([features[n] for n in names]).astype(np.float32)
