"""One shared space for N languages: hub or joint (GPA + multilingual refinement) alignment.

`MultiAligner(...).fit(spaces, dictionaries) -> MultiMapping`; `MultiMapping.pair(src, tgt)`
is an ordinary `Mapping` between any two of its languages.
"""
from __future__ import annotations

from .aligner import DEFAULT_MODE, DEFAULT_REFINE, HUB_METHODS, MODES, MultiAligner
from .mapping import MultiMapping

__all__ = ["DEFAULT_MODE", "DEFAULT_REFINE", "HUB_METHODS", "MODES", "MultiAligner", "MultiMapping"]
