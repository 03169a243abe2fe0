"""Adversarial alignment without seeds (after Conneau et al. 2018, "Word translation without
parallel data"), written from the paper.

A discriminator (an MLP) learns to tell mapped source vectors from target vectors, both drawn
among the `dis_most_frequent` most frequent words; the linear map W learns to fool it, and after
each of its steps is pulled back towards the orthogonal manifold (W ← (1+β)W − β(WWᵀ)W). After
every epoch the unsupervised criterion (mean cosine of the CSLS translations of the 10k most
frequent source words) picks the best W and halves the learning rate when it drops. Procrustes
refinement on induced mutual-CSLS dictionaries follows, again kept by the criterion.

On a CPU the work is scaled down (50k samples per epoch, 3 epochs, a discriminator 512 wide;
the paper uses 1M samples, 5 epochs and 2048 on a GPU) so that a run on 20k-word
vocabularies takes minutes, not hours.
"""
from __future__ import annotations

import time

import numpy as np

from .._io import progress as _progress
from ..device import torch_device
from ..store.vectors import Embeddings
from ..errors import InputError
from ..search.induction import Induced, induce
from ..space.normalize import DEFAULT_STEPS
from .base import Fitted, Prepared
from .procrustes import procrustes
from .restarts import FAIL_EXCESS, SeedlessAligner, search_restarts


class AdversarialAligner(SeedlessAligner):
    """MUSE-style adversarial training + Procrustes refinement; the best restart by the criterion wins.

    `epochs`, `epoch_size` and `dis_hidden` left at None are decided by the device in `fit` (the paper's
    5 epochs of 1M samples and a 2048-wide discriminator on a GPU; 3, 50k and 512 on a CPU); the values
    used are recorded in the mapping as `resolved`.
    """

    method = "adversarial"

    def __init__(self, normalize=DEFAULT_STEPS, epochs: int | None = None, epoch_size: int | None = None,
                 batch_size: int = 32, dis_steps: int = 5, dis_hidden: int | None = None, dis_layers: int = 2,
                 dis_dropout: float = 0.0, dis_input_dropout: float = 0.1, dis_smooth: float = 0.1,
                 dis_most_frequent: int = 75000, dis_lr: float = 0.1, map_lr: float = 0.1, lr_decay: float = 0.98,
                 map_beta: float = 0.001, refine: int = 5, refine_vocab: int = 15000, csls_k: int = 10,
                 criterion_words: int = 10000, restarts: int = 1, stop_when_converged: bool = True, seed: int = 0,
                 fail_excess: float = FAIL_EXCESS, show_progress: bool = False):
        self._store(locals())

    def _validate(self) -> None:
        if self.restarts < 1:
            raise InputError(f"restarts must be >= 1, got {self.restarts}")
        for name in ("epochs", "epoch_size", "dis_hidden"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InputError(f"{name} must be >= 1, got {value}")

    def _resolve(self) -> dict:
        """The device-dependent sizes this fit uses (the parameters left at None, decided here)."""
        gpu = torch_device() == "cuda"
        return {"epochs": self.epochs if self.epochs is not None else (5 if gpu else 3),
                "epoch_size": self.epoch_size if self.epoch_size is not None else (1_000_000 if gpu else 50_000),
                "dis_hidden": self.dis_hidden if self.dis_hidden is not None else (2048 if gpu else 512)}

    def _criterion(self, X: np.ndarray, Y: np.ndarray, W: np.ndarray) -> Induced:
        """Mutual-CSLS induction among the `refine_vocab` most frequent words, with the criterion."""
        return induce(X @ W, Y, max_rank=self.refine_vocab, mode="mutual", csls_k=self.csls_k,
                      criterion_words=self.criterion_words)

    def _adversarial(self, X: np.ndarray, Y: np.ndarray, seed: int, label: str, sizes: dict
                     ) -> tuple[np.ndarray, list[dict]]:
        """The adversarial phase for one seed; returns the best W by the criterion and the epoch log."""
        import torch
        from torch import nn

        dev = torch_device()
        d = X.shape[1]
        log: list[dict] = []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            gen = torch.Generator().manual_seed(seed)
            xs = torch.from_numpy(np.ascontiguousarray(X[:self.dis_most_frequent])).to(dev)
            ys = torch.from_numpy(np.ascontiguousarray(Y[:self.dis_most_frequent])).to(dev)
            layers: list[nn.Module] = [nn.Dropout(self.dis_input_dropout)]
            width = d
            for _ in range(self.dis_layers):
                layers += [nn.Linear(width, sizes["dis_hidden"]), nn.LeakyReLU(0.2), nn.Dropout(self.dis_dropout)]
                width = sizes["dis_hidden"]
            layers += [nn.Linear(width, 1)]
            dis = nn.Sequential(*layers).to(dev)
            mapping = nn.Linear(d, Y.shape[1], bias=False).to(dev)
            with torch.no_grad():
                mapping.weight.copy_(torch.eye(Y.shape[1], d))
            dis_opt = torch.optim.SGD(dis.parameters(), lr=self.dis_lr)
            map_opt = torch.optim.SGD(mapping.parameters(), lr=self.map_lr)
            loss_fn = nn.BCEWithLogitsLoss()
            bs = self.batch_size
            labels = torch.cat([torch.full((bs,), 1.0 - self.dis_smooth), torch.full((bs,), self.dis_smooth)]).to(dev)
            best_crit, best_W = -np.inf, mapping.weight.detach().T.cpu().numpy().copy()

            def batch() -> "torch.Tensor":
                """Mapped source rows then target rows, drawn uniformly among the most frequent."""
                i = torch.randint(len(xs), (bs,), generator=gen).to(dev)
                j = torch.randint(len(ys), (bs,), generator=gen).to(dev)
                return torch.cat([mapping(xs[i]), ys[j]])

            steps = max(1, sizes["epoch_size"] // bs)
            for epoch in range(sizes["epochs"]):
                t0 = time.perf_counter()
                dis.train()
                losses = []
                for _ in _progress(range(steps), self.show_progress, desc=f"{label} epoch {epoch + 1}", unit="step"):
                    for _ in range(self.dis_steps):
                        z = batch().detach()
                        loss = loss_fn(dis(z).squeeze(1), labels)
                        dis_opt.zero_grad()
                        loss.backward()
                        dis_opt.step()
                    losses.append(float(loss.detach()))
                    z = batch()
                    loss = loss_fn(dis(z).squeeze(1), 1.0 - labels)  # fool the discriminator
                    map_opt.zero_grad()
                    loss.backward()
                    map_opt.step()
                    with torch.no_grad():
                        w = mapping.weight
                        w.copy_((1 + self.map_beta) * w - self.map_beta * w.mm(w.T.mm(w)))
                W = mapping.weight.detach().T.cpu().numpy().copy()
                crit = self._criterion(X, Y, W).criterion
                log.append({"phase": "adversarial", "iteration": epoch, "criterion": round(crit, 6), "dis_loss": round(float(np.mean(losses)), 4),
                            "seconds": round(time.perf_counter() - t0, 2)})
                if crit > best_crit:
                    best_crit, best_W = crit, W
                else:
                    for opt in (map_opt,):
                        for g in opt.param_groups:
                            g["lr"] *= 0.5
                for opt in (dis_opt, map_opt):
                    for g in opt.param_groups:
                        g["lr"] *= self.lr_decay
        return best_W, log

    def _refine(self, X: np.ndarray, Y: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, Induced, list[dict]]:
        """Procrustes refinement on induced mutual-CSLS dictionaries; keeps the best round by the criterion."""
        ind = self._criterion(X, Y, W)
        best = (ind.criterion, W, ind)
        log = [{"phase": "refinement", "iteration": 0, "criterion": round(ind.criterion, 6), "pairs": int(len(ind.pairs))}]
        for it in range(1, self.refine + 1):
            if len(ind.pairs) == 0:
                break
            W = procrustes(X[ind.pairs[:, 0]], Y[ind.pairs[:, 1]])
            ind = self._criterion(X, Y, W)
            log.append({"phase": "refinement", "iteration": it, "criterion": round(ind.criterion, 6), "pairs": int(len(ind.pairs))})
            if ind.criterion > best[0]:
                best = (ind.criterion, W, ind)
        return best[1], best[2], log

    def _fit(self, p: Prepared, src: Embeddings, tgt: Embeddings) -> Fitted:
        """Adversarial phase + refinement from each restart; the best restart by the criterion is kept."""
        X, Y = p.X, p.Y
        sizes = self._resolve()

        def run(r: int) -> tuple[np.ndarray, Induced, list[dict]]:
            W, adv_log = self._adversarial(X, Y, self.seed * 1000 + r, f"adversarial {r + 1}/{self.restarts}", sizes)
            W, ind, ref_log = self._refine(X, Y, W)
            return W, ind, adv_log + ref_log

        found = search_restarts(X, Y, run, restarts=self.restarts, seed=self.seed,
                                stop_when_converged=self.stop_when_converged, n=self.criterion_words,
                                excess=self.fail_excess, held=self._held_X)
        return self._finish(found, {"resolved": sizes})
