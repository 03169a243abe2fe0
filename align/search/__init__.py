"""The search core: the blocked top-k kernel (topk), the one CSLS scorer (csls), retrieval by NN, CSLS or
inverted softmax (retrieval), dictionary induction (induction) and BLI evaluation (evaluate)."""
from __future__ import annotations

from .csls import csls_scores, csls_topk, hubness
from .evaluate import BLIResult, evaluate_bli
from .retrieval import METHODS, knn, retrieve
from .topk import block_topk, row_col_topk, top_rows

__all__ = ["BLIResult", "METHODS", "block_topk", "csls_scores", "csls_topk", "evaluate_bli", "hubness", "knn",
           "retrieve", "row_col_topk", "top_rows"]
