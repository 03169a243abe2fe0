"""The README's main job: align French and Finnish spaCy vectors with the shipped dictionary.

Needs only what `pip install -e ".[demo]"` installs (spaCy and two pipelines from PyPI) and the
dictionaries in the repository's `dictionaries/` folder: nothing is downloaded at run time.
"""
from __future__ import annotations

import time
from pathlib import Path

from ..store.dictionary import Dictionary
from ..store.vectors import Embeddings
from ..errors import InputError
from .run import evaluate_mapping, make_aligner
from ..search.retrieval import retrieve

SRC_PIPELINE = "fr_core_news_md"
TGT_PIPELINE = "spacy_fi_experimental_web_md"
DEMO_WORDS = ("chat", "maison", "eau", "rouge", "livre", "ville")


def default_dictionaries() -> Path:
    """The repository's `dictionaries/` folder (beside the `align` package in a source checkout)."""
    return Path(__file__).resolve().parents[2] / "dictionaries"


def run_demo(dictionaries: str | Path | None = None, max_vocab: int = 20000, refine: int = 5,
             show_progress: bool = False) -> dict:
    """Fit Procrustes and Procrustes + refinement fr→fi, evaluate by BLI, translate a few words."""
    started = time.perf_counter()
    folder = Path(dictionaries) if dictionaries else default_dictionaries()
    train_path, test_path = folder / "fr-fi.train.txt", folder / "fr-fi.test.txt"
    for p in (train_path, test_path):
        if not p.exists():
            raise InputError("demo dictionary not found (run the demo from a source checkout, or pass "
                             "--dictionaries DIR)", str(p))
    fr = Embeddings.load(f"spacy:{SRC_PIPELINE}", max_vocab=max_vocab)
    fi = Embeddings.load(f"spacy:{TGT_PIPELINE}", max_vocab=max_vocab)
    train, test = Dictionary.load(train_path), Dictionary.load(test_path)
    rows, translations = {}, {}
    mapping = None
    for label, n_refine in (("procrustes", 0), (f"procrustes+refine{refine}", refine)):
        t0 = time.perf_counter()
        mapping = make_aligner("procrustes", refine=n_refine, show_progress=show_progress).fit(fr, fi, train)
        rows[label] = {"eval": evaluate_mapping(mapping, fr, fi, test, show_progress=show_progress),
                       "seconds": round(time.perf_counter() - t0, 2)}
    assert mapping is not None
    words = [w for w in DEMO_WORDS if w in fr]
    if words:
        scores, ids = retrieve(mapping.transform(fr.vectors), mapping.normalize_target(fi).vectors,
                               [fr.index[w] for w in words], k=3, method="csls")
        translations = {w: [fi.words[int(j)] for j in row] for w, row in zip(words, ids)}
    return {"src": f"spacy:{SRC_PIPELINE}", "tgt": f"spacy:{TGT_PIPELINE}", "src_words": len(fr),
            "tgt_words": len(fi), "train_pairs": len(train), "test": str(test_path), "results": rows,
            "translations": translations, "seconds": round(time.perf_counter() - started, 2)}
