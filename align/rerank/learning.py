"""Learning the reranker's ranking model from cross-fitted candidate lists: the feature list, the choice of
spelled-alike candidates, the cross-fitted training figures, and refits with another model or features.

`ModelLearning` is a part of `Reranker` (align.rerank.reranker); its methods read the reranker's parameters and
set what it learns (`feature_names_`, `identical_`, `train_`, `model_`, `importances_`). "Parts" are one fold's
cross-fitted candidates: (Pairs, gold labels), or (feature matrix, Pairs, labels) once stacked.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..errors import InputError
from .candidates import Pairs, drop_injected
from .crossfit import has_gold
from .features import stack
from .maps import parse_maps
from .models import make_model, require
from .ranking import hits_at_1

if TYPE_CHECKING:
    from .reranker import Reranker


class ModelLearning:
    """The model-learning methods of `Reranker`."""

    def _learn(self, parts: list[tuple[Pairs, np.ndarray]]) -> float:
        """Choose the features and the spelled-alike variant, report the cross-fitted figures and fit the
        model; returns its seconds."""
        names = sorted(parts[0][0].features)
        excluded = self._excluded()
        self.feature_names_ = [n for n in names if n.split(".", 1)[0] not in excluded]
        if not self.feature_names_:
            raise InputError(f"excluding {', '.join(excluded)} leaves no feature to learn from")
        t0 = time.perf_counter()
        variants = {True: parts, False: drop_injected(parts)}  # with and without the spelled-alike candidates
        # each cross-fitted model (for the training figures, or to choose the spelled-alike variant) learns from
        # the other folds, so then two folds must hold a query with its gold; the final model needs one
        crossfitted = self.score_folds or self.identical == "auto"
        if not _learnable(parts, 2 if crossfitted else 1):
            raise InputError(f"too few seed queries have their translation among the candidate maps' top "
                             f"{self.k}: {_answered(parts)} of {sum(len(P.rows) for P, _ in parts)} (give more "
                             "seed pairs, or fewer folds)")
        any_injected = any(P.injected is not None and P.injected.any() for P, _ in parts)
        # where only the spelled-alike candidates hold translations, "auto" has nothing to choose between
        alike_only = any_injected and not _learnable(variants[False], 2)
        if self.identical == "auto" and any_injected and not alike_only:
            stacked = {flag: self._stacked(ps) for flag, ps in variants.items()}
            hits = dict(zip(stacked, self._fold_hits(*stacked.values())))
            figures = {flag: self._train_figures(st, hits[flag]) for flag, st in stacked.items()}
            self.identical_ = figures[True]["rerank_precision_at_1"] > figures[False]["rerank_precision_at_1"]
            self.train_ = {**figures[self.identical_], "identical": {
                "chosen": self.identical_, "rerank_precision_at_1_with": figures[True]["rerank_precision_at_1"],
                "rerank_precision_at_1_without": figures[False]["rerank_precision_at_1"]}}
            chosen = stacked[self.identical_]
        else:
            self.identical_ = any_injected and (self.identical is True or alike_only)
            chosen = self._stacked(variants[self.identical_])
            self.train_ = self._train_figures(chosen, self._fold_hits(chosen)[0] if self.score_folds else None)
        self.model_ = self._fit_model(chosen)
        self.importances_ = self.model_.importances(self.feature_names_)
        return time.perf_counter() - t0

    def _stacked(self, parts: list[tuple[Pairs, np.ndarray]]) -> list[tuple[np.ndarray, Pairs, np.ndarray]]:
        return [(stack(P.features, self.feature_names_), P, y) for P, y in parts]

    def refit_model(self, *, model: str | None = None, model_params: dict | None = None,
                    exclude: Sequence[str] | None = None) -> "Reranker":
        """A copy with another model (with its own default parameters unless `model_params`), model parameters
        or excluded feature groups, learnt from the kept cross-fitted candidates (needs `keep_crossfit=True`);
        the maps are shared."""
        if not hasattr(self, "crossfit_"):
            raise InputError("refit_model needs a reranker fitted with keep_crossfit=True")
        import copy

        out = copy.copy(self)
        if model is not None and model != self.model:  # one model's parameters mean nothing to another
            out.model, out.model_params = model, None
        if model_params is not None:
            out.model_params = model_params
        if exclude is not None:
            out.exclude = exclude  # stored as given, like every parameter ('a,b' or a sequence)
        out.validate(check_encoder=False)
        require(out.model)
        seconds = out._learn(self.crossfit_)
        out.timing_ = {**self.timing_, "model_seconds": round(seconds, 3)}
        return out

    def _fit_model(self, parts: list[tuple[np.ndarray, Pairs, np.ndarray]], threads: int | None = None):
        """Fit the ranking model on the queries that have a gold candidate (the others carry no signal)."""
        F, y, sizes = [], [], []
        for Fp, P, lab in parts:
            n_q = len(P.rows)
            has = has_gold(P.group, lab, n_q)
            keep = has[P.group]
            F.append(Fp[keep]), y.append(lab[keep])
            sizes.append(np.bincount(P.group[keep], minlength=n_q)[has])
        model = make_model(self.model, self.model_params, self.seed, self.threads if threads is None else threads)
        return model.fit(np.vstack(F), np.concatenate(y), np.concatenate(sizes), self.feature_names_)

    def _train_figures(self, parts: list[tuple[np.ndarray, Pairs, np.ndarray]], rerank_hits: int | None) -> dict:
        """Cross-fitted P@1 on the seed queries: each map's CSLS (fitted on the other folds) and, given
        `rerank_hits` (`_fold_hits`), the reranker's (model fitted on the other folds' queries)."""
        n = sum(len(P.rows) for _, P, _ in parts)
        out: dict = {"queries": n}
        hits = {name: 0 for name in parse_maps(self.maps)}
        recall = 0
        for _, P, y in parts:
            recall += int(has_gold(P.group, y, len(P.rows)).sum())
            for name in hits:
                hits[name] += hits_at_1(P.features[f"csls.{name}.score"], P.group, y, len(P.rows))
        out["csls_precision_at_1"] = {name: round(100.0 * h / n, 2) for name, h in hits.items()}
        out["candidate_recall"] = round(100.0 * recall / n, 2)
        if rerank_hits is not None:
            out["rerank_precision_at_1"] = round(100.0 * rerank_hits / n, 2)
        return out

    def _fold_hits(self, *variants: list[tuple[np.ndarray, Pairs, np.ndarray]]) -> list[int]:
        """For each variant's parts, the queries whose best candidate is gold under a model fitted on the other
        parts. All the variants' models are fitted side by side, one thread each (small models use several
        threads poorly, and one pool keeps both cores busy to the end)."""
        from concurrent.futures import ThreadPoolExecutor

        from ..device import available_cores

        tasks = [(v, f) for v, parts in enumerate(variants) for f in range(len(parts))]

        def hits(task: tuple[int, int]) -> int:
            parts = variants[task[0]]
            F, P, y = parts[task[1]]
            m = self._fit_model([part for g, part in enumerate(parts) if g != task[1]], threads=1)
            return hits_at_1(m.predict(F), P.group, y, len(P.rows))

        # logistic regression limits BLAS threads process-wide while it fits: one fit at a time. LightGBM keeps
        # its thread count process-wide too: every fit here asks for 1, and the final fit sets its own after.
        workers = 1 if self.model == "logistic" else (self.threads or available_cores())
        totals = [0] * len(variants)
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(tasks)))) as pool:
            for (v, _), h in zip(tasks, pool.map(hits, tasks)):
                totals[v] += h
        return totals


def _answered(parts: list[tuple[Pairs, np.ndarray]]) -> int:
    """How many queries of the cross-fitted parts have a gold translation among their candidates."""
    return sum(int(has_gold(P.group, y, len(P.rows)).sum()) for P, y in parts)


def _learnable(parts: list[tuple[Pairs, np.ndarray]], folds_needed: int) -> bool:
    """Whether at least `folds_needed` parts hold a query with a gold candidate: 2 lets every part's model
    (fitted on the other parts) learn something, 1 the model fitted on all of them."""
    return sum(_answered([part]) > 0 for part in parts) >= folds_needed
