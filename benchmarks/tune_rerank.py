"""Choosing the reranker's settings (issue 23) on the training dictionaries only: the cross-fitted training
P@1 of each configuration (5 folds by source word; each fold's candidates from maps fitted on the other
folds, each fold's queries scored by a model fitted on the other folds' queries) and, beside it, the P@1 on
the rarest training queries (`rare_p1`): the test dictionaries hold rarer source words than the training ones
(MUSE's en-fr 5000-6500 against 0-5000), so a model that leans on what does not carry across frequency looks
better on the cross-fitted figure than on the test. `rare_p1` scores the cross-fitted candidates of the
training queries whose source word is among the rarest `--rare-fraction` (largest vocabulary rows) with a
model fitted on the other queries' candidates only. No test dictionary is read.

    python benchmarks/tune_rerank.py --pair fr-fi [--maps multistep,refined] [--k 30] [--variants NAME,...]

One fit per (pair, maps, k) computes the cross-fitted candidates; every model variant (`VARIANTS`) and
feature-group ablation is then learnt again from them. Prints one JSON line per configuration.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KIT = ROOT.parent / "shared" / "bench"
PAIRS = {"fr-fi": ("fr", "fi", "fr-fi.train.txt"), "en-fr": ("en", "fr", "en-fr.0-5000.txt")}
# model variants: (model, parameter overrides of the library's defaults)
VARIANTS = {
    "default": (None, None),
    "logistic": ("logistic", None),
    "bags5": (None, {"bags": 5}),
    "rounds400": (None, {"num_rounds": 400}),
    "lr0.03": (None, {"learning_rate": 0.03, "num_rounds": 300}),
    "leaves15": (None, {"num_leaves": 15, "min_data_in_leaf": 50}),
    "trunc30": (None, {"lambdarank_truncation_level": 30}),
    "ff0.5": (None, {"feature_fraction": 0.5}),
    "xendcg": (None, {"objective": "rank_xendcg"}),
    "binary": (None, {"objective": "binary"}),
    "bin63": (None, {"max_bin": 63}),
}


def rare_split(parts, fraction: float):
    """Split cross-fitted parts [(Pairs, labels)] into (frequent, rare) parts: rare queries are those whose
    source row is among the largest `fraction` of all the parts' query rows (the rarest source words)."""
    import numpy as np

    rows = np.concatenate([P.rows for P, _ in parts])
    threshold = np.quantile(rows, 1.0 - fraction)
    out: tuple[list, list] = ([], [])
    for P, y in parts:
        rare_q = P.rows > threshold
        for side, qmask in ((0, ~rare_q), (1, rare_q)):
            keep = qmask[P.group]
            out[side].append((P.subset(keep, qmask), y[keep]))
    return out


def rare_p1(r, fraction: float = 0.2) -> float:
    """P@1 on the rarest `fraction` of the training queries by a model fitted on the others (see the module
    docstring); uses the reranker's kept cross-fitted candidates, its model, parameters and features."""
    from align.rerank.features import stack
    from align.rerank.ranking import hits_at_1

    from align.rerank.candidates import drop_injected

    # the variant the reranker chose: with or without the spelled-alike candidates
    frequent, rare = rare_split(r.crossfit_ if r.identical_ else drop_injected(r.crossfit_), fraction)
    model = r._fit_model([(stack(P.features, r.feature_names_), P, y) for P, y in frequent])
    hits = sum(hits_at_1(model.predict(stack(P.features, r.feature_names_)), P.group, y, len(P.rows))
               for P, y in rare)
    return round(100.0 * hits / sum(len(P.rows) for P, _ in rare), 2)


def main() -> None:
    from align import Dictionary, Embeddings
    from align.rerank import Reranker

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pair", default="fr-fi", choices=sorted(PAIRS))
    ap.add_argument("--maps", default=None)
    ap.add_argument("--k", type=int, default=None)
    ap.add_argument("--folds", type=int, default=None)
    ap.add_argument("--variants", default="default")
    ap.add_argument("--rcsls-epochs", type=int, default=None, help="override align.rerank.maps.RCSLS_EPOCHS")
    ap.add_argument("--rcsls-negatives", type=int, default=None, help="override align.rerank.maps.RCSLS_NEGATIVES")
    ap.add_argument("--ablate", default="", help="feature groups to remove in turn (comma-separated)")
    ap.add_argument("--rare-fraction", type=float, default=0.2,
                    help="share of the rarest training queries held out for rare_p1 (0: not computed)")
    args = ap.parse_args()
    from align.rerank import maps as candidate_maps

    if args.rcsls_epochs:
        candidate_maps.RCSLS_EPOCHS = args.rcsls_epochs
    if args.rcsls_negatives:
        candidate_maps.RCSLS_NEGATIVES = args.rcsls_negatives
    s, t, train = PAIRS[args.pair]
    S = Embeddings.load(KIT / "vectors" / f"{s}.vec.gz")
    T = Embeddings.load(KIT / "vectors" / f"{t}.vec.gz")
    D = Dictionary.load(KIT / "dictionaries" / train)
    kw = {k: v for k, v in (("maps", args.maps), ("k", args.k), ("folds", args.folds)) if v is not None}
    t0, c0 = time.perf_counter(), time.process_time()
    r = Reranker(keep_crossfit=True, **kw).fit(S, T, D)
    head = {"pair": args.pair, **r.params_json(), "rcsls_epochs": candidate_maps.RCSLS_EPOCHS,
            "rcsls_negatives": candidate_maps.RCSLS_NEGATIVES, "maps_train_p1": r.train_["csls_precision_at_1"],
            "recall": r.train_["candidate_recall"], "identical": r.train_.get("identical", r.identical_), "fit_wall": round(time.perf_counter() - t0, 1),
            "fit_cpu": round(time.process_time() - c0, 1), "timing": r.timing_, "load": os.getloadavg()[0]}
    def rare(v) -> dict:
        return {"rare_p1": rare_p1(v, args.rare_fraction)} if args.rare_fraction > 0 else {}

    print(json.dumps({**head, "variant": "default", "train_p1": r.train_["rerank_precision_at_1"], **rare(r)}),
          flush=True)
    for name in [v for v in args.variants.split(",") if v and v != "default"]:
        model, params = VARIANTS[name]
        v = r.refit_model(model=model, model_params=params)
        print(json.dumps({"pair": args.pair, "variant": name, "train_p1": v.train_["rerank_precision_at_1"],
                          **rare(v), "model_seconds": v.timing_["model_seconds"]}), flush=True)
    for g in [g for g in args.ablate.split(",") if g]:
        v = r.refit_model(exclude=[*r._excluded(), g])
        print(json.dumps({"pair": args.pair, "variant": f"-{g}", "train_p1": v.train_["rerank_precision_at_1"],
                          **rare(v)}), flush=True)


if __name__ == "__main__":
    main()
