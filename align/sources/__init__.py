"""Where vectors and dictionaries come from: fastText training, downloads, spaCy/floret pipelines, FreeDict.

Nothing here imports spaCy or fastText at import time; each is loaded by the function that needs it.
"""
from __future__ import annotations

from .datadir import NotDownloaded, data_dir, dictionary_filename, find_dictionary, find_vectors, vector_filename
from .download import DownloadError, DownloadResult, download_dictionary, download_vectors, fetch
from .fasttext_train import TrainProgress, TrainResult, fit_fasttext, train_fasttext
from .freedict import freedict_dictionary, import_freedict, read_dictd, split_by_frequency
from .spacy_vectors import load_spacy_vectors

__all__ = [
    "DownloadError", "DownloadResult", "NotDownloaded", "TrainProgress", "TrainResult", "data_dir",
    "dictionary_filename", "download_dictionary", "download_vectors", "fetch", "find_dictionary", "find_vectors",
    "fit_fasttext", "freedict_dictionary", "import_freedict", "load_spacy_vectors", "read_dictd",
    "split_by_frequency", "train_fasttext", "vector_filename",
]
