"""Orthogonal Procrustes in closed form (torch SVD, on the GPU when there is one), with
optional self-learning refinement (induce a dictionary by CSLS, refit, repeat; keep the best
iteration by the unsupervised criterion, never by a test dictionary)."""
from __future__ import annotations

import time

import numpy as np

from .._io import progress as _progress
from ..device import small_linalg, torch_device
from ..dictionary import Dictionary
from ..embeddings import Embeddings
from ..errors import InputError
from ..induction import MODES, REFINE_VOCAB, Induced, induce
from ..mapping import Mapping
from ..normalize import DEFAULT_STEPS
from .base import prepare


def procrustes(X: np.ndarray, Y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The orthogonal W minimising ‖XW − Y‖_F (rows are paired vectors): W = U Vᵀ from SVD(XᵀY)."""
    import torch

    if X.shape != Y.shape:
        raise InputError(f"Procrustes needs paired matrices of one shape, got {X.shape} and {Y.shape}")
    if len(X) == 0:
        raise InputError("Procrustes needs at least one pair")
    dev = torch_device()
    x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(dev, torch.float64)
    y = torch.from_numpy(np.ascontiguousarray(Y, dtype=np.float32)).to(dev, torch.float64)
    if weights is not None:
        x = x * torch.from_numpy(np.asarray(weights, dtype=np.float64)).to(dev)[:, None]
    m = x.T @ y
    with small_linalg():
        u, _, vt = torch.linalg.svd(m, full_matrices=False)
    return (u @ vt).to(torch.float32).cpu().numpy()


class ProcrustesAligner:
    """Supervised orthogonal Procrustes, optionally refined by `refine` rounds of self-learning.

    Parameters follow scikit-learn's habit: set in the constructor, learnt state in attributes
    with a trailing underscore after `fit` (`history_`, `induced_`, `best_iteration_`).

    - `normalize`: steps applied to each side before fitting (recorded in the mapping).
    - `refine`: rounds of self-learning; each induces a dictionary among the `refine_vocab` most
      frequent words (`refine_mode`: mutual, s2t, t2s, union, intersection) and refits on it.
    - `keep_seeds`: refit on the induced pairs *and* the seed pairs (True), or on the induced
      pairs alone as MUSE does (False).
    """

    method = "procrustes"

    def __init__(self, normalize=DEFAULT_STEPS, refine: int = 0, refine_vocab: int = REFINE_VOCAB,
                 refine_mode: str = "mutual", keep_seeds: bool = True, csls_k: int = 10,
                 criterion_words: int = 10000, seed: int = 0, show_progress: bool = False):
        if refine < 0:
            raise InputError(f"refine must be >= 0, got {refine}")
        if refine_mode not in MODES:
            raise InputError(f"unknown refinement mode {refine_mode!r}; choose from {', '.join(MODES)}")
        self.normalize = normalize
        self.refine = refine
        self.refine_vocab = refine_vocab
        self.refine_mode = refine_mode
        self.keep_seeds = keep_seeds
        self.csls_k = csls_k
        self.criterion_words = criterion_words
        self.seed = seed
        self.show_progress = show_progress

    def _params(self) -> dict:
        return {"normalize": list(self.normalize), "refine": self.refine, "refine_vocab": self.refine_vocab,
                "refine_mode": self.refine_mode, "keep_seeds": self.keep_seeds, "csls_k": self.csls_k}

    def fit(self, src: Embeddings, tgt: Embeddings, seeds: Dictionary) -> Mapping:
        """Fit on the seed pairs, refine, and return the mapping of the best iteration."""
        start = time.perf_counter()
        p = prepare(src, tgt, seeds, self.normalize)
        W = procrustes(p.X[p.pairs[:, 0]], p.Y[p.pairs[:, 1]])
        self.history_: list[dict] = []
        self.induced_: Induced | None = None
        best = (-np.inf, 0, W, None)
        n_pairs = len(p.pairs)
        rounds = range(self.refine + 1) if self.refine else range(0)
        for it in _progress(rounds, self.show_progress, desc="refinement", total=self.refine + 1, unit="iter"):
            ind = induce(p.X @ W, p.Y, max_rank=self.refine_vocab, mode=self.refine_mode, csls_k=self.csls_k,
                         criterion_words=self.criterion_words)
            self.history_.append({"iteration": it, "criterion": round(ind.criterion, 6), "train_pairs": n_pairs,
                                  "induced_pairs": int(len(ind.pairs))})
            if ind.criterion > best[0]:
                best = (ind.criterion, it, W, ind)
            if it == self.refine:
                break
            train = np.vstack([p.pairs, ind.pairs]) if self.keep_seeds else ind.pairs
            train = np.unique(train, axis=0)
            n_pairs = len(train)
            W = procrustes(p.X[train[:, 0]], p.Y[train[:, 1]])
        self.best_iteration_ = best[1]
        if self.refine:
            W, self.induced_ = best[2], best[3]
        info = {"method": self.method, "params": self._params(), "seed_pairs": int(len(p.pairs)),
                "best_iteration": self.best_iteration_, "history": self.history_,
                "device": torch_device(), "fit_seconds": round(time.perf_counter() - start, 3),
                "src": src.name, "tgt": tgt.name}
        return Mapping(W, p.src_norm, p.tgt_norm, info)
