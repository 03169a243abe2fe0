"""The alignment job that the CLI, the demo, grids and the benchmarks share: fit any registered aligner
(with seeds or without), evaluate by BLI, write the output folder."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..aligners import get_aligner
from ..device import describe as describe_device
from ..search.evaluate import evaluate_bli
from ..search.induction import REFINE_VOCAB
from ..space.mapping import Mapping
from ..store.dictionary import Dictionary
from ..store.vectors import Embeddings
from .outputs import mapped_spaces, mapped_texts, write_outputs

MAX_VOCAB = 200_000  # words of each side a job loads unless told otherwise (the published BLI setting)
# What mapping.info holds that the metrics leave out (names and paths are given as the job's own keys).
_NOT_METRICS = ("src", "tgt", "src_lang", "tgt_lang", "src_path", "tgt_path", "device")


def make_aligner(method: str, **params):
    """The registered aligner for `method` with the given parameters."""
    return get_aligner(method)(**params)


def evaluate_mapping(mapping: Mapping, src: Embeddings, tgt: Embeddings, dico: Dictionary,
                     retrievals=("nn", "csls"), show_progress: bool = False, *,
                     spaces: tuple[Embeddings, Embeddings] | None = None, approx: bool = False) -> dict:
    """BLI results of `mapping` on `dico` for each retrieval, as dicts keyed by retrieval name.
    `spaces`: what `mapped_spaces` returns, if already made; `approx`: see `evaluate_bli`."""
    s, t = mapped_spaces(mapping, src, tgt) if spaces is None else spaces
    return {r: evaluate_bli(s, t, dico, r, approx=approx, show_progress=show_progress).to_dict() for r in retrievals}


def run_alignment(src: Embeddings, tgt: Embeddings, seeds: Dictionary | None = None, *,
                  method: str = "procrustes", dico_eval: Dictionary | None = None,
                  output: str | Path | None = None, src_lang: str = "src", tgt_lang: str = "tgt",
                  started: float | None = None, reranker=None, approx: bool = False, **params
                  ) -> tuple[Mapping, dict]:
    """Fit `method` (on `seeds`, or without any for a seedless method), evaluate on `dico_eval` (NN and CSLS),
    write the output folder; return (mapping, metrics).

    The metrics hold the mapping's provenance (params, history, best_iteration, …; for a seedless method
    its verdict `failed` and the criteria of its restarts), `seed_pairs` (coverage of the seeds), `eval`,
    `seconds` and `device`. The outputs are written only after the evaluation has succeeded; the caller
    decides how to report a failed seedless run. `approx`: approximate CSLS in the evaluation (see `evaluate_bli`).

    `reranker` (an unfitted align.rerank.Reranker, needs seeds): fitted on the seeds after the mapping,
    evaluated on the same queries as `eval.rerank`, summarised as `rerank` and saved in the folder's rerank/.
    """
    started = time.perf_counter() if started is None else started
    aligner = make_aligner(method, **params)
    mapping = aligner.fit(src, tgt, seeds)
    mapping.info.update(src_lang=src_lang, tgt_lang=tgt_lang,
                        src_path=_abs(src.report.path), tgt_path=_abs(tgt.report.path))
    metrics: dict = {"src": src_lang, "tgt": tgt_lang,
                     **{k: v for k, v in mapping.info.items() if k not in _NOT_METRICS}}
    metrics["seed_pairs"] = seeds.coverage(src, tgt).to_dict() if seeds is not None else None
    spaces = mapped_spaces(mapping, src, tgt) if (dico_eval is not None or output is not None) else None
    texts = None
    if dico_eval is not None:
        pending = None
        if output is not None:  # format the mapped vectors' text while the evaluation runs
            ex = ThreadPoolExecutor(1)
            pending = ex.submit(mapped_texts, mapping, spaces)
            ex.shutdown(wait=False)
        metrics["eval"] = evaluate_mapping(mapping, src, tgt, dico_eval, show_progress=params.get("show_progress",
                                                                                                  False),
                                           spaces=spaces, approx=approx)
        texts = None if pending is None else pending.result()
    if reranker is not None:
        if seeds is None:
            from ..errors import InputError

            raise InputError("reranking needs a seed dictionary")
        extra = None
        if reranker.encoder:  # encode once: the seed words and the test's source words
            queries = [s for s, _ in dico_eval.pairs] if dico_eval is not None else []
            extra = reranker.encode(src, tgt, seeds.pairs, queries)
        reranker.fit(src, tgt, seeds, extra)
        metrics["rerank"] = reranker.summary()
        if dico_eval is not None:
            metrics["eval"]["rerank"] = reranker.evaluate(src, tgt, dico_eval, extra)
    if output is not None:
        metrics["seconds"] = round(time.perf_counter() - started, 3)
        metrics["device"] = describe_device()
        metrics["outputs"] = write_outputs(output, mapping, src, tgt, metrics, aligner.induced_,
                                           refine_vocab=getattr(aligner, "refine_vocab", REFINE_VOCAB),
                                           spaces=spaces, texts=texts, reranker=reranker)
    metrics["seconds"] = round(time.perf_counter() - started, 3)
    metrics["device"] = describe_device()
    return mapping, metrics


def _abs(path: str) -> str:
    return str(Path(path).resolve()) if path and not path.startswith("spacy:") else path
