"""Orthogonal Procrustes in closed form, with optional self-learning refinement (induce a dictionary by
CSLS, refit, repeat; keep the best iteration by the unsupervised criterion, never by a test dictionary)."""
from __future__ import annotations

import numpy as np

from .._io import progress as _progress
from ..backend import Backend, get_backend
from ..errors import InputError, NoPairs
from ..search.induction import MODES, REFINE_VOCAB, induce
from ..space.normalize import DEFAULT_STEPS
from .base import Aligner, Fitted, Prepared
from .multistep import multistep
from .seedlike import seed_like_mask


def procrustes(X: np.ndarray, Y: np.ndarray, weights: np.ndarray | None = None, *,
               xp: Backend | None = None) -> np.ndarray:
    """The orthogonal W minimising ‖XW − Y‖_F (rows are paired vectors): W = U Vᵀ from SVD(XᵀY), in float64.

    On the device's backend (align.backend): LAPACK on a CPU, torch on a GPU."""
    if X.shape != Y.shape:
        raise InputError(f"Procrustes needs paired matrices of one shape, got {X.shape} and {Y.shape}")
    if len(X) == 0:
        raise NoPairs("Procrustes needs at least one pair")
    xp = xp or get_backend()
    x = xp.asarray(X, "float64")
    if weights is not None:
        x = x * xp.asarray(weights, "float64")[:, None]
    u, _, vt = xp.svd(x.T @ xp.asarray(Y, "float64"))
    return xp.to_numpy(u @ vt)


class ProcrustesAligner(Aligner):
    """Supervised orthogonal Procrustes, optionally refined by `refine` rounds of self-learning.

    Learnt, besides the common attributes (align.aligners.base): `train_pairs_`, the pairs the kept
    map was fitted on, and `converged_at_`, the round whose induced pairs repeated the previous
    round's, after which refinement stops early because every later round would repeat it (None if
    it never did).

    - `normalize`: steps applied to each side before fitting (recorded in the mapping).
    - `refine`: rounds of self-learning; each induces a dictionary among the `refine_vocab` most
      frequent words (`refine_mode`: mutual, s2t, t2s, union, intersection) and refits on it.
    - `keep_seeds`: refit on the induced pairs *and* the seed pairs (True), or on the induced
      pairs alone as MUSE does (False).
    - `refine_filter`: a percentile (e.g. 25) or None. Refinement then refits only on the induced
      pairs whose target looks like a seed target (align.aligners.seedlike: a logistic classifier of the
      seed targets against other target words, kept when its score reaches this percentile of
      the seed targets' scores); this stops the drift to word forms the seeds do not have.
    - `whiten`, `reweight`, `dewhiten`: the multi-step framework around Procrustes (Artetxe et al.
      2018; align.aligners.multistep): VecMap's supervised mapping is whiten=True, reweight=0.5.
      Then both sides move (the mapping carries W_tgt) and the map is no longer orthogonal.
    """

    method = "procrustes"

    def __init__(self, normalize=DEFAULT_STEPS, refine: int = 5, refine_vocab: int = REFINE_VOCAB,
                 refine_mode: str = "mutual", keep_seeds: bool = True, csls_k: int = 10,
                 criterion_words: int = 10000, whiten: bool = False, reweight: float = 0.0,
                 dewhiten: bool = True, refine_filter: float | None = None, seed: int = 0,
                 show_progress: bool = False):
        self._store(locals())

    def _validate(self) -> None:
        if self.refine < 0:
            raise InputError(f"refine must be >= 0, got {self.refine}")
        if self.refine_mode not in MODES:
            raise InputError(f"unknown refinement mode {self.refine_mode!r}; choose from {', '.join(MODES)}")
        if self.reweight < 0:
            raise InputError(f"reweight must be >= 0, got {self.reweight}")
        if self.refine_filter is not None and not 0 <= self.refine_filter <= 100:
            raise InputError(f"refine_filter must be a percentile within 0..100, got {self.refine_filter}")

    def _fit_map(self, X: np.ndarray, Y: np.ndarray, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(W, W_tgt) on the given pairs: Procrustes, or the multi-step mapping when it is asked for."""
        A, B = X[pairs[:, 0]], Y[pairs[:, 1]]
        if not self.whiten and not self.reweight:
            return procrustes(A, B), None
        return multistep(A, B, whiten=self.whiten, reweight=self.reweight, dewhiten=self.dewhiten)

    def _fit(self, p: Prepared, src, tgt) -> Fitted:
        """Fit on the seed pairs, refine, and keep the map of the best iteration by the criterion."""
        W, Wt = self._fit_map(p.X, p.Y, p.pairs)
        history: list[dict] = []
        best = (-np.inf, 0, W, Wt, None, p.pairs)
        fitted_on = p.pairs
        n_pairs = len(p.pairs)
        self.converged_at_: int | None = None
        train_before: np.ndarray | None = None
        Xr, Yr = p.X[:self.refine_vocab], p.Y[:self.refine_vocab]  # induction looks at these words only
        rounds = range(self.refine + 1) if self.refine else range(0)
        keep_target = None
        if self.refine and self.refine_filter is not None:
            keep_target = seed_like_mask(p.Y, p.pairs[:, 1], self.refine_filter, seed=self.seed)
        for it in _progress(rounds, self.show_progress, desc="refinement", total=self.refine + 1, unit="iter"):
            ind = induce(Xr @ W, Yr if Wt is None else Yr @ Wt, max_rank=self.refine_vocab,
                         mode=self.refine_mode, csls_k=self.csls_k, criterion_words=self.criterion_words)
            induced = ind.pairs if keep_target is None else ind.pairs[keep_target[ind.pairs[:, 1]]]
            history.append({"iteration": it, "criterion": round(ind.criterion, 6), "train_pairs": n_pairs,
                            "induced_pairs": int(len(ind.pairs))})
            if keep_target is not None:
                history[-1]["kept_by_filter"] = int(len(induced))
            if ind.criterion > best[0]:
                best = (ind.criterion, it, W, Wt, ind, fitted_on)
            if it == self.refine:
                break
            train = np.vstack([p.pairs, induced]) if self.keep_seeds else induced
            if len(train) == 0:
                raise InputError("refinement induced no pair that passes the seed-likeness filter; "
                                 "lower refine_filter")
            train = np.unique(train, axis=0)
            if train_before is not None and np.array_equal(train, train_before):
                # The same pairs give the same map, hence the same induction: later rounds repeat this one.
                self.converged_at_ = it
                break
            train_before = train
            n_pairs = len(train)
            W, Wt = self._fit_map(p.X, p.Y, train)
            fitted_on = train
        self.train_pairs_ = best[5]  # (source row, target row) pairs the kept map was fitted on
        induced = None
        if self.refine:
            W, Wt, induced = best[2], best[3], best[4]
        return Fitted(W, history, best[1], W_tgt=Wt, induced=induced, info={"converged_at": self.converged_at_})
