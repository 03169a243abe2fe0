"""XLM-R bridge: word vectors from a multilingual encoder, and their comparison and fusion with static
alignment. Needs the optional extra `align[xlmr]` (Hugging Face transformers); `import align` never loads it."""
from __future__ import annotations

from .extract import DEFAULT_MODEL, BridgeError, encode_words, encode_words_meta, parse_layers

__all__ = ["DEFAULT_MODEL", "BridgeError", "encode_words", "encode_words_meta", "parse_layers", "compare"]


def compare(*args, **kwargs) -> dict:
    """The four-row comparison (see `align.bridge.comparison.compare`)."""
    from .comparison import compare as _compare

    return _compare(*args, **kwargs)
