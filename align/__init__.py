"""align: static cross-lingual word-embedding alignment and bilingual lexicon induction.

The Python API is the product; `align.cli` is a thin layer over it.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .dictionary import Coverage, Dictionary, identical_seeds, numeral_seeds  # noqa: E402
from .embeddings import Embeddings, LoadReport  # noqa: E402
from .errors import AlignError, AlignmentFailed, InputError  # noqa: E402
from .evaluate import BLIResult, evaluate_bli  # noqa: E402
from .retrieval import knn, retrieve  # noqa: E402

__all__ = [
    "AlignError", "AlignmentFailed", "BLIResult", "Coverage", "Dictionary", "Embeddings", "InputError",
    "LoadReport", "evaluate_bli", "identical_seeds", "knn", "numeral_seeds", "retrieve", "__version__",
]
