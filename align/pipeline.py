"""End-to-end jobs that the CLI, the demo and the benchmarks share: fit, evaluate, write outputs."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ._io import atomic_write
from .device import describe as describe_device
from .store.dictionary import Dictionary
from .store.vectors import Embeddings
from .errors import InputError
from .search.evaluate import evaluate_bli
from .search.induction import REFINE_VOCAB, induce
from .space.mapping import Mapping


def make_aligner(method: str, **params):
    """The aligner object for `method` (procrustes, rcsls, unsupervised, adversarial) with the given parameters."""
    if method == "procrustes":
        from .aligners import ProcrustesAligner as cls
    elif method == "rcsls":
        from .aligners import RCSLSAligner as cls
    elif method == "unsupervised":
        from .aligners.unsupervised import UnsupervisedAligner as cls
    elif method == "adversarial":
        from .aligners.adversarial import AdversarialAligner as cls
    else:
        raise InputError(f"unknown method {method!r}; choose procrustes, rcsls, unsupervised or adversarial")
    return cls(**params)


def mapped_spaces(mapping: Mapping, src: Embeddings, tgt: Embeddings) -> tuple[Embeddings, Embeddings]:
    """Both sides in the shared space: the mapped source, and the normalised (with W_tgt, mapped) target."""
    return mapping.transform_embeddings(src), mapping.normalize_target(tgt)


def evaluate_mapping(mapping: Mapping, src: Embeddings, tgt: Embeddings, dico: Dictionary,
                     retrievals=("nn", "csls"), show_progress: bool = False, *,
                     spaces: tuple[Embeddings, Embeddings] | None = None) -> dict:
    """BLI results of `mapping` on `dico` for each retrieval, as dicts keyed by retrieval name.
    `spaces`: what `mapped_spaces` returns, if already made."""
    s, t = mapped_spaces(mapping, src, tgt) if spaces is None else spaces
    return {r: evaluate_bli(s, t, dico, r, show_progress=show_progress).to_dict() for r in retrievals}


def mapped_texts(mapping: Mapping, spaces: tuple[Embeddings, Embeddings]) -> tuple[bytes, bytes | None]:
    """The .vec text of the mapped source, and of the mapped target when the mapping moves the target side
    (None otherwise): the costly part of `write_outputs`, which a caller may run in a thread beside the
    evaluation (numpy's formatting releases the GIL)."""
    s, t = spaces
    return s.to_text(), (t.to_text() if mapping.W_tgt is not None else None)


def write_outputs(output: str | Path, mapping: Mapping, src: Embeddings, tgt: Embeddings,
                  metrics: dict, induced_pairs: np.ndarray | None = None,
                  induced_scores: np.ndarray | None = None, refine_vocab: int = REFINE_VOCAB, *,
                  spaces: tuple[Embeddings, Embeddings] | None = None,
                  texts: tuple[bytes, bytes | None] | None = None) -> dict:
    """Write the mapping, the mapped source vectors (and target vectors when the mapping moves the
    target side), the induced dictionary (with CSLS scores) and metrics.json into `output`; each
    file atomically. `spaces`, `texts`: what `mapped_spaces` and `mapped_texts` return, if already made.
    Returns the paths written."""
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    mapping.save(out)
    mapped, mapped_tgt = mapped_spaces(mapping, src, tgt) if spaces is None else spaces
    src_text, tgt_text = mapped_texts(mapping, (mapped, mapped_tgt)) if texts is None else texts
    vec_path = out / f"{mapping.info.get('src_lang', 'src')}.mapped.vec"
    mapped.save(vec_path, text=src_text)
    paths = {"mapping": str(out), "mapped_vectors": str(vec_path)}
    if tgt_text is not None:  # the target side moves too: write it in the shared space
        tgt_path = out / f"{mapping.info.get('tgt_lang', 'tgt')}.mapped.vec"
        with atomic_write(tgt_path, "wb") as f:
            f.write(tgt_text)
        paths["mapped_target_vectors"] = str(tgt_path)
    if induced_pairs is None:
        ind = induce(mapped.vectors, mapped_tgt.vectors, max_rank=refine_vocab)
        induced_pairs, induced_scores = ind.pairs, ind.scores
    dico_path = out / "induced.txt"
    order = np.argsort(-np.asarray(induced_scores))
    with atomic_write(dico_path, "w") as f:
        for i in order:
            a, b = induced_pairs[i]
            f.write(f"{src.words[int(a)]} {tgt.words[int(b)]} {float(induced_scores[i]):.6f}\n")
    paths.update(induced_dictionary=str(dico_path), metrics=str(out / "metrics.json"))
    with atomic_write(out / "metrics.json", "w") as f:
        json.dump({**metrics, "outputs": paths}, f, indent=1, ensure_ascii=False)
    return paths


def finish_run(aligner, mapping: Mapping, src: Embeddings, tgt: Embeddings, metrics: dict,
               dico_eval: Dictionary | None, output: str | Path | None, started: float,
               show_progress: bool = False) -> dict:
    """Shared tail of every alignment job: evaluate (NN, CSLS), write outputs, stamp time and device.

    With both an evaluation and an output, the mapped vectors' text is formatted in a thread while
    the evaluation runs; nothing is written before the evaluation has succeeded."""
    spaces = mapped_spaces(mapping, src, tgt) if (dico_eval is not None or output is not None) else None
    texts = None
    if dico_eval is not None:
        pending = None
        if output is not None:
            from concurrent.futures import ThreadPoolExecutor

            ex = ThreadPoolExecutor(1)
            pending = ex.submit(mapped_texts, mapping, spaces)
            ex.shutdown(wait=False)
        metrics["eval"] = evaluate_mapping(mapping, src, tgt, dico_eval, show_progress=show_progress, spaces=spaces)
        texts = None if pending is None else pending.result()
    if output is not None:
        induced = getattr(aligner, "induced_", None)
        metrics["seconds"] = round(time.perf_counter() - started, 3)
        metrics["device"] = describe_device()
        metrics["outputs"] = write_outputs(
            output, mapping, src, tgt, metrics,
            None if induced is None else induced.pairs, None if induced is None else induced.scores,
            refine_vocab=getattr(aligner, "refine_vocab", REFINE_VOCAB), spaces=spaces, texts=texts)
    metrics["seconds"] = round(time.perf_counter() - started, 3)
    metrics["device"] = describe_device()
    return metrics


def run_supervised(src: Embeddings, tgt: Embeddings, seeds: Dictionary, *, method: str = "procrustes",
                   dico_eval: Dictionary | None = None, output: str | Path | None = None,
                   src_lang: str = "src", tgt_lang: str = "tgt", started: float | None = None,
                   **params) -> tuple[Mapping, dict]:
    """Fit `method` on `seeds`, evaluate on `dico_eval` (NN and CSLS), write outputs; return (mapping, metrics)."""
    started = time.perf_counter() if started is None else started
    aligner = make_aligner(method, **params)
    mapping = aligner.fit(src, tgt, seeds)
    mapping.info.update(src_lang=src_lang, tgt_lang=tgt_lang,
                        src_path=_abs(src.report.path), tgt_path=_abs(tgt.report.path))
    cov = seeds.coverage(src, tgt)
    metrics: dict = {"src": src_lang, "tgt": tgt_lang, "method": method, "params": mapping.info.get("params"),
                     "seed_pairs": cov.to_dict(), "history": mapping.info.get("history", []),
                     "best_iteration": mapping.info.get("best_iteration"),
                     "converged_at": mapping.info.get("converged_at"),
                     "fit_seconds": mapping.info.get("fit_seconds")}
    finish_run(aligner, mapping, src, tgt, metrics, dico_eval, output, started, params.get("show_progress", False))
    return mapping, metrics


def _abs(path: str) -> str:
    return str(Path(path).resolve()) if path and not path.startswith("spacy:") else path
