"""The multi-step framework (Artetxe et al. 2018) for N languages in one shared space.

Around the orthogonal maps of GPA (align.multi.gpa), as align.aligners.multistep does for two:
1. whitening: each language by its own (weighted mean of x xᵀ over its rows in the training pairs)^-½;
2. orthogonal maps Q_l of the whitened languages into one space: GPA on the whitened pair sums;
3. re-weighting: the shared space's axes, in the basis that diagonalises the summed cross-correlation
   of the mapped pairs, scaled by its eigenvalues to the power `reweight`;
4. de-whitening: each language by its own (…)^½, expressed in that basis.
With two languages and one set of pairs this is the bilingual multi-step map (tested).
"""
from __future__ import annotations

import numpy as np

from ..aligners.multistep import _whitening
from ..device import small_linalg
from .gpa import PairStats


def whitenings(stats: list[PairStats]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Language → ((G)^-½, (G)^½), G the weighted mean Gram matrix of its rows over every set of pairs."""
    grams: dict[str, list] = {}
    for s in stats:
        for lang, gram in ((s.a, s.gram_a), (s.b, s.gram_b)):
            if gram is None:
                raise ValueError("whitening needs PairStats with Gram sums (PairStats.of(..., grams=True))")
            total = grams.setdefault(lang, [0.0, 0.0])
            total[0] = total[0] + gram
            total[1] += s.weight
    with small_linalg():
        return {lang: _whitening(g / max(w, 1e-12)) for lang, (g, w) in grams.items()}


def whitened(stats: list[PairStats], wh: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[PairStats]:
    """The pair sums of the whitened rows: Σ w (x Wh_a)ᵀ(y Wh_b) = Wh_a (Σ w x yᵀ) Wh_b (Wh symmetric)."""
    return [PairStats(s.a, s.b, wh[s.a][0] @ s.cross @ wh[s.b][0], s.weight) for s in stats]


def shared_maps(white: list[PairStats], Q: dict[str, np.ndarray], wh: dict[str, tuple[np.ndarray, np.ndarray]],
                reweight: float, dewhiten: bool = True) -> dict[str, np.ndarray]:
    """Each language's whole map (normalised rows → shared space): whiten, Q, re-weight, de-whiten.

    `white` and `Q` are the whitened pair sums and GPA's orthogonal maps of the whitened languages;
    languages without whitening (not in `wh`) keep their Q."""
    d = next(iter(Q.values())).shape[0]
    M = np.zeros((d, d))
    for s in white:
        M += np.asarray(Q[s.a], np.float64).T @ s.cross @ np.asarray(Q[s.b], np.float64)
    with small_linalg():
        eig, U = np.linalg.eigh((M + M.T) / 2)
    eig = np.maximum(eig, 0.0)
    scale = (eig / max(float(eig.max()), 1e-12)) ** reweight if reweight else np.ones(d)
    maps = {}
    for lang, q in Q.items():
        if lang not in wh:
            maps[lang] = np.asarray(q, np.float32)
            continue
        w_inv_half, w_half = wh[lang]
        P = np.asarray(q, np.float64) @ U  # the language's whitened rows → the re-weighting basis
        F = (w_inv_half @ P) * scale
        if dewhiten:
            F = F @ (P.T @ w_half @ P)
        maps[lang] = F.astype(np.float32)
    return maps
