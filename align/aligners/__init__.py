"""Aligners: one module per method, one contract: `Aligner(...).fit(src, tgt, seeds) -> Mapping`."""
from __future__ import annotations

from .procrustes import ProcrustesAligner, procrustes
from .rcsls import RCSLSAligner


__all__ = ["ProcrustesAligner", "RCSLSAligner", "procrustes"]
