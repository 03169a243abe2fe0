"""Fully unsupervised alignment: robust self-learning (after Artetxe et al. 2018, ACL).

1. Initialisation without seeds. For the `init_vocab` most frequent words of each side,
   M = U S Uᵀ where X = U S Vᵀ (the square root of the similarity matrix X Xᵀ). M does not
   depend on the arbitrary rotation of the space, only on how each word relates to the
   others; each row is sorted, so that it no longer depends on the order of the words
   either. Two words that are translations of each other have similar sorted rows, so a
   CSLS nearest-neighbour search between the sorted rows of the two languages (both ways)
   gives a first, noisy dictionary.
2. Self-learning: orthogonal Procrustes on the dictionary, then a new dictionary by CSLS in
   both directions among the `cutoff` most frequent words, repeated: the pairs both directions
   agree on (`dictionary="mutual"`, the default: it drifts less than the `union` of both
   directions; benchmarks/RESULTS.md). The induction
   is stochastic: each candidate similarity is kept with probability p (0.1 at first), so
   the process escapes the poor local optimum of the initial dictionary; p doubles each
   time the objective (mean CSLS score of the induced pairs) has stalled for `patience`
   iterations, and the vocabulary cut-off is raised with p, from `start_vocab` to `vocab`.
   When p = 1 and the objective stalls, the dictionary is final.
3. Finish: `final_refine` Procrustes fits on mutual CSLS pairs among the `final_vocab` most
   frequent words (default: the whole vocabularies), a cleaner dictionary than the stochastic
   ones. The induced dictionary (CSLS, mutual NN) and MUSE's criterion come from `align.search.induction.induce`; restarts differ in the dropout draws and the best by
   the criterion is kept, or the search stops at the first restart that converges (see RESTARTS); failure
   is judged by `search_restarts` (see FAIL_EXCESS).
4. Citation forms (`citation_refine` rounds; 0, the default, skips it): the kept map, unless it failed, is
   refitted on its mutual CSLS pairs with both words replaced by their citation forms (align.aligners.citation: the
   shortest form among a word's near neighbours with the same first letters), so that it sends words to
   the forms dictionaries list rather than to the inflected forms the geometry prefers (fr→fi: vuoden for
   année instead of vuosi). The verdict and the criterion are then taken again on the refitted map. Asked
   for, not the default: it helps where dictionaries list lemmas and costs a little where they also list
   inflected forms (benchmarks/RESULTS.md).

Dropout is applied to the `candidates` best CSLS targets of each word rather than to the
whole similarity matrix: the chance that all of them are dropped is (1 − p)^candidates
(0.1 % for p = 0.1 and 64 candidates), and such a row picks one of its candidates at random.
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from .._io import progress as _progress
from .citation import CITATION_VOCAB, citation_forms, citation_refine
from ..backend import Backend, get_backend
from ..store.vectors import Embeddings
from ..errors import InputError
from ..search.induction import Induced, induce
from ..search.csls import csls_topk, hubness_both
from ..space.normalize import DEFAULT_STEPS, normalize_rows
from .base import Fitted, Prepared
from .procrustes import procrustes
from .restarts import FAIL_EXCESS, RESTARTS, RestartSearch, SeedlessAligner, judge, search_restarts

def _unit_center_unit(x: np.ndarray) -> np.ndarray:
    """Rows to unit length, columns centred, rows to unit length again."""
    x = normalize_rows(x)
    x -= x.mean(axis=0, keepdims=True)
    return normalize_rows(x)


def sorted_similarity_signature(X: np.ndarray, *, xp: Backend | None = None) -> np.ndarray:
    """Each word's sorted row of sqrt(X Xᵀ) = U S Uᵀ (X = U S Vᵀ), normalised: a rotation-free word signature."""
    xp = xp or get_backend()
    u, s, _ = xp.svd(xp.asarray(X, "float64"), small=False)
    return _unit_center_unit(xp.to_numpy(xp.sort_desc((u * s) @ u.T)))


def _csls_pick(S: np.ndarray, T: np.ndarray, keep: float, rng: np.random.Generator, *,
               csls_k: int = 10, candidates: int = 64, mode: str = "union") -> tuple[np.ndarray, np.ndarray, float]:
    """Stochastic CSLS translation of every row of S among the rows of T, and back.

    Returns the pairs — the `union` of both directions, or the `mutual` ones (each side's pick is
    the other's) — as (S row, T row), their CSLS scores, and the objective (mean CSLS score of all
    picks). With `keep` < 1 each candidate is dropped with probability 1 − keep.
    """
    r_t, r_s = hubness_both(S, T, csls_k)  # r_T of every S row, r_S of every T row
    sv, si, tv, ti = csls_topk(S, T, candidates, r_t, r_s, cols=True)  # both directions' CSLS candidates
    out_pairs, out_scores = [], []
    for A, ids, csls, flip in ((S, si, sv, False), (T, ti, tv, True)):
        k = ids.shape[1]
        if keep >= 1.0:
            col = np.zeros(len(A), dtype=np.int64)
        else:
            mask = rng.random((len(A), k)) < keep
            col = np.argmax(mask, axis=1)
            none = ~mask.any(axis=1)
            col[none] = rng.integers(0, k, size=int(none.sum()))
        rows = np.arange(len(A))
        pick, score = ids[rows, col], csls[rows, col]
        pairs = np.stack([pick, rows], axis=1) if flip else np.stack([rows, pick], axis=1)
        out_pairs.append(pairs)
        out_scores.append(score)
    if mode == "mutual":
        st, ts = out_pairs[0][:, 1], out_pairs[1][:, 0]  # S row → its pick; T row → its pick
        keep_rows = np.flatnonzero(ts[st] == np.arange(len(S)))
        objective = float(np.mean(np.concatenate(out_scores)))
        return (out_pairs[0][keep_rows].astype(np.int64), out_scores[0][keep_rows].astype(np.float32), objective)
    pairs = np.vstack(out_pairs)
    scores = np.concatenate(out_scores)
    pairs, first = np.unique(pairs, axis=0, return_index=True)
    return pairs.astype(np.int64), scores[first].astype(np.float32), float(np.mean(scores))


def initial_dictionary(X: np.ndarray, Y: np.ndarray, n: int = 4000, csls_k: int = 10) -> np.ndarray:
    """Seedless first dictionary: CSLS neighbours (both ways) between sorted similarity signatures."""
    n_x, n_y = min(n, len(X)), min(n, len(Y))
    mx = sorted_similarity_signature(X[:n_x])
    my = sorted_similarity_signature(Y[:n_y])
    d = min(mx.shape[1], my.shape[1])  # signatures of different lengths: compare the common prefix
    mx, my = normalize_rows(mx[:, :d]), normalize_rows(my[:, :d])
    pairs, _, _ = _csls_pick(mx, my, 1.0, np.random.default_rng(0), csls_k=min(csls_k, n_x, n_y))
    return pairs


class UnsupervisedAligner(SeedlessAligner):
    """Seedless alignment: sorted-similarity initialisation + stochastic CSLS self-learning.

    `restarts` is the most runs (different dropout draws from the same initialisation); with
    `stop_when_converged` (the default) the first run that converges ends the search. The kept run is
    the best by the criterion among those that converged (among all, if none did: then `failed_`). Unless it
    failed, the kept map is then refitted `citation_refine` times (default 0: not) on citation forms
    (align.aligners.citation); `citation_history_` logs those rounds.
    """

    method = "unsupervised"

    def __init__(self, normalize=DEFAULT_STEPS, init_vocab: int = 4000, start_vocab: int = 4000,
                 vocab: int = 4000, keep_start: float = 0.1, keep_growth: float = 2.0, patience: int = 3,
                 threshold: float = 1e-6, max_iter: int = 300, csls_k: int = 10, candidates: int = 64,
                 refine_vocab: int = 15000, criterion_words: int = 10000, restarts: int = RESTARTS,
                 stop_when_converged: bool = True, seed: int = 0, fail_excess: float = FAIL_EXCESS,
                 final_vocab: int | None = None, final_refine: int = 1, dictionary: str = "mutual",
                 citation_refine: int = 0, citation_vocab: int = CITATION_VOCAB,
                 show_progress: bool = False):
        self._store(locals())

    def _initial_vocab(self) -> int:
        return self.init_vocab

    def _validate(self) -> None:
        if self.restarts < 1:
            raise InputError(f"restarts must be >= 1, got {self.restarts}")
        if not 0 < self.keep_start <= 1 or self.keep_growth <= 1:
            raise InputError("keep_start must be in (0, 1] and keep_growth > 1")
        if self.dictionary not in ("union", "mutual"):
            raise InputError(f"unknown self-learning dictionary {self.dictionary!r}; choose union or mutual")
        if self.citation_refine < 0 or self.citation_vocab < 1:
            raise InputError(f"citation_refine must be >= 0 and citation_vocab >= 1, got {self.citation_refine} "
                             f"and {self.citation_vocab}")

    def _self_learn(self, X: np.ndarray, Y: np.ndarray, pairs: np.ndarray, rng: np.random.Generator,
                    label: str) -> tuple[np.ndarray, list[dict]]:
        """Stochastic self-learning from `pairs`; returns the final map and the iteration log."""
        n_max = min(self.vocab, len(X), len(Y))
        n_start = min(self.start_vocab, n_max)
        stages = int(np.ceil(np.log(1.0 / self.keep_start) / np.log(self.keep_growth)))
        keep, stage, best, last = self.keep_start, 0, -np.inf, 0
        log: list[dict] = []
        W = procrustes(X[pairs[:, 0]], Y[pairs[:, 1]])
        t0 = time.perf_counter()
        bar = _progress(range(self.max_iter), self.show_progress, desc=label, unit="iter")
        for it in bar:
            cut = n_max if stages == 0 else int(n_start + (n_max - n_start) * stage / stages)
            S = normalize_rows(X[:cut] @ W)
            pairs, _, objective = _csls_pick(S, Y[:cut], keep, rng, csls_k=self.csls_k, candidates=self.candidates,
                                             mode=self.dictionary)
            W = procrustes(X[pairs[:, 0]], Y[pairs[:, 1]])
            log.append({"iteration": it, "keep": round(keep, 4), "vocab": cut, "pairs": int(len(pairs)),
                        "objective": round(objective, 6), "seconds": round(time.perf_counter() - t0, 2)})
            if objective - best >= self.threshold:
                best, last = objective, it
            elif it - last >= self.patience:
                if keep >= 1.0:
                    break
                keep, stage, best, last = min(1.0, keep * self.keep_growth), stage + 1, -np.inf, it
        return W, log

    def _cite(self, src: Embeddings, tgt: Embeddings, X: np.ndarray, Y: np.ndarray,
              found: RestartSearch) -> RestartSearch:
        """Refit the kept map on citation forms (align.aligners.citation) and judge the refitted map again."""
        nx, ny = min(self.citation_vocab, len(X)), min(self.citation_vocab, len(Y))
        src_cite = citation_forms(X[:nx], src.words[:nx])
        tgt_cite = citation_forms(Y[:ny], tgt.words[:ny])
        W, self.citation_history_ = citation_refine(X, Y, found.W, src_cite, tgt_cite, iterations=self.citation_refine,
                                                    vocab=self.citation_vocab, csls_k=self.csls_k)
        ind = self._criterion(X, Y, W)
        v = judge(X, Y, W, found.null, self.criterion_words, self.fail_excess, self._held_X, found.heldout_null or 0.0)
        return replace(found, W=W, induced=ind, criterion=float(ind.criterion), distinctiveness=v.distinctiveness,
                       heldout=v.heldout, failed=not v.converged)

    def _criterion(self, X: np.ndarray, Y: np.ndarray, W: np.ndarray) -> Induced:
        """Mutual-CSLS induction among the `refine_vocab` most frequent words, with the criterion."""
        return induce(X @ W, Y, max_rank=self.refine_vocab, mode="mutual", csls_k=self.csls_k,
                      criterion_words=self.criterion_words)

    def _fit(self, p: Prepared, src: Embeddings, tgt: Embeddings) -> Fitted:
        """Initialise without seeds, self-learn from each restart, keep the best; refit on citation forms."""
        X, Y = p.X, p.Y
        init = initial_dictionary(X, Y, self.init_vocab, self.csls_k)

        def run(r: int) -> tuple[np.ndarray, Induced, list[dict]]:
            W, log = self._self_learn(X, Y, init, np.random.default_rng([self.seed, r]),
                                      f"self-learning {r + 1}/{self.restarts}")
            for _ in range(self.final_refine):  # a cleaner dictionary to finish: mutual CSLS among frequent words
                final = self.final_vocab or max(len(X), len(Y))
                pairs = induce(X @ W, Y, max_rank=final, mode="mutual", csls_k=self.csls_k).pairs
                W = procrustes(X[pairs[:, 0]], Y[pairs[:, 1]])
            return W, self._criterion(X, Y, W), log

        found = search_restarts(X, Y, run, restarts=self.restarts, seed=self.seed,
                                stop_when_converged=self.stop_when_converged, n=self.criterion_words,
                                excess=self.fail_excess, held=self._held_X)
        self.citation_history_: list[dict] = []
        if self.citation_refine and not found.failed:
            found = self._cite(src, tgt, X, Y, found)
        return self._finish(found, {"init_pairs": int(len(init)), "citation_history": self.citation_history_})
