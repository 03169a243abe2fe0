"""End-to-end unsupervised jobs (shared by the CLI and the benchmarks): fit without seeds,
evaluate when a test dictionary is given, write the same outputs as the supervised command."""
from __future__ import annotations

import time
from pathlib import Path

from .store.dictionary import Dictionary
from .store.vectors import Embeddings
from .errors import InputError
from .space.mapping import Mapping
from .pipeline import _abs, finish_run, make_aligner

UNSUPERVISED_METHODS: tuple[str, ...] = ("unsupervised", "adversarial")


def make_unsupervised_aligner(method: str, **params):
    """The aligner object for `method` ('unsupervised' or 'adversarial')."""
    if method not in UNSUPERVISED_METHODS:
        raise InputError(f"unknown method {method!r}; choose {' or '.join(UNSUPERVISED_METHODS)}")
    return make_aligner(method, **params)


def run_unsupervised(src: Embeddings, tgt: Embeddings, *, method: str = "unsupervised",
                     dico_eval: Dictionary | None = None, output: str | Path | None = None,
                     src_lang: str = "src", tgt_lang: str = "tgt", started: float | None = None,
                     **params) -> tuple[Mapping, dict]:
    """Fit `method` with no seeds, evaluate on `dico_eval` if given, write outputs; return (mapping, metrics).

    The metrics hold `criterion` (of the kept restart), `restarts` (each restart's criterion) and
    `restarts_converged` (each restart's verdict),
    `distinctiveness` (how far each translation stands out of its neighbours), its
    `null_distinctiveness` under random rotations, and `failed` (the last three, like `criterion`, of the
    final map), and for `unsupervised` `citation_history` (the citation refits' log); the caller decides how
    to report a failure.
    """
    started = time.perf_counter() if started is None else started
    aligner = make_unsupervised_aligner(method, **params)
    mapping = aligner.fit(src, tgt)
    mapping.info.update(src_lang=src_lang, tgt_lang=tgt_lang,
                        src_path=_abs(src.report.path), tgt_path=_abs(tgt.report.path))
    metrics: dict = {"src": src_lang, "tgt": tgt_lang, "method": method, "params": mapping.info.get("params"),
                     "criterion": round(float(aligner.criterion_), 6), "restarts": list(aligner.restarts_),
                     "restarts_converged": list(aligner.restarts_converged_),
                     "best_restart": int(aligner.best_restart_),
                     "distinctiveness": round(float(aligner.distinctiveness_), 6),
                     "null_distinctiveness": round(float(aligner.null_), 6),
                     "failed": bool(aligner.failed_), "history": mapping.info.get("history", []),
                     "fit_seconds": mapping.info.get("fit_seconds")}
    if "citation_history" in mapping.info:
        metrics["citation_history"] = mapping.info["citation_history"]
    finish_run(aligner, mapping, src, tgt, metrics, dico_eval, output, started, params.get("show_progress", False))
    return mapping, metrics
