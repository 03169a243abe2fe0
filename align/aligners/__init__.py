"""Aligners: one module per method, one contract (align.aligners.base): `Aligner(**params).fit(src, tgt, seeds)
-> Mapping`. `ALIGNERS` maps each method's name to its class; the CLI and the jobs look methods up there."""
from __future__ import annotations

from ..errors import InputError
from .adversarial import AdversarialAligner
from .base import Aligner
from .procrustes import ProcrustesAligner, procrustes
from .rcsls import RCSLSAligner
from .unsupervised import UnsupervisedAligner

ALIGNERS: dict[str, type[Aligner]] = {cls.method: cls for cls in (
    ProcrustesAligner, RCSLSAligner, UnsupervisedAligner, AdversarialAligner)}


def get_aligner(method: str) -> type[Aligner]:
    """The aligner class registered as `method`."""
    try:
        return ALIGNERS[method]
    except KeyError:
        raise InputError(f"unknown method {method!r}; choose from {', '.join(ALIGNERS)}") from None


__all__ = ["ALIGNERS", "AdversarialAligner", "Aligner", "ProcrustesAligner", "RCSLSAligner", "UnsupervisedAligner",
           "get_aligner", "procrustes"]
