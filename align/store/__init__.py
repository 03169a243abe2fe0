"""The store: word vectors (`Embeddings`, after gensim's KeyedVectors) with their file formats and binary
cache, and bilingual dictionaries."""
from __future__ import annotations

from .dictionary import Coverage, Dictionary, build_seeds, identical_seeds, numeral_seeds
from .report import LoadReport
from .vectors import Embeddings, load_all

__all__ = ["Coverage", "Dictionary", "Embeddings", "LoadReport", "build_seeds", "identical_seeds", "load_all",
           "numeral_seeds"]
