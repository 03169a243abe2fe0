"""The reranker: candidate maps, cross-fitted features and a ranking model, fitted on the seed dictionary.

`Reranker(...).fit(src, tgt, seeds)` cross-fits (see `crossfit`) to learn the ranking model and keeps the folds'
candidate maps (or fits them on all seeds); `rank`, `translate` and `evaluate` re-rank the candidates of any
query in those views; learning the ranking model itself is align.rerank.learning's part of the class.
Parameters are stored as given; what fit learns ends with an underscore.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .._io import progress as _progress
from .._params import Params
from ..store.dictionary import Dictionary
from ..store.vectors import Embeddings
from ..errors import InputError
from ..space.normalize import DEFAULT_STEPS, Normalizer, parse_steps
from .cache import FoldViews, worth_keeping
from .candidates import ExtraSpace, Pairs, StringMemo, View, candidate_pairs, make_view
from .crossfit import gold_labels, source_folds
from .learning import ModelLearning
from .features import GROUPS, stack
from .maps import fit_map, parse_maps
from .models import MODELS, check_params, require
from .ranking import combine, top_by_group
from .storage import read_reranker, write_reranker

# The defaults, read by the CLI too (one definition).
DEFAULT_K = 30
DEFAULT_MAPS: tuple[str, ...] = ("multistep", "rcsls")
DEFAULT_MODEL = "lightgbm"
DEFAULT_FOLDS = 5
DEFAULT_IDENTICAL = "auto"  # spelled-alike candidates: chosen by the cross-fitted figures
IDENTICAL_CHOICES = {"auto": "auto", "yes": True, "no": False}  # the CLI's words for the values of `identical`
DEFAULT_APPLY_MAPS = "folds"  # new queries are scored in the cross-fitting views the model learnt from
APPLY_MAPS = ("folds", "all")
EXTRA_MAP = "procrustes"  # the map fitted in an extra space (e.g. the bridge encoder's)
ENCODE_VOCAB = 20000  # an extra space's source vocabulary: the most frequent words (plus seeds); queries aside


class Reranker(ModelLearning, Params):
    """Learned reranking of CSLS translation candidates.

    - `k`: each candidate map's CSLS top-k joins the candidate list of a query (the list is their union);
    - `maps`: candidate maps (align.rerank.maps.MAPS), e.g. ("procrustes", "multistep");
    - `model`: "lightgbm" (lambdarank) or "logistic"; `model_params` override its defaults;
    - `folds`: cross-fitting folds by source word; `seed`: folds and model;
    - `identical`: True adds the target word spelled like the query to its candidates when no map proposed
      it (cognates, names), False never; "auto" fits both and keeps the one with the better cross-fitted
      P@1 (`identical_`; this scores the folds whatever `score_folds` says, and `train_` then reports the
      better of two figures, a slightly optimistic one). The variant without them drops those pairs from
      lists built with them, so list-relative features (ranks within the list, family) saw them. Where the
      maps proposed every such target of the seed queries, the model never saw one added and none is added
      (`identical_` False);
    - `apply_maps`: how new queries are scored. "folds": in each cross-fitting fold's view (the maps fitted
      on the other folds, whose candidates the model learnt from), ranking by the candidate's mean rank
      over the views; "all": in one view of maps refitted on all seeds;
    - `exclude`: feature groups left out (align.rerank.features.GROUPS);
    - `encoder`, `encoder_layers`: an encoder whose word vectors (align.bridge) are one more feature group;
      `encode_vocab`: how many of each side's most frequent words (plus the seed words) are the extra
      space's vocabulary, whether the encoder's or one given to `fit`: other words of it are queries only;
    - `score_folds`: also fit the model K times to report its cross-fitted P@1 on the training queries;
    - `keep_crossfit`: keep the cross-fitted candidates (`crossfit_`) so that `refit_model` can try other
      models or feature groups without recomputing them (ablations).
    Learnt: `view_maps_` (per view: {map: (W, W_tgt)}, extra map), `seed_words_` and `seed_folds_` (each seed
    pair's fold), `model_`, `identical_`, `feature_names_`, `importances_`, `train_` (cross-fitted figures),
    `src_norm_`, `tgt_norm_`, `has_extra_` (and `extra_*_` with an extra space), `vocab_` (the sizes of the
    vocabularies it was fitted on: its frequency and hubness features depend on them), `timing_` and
    `fit_seconds_`;
    `fold_queries_`, `fold_fit_sources_` (each fold's query rows and the source rows its maps were fitted on;
    not saved). A fit that fails leaves none of them.
    """

    run_only = ("score_folds", "keep_crossfit", "threads", "show_progress")  # how to run, not what is fitted
    legacy_extra_vocabulary = False  # True for a reranker saved before format 3 (see `_extra_space`)

    def __init__(self, k: int = DEFAULT_K, maps: Sequence[str] | str = DEFAULT_MAPS, model: str = DEFAULT_MODEL,
                 folds: int = DEFAULT_FOLDS, seed: int = 0, *, identical: bool | str = DEFAULT_IDENTICAL,
                 apply_maps: str = DEFAULT_APPLY_MAPS,
                 normalize=DEFAULT_STEPS, csls_k: int = 10, depth: int = 100, exclude: Sequence[str] = (),
                 model_params: dict | None = None,
                 encoder: str | None = None, encoder_layers: str | None = None, encode_vocab: int = ENCODE_VOCAB,
                 score_folds: bool = True, keep_crossfit: bool = False, threads: int = 0,
                 show_progress: bool = False):
        self._store(locals())  # stored as given; `validate` (called by fit) checks them

    def validate(self, check_encoder: bool = True) -> None:
        """Raise InputError for a parameter that cannot work, BridgeError for a missing encoder directory
        (called by `fit`; the CLI calls it before loading anything; `load` checks all but the encoder)."""
        for name, least in (("k", 1), ("csls_k", 1), ("depth", 1), ("folds", 2)):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < least:
                raise InputError(f"{name} must be an integer >= {least}, got {value!r}")
        if self.k < 10:
            raise InputError(f"the reranker needs k >= 10 candidates per map (P@10 is reported), got {self.k}")
        if self.model not in MODELS:
            raise InputError(f"unknown reranking model {self.model!r}; choose from {', '.join(MODELS)}")
        check_params(self.model, self.model_params)
        unknown = [g for g in self._excluded() if g not in GROUPS]
        if unknown:
            raise InputError(f"unknown feature group {unknown[0]!r}; choose from {', '.join(GROUPS)}")
        parse_maps(self.maps)
        parse_steps(self.normalize)
        if self.apply_maps not in APPLY_MAPS:
            raise InputError(f"apply_maps must be one of {', '.join(APPLY_MAPS)}, got {self.apply_maps!r}")
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool) or self.seed < 0:
            raise InputError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not (self.identical is True or self.identical is False or self.identical == "auto"):
            raise InputError(f"identical must be 'auto', True or False, got {self.identical!r}")
        if self.encode_vocab is not None and self.encode_vocab < 1:
            raise InputError(f"the encoder vocabulary needs at least 1 word, got {self.encode_vocab}")
        if self.encoder and check_encoder:
            from ..bridge.extract import check_source

            check_source(self.encoder)

    def _excluded(self) -> tuple[str, ...]:
        """`exclude` as group names: 'string,affix' (commas or spaces) or a sequence."""
        spec = self.exclude
        return tuple(spec.replace(",", " ").split()) if isinstance(spec, str) else tuple(str(g) for g in spec)

    def params_json(self) -> dict:
        """The parameters that define the fitted reranker, in JSON form (rerank.json)."""
        p = self.provenance_params()
        p.update(maps=list(parse_maps(self.maps)), normalize=list(parse_steps(self.normalize)),
                 exclude=list(self._excluded()))
        return p

    # ---- spaces ------------------------------------------------------------------------------------
    def encode(self, src: Embeddings, tgt: Embeddings, seeds: Sequence[tuple[str, str]],
               queries: Sequence[str] = ()) -> tuple[Embeddings, Embeddings]:
        """The `encoder`'s word vectors (align.bridge, isolated words) of each side's `encode_vocab` most
        frequent words and the seed words, plus the source words `queries`: the extra space of `fit`."""
        from ..bridge.comparison import encoder_vocabulary
        from ..bridge.extract import encode_words

        if not self.encoder:
            raise InputError("the reranker has no encoder")
        vs = encoder_vocabulary(src, self.encode_vocab, [s for s, _ in seeds], list(queries))
        vt = encoder_vocabulary(tgt, self.encode_vocab, [t for _, t in seeds])
        kw = {"model": self.encoder, "layers": self.encoder_layers, "show_progress": self.show_progress}
        return encode_words(vs, **kw), encode_words(vt, **kw)

    def _extra_for(self, src: Embeddings, tgt: Embeddings, extra, queries: Sequence[str]):
        """`extra` as given, or the encoder's vectors when the reranker was fitted with an encoder."""
        if not self.has_extra_ or extra is not None:
            return extra
        if not self.encoder:
            raise InputError("this reranker was fitted with an extra space (e.g. an encoder): pass it again")
        return self.encode(src, tgt, self.seed_words_, queries)

    def _extra_space(self, src: Embeddings, tgt: Embeddings, extra, fit: bool, seed_sources: Sequence[str]
                     ) -> ExtraSpace | None:
        """The extra space, normalised. Its source vocabulary is fixed (the `encode_vocab` most frequent source
        words and the seed sources): only those rows fit the normaliser and count in the targets' statistics,
        and its other words (queries) come after them, so that what a fit learns and how a query ranks never
        depend on which queries were encoded with it."""
        if extra is None:
            return None
        es, et = extra
        from ..bridge.comparison import encoder_vocabulary

        base = set(es.words) if self.legacy_extra_vocabulary else \
            set(encoder_vocabulary(src, self.encode_vocab, seed_sources))
        order = [i for i, w in enumerate(es.words) if w in base]
        n_base = len(order)
        if n_base == 0:
            raise InputError("the extra space holds none of the source vocabulary's most frequent words or seed words")
        order += [i for i, w in enumerate(es.words) if w not in base]
        src_vectors = es.vectors[np.asarray(order, dtype=np.int64)]
        if fit:
            self.extra_src_norm_ = Normalizer(parse_steps(self.normalize))
            self.extra_tgt_norm_ = Normalizer(parse_steps(self.normalize))
            self.extra_src_norm_.fit_transform(src_vectors[:n_base])
            self.extra_tgt_norm_.fit_transform(et.vectors)
        EX, EY = self.extra_src_norm_.transform(src_vectors), self.extra_tgt_norm_.transform(et.vectors)
        at = {es.words[i]: r for r, i in enumerate(order)}
        src_rows = np.fromiter((at.get(w, -1) for w in src.words), dtype=np.int64, count=len(src))
        tgt_rows = np.fromiter((et.index.get(w, -1) for w in tgt.words), dtype=np.int64, count=len(tgt))
        return ExtraSpace(EX, EY, src_rows, tgt_rows, n_base)

    @staticmethod
    def _extra_pairs(space: ExtraSpace, pairs: np.ndarray) -> np.ndarray:
        p = np.column_stack([space.src_rows[pairs[:, 0]], space.tgt_rows[pairs[:, 1]]])
        return p[(p >= 0).all(axis=1)]

    def _fit_maps(self, X, Y, pairs, space: ExtraSpace | None):
        maps = {name: fit_map(name, X, Y, pairs) for name in parse_maps(self.maps)}
        extra_map = None
        if space is not None:
            ep = self._extra_pairs(space, pairs)
            if len(ep) == 0:
                raise InputError("no seed pair has both words in the extra space")
            extra_map = fit_map(EXTRA_MAP, space.X, space.Y, ep)
        return maps, extra_map

    # ---- fitting -----------------------------------------------------------------------------------
    def fit(self, src: Embeddings, tgt: Embeddings, seeds: Dictionary,
            extra: tuple[Embeddings, Embeddings] | None = None) -> "Reranker":
        """Cross-fit the features of the seed queries and learn the ranking model; keep the folds' maps (or,
        with apply_maps="all", fit the maps on all seeds) to score new queries.

        `extra`: (source, target) Embeddings of another space holding (some of) the same words, e.g. the
        bridge encoder's vectors; its Procrustes map's scores become the `encoder` feature group. With an
        `encoder` and no `extra`, its vectors are computed here (`encode`)."""
        start = time.perf_counter()
        self._forget()  # a fit that fails leaves an unfitted reranker, never a mix of two fits
        self.validate()
        require(self.model)
        if src.dim != tgt.dim:
            raise InputError(f"dimension mismatch: source vectors have {src.dim} dimensions, target vectors {tgt.dim}")
        pairs = seeds.indices(src, tgt)
        pairs = pairs[np.sort(np.unique(pairs, axis=0, return_index=True)[1])]  # each pair once, in its order
        if len(pairs) == 0:
            raise InputError("no seed pair has both words in the vocabularies", seeds.path or seeds.name or None)
        if extra is None and self.encoder:
            extra = self.encode(src, tgt, [(src.words[int(a)], tgt.words[int(b)]) for a, b in pairs])
        steps = parse_steps(self.normalize)
        self.src_norm_, self.tgt_norm_ = Normalizer(steps), Normalizer(steps)
        X, Y = self.src_norm_.fit_transform(src.vectors), self.tgt_norm_.fit_transform(tgt.vectors)
        space = self._extra_space(src, tgt, extra, True, [src.words[int(a)] for a in np.unique(pairs[:, 0])])
        self.has_extra_ = space is not None
        folds = source_folds(pairs, self.folds, self.seed)
        self.fold_fit_sources_ = [np.unique(f.fit_pairs[:, 0]) for f in folds]
        self.fold_queries_ = [f.queries for f in folds]
        parts: list[tuple[Pairs, np.ndarray]] = []
        fold_maps, fold_states = [], []
        t0 = time.perf_counter()
        for fold in _progress(folds, self.show_progress, desc="cross-fitting", unit="fold"):
            maps, extra_map = self._fit_maps(X, Y, fold.fit_pairs, space)
            fold_maps.append((maps, extra_map))
            view = make_view(X, Y, maps, fold.fit_pairs, self.csls_k, self.depth, space, extra_map)
            P = candidate_pairs(view, fold.queries, self.k, src.words, tgt.words, self._injects())
            parts.append((P, gold_labels(P.rows, P.group, P.tgt, pairs)))
            state = view.state()
            if self.apply_maps == "folds" and worth_keeping(state, self.folds):
                fold_states.append(state)
            del view, state  # the next fold's view: never hold two
        crossfit_seconds = time.perf_counter() - t0
        model_seconds = self._learn(parts)
        if self.keep_crossfit:
            self.crossfit_ = parts
        self.view_maps_ = fold_maps if self.apply_maps == "folds" else [self._fit_maps(X, Y, pairs, space)]
        # the folds' views are the apply views: what they computed about the targets serves new queries of
        # these same vectors in this process (never saved)
        self._fold_views = FoldViews.keep(src.vectors, tgt.vectors, self.view_maps_, self.csls_k, self.depth,
                                          fold_states)
        self.seed_words_ = [(src.words[int(a)], tgt.words[int(b)]) for a, b in pairs]
        self.vocab_ = (len(src), len(tgt))
        fold_of_source = np.empty(int(pairs[:, 0].max()) + 1, dtype=np.int64)
        for fold in folds:
            fold_of_source[fold.queries] = fold.index
        self.seed_folds_ = fold_of_source[pairs[:, 0]]
        self.fit_seconds_ = round(time.perf_counter() - start, 3)
        self.timing_ = {"crossfit_seconds": round(crossfit_seconds, 3), "model_seconds": round(model_seconds, 3),
                        "fit_seconds": self.fit_seconds_}
        return self

    def _injects(self) -> bool:
        """Whether candidate lists are built with the spelled-alike candidates (kept or dropped later)."""
        return self.identical is not False

    # ---- applying ----------------------------------------------------------------------------------
    def release_views(self) -> None:
        """Free the folds' per-target statistics this process kept from `fit` (up to
        align.rerank.cache.KEEP_STATES_BYTES) to apply the reranker faster: later rankings compute them again."""
        self._fold_views = None

    def _forget(self) -> None:
        """Drop what an earlier fit learnt (the attributes with a trailing underscore, the kept fold views)."""
        for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("_")]:
            delattr(self, name)
        self.release_views()

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise InputError("the reranker is not fitted")

    def _check_dims(self, src: Embeddings, tgt: Embeddings) -> None:
        """A one-line error naming the vectors whose dimension the maps do not take."""
        W, Wt = next(iter(self.view_maps_[0][0].values()))
        wanted = {"source": (src, W.shape[0]), "target": (tgt, W.shape[1] if Wt is None else Wt.shape[0])}
        for side, (emb, dim) in wanted.items():
            if emb.dim != dim:
                raise InputError(f"{emb.dim}-dimensional {side} vectors, but the reranker's maps take {dim}",
                                 emb.report.path or emb.name or None)

    def views(self, src: Embeddings, tgt: Embeddings, extra=None, queries: Sequence[str] = ()) -> Iterator[View]:
        """The fitted maps applied to `src` and `tgt` (normalised as at fit time), one View at a time: each
        fold's (apply_maps="folds") or the one of all seeds; with an encoder and no `extra`, the source words
        `queries` are encoded too."""
        self._check_fitted()
        self._check_dims(src, tgt)
        extra = self._extra_for(src, tgt, extra, queries)
        X, Y = self.src_norm_.transform(src.vectors), self.tgt_norm_.transform(tgt.vectors)
        space = self._extra_space(src, tgt, extra, False, [s for s, _ in self.seed_words_]) if self.has_extra_ else None
        kept = getattr(self, "_fold_views", None)
        states = kept and kept.for_(src.vectors, tgt.vectors, self.view_maps_, self.csls_k, self.depth)
        for v, (maps, extra_map) in enumerate(self.view_maps_):
            words = self.seed_words_ if len(self.view_maps_) == 1 else \
                [w for w, f in zip(self.seed_words_, self.seed_folds_) if f != v]
            seeds = Dictionary(words).indices(src, tgt)
            if len(seeds) == 0:
                raise InputError("none of the reranker's seed pairs is in these vocabularies")
            view = make_view(X, Y, maps, seeds, self.csls_k, self.depth, space, extra_map)
            if states:
                view.adopt(states[v])
            yield view

    def seed_coverage(self, src: Embeddings, tgt: Embeddings) -> tuple[int, int]:
        """(seed pairs with both words in `src` and `tgt`, seed pairs): the views' seed-based features (neighbours,
        seed-likeness, endings, offsets) see only the former, so other vectors than fit's may rank differently."""
        self._check_fitted()
        return len(Dictionary(self.seed_words_).indices(src, tgt)), len(self.seed_words_)

    def view_candidates(self, src: Embeddings, tgt: Embeddings, rows, extra=None) -> list[Pairs]:
        """Candidate pairs with features of the source rows `rows` (sorted, distinct), one Pairs per view, all
        kept in memory (for analyses that score them with several models: `score_candidates`); the
        spelled-alike candidates are marked and kept only if fit chose them."""
        return list(self._view_pairs(src, tgt, np.asarray(rows, dtype=np.int64), extra))

    def _view_pairs(self, src: Embeddings, tgt: Embeddings, rows: np.ndarray, extra) -> Iterator[Pairs]:
        """Each view's candidate pairs of `rows`, one view alive at a time (their string features computed once)."""
        strings = StringMemo(len(tgt))
        for view in self.views(src, tgt, extra, [src.words[int(i)] for i in rows]):
            P = candidate_pairs(view, rows, self.k, src.words, tgt.words, self._injects(), strings)
            del view  # the generator builds the next view: never hold two
            yield P if self.identical_ else P.without_injected()

    def predict(self, pairs: Pairs) -> np.ndarray:
        """The model's score of each (query, candidate) pair: higher ranks first."""
        self._check_fitted()
        unknown = [n for n in self.feature_names_ if n not in pairs.features]
        where = getattr(self, "saved_in_", None)
        if unknown:
            raise InputError(f"the model uses feature {unknown[0]!r}, which these candidates lack (a reranker "
                             "fitted with an extra space needs it again, or one saved by another align)", where)
        try:
            return self.model_.predict(stack(pairs.features, self.feature_names_))
        except ValueError as exc:  # e.g. a saved model expecting another number of features
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"the model does not fit its feature list ({first})", where) from None

    def score_candidates(self, lists: list[Pairs], n_tgt: int
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every candidate of `view_candidates`' lists with its reranked score (see `rank`): (query index,
        target row, score, tie-breaker), higher first."""
        found = [(P.group, P.tgt, self.predict(P)) for P in lists]
        return combine(found, len(lists[0].rows), n_tgt)

    def rank(self, src: Embeddings, tgt: Embeddings, rows, k: int = 10, extra=None) -> tuple[np.ndarray, np.ndarray]:
        """The `k` best reranked targets of each source row: (scores, target rows), both (len(rows), k), best
        first, in the order of `rows`; padded with NaN / -1 where a query has fewer candidates. The score is
        the model's with one view; with the folds' views it is minus the candidate's mean rank over them (0:
        first in every view; align.rerank.ranking.combine_views), ties broken by its mean model score. Views
        are built and scored one at a time, so memory holds one view and the scores."""
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise InputError(f"k must be an integer >= 1, got {k!r}")
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            return np.full((0, k), np.nan), np.full((0, k), -1, dtype=np.int64)
        uniq, inv = np.unique(rows, return_inverse=True)
        found = [(P.group, P.tgt, self.predict(P)) for P in self._view_pairs(src, tgt, uniq, extra)]
        group, tgt_rows, score, tie = combine(found, len(uniq), len(tgt))
        scores, ids = top_by_group(score, group, tgt_rows, len(uniq), k, tie)
        return scores[inv.ravel()] + 0.0, ids[inv.ravel()]  # + 0.0: no -0.0 for a first place

    def translate(self, src: Embeddings, tgt: Embeddings, words: Sequence[str], k: int = 5,
                  extra=None) -> dict[str, list[tuple[str, float]]]:
        """The `k` best reranked translations of each word (which must be in `src`) with their score (`rank`)."""
        missing = [w for w in words if w not in src.index]
        if missing:
            raise InputError(f"not in the source vocabulary: {', '.join(missing)}")
        scores, ids = self.rank(src, tgt, [src.index[w] for w in words], k, extra)
        return {w: [(tgt.words[int(j)], round(float(s), 6)) for s, j in zip(srow, irow) if j >= 0]
                for w, srow, irow in zip(words, scores, ids)}

    def evaluate(self, src: Embeddings, tgt: Embeddings, dico: Dictionary, extra=None) -> dict:
        """BLI of the reranked candidates on `dico`, with the keys of `evaluate_bli` (retrieval 'rerank'), on
        the same queries (distinct in-vocabulary test sources with an in-vocabulary gold translation)."""
        from ..search.evaluate import BLIResult, bli_queries, precision_at
        from ..device import describe as describe_device

        start = time.perf_counter()
        rows, gold, cov = bli_queries(src, tgt, dico)
        if len(rows) == 0:
            raise InputError("no dictionary pair has both words in the vocabularies", dico.path or dico.name or None)
        _, ids = self.rank(src, tgt, rows, 10, extra)
        p = precision_at(ids, gold)
        return BLIResult("rerank", round(p[1], 4), round(p[5], 4), round(p[10], 4), int(len(rows)),
                         round(cov.ratio, 6), cov.to_dict(), describe_device(),
                         round(time.perf_counter() - start, 4)).to_dict()


    # ---- saving ------------------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> None:
        """Write the reranker into `directory`, built aside and swapped in whole (see `write_files`)."""
        from .._io import folder_swap

        self._check_fitted()
        with folder_swap(directory, markers=("rerank.json",)) as tmp:
            self.write_files(tmp)

    def write_files(self, directory: str | os.PathLike) -> None:
        """Write into an existing folder (align.rerank.storage: JSON, text and .npy files, no pickle)."""
        self._check_fitted()
        write_reranker(self, Path(directory))

    def summary(self) -> dict:
        """What a job reports about the fitted reranker: parameters, cross-fitted figures, importances, time."""
        self._check_fitted()
        return {"params": self.params_json(), "identical": self.identical_, "train": self.train_,
                "seed_pairs": len(self.seed_words_),
                "importances": dict(sorted(self.importances_.items(), key=lambda kv: -kv[1])),
                "timing": self.timing_}

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "Reranker":
        """A reranker written by `save`; one-line errors for a missing or foreign directory."""
        r = read_reranker(cls, Path(directory))
        r.saved_in_ = str(directory)  # named by the errors of applying it
        return r

