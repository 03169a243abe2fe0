"""Learned reranking of translation candidates (`align procrustes … --rerank`).

Needs the optional extra `align[rerank]` (LightGBM, scikit-learn, rapidfuzz); `import align` never loads it.
"""
from __future__ import annotations

from .reranker import DEFAULT_FOLDS, DEFAULT_K, DEFAULT_MAPS, DEFAULT_MODEL, Reranker

__all__ = ["DEFAULT_FOLDS", "DEFAULT_K", "DEFAULT_MAPS", "DEFAULT_MODEL", "Reranker"]
