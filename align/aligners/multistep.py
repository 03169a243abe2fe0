"""The multi-step framework of Artetxe et al. (2018, AAAI, "Generalizing and improving bilingual word
embedding mappings with a multi-step framework of linear transformations"), written from the paper.

Orthogonal Procrustes is its middle step. Around it, on the dictionary rows of both sides:
1. whitening: each side by (AᵀA)^-½, so that its dimensions are decorrelated with unit variance;
2. orthogonal mapping of both whitened sides into one space: SVD of ÃᵀB̃ = U S Vᵀ, map Ã U and B̃ V;
3. re-weighting: each side scaled by S^p (p = `reweight`; both sides share it);
4. de-whitening: each side by its own (AᵀA)^½, expressed in the rotated basis.
The result is a pair of linear maps, one per side, applied after the normalisation steps.
"""
from __future__ import annotations

import numpy as np

from ..device import small_linalg
from ..errors import InputError


def _whitening(gram: np.ndarray, eps: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """(AᵀA)^-½ and (AᵀA)^½ from the Gram matrix AᵀA (float64, d × d): an eigendecomposition of d × d
    instead of an SVD of the n × d rows (the same result, several times cheaper for n ≫ d)."""
    w, v = np.linalg.eigh(gram)
    w = np.maximum(w, eps * max(float(w.max()), eps))
    s = np.sqrt(w)
    return (v / s) @ v.T, (v * s) @ v.T


def multistep(A: np.ndarray, B: np.ndarray, *, whiten: bool = True, reweight: float = 0.5,
              dewhiten: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Maps (W_src, W_tgt) of paired rows A (sources) and B (targets) into one space.

    With whiten=False and reweight=0 this is orthogonal Procrustes with both sides rotated
    (A W_src W_tgtᵀ = A U Vᵀ). Returns float32 d × d matrices.
    """
    if A.shape != B.shape or A.ndim != 2:
        raise InputError(f"the multi-step mapping needs paired matrices of one shape, got {A.shape} and {B.shape}")
    if len(A) < A.shape[1] and whiten:
        raise InputError(f"whitening needs at least as many seed pairs as dimensions ({len(A)} < {A.shape[1]})")
    A64, B64 = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
    d = A.shape[1]
    # The n-row products, on every BLAS thread; the rest is d × d: (A wa)ᵀ(B wb) = wa (AᵀB) wb, wa symmetric.
    cross = A64.T @ B64
    grams = (A64.T @ A64, B64.T @ B64) if whiten else None
    with small_linalg():
        if whiten:
            wa, wa_inv = _whitening(grams[0])
            wb, wb_inv = _whitening(grams[1])
            cross = wa @ cross @ wb
        else:
            wa = wa_inv = wb = wb_inv = np.eye(d)
        u, s, vt = np.linalg.svd(cross, full_matrices=False)
    v = vt.T
    scale = s ** reweight if reweight else np.ones_like(s)
    if reweight and s.max() > 0 and not 1e-6 <= s.max() ** reweight <= 1e6:
        # a large p would underflow every weight (an all-zero map) or overflow: take s^p relative to the
        # largest instead, the same map up to one factor on both sides, which no cosine sees
        scale = (s / s.max()) ** reweight
    Wa = (wa @ u) * scale
    Wb = (wb @ v) * scale
    if whiten and dewhiten:
        Wa = Wa @ (u.T @ wa_inv @ u)
        Wb = Wb @ (v.T @ wb_inv @ v)
    return Wa.astype(np.float32), Wb.astype(np.float32)
