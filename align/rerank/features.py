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
- `offset`: per map, how well the candidate's offset from those seed translations matches the query's offset
  from their sources (an analogy: boy − girl against poika − tyttö), which tells a translation from its
  co-hyponyms and antonyms;
- `seedlike`: how much the candidate looks like the seed targets, by its vector (align.aligners.seedlike)
  and by its ending (`suffix_seed_likeness`): dictionaries list one kind of form, e.g. citation forms;
- `affix`: how typical the pair of endings (query's, candidate's; 1–3 letters) is of the seed pairs, against
  the seed sources paired with the other words of their gold's stem family (`AffixOdds`): which form of a
  stem a word of that ending translates to (part of speech, citation form);
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
                           "offset", "affix", "freq", "string", "encoder")
NEIGHBOURS = 10  # seed sources nearest a query that vote for its candidates
NEIGHBOUR_TEMPERATURE = 0.05  # softmax temperature of their votes over source cosines
TIE_TOLERANCE = 1e-6  # cosines closer than this are ties (float32 rounding of one product in two orders)
FAMILY_PREFIX = 4  # letters two candidates share to count as forms of one stem
AFFIX_ENDINGS = (1, 2, 3)  # ending lengths whose (source, target) pairs `AffixOdds` scores
AFFIX_NEGATIVES = 20  # per seed pair: the most frequent other words of its gold's stem family


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
    # sources nearer the candidate than the query by more than rounding (the query's own cosine is among them,
    # computed in another order: it must not count by a last bit)
    rev = (space.src_top[tgt] > cos[:, None] + TIE_TOLERANCE).sum(axis=1).astype(np.float32)
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


def nearest_seeds(X: np.ndarray, seeds: np.ndarray, rows: np.ndarray, n: int = NEIGHBOURS
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The `n` seed pairs whose sources are nearest each query (cosine in the unit-row source space X,
    the query's own pairs excluded): (their cosines, their indices in `seeds`, softmax weights of the cosines
    at NEIGHBOUR_TEMPERATURE), each (len(rows), n), nearest first; a missing neighbour (too few seeds) has
    cosine -inf, weight 0 and index 0."""
    from ..search.topk import top_rows

    n = min(n, len(seeds))
    sim = X[rows] @ X[seeds[:, 0]].T
    sim[rows[:, None] == seeds[None, :, 0]] = -np.inf  # never a query's own pair
    near_sim, near = top_rows(sim, n)
    missing = (near < 0) | ~(near_sim > -1.0 - 1e-3)  # fewer seeds than n besides the query's own
    near_sim, near = np.where(missing, -np.inf, near_sim).astype(np.float32), np.where(missing, 0, near)
    with np.errstate(invalid="ignore", over="ignore"):
        w = np.exp((near_sim - near_sim[:, :1]) / NEIGHBOUR_TEMPERATURE)
    w[missing | ~np.isfinite(w)] = 0.0
    w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    return near_sim, near, w


def neighbour_features(Y: np.ndarray, seeds: np.ndarray, near: tuple[np.ndarray, np.ndarray, np.ndarray],
                       group: np.ndarray, tgt: np.ndarray) -> dict[str, np.ndarray]:
    """Votes of each query's nearest seed pairs (`near`: `nearest_seeds`), weighted by a softmax of their source
    cosine: the weighted mean and the maximum target-space cosine of the candidate to their targets, and the
    weight of the pairs whose target is the candidate. Y: unit rows; seeds: the pairs the maps were fitted on."""
    near_sim, idx, w = near
    mean = np.zeros(len(tgt), dtype=np.float32)
    best = np.full(len(tgt), -1.0, dtype=np.float32)
    same = np.zeros(len(tgt), dtype=np.float32)
    yc = Y[tgt]
    for j in range(idx.shape[1]):
        t_j = seeds[idx[group, j], 1]
        c = np.einsum("ij,ij->i", yc, Y[t_j])
        mean += w[group, j] * c
        best = np.where(np.isfinite(near_sim[group, j]), np.maximum(best, c), best)
        same += w[group, j] * (t_j == tgt)
    return {"neighbours.mean_cos": mean, "neighbours.max_cos": best, "neighbours.same": same,
            "neighbours.nearest_source": near_sim[:, 0][group].astype(np.float32)}


OFFSET_BLOCK = 64  # queries whose pairs' offsets are computed together


def offset_features(space: MappedSpace, seeds: np.ndarray, near: tuple[np.ndarray, np.ndarray, np.ndarray],
                    rows: np.ndarray, group: np.ndarray, tgt: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    """Analogy with each query's nearest seed pairs (s, t) (`near`: `nearest_seeds`) in one mapped space: the
    cosine of the candidate's offset from t with the query's offset from s, c − t against (q − s)W. A map
    puts a word's co-hyponyms and antonyms (other months, girl for boy) near its translation; the offset from
    a seed pair that differs along the same axis tells them apart. Weighted mean (NaN-free weights) and maximum
    over the neighbours, skipping the one whose t is the candidate (NaN when none is left)."""
    near_sim, idx, w = near
    XW, YW = space.X, space.Y
    n_q, m = idx.shape
    src_n, tgt_n = seeds[idx, 0], seeds[idx, 1]
    mean = np.full(len(tgt), np.nan, dtype=np.float32)
    best = np.full(len(tgt), np.nan, dtype=np.float32)
    starts = _starts(group, n_q)
    for a in range(0, n_q, OFFSET_BLOCK):
        b = min(n_q, a + OFFSET_BLOCK)
        sl = slice(starts[a], starts[b])
        g = group[sl] - a
        us, inv_s = np.unique(src_n[a:b], return_inverse=True)
        ut, inv_t = np.unique(tgt_n[a:b], return_inverse=True)
        uc, inv_c = np.unique(tgt[sl], return_inverse=True)
        inv_s, inv_t = inv_s.reshape(b - a, m), inv_t.reshape(b - a, m)
        q = XW[rows[a:b]]
        c_q = np.einsum("id,id->i", YW[tgt[sl]], q[g])
        c_s = (YW[uc] @ XW[us].T)[inv_c.ravel()[:, None], inv_s[g]]  # (pairs, m)
        c_t = (YW[uc] @ YW[ut].T)[inv_c.ravel()[:, None], inv_t[g]]
        t_q = (YW[ut] @ q.T)[inv_t[g], g[:, None]]
        s_q = (XW[us] @ q.T)[inv_s[g], g[:, None]]
        t_s = np.einsum("qmd,qmd->qm", YW[tgt_n[a:b]], XW[src_n[a:b]])  # t · sW of each neighbour pair
        num = c_q[:, None] - c_s - t_q + t_s[g]
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = num / np.sqrt(np.maximum(2.0 - 2.0 * c_t, 0.0) * np.maximum(2.0 - 2.0 * s_q, 0.0))
        # no offset from the candidate itself, nor from a missing neighbour (fewer seeds than NEIGHBOURS)
        cos[(tgt[sl][:, None] == tgt_n[a:b][g]) | ~np.isfinite(cos) | ~np.isfinite(near_sim[a:b][g])] = np.nan
        valid = ~np.isnan(cos)
        wj = np.where(valid, w[a:b][g], 0.0)
        total = wj.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean[sl] = np.where(total > 0, (np.where(valid, cos, 0.0) * wj).sum(axis=1) / total, np.nan)
        best[sl] = np.where(valid.any(axis=1), np.where(valid, cos, -np.inf).max(axis=1), np.nan)
    return {f"offset.{prefix}.mean": mean, f"offset.{prefix}.max": best}


class AffixOdds:
    """Log-odds of (source ending, target ending) pairs of each length in AFFIX_ENDINGS: how often the seed
    pairs show them against the seed sources paired with the AFFIX_NEGATIVES most frequent other words of
    their gold's stem family (words sharing its first FAMILY_PREFIX letters, not a gold of that source), the
    forms a map confuses. Counts are smoothed by 0.5; a pair of endings never seen scores NaN."""

    def __init__(self, src_words: list[str], tgt_words: list[str], seeds: np.ndarray):
        from collections import Counter, defaultdict

        family: dict[str, list[int]] = defaultdict(list)
        for j, w in enumerate(tgt_words):  # rows in frequency order: each family's list is too
            family[w[:FAMILY_PREFIX]].append(j)
        gold: dict[int, set[int]] = defaultdict(set)
        for s, t in seeds.tolist():
            gold[s].add(t)
        pos: Counter = Counter()
        neg: Counter = Counter()
        for s, t in seeds.tolist():
            sw = src_words[s]
            pos.update((n, sw[-n:], tgt_words[t][-n:]) for n in AFFIX_ENDINGS)
            others = [j for j in family[tgt_words[t][:FAMILY_PREFIX]] if j not in gold[s]][:AFFIX_NEGATIVES]
            neg.update((n, sw[-n:], tgt_words[j][-n:]) for j in others for n in AFFIX_ENDINGS)
        self.log_odds = {key: float(np.log((pos[key] + 0.5) / (neg[key] + 0.5))) for key in pos.keys() | neg.keys()}

    def features(self, src_words: list[str], tgt_words: list[str]) -> dict[str, np.ndarray]:
        """Per pair (src_words[i], tgt_words[i]): the log-odds of its endings of each length."""
        nan = float("nan")
        return {f"affix.odds{n}": np.fromiter((self.log_odds.get((n, a[-n:], b[-n:]), nan)
                                               for a, b in zip(src_words, tgt_words)),
                                              dtype=np.float32, count=len(src_words))
                for n in AFFIX_ENDINGS}


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
