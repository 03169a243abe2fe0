"""The space: normalisation steps that record themselves, and the Mapping that carries them with its matrices."""
from __future__ import annotations

from .mapping import Mapping
from .normalize import DEFAULT_STEPS, Normalizer, parse_steps

__all__ = ["DEFAULT_STEPS", "Mapping", "Normalizer", "parse_steps"]
