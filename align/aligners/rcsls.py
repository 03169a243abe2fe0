"""RCSLS (Joulin et al. 2018, "Loss in Translation"): learn W by minimising the relaxed CSLS loss
over the seed pairs, starting from Procrustes, with torch (GPU when there is one).

loss(W) = mean_i [ −2 cos(x_i W, y_i) + mean_{y ∈ N_k(x_i W)} cos(x_i W, y) + mean_{x ∈ N_k(y_i)} cos(x W, y_i) ]

The k-NN sets are recomputed at every step among the `max_neg` most frequent words of each side,
in blocks (no V × V matrix); the gradient treats them as fixed. On a GPU the loss and its gradient
run in torch (autograd); on a CPU in numpy with the gradient in closed form,
∂loss/∂W = (1/n) [Xsᵀ(−2 Ys + Ȳ) + X̄ᵀ Ys] (Ȳ, X̄: the means of each pair's k-NN), and the k-NN
searches use numpy products with faiss heaps: no torch import, and about twice as fast there.
"""
from __future__ import annotations

import time

import numpy as np

from .._io import progress as _progress
from ..device import small_linalg, torch_device
from ..store.dictionary import Dictionary
from ..store.vectors import Embeddings
from ..errors import InputError
from ..space.mapping import Mapping
from ..space.normalize import DEFAULT_STEPS
from ..similarity import block_topk
from .base import prepare
from .procrustes import procrustes

BLOCK = 4096


def _topk_rows(queries, base, k: int):
    """Indices of the k largest inner products of each query among `base` rows (torch, blocked)."""
    import torch

    out = []
    for s in range(0, queries.shape[0], BLOCK):
        out.append(torch.topk(queries[s:s + BLOCK] @ base.T, k, dim=1).indices)
    return torch.cat(out)


class RCSLSAligner:
    """Relaxed CSLS: full-batch gradient descent (or minibatch with `batch_size`), step halving when
    the loss rises. `orthogonal=True` projects W back onto the orthogonal matrices after each step;
    `spectral=True` (default, as in the paper's code) clips its singular values to at most 1."""

    method = "rcsls"

    def __init__(self, normalize=DEFAULT_STEPS, epochs: int = 20, lr: float = 1.0, k: int = 10,
                 max_neg: int = 200000, batch_size: int | None = None, orthogonal: bool = False,
                 spectral: bool = True, seed: int = 0, show_progress: bool = False):
        if epochs < 1:
            raise InputError(f"epochs must be >= 1, got {epochs}")
        self.normalize = normalize
        self.epochs = epochs
        self.lr = lr
        self.k = k
        self.max_neg = max_neg
        self.batch_size = batch_size
        self.orthogonal = orthogonal
        self.spectral = spectral
        self.seed = seed
        self.show_progress = show_progress

    def _params(self) -> dict:
        return {"normalize": list(self.normalize), "epochs": self.epochs, "lr": self.lr, "k": self.k,
                "max_neg": self.max_neg, "batch_size": self.batch_size, "orthogonal": self.orthogonal,
                "spectral": self.spectral, "seed": self.seed}

    def _loss(self, W, xs, ys, Xn, Yn):
        import torch

        xw = xs @ W
        with torch.no_grad():
            nn_t = _topk_rows(xw, Yn, self.k)  # k nearest targets of each mapped seed source
            nn_s = _topk_rows(ys, Xn @ W, self.k)  # k nearest mapped sources of each seed target
        pos = (xw * ys).sum(1)
        neg_t = torch.einsum("nd,nkd->nk", xw, Yn[nn_t]).mean(1)
        neg_s = torch.einsum("nkd,nd->nk", Xn[nn_s] @ W, ys).mean(1)
        return (-2 * pos + neg_t + neg_s).mean()

    def _project(self, W):
        import torch

        if self.orthogonal:
            with small_linalg():
                u, _, vt = torch.linalg.svd(W, full_matrices=False)
            return u @ vt
        if self.spectral:
            with small_linalg():
                u, s, vt = torch.linalg.svd(W, full_matrices=False)
            return (u * s.clamp(max=1.0)) @ vt
        return W

    def fit(self, src: Embeddings, tgt: Embeddings, seeds: Dictionary) -> Mapping:
        """Start from Procrustes on the seeds and minimise the RCSLS loss; return the mapping."""
        start = time.perf_counter()
        p = prepare(src, tgt, seeds, self.normalize)
        W0 = procrustes(p.X[p.pairs[:, 0]], p.Y[p.pairs[:, 1]])
        dev = torch_device()
        fit = self._fit_numpy if dev == "cpu" else self._fit_torch
        W_final, history = fit(p, W0, dev)
        info = {"method": self.method, "params": self._params(), "seed_pairs": int(len(p.pairs)), "history": history,
                "device": dev, "fit_seconds": round(time.perf_counter() - start, 3),
                "src": src.name, "tgt": tgt.name}
        return Mapping(W_final, p.src_norm, p.tgt_norm, info)

    def _batches(self, n: int, next_order) -> list:
        """Full batch, or the minibatches of one epoch in the order `next_order()` gives."""
        if not self.batch_size:
            return [slice(0, n)]
        order = next_order()
        return [order[s:s + self.batch_size] for s in range(0, n, self.batch_size)]

    def _fit_numpy(self, p, W0: np.ndarray, dev: str) -> tuple[np.ndarray, list[dict]]:
        """The CPU path: numpy loss and closed-form gradient, k-NN by numpy products and faiss heaps."""
        from ..retrieval import normalize_rows

        Xall, Yall = normalize_rows(p.X), normalize_rows(p.Y)
        Xn, Yn = Xall[: self.max_neg], Yall[: self.max_neg]
        src_rows, tgt_rows = p.pairs[:, 0], p.pairs[:, 1]
        k = self.k

        def neighbour_means(W, b):
            """Per pair of batch `b`: the mean of the k nearest targets of its mapped source, and of the k
            nearest mapped sources of its target ((x W)·y = x·(y Wᵀ): the source side is never mapped).
            Searched once per distinct word: a dictionary lists many words with several translations."""
            us, inv_s = np.unique(src_rows[b], return_inverse=True)
            ut, inv_t = np.unique(tgt_rows[b], return_inverse=True)
            _, nt = block_topk(Xall[us] @ W, Yn, k)
            _, ns = block_topk(Yall[ut] @ W.T, Xn, k)
            ybar = np.zeros((len(us), Yn.shape[1]), dtype=np.float32)
            xbar = np.zeros((len(ut), Xn.shape[1]), dtype=np.float32)
            for j in range(nt.shape[1]):
                ybar += Yn[nt[:, j]]
            for j in range(ns.shape[1]):
                xbar += Xn[ns[:, j]]
            return (ybar / nt.shape[1])[inv_s.ravel()], (xbar / ns.shape[1])[inv_t.ravel()]

        def loss_grad(W, b):
            xs, ys = Xall[src_rows[b]], Yall[tgt_rows[b]]
            ybar, xbar = neighbour_means(W, b)
            xw = xs @ W
            loss = float((-2.0 * (xw * ys).sum(1) + (xw * ybar).sum(1) + ((xbar @ W) * ys).sum(1)).mean())
            grad = (xs.T @ (ybar - 2.0 * ys) + xbar.T @ ys) / len(xs)
            return loss, grad, len(xs)

        rng = np.random.default_rng(self.seed)
        W = W0.astype(np.float32).copy()
        lr, prev_loss, prev_W = self.lr, None, W.copy()
        history: list[dict] = []
        n = len(p.pairs)
        for epoch in _progress(range(self.epochs), self.show_progress, desc="RCSLS", unit="epoch"):
            total = 0.0
            for b in self._batches(n, lambda: rng.permutation(n)):
                loss, grad, nb = loss_grad(W, b)
                total += loss * (nb / n)
                if not self.batch_size and prev_loss is not None and loss > prev_loss:
                    lr /= 2  # the step overshot: go back and halve the step size
                    W = prev_W.copy()
                    loss, grad, _ = loss_grad(W, b)
                    total = loss
                prev_loss, prev_W = loss, W.copy()
                W = self._project_numpy(W - lr * grad.astype(np.float32))
            history.append({"epoch": epoch, "loss": round(total, 6), "lr": lr})
        return W.astype(np.float32), history

    def _project_numpy(self, W: np.ndarray) -> np.ndarray:
        if not (self.orthogonal or self.spectral):
            return W
        with small_linalg():
            u, s, vt = np.linalg.svd(W.astype(np.float64), full_matrices=False)
        if self.orthogonal:
            return (u @ vt).astype(np.float32)
        return ((u * np.minimum(s, 1.0)) @ vt).astype(np.float32)

    def _fit_torch(self, p, W0: np.ndarray, dev: str) -> tuple[np.ndarray, list[dict]]:
        """The GPU path: torch autograd through the gathered neighbours."""
        import torch

        gen = torch.Generator().manual_seed(self.seed)

        def unit(a):
            a = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(dev)
            return a / a.norm(dim=1, keepdim=True).clamp_min(1e-12)

        Xn, Yn = unit(p.X[: self.max_neg]), unit(p.Y[: self.max_neg])
        Xall, Yall = unit(p.X), unit(p.Y)
        xs_all, ys_all = Xall[p.pairs[:, 0]], Yall[p.pairs[:, 1]]
        W = torch.from_numpy(W0.copy()).to(dev).requires_grad_(True)  # on the CPU from_numpy shares W0
        lr = self.lr
        prev_loss = None
        prev_W = W.detach().clone()
        history = []
        n = len(p.pairs)
        for epoch in _progress(range(self.epochs), self.show_progress, desc="RCSLS", unit="epoch"):
            total = 0.0
            for b in self._batches(n, lambda: torch.randperm(n, generator=gen).to(dev)):
                loss = self._loss(W, xs_all[b], ys_all[b], Xn, Yn)
                total += float(loss.detach()) * (xs_all[b].shape[0] / n)
                if not self.batch_size and prev_loss is not None and float(loss.detach()) > prev_loss:
                    # the step overshot: go back and halve the step size
                    lr /= 2
                    with torch.no_grad():
                        W.copy_(prev_W)
                    loss = self._loss(W, xs_all[b], ys_all[b], Xn, Yn)
                    total = float(loss.detach())
                prev_loss = float(loss.detach())
                prev_W = W.detach().clone()
                W.grad = None
                loss.backward()
                with torch.no_grad():
                    W -= lr * W.grad
                    W.copy_(self._project(W))
            history.append({"epoch": epoch, "loss": round(total, 6), "lr": lr})
        return W.detach().cpu().numpy().astype(np.float32), history
