"""RCSLS (Joulin et al. 2018, "Loss in Translation"): learn W by minimising the relaxed CSLS loss
over the seed pairs, starting from Procrustes, with torch (GPU when there is one).

loss(W) = mean_i [ −2 cos(x_i W, y_i) + mean_{y ∈ N_k(x_i W)} cos(x_i W, y) + mean_{x ∈ N_k(y_i)} cos(x W, y_i) ]

The k-NN sets are recomputed at every step among the `max_neg` most frequent words of each side,
in blocks (no V × V matrix); the gradient treats them as fixed, so it has a closed form,
∂loss/∂W = (1/n) [Xsᵀ(−2 Ys + Ȳ) + X̄ᵀ Ys] (Ȳ, X̄: the means of each pair's k-NN). The loop is
written once on the array backend (align.backend): numpy on a CPU (no torch import), torch on a GPU.
"""
from __future__ import annotations

import numpy as np

from .._io import progress as _progress
from ..backend import Backend, get_backend
from ..errors import InputError
from ..search.topk import block_topk
from ..space.normalize import DEFAULT_STEPS, normalize_rows
from .base import Aligner, Fitted, Prepared
from .procrustes import procrustes


class Objective:
    """The RCSLS loss over the seed pairs of `p` (align.aligners.base.Prepared) and its gradient in W, with
    the k-NN sets searched among the `max_neg` most frequent words of each side, on backend `xp`."""

    def __init__(self, p, k: int, max_neg: int, xp: Backend):
        self.xp, self.k = xp, k
        self.X, self.Y = xp.asarray(normalize_rows(p.X)), xp.asarray(normalize_rows(p.Y))
        self.Xn, self.Yn = self.X[:max_neg], self.Y[:max_neg]
        self.src_rows, self.tgt_rows = p.pairs[:, 0], p.pairs[:, 1]

    def neighbour_means(self, W, b):
        """Per pair of batch `b`: the mean of the k nearest targets of its mapped source, and of the k
        nearest mapped sources of its target ((x W)·y = x·(y Wᵀ): the source side is never mapped).
        Searched once per distinct word: a dictionary lists many words with several translations."""
        xp = self.xp
        us, inv_s = np.unique(self.src_rows[b], return_inverse=True)
        ut, inv_t = np.unique(self.tgt_rows[b], return_inverse=True)
        _, nt = block_topk(self.X[xp.asarray(us, "int64")] @ W, self.Yn, self.k, xp=xp)
        _, ns = block_topk(self.Y[xp.asarray(ut, "int64")] @ W.T, self.Xn, self.k, xp=xp)
        nt, ns = xp.asarray(nt, "int64"), xp.asarray(ns, "int64")
        ybar = sum(self.Yn[nt[:, j]] for j in range(nt.shape[1])) / nt.shape[1]
        xbar = sum(self.Xn[ns[:, j]] for j in range(ns.shape[1])) / ns.shape[1]
        return ybar[xp.asarray(inv_s.ravel(), "int64")], xbar[xp.asarray(inv_t.ravel(), "int64")]

    def pairs(self, b):
        """The source and target vectors of the seed pairs of batch `b`."""
        xp = self.xp
        return self.X[xp.asarray(self.src_rows[b], "int64")], self.Y[xp.asarray(self.tgt_rows[b], "int64")]

    def loss_grad(self, W, b) -> tuple[float, object, int]:
        """(loss, ∂loss/∂W, batch size) at W over batch `b` (a slice or row indices of the seed pairs)."""
        xs, ys = self.pairs(b)
        ybar, xbar = self.neighbour_means(W, b)
        xw = xs @ W
        loss = float((-2.0 * (xw * ys).sum(1) + (xw * ybar).sum(1) + ((xbar @ W) * ys).sum(1)).mean())
        grad = (xs.T @ (ybar - 2.0 * ys) + xbar.T @ ys) / len(xs)
        return loss, grad, len(xs)


class RCSLSAligner(Aligner):
    """Relaxed CSLS: full-batch gradient descent (or minibatch with `batch_size`) from Procrustes, step halving
    when the loss rises. `orthogonal=True` projects W back onto the orthogonal matrices after each step;
    `spectral=True` (default, as in the paper's code) clips its singular values to at most 1. `max_neg`:
    the k-NN negatives are searched among this many most frequent words of each side."""

    method = "rcsls"

    def __init__(self, normalize=DEFAULT_STEPS, epochs: int = 50, lr: float = 4.0, k: int = 10,
                 max_neg: int = 200000, batch_size: int | None = None, orthogonal: bool = False,
                 spectral: bool = True, seed: int = 0, show_progress: bool = False):
        self._store(locals())

    def _validate(self) -> None:
        if self.epochs < 1:
            raise InputError(f"epochs must be >= 1, got {self.epochs}")
        if not self.lr > 0:
            raise InputError(f"lr must be > 0, got {self.lr}")
        if self.k < 1 or self.max_neg < 1 or (self.batch_size is not None and self.batch_size < 1):
            raise InputError("k, max_neg and batch_size must be >= 1")

    def _fit(self, p: Prepared, src, tgt) -> Fitted:
        """Start from Procrustes on the seeds and minimise the RCSLS loss."""
        xp = get_backend()
        W0 = procrustes(p.X[p.pairs[:, 0]], p.Y[p.pairs[:, 1]], xp=xp)
        W, history = self._descend(p, W0, xp)
        return Fitted(W, history, len(history) - 1)

    def _batches(self, n: int, next_order) -> list:
        """Full batch, or the minibatches of one epoch in the order `next_order()` gives."""
        if not self.batch_size:
            return [slice(0, n)]
        order = next_order()
        return [order[s:s + self.batch_size] for s in range(0, n, self.batch_size)]

    def _project(self, W, xp: Backend):
        """W onto the orthogonal matrices (`orthogonal`) or with its singular values clipped to 1 (`spectral`)."""
        if not (self.orthogonal or self.spectral):
            return W
        u, s, vt = xp.svd(xp.asarray(W, "float64"))
        out = u @ vt if self.orthogonal else (u * xp.minimum(s, 1.0)) @ vt
        return xp.asarray(out, "float32")

    def descend(self, X: np.ndarray, Y: np.ndarray, pairs: np.ndarray, W0: np.ndarray
                ) -> tuple[np.ndarray, list[dict]]:
        """The descent alone from W0, on matrices already normalised and seed rows `pairs` ((source row,
        target row)): for callers that fit many maps on the same spaces (the reranker's folds) without
        `fit`'s preparation. Returns (W, history)."""
        from types import SimpleNamespace

        from ..backend import get_backend

        return self._descend(SimpleNamespace(X=X, Y=Y, pairs=pairs), W0, get_backend())

    def _descend(self, p, W0: np.ndarray, xp: Backend) -> tuple[np.ndarray, list[dict]]:
        """Gradient descent on the RCSLS loss from W0, with k-NN by the blocked top-k kernel."""
        objective = Objective(p, self.k, self.max_neg, xp)
        loss_grad = objective.loss_grad
        rng = np.random.default_rng(self.seed)
        W = xp.copy(xp.asarray(W0))
        lr, prev_loss, prev_W = self.lr, None, xp.copy(W)
        history: list[dict] = []
        n = len(p.pairs)
        for epoch in _progress(range(self.epochs), self.show_progress, desc="RCSLS", unit="epoch"):
            total = 0.0
            for b in self._batches(n, lambda: rng.permutation(n)):
                loss, grad, nb = loss_grad(W, b)
                total += loss * (nb / n)
                if not self.batch_size and prev_loss is not None and loss > prev_loss:
                    lr /= 2  # the step overshot: go back and halve the step size
                    W = xp.copy(prev_W)
                    loss, grad, _ = loss_grad(W, b)
                    total = loss
                prev_loss, prev_W = loss, xp.copy(W)
                W = self._project(W - lr * grad, xp)
            history.append({"iteration": epoch, "loss": round(total, 6), "lr": lr})
        return xp.to_numpy(W), history
