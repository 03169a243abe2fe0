"""Bilingual lexicon induction (BLI) by the MUSE protocol, on top of `retrieval`.

Queries are the distinct source words of the test dictionary that have at least one
gold translation in the target vocabulary; a query is correct at k when any of its
gold targets is among its k best retrieved targets. Precision is over queries.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..device import describe as describe_device
from ..store.dictionary import Coverage, Dictionary
from ..store.vectors import Embeddings
from ..errors import InputError
from .retrieval import METHODS, retrieve


@dataclass
class BLIResult:
    """Precision at 1/5/10 (percent), coverage and the query count of one BLI evaluation."""

    retrieval: str
    precision_at_1: float
    precision_at_5: float
    precision_at_10: float
    n_queries: int
    coverage: float
    coverage_detail: dict
    device: str
    seconds: float
    predictions: dict[str, list[str]] = field(default_factory=dict, repr=False)
    approx: bool = False  # CSLS from probe searches (align.search.bounded), not exact

    def to_dict(self) -> dict:
        out = asdict(self)
        out.pop("predictions")
        return out


def bli_queries(src: Embeddings, tgt: Embeddings, dico: Dictionary) -> tuple[np.ndarray, list[set[int]], Coverage]:
    """Distinct in-vocabulary source rows of `dico` (first-seen order), their gold target rows, coverage."""
    cov = dico.coverage(src, tgt)
    gold: dict[int, set[int]] = {}
    for s, t in dico.pairs:
        i, j = src.index.get(s), tgt.index.get(t)
        if i is not None and j is not None:
            gold.setdefault(i, set()).add(j)
    rows = np.fromiter(gold.keys(), dtype=np.int64, count=len(gold))
    return rows, [gold[int(i)] for i in rows], cov


def precision_at(ids: np.ndarray, gold: list[set[int]], ks: tuple[int, ...] = (1, 5, 10)) -> dict[int, float]:
    """Share (percent) of queries with a gold target among their first k retrieved ids, for each k."""
    if len(gold) == 0:
        return {k: 0.0 for k in ks}
    first_hit = np.full(len(gold), np.inf)
    for q, (row, g) in enumerate(zip(ids, gold)):
        for rank, j in enumerate(row):
            if int(j) in g:
                first_hit[q] = rank
                break
    return {k: float(100.0 * np.mean(first_hit < k)) for k in ks}


def evaluate_bli(
    src: Embeddings,
    tgt: Embeddings,
    dico: Dictionary,
    retrieval: str = "csls",
    *,
    exclude_identical: bool = False,
    csls_k: int = 10,
    isf_beta: float = 1.0,
    keep_predictions: bool = False,
    approx: bool = False,
    show_progress: bool = False,
) -> BLIResult:
    """Evaluate BLI of `src` against `tgt` (already in one space) on `dico`.

    The whole target vocabulary is the search space, as in MUSE. With
    `exclude_identical`, pairs of identical strings are dropped first (fastText's --nomatch).
    `approx`: CSLS from probe searches of k-means cells (faster on large spaces, not exact; other
    retrievals ignore it).
    """
    if retrieval not in METHODS:
        raise InputError(f"unknown retrieval {retrieval!r}; choose one of {', '.join(METHODS)}")
    if src.dim != tgt.dim:
        raise InputError(f"dimension mismatch: source vectors have {src.dim} dimensions, target vectors {tgt.dim}")
    start = time.perf_counter()
    if exclude_identical:
        dico = dico.without_identical()
    rows, gold, cov = bli_queries(src, tgt, dico)
    if len(rows) == 0:
        raise InputError(
            f"no dictionary pair has both words in the vocabularies ({cov.pairs} pairs: "
            f"{cov.dropped_src} unknown source words, {cov.dropped_tgt} unknown target words)", dico.path or dico.name or None)
    _, ids = retrieve(src.vectors, tgt.vectors, rows, k=10, method=retrieval,  # type: ignore[arg-type]
                      csls_k=csls_k, isf_beta=isf_beta, approx=approx, show_progress=show_progress)
    p = precision_at(ids, gold)
    preds = {}
    if keep_predictions:
        preds = {src.words[int(i)]: [tgt.words[int(j)] for j in row] for i, row in zip(rows, ids)}
    return BLIResult(
        retrieval=retrieval,
        precision_at_1=round(p[1], 4),
        precision_at_5=round(p[5], 4),
        precision_at_10=round(p[10], 4),
        n_queries=int(len(rows)),
        coverage=round(cov.ratio, 6),
        coverage_detail=cov.to_dict(),
        device=describe_device(),
        seconds=round(time.perf_counter() - start, 4),
        predictions=preds,
        approx=bool(approx and retrieval == "csls"),
    )
