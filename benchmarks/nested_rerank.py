"""How the reranker should score new queries (issue 23), decided on the training dictionaries only: a nested
split. The training dictionary's source words are split into 5 outer folds (seed 123); for each outer fold
asked for, a reranker with the library's defaults is fitted on the other outer folds' pairs (with its own
cross-fitting inside) and ranks the outer fold's queries twice: in its folds' views (apply_maps="folds") and
in maps refitted on all its seeds ("all"). Prints one JSON line per outer fold (P@1 hits of each) and the
totals. No test dictionary is read.

    python benchmarks/nested_rerank.py --pair fr-fi [--outer 0,1,2,3,4] [--threads 1] [--params JSON]
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KIT = ROOT.parent / "shared" / "bench"
PAIRS = {"fr-fi": ("fr", "fi", "fr-fi.train.txt"), "en-fr": ("en", "fr", "en-fr.0-5000.txt")}
OUTER_FOLDS, OUTER_SEED = 5, 123


def main() -> None:
    from align import Dictionary, Embeddings
    from align.rerank import Reranker
    from align.rerank.crossfit import source_folds
    from align.search.evaluate import precision_at

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pair", default="fr-fi", choices=sorted(PAIRS))
    ap.add_argument("--outer", default="0,1,2,3,4", help="outer folds to run (comma-separated)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--params", default="{}", help="Reranker parameters of the inner fit, as JSON (e.g. '{\"folds\": 10}')")
    args = ap.parse_args()
    params = json.loads(args.params)
    s, t, train = PAIRS[args.pair]
    src = Embeddings.load(KIT / "vectors" / f"{s}.vec.gz")
    tgt = Embeddings.load(KIT / "vectors" / f"{t}.vec.gz")
    pairs = Dictionary.load(KIT / "dictionaries" / train).indices(src, tgt)
    outer = source_folds(pairs, OUTER_FOLDS, seed=OUTER_SEED)
    totals = {"queries": 0, "folds": 0, "all": 0}
    for i in [int(x) for x in args.outer.split(",") if x]:
        fold = outer[i]
        inner = Dictionary([(src.words[a], tgt.words[b]) for a, b in fold.fit_pairs])
        t0 = time.perf_counter()
        r = Reranker(**{**params, "apply_maps": "folds", "threads": args.threads}).fit(src, tgt, inner)
        fit_seconds = time.perf_counter() - t0
        X, Y = r.src_norm_.transform(src.vectors), r.tgt_norm_.transform(tgt.vectors)
        whole = copy.copy(r)  # the same model, applied in maps refitted on all of its seeds
        whole.apply_maps, whole.view_maps_ = "all", [r._fit_maps(X, Y, inner.indices(src, tgt), None)]
        gold = [set(pairs[pairs[:, 0] == q, 1].tolist()) for q in fold.queries]
        line = {"pair": args.pair, "params": params, "outer": i, "queries": len(fold.queries), "identical": r.identical_,
                "fit_seconds": round(fit_seconds, 1)}
        for name, model in (("folds", r), ("all", whole)):
            t0 = time.perf_counter()
            _, ids = model.rank(src, tgt, fold.queries, 10)
            line[name] = int(round(precision_at(ids, gold)[1] * len(gold) / 100))
            line[f"{name}_apply_seconds"] = round(time.perf_counter() - t0, 1)
            totals[name] += line[name]
        totals["queries"] += len(gold)
        print(json.dumps(line), flush=True)
    n = totals["queries"]
    print(json.dumps({"pair": args.pair, "params": params, **totals, "folds_p1": round(100 * totals["folds"] / n, 2),
                      "all_p1": round(100 * totals["all"] / n, 2)}), flush=True)


if __name__ == "__main__":
    main()
