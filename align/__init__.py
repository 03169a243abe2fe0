"""align: static cross-lingual word-embedding alignment and bilingual lexicon induction.

The Python API is the product; `align.cli` is a thin layer over it.
"""
from __future__ import annotations

__version__ = "0.1.0"

import os as _os

# faiss's OpenMP threads (libgomp) spin for a while after each parallel region (its heaps, its
# searches) and take the cores from the numpy/torch threads that run next. On the 2-core kit machine,
# waiting passively makes `align procrustes` a quarter faster (4.3 s against 5.9 s from the cache)
# and a short `align adversarial` run twice as fast (12.6 s against 22 s). Set before faiss loads, and
# only when the user has not chosen a policy (OMP_WAIT_POLICY=ACTIVE keeps libgomp's default).
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .store.dictionary import Coverage, Dictionary, identical_seeds, numeral_seeds  # noqa: E402
from .store.vectors import Embeddings, LoadReport  # noqa: E402
from .errors import AlignError, AlignmentFailed, InputError  # noqa: E402
from .search.evaluate import BLIResult, evaluate_bli  # noqa: E402
from .search.retrieval import knn, retrieve  # noqa: E402

__all__ = [
    "AlignError", "AlignmentFailed", "BLIResult", "Coverage", "Dictionary", "Embeddings", "InputError",
    "LoadReport", "evaluate_bli", "identical_seeds", "knn", "numeral_seeds", "retrieve", "__version__",
]
