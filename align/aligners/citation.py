"""Citation forms: collapse inflected forms onto the form a dictionary lists, and refine a seedless map on them.

Why. Without seeds, self-learning pairs each source word with the target form that fits the geometry
best, and in a language with rich inflection that is often not the form dictionaries list: French→Finnish
the seedless map sends année to vuoden (genitive), femme to naisen, while a dictionary lists vuosi,
nainen (benchmarks/RESULTS.md, "where fr→fi errors go"). Nothing in the geometry says which case
form is the citation form, but the morphology does: the citation form of a word is its least marked
form, which in most languages carries the fewest affixes (nominative singular, singular, base form), so it
is the *shortest* member of its inflection paradigm.

How, with no seeds and no morphological analyser. A word's paradigm is approximated by its nearest
neighbours in its own space that start with the same `prefix` letters and have a cosine of at least
`min_cos` (inflected forms of one lemma share both the stem and most contexts); its citation form is the
shortest of them (ties: the more frequent). `citation_refine` then refits the map on the mutual CSLS pairs
of the current map with *both* sides replaced by their citation forms, each distinct citation pair weighted
by the summed CSLS scores of the induced pairs that collapse onto it, so the fitted map learns to send a
source word to the citation form of its translation. It helps much where the dictionaries list lemmas
(FreeDict French→Finnish) and costs a little where they also list inflected forms (MUSE's), so it is
asked for (`citation_refine` rounds), not the default: use it when the dictionaries you evaluate or work
with list citation forms. Figures in benchmarks/RESULTS.md.
"""
from __future__ import annotations

import numpy as np

from .procrustes import procrustes
from ..errors import InputError
from ..search.induction import induce
from ..space.normalize import normalize_rows
from ..search.topk import block_topk

# Defaults chosen on a training dictionary, never a test one (benchmarks/RESULTS.md says how).
NEIGHBOURS = 20
MIN_COS = 0.4
PREFIX = 3
CITATION_VOCAB = 20000
CITATION_REFINE = 5  # rounds when the refit is asked for (`align unsupervised --citation-refine 5`)


def citation_forms(vectors: np.ndarray, words: list[str], *, neighbours: int = NEIGHBOURS,
                   min_cos: float = MIN_COS, prefix: int = PREFIX) -> np.ndarray:
    """Row index of each word's citation form: the shortest (then most frequent) word among its
    `neighbours` nearest words (cosine ≥ `min_cos`) that share its first `prefix` letters; itself if none
    is shorter, or more frequent at the same length. Rows of `vectors` follow `words` (frequency order)."""
    n = len(words)
    if len(vectors) != n:
        raise InputError(f"citation forms need one vector per word, got {len(vectors)} vectors and {n} words")
    if neighbours < 1 or prefix < 1:
        raise InputError(f"neighbours and prefix must be >= 1, got {neighbours} and {prefix}")
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    E = normalize_rows(np.asarray(vectors, dtype=np.float32))
    sims, ids = block_topk(E, E, neighbours + 1)  # the word itself is among them
    stems: dict[str, int] = {}
    stem = np.array([stems.setdefault(w[:prefix], len(stems)) if len(w) >= prefix else -1 - i
                     for i, w in enumerate(words)], dtype=np.int64)  # words shorter than `prefix` match nothing
    length = np.fromiter((len(w) for w in words), dtype=np.int64, count=n)
    rank = length * n + np.arange(n)  # shorter first, then more frequent (lower row)
    ok = (ids >= 0) & (sims >= min_cos) & (stem[np.maximum(ids, 0)] == stem[:, None])
    key = np.where(ok, rank[np.maximum(ids, 0)], np.iinfo(np.int64).max)
    best = np.argmin(key, axis=1)
    rows = np.arange(n)
    better = key[rows, best] < rank
    return np.where(better, ids[rows, best], rows).astype(np.int64)


def citation_refine(X: np.ndarray, Y: np.ndarray, W: np.ndarray, src_cite: np.ndarray, tgt_cite: np.ndarray, *,
                    iterations: int = CITATION_REFINE, vocab: int = CITATION_VOCAB,
                    csls_k: int = 10) -> tuple[np.ndarray, list[dict]]:
    """Refit the orthogonal map W (X W ≈ Y) `iterations` times on citation pairs; returns (W, log).

    Each round induces mutual CSLS pairs among the `vocab` most frequent words of each side under the current
    map, replaces both words of each pair by its citation form (`src_cite`, `tgt_cite`: row → row, covering at
    least the first `vocab` rows of their side), weights each distinct citation pair by the summed positive
    CSLS scores of the pairs that collapse onto it, and fits weighted Procrustes. The last round's map is returned: the
    unsupervised criterion prefers the inflected-form solution this step leaves, so it cannot pick a round.
    """
    nx, ny = min(vocab, len(X)), min(vocab, len(Y))
    if len(src_cite) < nx or len(tgt_cite) < ny:
        raise InputError(f"citation maps cover {len(src_cite)} source and {len(tgt_cite)} target rows; "
                         f"need {nx} and {ny}")
    if (len(src_cite) and src_cite.max() >= len(X)) or (len(tgt_cite) and tgt_cite.max() >= len(Y)):
        raise InputError("a citation map points past the end of its vocabulary")
    log: list[dict] = []
    Xn, Yn = X[:nx], Y[:ny]
    for it in range(iterations):
        ind = induce(Xn @ W, Yn, max_rank=max(nx, ny), mode="mutual", csls_k=csls_k)
        cited = np.stack([src_cite[ind.pairs[:, 0]], tgt_cite[ind.pairs[:, 1]]], axis=1)
        pairs, inverse = np.unique(cited, axis=0, return_inverse=True)
        weights = np.bincount(inverse.ravel(), weights=np.maximum(ind.scores, 0.0), minlength=len(pairs))
        keep = weights > 0
        if not keep.any():
            break
        W = procrustes(X[pairs[keep, 0]], Y[pairs[keep, 1]], weights[keep])
        moved = float(np.mean(np.any(cited != ind.pairs, axis=1))) if len(cited) else 0.0
        objective = float(ind.scores.mean()) if len(ind.scores) else 0.0
        log.append({"iteration": it, "induced": int(len(ind.pairs)), "citation_pairs": int(keep.sum()),
                    "moved": round(moved, 4), "objective": round(objective, 6)})
    return W, log
