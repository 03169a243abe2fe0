"""Restart search and failure detection for the seedless aligners.

A seedless method can converge to a map that only looks like an alignment. `search_restarts` runs a
method several times and judges every run by how *distinct* its translations are compared with
random rotations of the same spaces, on the words it was fitted on and on held-out words it never saw; `SeedlessAligner` turns the search into the common learnt
attributes (align.aligners.base) plus the verdict (`failed_`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ..errors import NoPairs
from ..search.induction import Induced
from ..search.topk import block_topk
from ..space.normalize import normalize_rows
from ..store.vectors import Embeddings
from .base import Aligner, Fitted, Prepared

# Failure detection. MUSE's criterion (mean cosine of the CSLS translations of the 10k most
# frequent source words) cannot tell a failed run: self-learning raises it on *any* pair of
# spaces, e.g. by matching clusters of unrelated clouds (0.83 there, against 0.59 for the
# kit's converged fr→fi and 0.51 for supervised Procrustes on it). What a real alignment has
# and a spurious one lacks is *distinct* translations: the nearest target stands out of its
# neighbourhood. `distinctiveness` = mean over those words of (cosine of the nearest target −
# mean cosine of the next nine), compared with its value under random rotations of the same
# spaces (the null, which absorbs the effect of dimension and density). Calibration of the
# excess over the null: kit fr→fi, unsupervised (P@1 31–34): +0.066 to +0.069; kit fr→fi,
# adversarial that reached P@1 0.0: +0.029; rotated noisy 32-d clouds (P@1 100 %): +0.060 and
# +0.107; two unrelated clustered clouds after self-learning: −0.015. A run fails when the
# excess is below FAIL_EXCESS.
FAIL_EXCESS = 0.04
# Restarts: at most this many, stopping at the first that converges (`stop_when_converged`). One restart
# is not enough: on the kit's en→fr, 1 seed in 4 converges (CSLS P@1 70.2, criterion 0.58) and the others
# fail (P@1 1–4, criterion 0.41–0.42, flagged); on fr→fi the first converges.
RESTARTS = 8
# Held-out judging. The distinctiveness of the rows a map was fitted on can be had by overfitting: on i.i.d.
# Gaussian clouds, which share nothing, self-learning reaches +0.04 (500 × 20) to +0.36 (1000 × 300) over the
# random-rotation null, above real pairs. So the seedless fit never sees HELDOUT_FRACTION of the most
# frequent source words (at least HELDOUT_MIN) and a run converges only if its map also makes *their*
# translations distinct: a real alignment generalises to words it was not fitted on, an overfitted one does
# not (held-out excess ≈ 0 on noise). HELDOUT_EXCESS is calibrated in benchmarks/calibrate_failure.py
# (figures in benchmarks/RESULTS.md) on noise of several sizes and on the kit's real pairs.
HELDOUT_FRACTION = 0.1
HELDOUT_MIN = 100
HELDOUT_EXCESS = 0.02


def distinctiveness(src_mapped: np.ndarray, tgt: np.ndarray, n: int = 10000) -> float:
    """Mean over the `n` most frequent sources of cos(1st NN) − mean cos(2nd…10th NN) among `n` targets."""
    S, T = normalize_rows(src_mapped[:n]), normalize_rows(tgt[:n])
    sc, _ = block_topk(S, T, 10)
    if sc.shape[1] < 2:
        return 0.0
    return float((sc[:, 0] - sc[:, 1:].mean(axis=1)).mean())


def null_distinctiveness(X: np.ndarray, Y: np.ndarray, rng: np.random.Generator, *, trials: int = 2,
                         n: int = 10000) -> float:
    """The largest distinctiveness of `trials` random rotations of X onto Y: what chance gives."""
    best = 0.0
    for _ in range(trials):
        q, r = np.linalg.qr(rng.normal(size=(X.shape[1], Y.shape[1])))
        q = (q * np.sign(np.diag(r))).astype(np.float32)
        best = max(best, distinctiveness(X[:n] @ q, Y, n))
    return best


def heldout_rows(n_src: int, n: int, seed: int, start: int = 0) -> np.ndarray:
    """The source rows a seedless fit never sees, to judge it on: HELDOUT_FRACTION of the `n` most frequent
    (at least HELDOUT_MIN, at most half), drawn with `seed` among ranks `start` to `n` (or the least frequent
    of the `n` when that range is too small); sorted. `start`: the words the method's initialisation compares
    across languages, which must stay the same words on both sides."""
    m = min(n, n_src)
    count = min(max(int(HELDOUT_FRACTION * m), HELDOUT_MIN), m // 2)
    lo = max(0, min(start, m - count))
    return np.sort(lo + np.random.default_rng([seed, 10**6 + 1]).choice(m - lo, count, replace=False))


@dataclass
class Verdict:
    """A run's distinctiveness on the rows it was fitted on and on the held-out rows, and whether it converged."""

    distinctiveness: float
    heldout: float | None
    converged: bool


def judge(X: np.ndarray, Y: np.ndarray, W: np.ndarray, null: float, n: int, excess: float,
          held: np.ndarray | None = None, held_null: float = 0.0, held_excess: float = HELDOUT_EXCESS) -> Verdict:
    """The verdict on map W: converged when its distinctiveness exceeds the random-rotation `null` by `excess`
    and, given held-out source rows `held`, theirs exceeds `held_null` by `held_excess` (see HELDOUT_EXCESS)."""
    dist = distinctiveness(X[:n] @ W, Y, n)
    converged = dist - null >= excess
    held_dist = None
    if held is not None and len(held):
        held_dist = distinctiveness(held @ W, Y, n)
        converged = converged and held_dist - held_null >= held_excess
    return Verdict(dist, held_dist, bool(converged))


@dataclass
class RestartSearch:
    """What `search_restarts` found: the kept run, its verdict, and every run's criterion and verdict."""

    W: np.ndarray
    induced: Induced
    best_restart: int
    criterion: float
    distinctiveness: float
    null: float
    failed: bool
    criteria: list[float]
    converged: list[bool]
    logs: list
    heldout: float | None = None  # distinctiveness of the kept map on the held-out rows
    heldout_null: float | None = None


def search_restarts(X: np.ndarray, Y: np.ndarray, run: Callable[[int], tuple[np.ndarray, Induced, object]], *,
                    restarts: int, seed: int, stop_when_converged: bool = True, n: int = 10000,
                    excess: float = FAIL_EXCESS, held: np.ndarray | None = None) -> RestartSearch:
    """Run `run(r) -> (W, induced dictionary with the criterion, log)` for r = 0, 1, … at most `restarts`
    times and keep the best run: among those that converged, the highest criterion (among all if none did).

    A run converged when its distinctiveness exceeds that of random rotations (drawn once, with `seed`)
    by `excess` (see FAIL_EXCESS) and, with `held` (normalised source vectors the runs never saw), when
    theirs does by HELDOUT_EXCESS; with `stop_when_converged` the first converged run ends the search.
    A run that found no pair to learn from (NoPairs) is a failed run."""
    rng = np.random.default_rng([seed, 10**6])
    null = null_distinctiveness(X, Y, rng, n=n)
    held_null = null_distinctiveness(held, Y, rng, n=n) if held is not None and len(held) else 0.0
    criteria: list[float] = []
    verdicts: list[bool] = []
    logs: list = []
    best = None  # ((converged, criterion), r, W, induced, verdict)
    for r in range(restarts):
        try:
            W, ind, log = run(r)
            verdict = judge(X, Y, W, null, n, excess, held, held_null)
        except NoPairs as exc:  # the run found nothing to learn from: a failed run, never bad input
            W = np.eye(X.shape[1], Y.shape[1], dtype=np.float32)
            ind = Induced(np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.float32), 0.0)
            log = [{"iteration": 0, "error": f"no pairs ({exc})"}]
            verdict = replace(judge(X, Y, W, null, n, excess, held, held_null), converged=False)
        criteria.append(round(ind.criterion, 6))
        verdicts.append(verdict.converged)
        logs.append(log)
        if best is None or (verdict.converged, ind.criterion) > best[0]:
            best = ((verdict.converged, ind.criterion), r, W, ind, verdict)
        if verdict.converged and stop_when_converged:
            break
    (converged, crit), r, W, ind, verdict = best
    return RestartSearch(W, ind, r, float(crit), verdict.distinctiveness, null, not converged, criteria, verdicts,
                         logs, verdict.heldout, held_null if held is not None and len(held) else None)


class SeedlessAligner(Aligner):
    """An aligner that learns without seeds: it refuses a seed dictionary, and after `fit` it also has
    `restarts_` (criterion of each restart run), `restarts_converged_`, `best_restart_`, and `criterion_`,
    `distinctiveness_`, `null_` (under random rotations), `heldout_distinctiveness_`, `heldout_null_` (on the
    held-out source words) and `failed_` of the kept map.

    The fit never sees `heldout_rows` of the source vocabulary (`_split`): the verdict is taken on them too."""

    seedless = True

    def _initial_vocab(self) -> int:
        """How many of the most frequent words the initialisation compares across the two languages: none are
        held out from those (a source top list with gaps would no longer match the target's)."""
        return 0

    def _split(self, p: Prepared, src: Embeddings) -> tuple[Prepared, Embeddings]:
        """Hold out source rows (`heldout_rows`) from the fit: the reduced inputs, the held rows kept aside."""
        held = heldout_rows(len(src), getattr(self, "criterion_words", 10000), getattr(self, "seed", 0),
                            self._initial_vocab())
        keep = np.setdiff1d(np.arange(len(src)), held)
        self._held_X, self._kept_rows = p.X[held], keep
        reduced = Embeddings([src.words[i] for i in keep], src.vectors[keep], subword_model=src.subword_model,
                             report=src.report, name=src.name)
        return replace(p, X=p.X[keep]), reduced

    def _finish(self, found: RestartSearch, info: dict | None = None) -> Fitted:
        """The Fitted result of a restart search: learnt attributes set, restart logs in one flat history, the
        induced pairs' source rows given in the full vocabulary again."""
        self.restarts_, self.restarts_converged_ = found.criteria, found.converged
        self.best_restart_, self.criterion_ = found.best_restart, found.criterion
        self.distinctiveness_, self.null_, self.failed_ = found.distinctiveness, found.null, found.failed
        self.heldout_distinctiveness_, self.heldout_null_ = found.heldout, found.heldout_null
        history = [{"restart": r, **entry} for r, log in enumerate(found.logs) for entry in log]
        kept = [h["iteration"] for h in history if h["restart"] == found.best_restart]
        induced = found.induced
        rows = getattr(self, "_kept_rows", None)
        if induced is not None and rows is not None and len(induced.pairs):
            pairs = induced.pairs.copy()
            pairs[:, 0] = rows[pairs[:, 0]]
            induced = replace(induced, pairs=pairs)
        info = {"restarts": self.restarts_, "restarts_converged": self.restarts_converged_,
                "best_restart": self.best_restart_, "criterion": round(self.criterion_, 6),
                "distinctiveness": round(self.distinctiveness_, 6), "null_distinctiveness": round(self.null_, 6),
                "heldout_words": 0 if rows is None else int(len(self._held_X)),
                "heldout_distinctiveness": None if found.heldout is None else round(found.heldout, 6),
                "heldout_null_distinctiveness": None if found.heldout_null is None else round(found.heldout_null, 6),
                "failed": self.failed_, **(info or {})}
        return Fitted(found.W, history, kept[-1] if kept else 0, induced=induced, info=info)
