"""The four-row comparison behind `align bridge`: encoder vectors alone, encoder + Procrustes,
fastText + Procrustes, and the CSLS fusion of the two mapped spaces, on the same test queries."""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from ..aligners.procrustes import ProcrustesAligner
from ..store.dictionary import Dictionary
from ..store.vectors import Embeddings
from ..errors import InputError
from ..search.evaluate import evaluate_bli, precision_at
from ..space.mapping import Mapping
from ..space.normalize import DEFAULT_STEPS, Normalizer
from ..jobs.run import evaluate_mapping
from ..search.csls import csls_scores, hubness
from ..search.topk import top_rows
from ..space.normalize import normalize_rows
from .extract import DEFAULT_MODEL, encode_words_meta

LAMBDAS: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(11))
ROWS = ("encoder", "encoder+procrustes", "static+procrustes", "fusion")


def encoder_vocabulary(static: Embeddings, top: int | None, *dicos_words: Sequence[str]) -> list[str]:
    """The `top` most frequent words of `static` plus the given words it holds, in static (frequency) order."""
    keep = set(static.words[:top] if top else static.words)
    for words in dicos_words:
        keep.update(w for w in words if w in static.index)
    return [w for w in static.words if w in keep]


def restrict(dico: Dictionary, src_vocabs: Sequence[Embeddings], tgt_vocabs: Sequence[Embeddings]) -> Dictionary:
    """The pairs whose source is in every source vocabulary and target in every target vocabulary."""
    pairs = [(s, t) for s, t in dico.pairs
             if all(s in v.index for v in src_vocabs) and all(t in v.index for v in tgt_vocabs)]
    return Dictionary(pairs, name=dico.name, path=dico.path)


def split_heldout(dico: Dictionary, fraction: float = 0.1, seed: int = 0) -> tuple[Dictionary, Dictionary]:
    """(fit part, held-out part), split by distinct source word so no source is in both."""
    sources = sorted({s for s, _ in dico.pairs})
    rng = np.random.default_rng(seed)
    n_held = max(1, int(round(fraction * len(sources))))
    held = set(rng.permutation(sources)[:n_held].tolist())
    fit = Dictionary([p for p in dico.pairs if p[0] not in held], name=dico.name + " (fit)")
    out = Dictionary([p for p in dico.pairs if p[0] in held], name=dico.name + " (held-out)")
    return fit, out


class CSLSScorer:
    """CSLS and cosine scores of a mapped space for arbitrary queries against a fixed candidate set.

    CSLS(x, y) = 2cos(x, y) − r_T(x) − r_S(y), with r over the system's whole spaces, so the scores
    are exactly those of the system's own CSLS retrieval.
    """

    def __init__(self, mapping: Mapping, src: Embeddings, tgt: Embeddings, candidates: Sequence[str], csls_k: int = 10):
        self.src = src
        self.X = normalize_rows(mapping.transform(src.vectors))
        self.Y = normalize_rows(mapping.normalize_target(tgt).vectors)
        self.csls_k = csls_k
        self.C = np.ascontiguousarray(self.Y[[tgt.index[w] for w in candidates]])
        self.r_S = hubness(self.C, self.X, csls_k)

    def scores(self, queries: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(cosine, CSLS) matrices, queries × candidates."""
        q = np.ascontiguousarray(self.X[[self.src.index[w] for w in queries]])
        cos = q @ self.C.T
        return cos, csls_scores(cos, hubness(q, self.Y, self.csls_k), self.r_S)


def _gold(dico: Dictionary, candidates: Sequence[str]) -> tuple[list[str], list[set[int]]]:
    index = {w: i for i, w in enumerate(candidates)}
    gold: dict[str, set[int]] = {}
    for s, t in dico.pairs:
        if t in index:
            gold.setdefault(s, set()).add(index[t])
    return list(gold), list(gold.values())


def fused_precision(static: np.ndarray, encoder: np.ndarray, gold: list[set[int]], lam: float) -> dict[int, float]:
    """P@1/5/10 of (1−λ)·static + λ·encoder scores."""
    return precision_at(top_rows((1.0 - lam) * static + lam * encoder, 10)[1], gold)


def _bli_row(res: dict) -> dict:
    keep = ("precision_at_1", "precision_at_5", "precision_at_10", "n_queries")
    return {k: res[k] for k in keep}


def _fit(emb_src: Embeddings, emb_tgt: Embeddings, train: Dictionary, steps, refine: int, refine_vocab: int,
         show_progress: bool) -> Mapping:
    aligner = ProcrustesAligner(normalize=steps, refine=refine, refine_vocab=refine_vocab, show_progress=show_progress)
    return aligner.fit(emb_src, emb_tgt, train)


def compare(src_emb: str | Embeddings, tgt_emb: str | Embeddings, dico_train: str | Dictionary,
            dico_eval: str | Dictionary, *, model: str = DEFAULT_MODEL, layers: str | Sequence[int] | None = None,
            mode: str = "isolated", corpus_src: str | None = None, corpus_tgt: str | None = None,
            max_sentences: int = 5, window: int = 20, max_vocab: int | None = 200000, encode_vocab: int | None = 20000,
            refine: int = 5, refine_vocab: int = 15000, normalize: Sequence[str] = DEFAULT_STEPS,
            heldout: float = 0.1, lambdas: Sequence[float] = LAMBDAS, batch_size: int = 64,
            cache_dir: str | None = None, seed: int = 0, show_progress: bool = False) -> dict:
    """Run the four systems on the test queries all of them cover and return the results as a dict."""
    started = time.perf_counter()
    if mode == "context" and not (corpus_src or corpus_tgt):
        raise InputError("context mode needs --corpus-src and/or --corpus-tgt")
    t0 = time.perf_counter()
    S = src_emb if isinstance(src_emb, Embeddings) else Embeddings.load(src_emb, max_vocab=max_vocab)
    T = tgt_emb if isinstance(tgt_emb, Embeddings) else Embeddings.load(tgt_emb, max_vocab=max_vocab)
    train = dico_train if isinstance(dico_train, Dictionary) else Dictionary.load(dico_train)
    test = dico_eval if isinstance(dico_eval, Dictionary) else Dictionary.load(dico_eval)
    load_seconds = time.perf_counter() - t0
    steps = tuple(normalize)

    # the encoder's vocabulary: the static top words, the training words, the test *source* words
    # (test targets are not added, so the search space owes nothing to the test dictionary)
    vocab_src = encoder_vocabulary(S, encode_vocab, [s for s, _ in train.pairs], [s for s, _ in test.pairs])
    vocab_tgt = encoder_vocabulary(T, encode_vocab, [t for _, t in train.pairs])
    t0 = time.perf_counter()
    side_mode = {"src": "context" if mode == "context" and corpus_src else "isolated",
                 "tgt": "context" if mode == "context" and corpus_tgt else "isolated"}
    ES, meta_s = encode_words_meta(vocab_src, model, layers, side_mode["src"], corpus_src, max_sentences,
                                   batch_size, cache_dir, show_progress, window)
    ET, meta_t = encode_words_meta(vocab_tgt, model, layers, side_mode["tgt"], corpus_tgt, max_sentences,
                                   batch_size, cache_dir, show_progress, window)
    encode_seconds = time.perf_counter() - t0

    shared_test = restrict(test, [S, ES], [T, ET])
    if not shared_test.pairs:
        raise InputError("no test pair is covered by both systems", test.path or test.name or None)
    train_pairs = restrict(train, [S, ES], [T, ET])
    if not train_pairs.pairs:
        raise InputError("no training pair is covered by both systems", train.path or train.name or None)
    n_test_sources = len({s for s, _ in test.pairs})
    rows: dict[str, dict] = {}

    # 1. the encoder's vectors as they are (each side normalised, no mapping)
    t0 = time.perf_counter()
    es = ES.with_vectors(Normalizer(steps).fit_transform(ES.vectors))
    et = ET.with_vectors(Normalizer(steps).fit_transform(ET.vectors))
    rows["encoder"] = {r: _bli_row(evaluate_bli(es, et, shared_test, r).to_dict()) for r in ("nn", "csls")}
    rows["encoder"]["seconds"] = round(time.perf_counter() - t0, 3)

    # 2. encoder + Procrustes (+ refinement)
    t0 = time.perf_counter()
    map_enc = _fit(ES, ET, train_pairs, steps, refine, refine_vocab, show_progress)
    rows["encoder+procrustes"] = {r: _bli_row(v) for r, v in evaluate_mapping(map_enc, ES, ET, shared_test).items()}
    rows["encoder+procrustes"]["seconds"] = round(time.perf_counter() - t0, 3)

    # 3. fastText + Procrustes (+ refinement), as `align procrustes` (whole static target vocabulary searched)
    t0 = time.perf_counter()
    map_static = _fit(S, T, train, steps, refine, refine_vocab, show_progress)
    rows["static+procrustes"] = {r: _bli_row(v) for r, v in evaluate_mapping(map_static, S, T, shared_test).items()}
    rows["static+procrustes"]["seconds"] = round(time.perf_counter() - t0, 3)

    # 4. fusion: λ chosen on a held-out tenth of the training pairs (maps fitted on the other nine tenths),
    #    then applied with the maps fitted on the whole training dictionary (rows 2 and 3)
    t0 = time.perf_counter()
    candidates = ET.words  # the target words both systems hold
    fit_part, held_part = split_heldout(train_pairs, heldout, seed)
    enc9 = _fit(ES, ET, fit_part, steps, refine, refine_vocab, False)
    sta9 = _fit(S, T, fit_part, steps, refine, refine_vocab, False)
    hq, hgold = _gold(held_part, candidates)
    cos_s, csls_s = CSLSScorer(sta9, S, T, candidates).scores(hq)
    cos_e, csls_e = CSLSScorer(enc9, ES, ET, candidates).scores(hq)
    grid = {"nn": {lam: fused_precision(cos_s, cos_e, hgold, lam)[1] for lam in lambdas},
            "csls": {lam: fused_precision(csls_s, csls_e, hgold, lam)[1] for lam in lambdas}}
    best = {r: max(lambdas, key=lambda lam: (g[lam], -abs(lam - 0.5))) for r, g in grid.items()}
    tq, tgold = _gold(shared_test, candidates)
    cos_s, csls_s = CSLSScorer(map_static, S, T, candidates).scores(tq)
    cos_e, csls_e = CSLSScorer(map_enc, ES, ET, candidates).scores(tq)
    fusion: dict = {}
    for r, (a, b) in {"nn": (cos_s, cos_e), "csls": (csls_s, csls_e)}.items():
        p = fused_precision(a, b, tgold, best[r])
        fusion[r] = {"precision_at_1": round(p[1], 4), "precision_at_5": round(p[5], 4),
                     "precision_at_10": round(p[10], 4), "n_queries": len(tq), "lambda": best[r]}
    static_shared = fused_precision(csls_s, csls_e, tgold, 0.0)
    fusion["seconds"] = round(time.perf_counter() - t0, 3)
    rows["fusion"] = fusion

    return {
        "src": S.name, "tgt": T.name, "model": model, "mode": mode, "side_modes": side_mode,
        "layers": meta_s["layers"], "layers_text": meta_s["layers_text"], "n_layers": meta_s["n_layers"],
        "layers_default": layers in (None, ""),
        "normalize": list(steps), "refine": refine,
        "queries": len(tq), "test_sources": n_test_sources,
        "train_pairs": len(train_pairs), "heldout_pairs": len(held_part), "heldout_queries": len(hq),
        "lambda_grid": {r: {str(k): round(v, 2) for k, v in g.items()} for r, g in grid.items()},
        "static_vocab": [len(S), len(T)], "encoder_vocab": [len(ES), len(ET)],
        "fusion_candidates": len(candidates),
        "static_csls_on_fusion_candidates": round(static_shared[1], 4),
        "encoding": {"src": meta_s, "tgt": meta_t, "seconds": round(encode_seconds, 3)},
        "load_seconds": round(load_seconds, 3),
        "rows": rows,
        "warnings": [w for e in (S, T, ES, ET) for w in e.report.warnings],
        "seconds": round(time.perf_counter() - started, 3),
    }


def format_table(res: dict) -> str:
    """The four rows, P@1/5/10 for NN and CSLS, and the seconds each took."""
    labels = {"encoder": "1 encoder (no mapping)", "encoder+procrustes": "2 encoder + Procrustes",
              "static+procrustes": "3 fastText + Procrustes", "fusion": "4 fusion (2 ⊕ 3)"}
    w = max(len(v) for v in labels.values())
    head = (f"{'':<{w}} {'NN P@1':>7} {'P@5':>6} {'P@10':>6}   {'CSLS P@1':>8} {'P@5':>6} {'P@10':>6} {'time':>8}")
    lines = [head]
    for key in ROWS:
        r = res["rows"][key]
        n, c = r["nn"], r["csls"]
        lines.append(f"{labels[key]:<{w}} {n['precision_at_1']:7.2f} {n['precision_at_5']:6.2f} {n['precision_at_10']:6.2f}"
                     f"   {c['precision_at_1']:8.2f} {c['precision_at_5']:6.2f} {c['precision_at_10']:6.2f} "
                     f"{r['seconds']:7.1f}s")
    return "\n".join(lines)


def describe(res: dict) -> list[str]:
    """The lines printed around the table: queries, layers, λ, encoding and candidate sets."""
    enc = res["encoding"]
    cached = "cache hit" if enc["src"].get("from_cache") and enc["tgt"].get("from_cache") else "encoded"
    f = res["rows"]["fusion"]
    lay = f"layers {res['layers_text']} of {res['n_layers']}" + (" (default: lower half)" if res["layers_default"] else "")
    return [
        f"{res['src']} → {res['tgt']}: {res['queries']} test queries covered by both systems "
        f"(of {res['test_sources']} test source words); {res['train_pairs']} training pairs",
        f"encoder {res['model']}, {lay}, mode {res['mode']} (src {res['side_modes']['src']}, "
        f"tgt {res['side_modes']['tgt']}); {res['encoder_vocab'][0]} + {res['encoder_vocab'][1]} words, "
        f"{enc['seconds']:.1f} s ({cached})",
        f"fusion: λ = {f['csls']['lambda']} (CSLS), {f['nn']['lambda']} (NN), chosen on {res['heldout_queries']} "
        f"held-out training sources; candidates: the {res['fusion_candidates']} target words both systems hold "
        f"(fastText CSLS alone on them: P@1 {res['static_csls_on_fusion_candidates']:.2f})",
    ]
