"""align: static cross-lingual word-embedding alignment and bilingual lexicon induction.

The Python API is the product; `align.cli` is a thin layer over it.
"""
from __future__ import annotations

__version__ = "0.1.0"

import os as _os

# faiss's OpenMP threads (libgomp) spin for a while after each parallel region (its heaps) and take
# the cores from the numpy/torch threads that run next; waiting passively is much faster on small
# machines (benchmarks/RESULTS.md). Set before faiss loads, and only when the user has not chosen a
# policy (OMP_WAIT_POLICY=ACTIVE keeps libgomp's default).
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .errors import AlignError, AlignmentFailed, InputError  # noqa: E402
from .search.evaluate import BLIResult, evaluate_bli  # noqa: E402
from .search.retrieval import knn, retrieve  # noqa: E402
from .space.mapping import Mapping  # noqa: E402
from .space.normalize import Normalizer  # noqa: E402
from .store.dictionary import Coverage, Dictionary, identical_seeds, numeral_seeds  # noqa: E402
from .store.vectors import Embeddings, LoadReport  # noqa: E402

__all__ = [
    "AlignError", "AlignmentFailed", "BLIResult", "Coverage", "Dictionary", "Embeddings", "InputError",
    "LoadReport", "Mapping", "Normalizer", "evaluate_bli", "identical_seeds", "knn", "numeral_seeds", "retrieve",
    "__version__",
]
