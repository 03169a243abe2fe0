"""fastText `.bin` models (fasttext-wheel): the vocabulary's vectors, and OOV words through subwords."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import InputError
from .report import LoadReport
from .vectors import Embeddings


def load_fasttext_model(path: str | os.PathLike):
    """Load a fastText `.bin` model with fasttext-wheel, quietly, with a clear error on a bad file: one whose
    size is not what its header declares (align.store.fasttext_header) is refused before fastText reads it."""
    from .fasttext_header import read_layout

    try:
        read_layout(path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", str(path)) from None
    import fasttext
    import fasttext.FastText as ft_module

    ft_module.eprint = lambda *a, **k: None  # silence the wrapper's deprecation notice
    try:
        return fasttext.load_model(str(path))
    except (ValueError, RuntimeError, MemoryError) as exc:
        raise InputError(f"not a fastText .bin model ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})",
                         str(path)) from None


def load_bin(path: Path, max_vocab: int | None, extra: Iterable[str] | None) -> Embeddings:
    model = load_fasttext_model(path)
    vocab = list(model.get_words(on_unicode_error="replace"))
    if max_vocab is not None:
        vocab = vocab[:max_vocab]
    seen = set(vocab)
    if extra is not None:
        for w in extra:
            if w not in seen:
                seen.add(w)
                vocab.append(w)
    if not vocab:
        raise InputError("model has no words", str(path))
    vectors = np.stack([model.get_word_vector(w) for w in vocab]).astype(np.float32)
    zero = ~vectors.any(axis=1)
    report = LoadReport(path=str(path))
    if zero.any():  # words with no known subword get a zero vector: keep them out
        report.zero_vectors = int(zero.sum())
        vocab = [w for w, z in zip(vocab, zero) if not z]
        vectors = vectors[~zero]
    return Embeddings(vocab, vectors, subword_model=model, report=report, name=path.name)


def bin_word_vectors(path: str | os.PathLike, words: Sequence[str]) -> Embeddings:
    """Vectors of exactly `words` (first occurrences, in order) from a fastText .bin model, OOV words through
    subwords; words with no known subword (a zero vector) are left out."""
    model = load_fasttext_model(path)
    uniq = list(dict.fromkeys(words))
    vecs = np.stack([model.get_word_vector(w) for w in uniq]).astype(np.float32)
    keep = vecs.any(axis=1)
    return Embeddings([w for w, k in zip(uniq, keep) if k], vecs[keep], subword_model=model)
