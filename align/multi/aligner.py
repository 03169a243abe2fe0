"""MultiAligner: one shared space for N languages from any set of bilingual dictionaries.

Two modes:
- `hub` (the default): each language mapped onto the hub language by a bilingual aligner: RCSLS
  (the default `hub_method`) or Procrustes with self-learning refinement (ProcrustesAligner), one fit
  per language; translation between two non-hub languages then pivots through the hub's space.
  Dictionaries between two non-hub languages are not used (`unused_dictionaries_`; joint mode uses them).
- `joint`: all maps fitted together on every dictionary by generalized Procrustes analysis
  (align.multi.gpa), then refined together: each round induces mutual-CSLS pairs for *every*
  pair of languages, dictionaries or not, and refits all maps on the seeds plus those pairs
  (multilingual pseudo-supervised refinement, Chen & Cardie 2018). The round with the best
  unsupervised criterion (mean over the language pairs) is kept, never one picked by a test set.
  With `whiten`, each fit is the multi-step framework for N languages (align.multi.multistep):
  whitening, GPA, re-weighting, de-whitening.
"""
from __future__ import annotations

import logging
import time
from itertools import combinations

import numpy as np

from .._io import progress as _progress
from .._params import Params
from ..aligners.procrustes import ProcrustesAligner
from ..aligners.rcsls import RCSLSAligner
from ..aligners.seedlike import seed_like_mask
from ..errors import InputError
from ..search.induction import REFINE_VOCAB, induce
from ..space import Mapping, Normalizer, parse_steps
from ..store import Dictionary, Embeddings
from .gpa import MAX_ITER, PairStats, gpa, mean_pair_cosine, spanning_tree, tree_init
from .multistep import shared_maps, whitened, whitenings
from .mapping import MultiMapping, check_language_code

log = logging.getLogger(__name__)
# Parameters that only joint mode reads.
JOINT_ONLY: tuple[str, ...] = ("max_iter", "balance", "balance_induced", "induced_weight", "refine_filter", "whiten",
                               "reweight")

MODES: tuple[str, ...] = ("hub", "joint")
HUB_METHODS: tuple[str, ...] = ("procrustes", "rcsls")
# Hub mode with RCSLS maps is the default: on the kit's dev data (carved from the training dictionaries) it wins
# the mean over zero-shot fr→fi, held-out en→fr and held-out fr→fi against joint mode and the Procrustes hub.
DEFAULT_MODE = "hub"
DEFAULT_HUB_METHOD = "rcsls"
DEFAULT_REFINE = 5  # rounds of (multilingual) self-learning, as for bilingual Procrustes
# Defaults chosen on dev data carved from the kit's training dictionaries (benchmarks/bench_multi.py, RESULTS.md):
# iterative normalisation, induced pairs at half a seed pair's weight, every language pair that has a dictionary
# weighing the same (a pair with induced pairs only keeps their own weight).
DEFAULT_NORMALIZE: tuple[str, ...] = ("iternorm",)


def merged_rows(spaces: dict[str, Embeddings], dictionaries: dict[tuple[str, str], Dictionary]
                ) -> dict[tuple[str, str], np.ndarray]:
    """Seed pairs per unordered language pair (a before b in `spaces`' order), as (row in a, row in b).

    Dictionaries of both directions of a pair are merged; a pair listed twice counts once."""
    order = {lang: i for i, lang in enumerate(spaces)}
    parts: dict[tuple[str, str], list[np.ndarray]] = {}
    for (src, tgt), dico in dictionaries.items():
        rows = dico.indices(spaces[src], spaces[tgt])
        if len(rows) == 0:
            cov = dico.coverage(spaces[src], spaces[tgt])
            raise InputError(f"no {src}-{tgt} pair has both words in the vocabularies ({cov.pairs} pairs: "
                             f"{cov.dropped_src} unknown source words, {cov.dropped_tgt} unknown target words)",
                             dico.path or dico.name or None)
        key = (src, tgt) if order[src] < order[tgt] else (tgt, src)
        parts.setdefault(key, []).append(rows if key == (src, tgt) else rows[:, ::-1])
    return {key: np.unique(np.vstack(p), axis=0) for key, p in parts.items()}


def _without(pairs: np.ndarray | None, seeds: np.ndarray) -> np.ndarray | None:
    """The rows of `pairs` that are not rows of `seeds` (both (n, 2) int64)."""
    if pairs is None or not len(seeds):
        return pairs
    seen = set(map(tuple, seeds.tolist()))
    keep = np.fromiter((tuple(p) not in seen for p in pairs.tolist()), dtype=bool, count=len(pairs))
    return pairs[keep]


class MultiAligner(Params):
    """Fit one map per language into one shared space (see the module docstring).

    Parameters (stored unchanged; learnt state has a trailing underscore after `fit`):
    - `mode`: `hub` or `joint`.
    - `hub_method`: hub mode: how each language is mapped onto the hub: `rcsls` (a linear map trained for
      CSLS retrieval, RCSLSAligner's defaults; `refine` is not used) or `procrustes` (orthogonal, with
      `refine` rounds of self-learning).
    - `hub`: the language whose normalised space is the shared space (its map is the identity);
      in hub mode every other language needs a dictionary with it. None: the language with
      dictionaries to the most others (the first given on a tie).
    - `normalize`: steps applied to each language before fitting (recorded in each mapping).
    - `refine`: rounds of self-learning; induction looks at the `refine_vocab` most frequent
      words of each language, CSLS with `csls_k` neighbours, mutual nearest neighbours.
    - `criterion_words`: sources averaged by the unsupervised criterion that picks the kept round.
    - `max_iter`: GPA sweeps at most per fit (joint mode).
    - `balance`: weigh each language pair the same in the joint fit, however many pairs it has
      (False: every pair weighs the same).
    - `balance_induced`: with `balance`, also scale the language pairs that have no dictionary (only
      induced pairs) to that weight; False leaves their pairs at `induced_weight` each.
    - `induced_weight`: weight of an induced pair (one that no dictionary lists) against a seed pair's 1.
    - `refine_filter`: joint mode: a percentile (e.g. 25) or None. Refinement then keeps only the induced
      pairs whose two words both look like dictionary words of their language (align.aligners.seedlike:
      a classifier of each language's seed words, negatives drawn with seed 0), as the bilingual filter does
      for targets.
    - `whiten`, `reweight`: joint mode: the multi-step framework around GPA (whiten each language, map,
      re-weight the shared axes by their cross-correlation to the power `reweight`, de-whiten); the maps
      are then linear, not orthogonal, and the hub's map is no longer the identity.

    After `fit`: `languages_`, `hub_`, `seed_pairs_` ("a-b" → merged seed pairs), `unused_dictionaries_`
    (hub mode: the "src-tgt" dictionaries between two non-hub languages, which it cannot use),
    `ignored_params_` (parameters set away from their defaults that the mode does not read), `history_` (one
    entry per round; in hub mode one per language with its rounds), `n_iter_`, `best_iteration_`, `converged_at_` (round after which the induced pairs
    repeated, or None), `induced_pairs_` ("a-b" → pairs induced by the kept round; joint mode).
    """

    method = "multi"

    def __init__(self, mode: str = DEFAULT_MODE, hub: str | None = None, normalize=DEFAULT_NORMALIZE,
                 refine: int = DEFAULT_REFINE, refine_vocab: int = REFINE_VOCAB, csls_k: int = 10,
                 criterion_words: int = 10000, max_iter: int = MAX_ITER, balance: bool = True,
                 balance_induced: bool = False, induced_weight: float = 0.5, refine_filter: float | None = None,
                 whiten: bool = False, reweight: float = 0.5, hub_method: str = DEFAULT_HUB_METHOD,
                 show_progress: bool = False):
        self._store(locals())

    def __repr__(self) -> str:
        defaults = self.defaults()
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k]]
        return f"MultiAligner({', '.join(changed)})"

    # ---- validation -----------------------------------------------------------
    def _check(self, spaces: dict[str, Embeddings], dictionaries: dict[tuple[str, str], Dictionary]) -> str:
        """Validate the parameters and inputs; return the hub language."""
        if self.mode not in MODES:
            raise InputError(f"unknown mode {self.mode!r}; choose from {', '.join(MODES)}")
        if self.hub_method not in HUB_METHODS:
            raise InputError(f"unknown hub method {self.hub_method!r}; choose from {', '.join(HUB_METHODS)}")
        for name in ("refine", "refine_vocab", "csls_k", "criterion_words", "max_iter"):
            value = getattr(self, name)
            low = 0 if name == "refine" else 1
            if not isinstance(value, (int, np.integer)) or value < low:
                raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
        for name in ("balance", "balance_induced", "whiten"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise InputError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if not isinstance(self.reweight, (int, float)) or isinstance(self.reweight, bool) or not self.reweight >= 0:
            raise InputError(f"reweight must be a number >= 0, got {self.reweight!r}")
        if not isinstance(self.induced_weight, (int, float)) or not self.induced_weight > 0:
            raise InputError(f"induced_weight must be a number > 0, got {self.induced_weight!r}")
        if self.refine_filter is not None and (isinstance(self.refine_filter, bool) or not isinstance(
                self.refine_filter, (int, float)) or not 0 <= self.refine_filter <= 100):
            raise InputError(f"refine_filter must be a percentile within 0..100 or None, got {self.refine_filter!r}")
        parse_steps(self.normalize)
        if not isinstance(spaces, dict) or len(spaces) < 2:
            raise InputError("a shared space needs vectors of at least two languages")
        for lang, emb in spaces.items():
            check_language_code(lang)
            if not isinstance(emb, Embeddings):
                raise InputError(f"the vectors of {lang} must be Embeddings, not {type(emb).__name__}")
        dims = {lang: emb.dim for lang, emb in spaces.items()}
        if len(set(dims.values())) != 1:
            raise InputError("every language needs vectors of one dimension: "
                             + ", ".join(f"{lang} {d}" for lang, d in dims.items()))
        if not dictionaries:
            raise InputError("at least one dictionary is needed")
        for key, dico in dictionaries.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise InputError(f"dictionaries are keyed by (source, target) language codes, not {key!r}")
            src, tgt = key
            for lang in key:
                if lang not in spaces:
                    raise InputError(f"the {src}-{tgt} dictionary names {lang!r}, which has no vectors "
                                     f"(languages: {', '.join(spaces)})")
            if src == tgt:
                raise InputError(f"a dictionary needs two different languages, got {src}-{tgt}")
            if not isinstance(dico, Dictionary) or len(dico) == 0:
                raise InputError(f"the {src}-{tgt} dictionary is empty or not a Dictionary")
        linked = {lang: set() for lang in spaces}
        for src, tgt in dictionaries:
            linked[src].add(tgt)
            linked[tgt].add(src)
        hub = self.hub if self.hub is not None else max(spaces, key=lambda lang: len(linked[lang]))
        if hub not in spaces:
            raise InputError(f"the hub {hub!r} has no vectors (languages: {', '.join(spaces)})")
        if self.mode == "hub":
            alone = [lang for lang in spaces if lang != hub and hub not in linked[lang]]
            if alone:
                raise InputError(f"hub mode needs a dictionary between each language and the hub {hub}; "
                                 f"{', '.join(alone)} has none (joint mode, --mode joint, can chain through other languages)")
        return hub

    def _ignored_params(self) -> list[str]:
        """The parameters set to a non-default value that this mode (and hub method) does not use."""
        unused = set()
        if self.mode == "hub":
            unused |= set(JOINT_ONLY)
            if self.hub_method == "rcsls":
                unused |= {"refine", "refine_vocab", "criterion_words"}
        defaults = self.defaults()
        return [name for name in self.param_names() if name in unused and getattr(self, name) != defaults[name]]

    # ---- fitting --------------------------------------------------------------
    def fit(self, spaces: dict[str, Embeddings], dictionaries: dict[tuple[str, str], Dictionary]) -> MultiMapping:
        """Fit every language's map; return the MultiMapping of the kept round."""
        start = time.perf_counter()
        hub = self._check(spaces, dictionaries)
        rows = merged_rows(spaces, dictionaries)
        spanning_tree(list(spaces), list(rows), hub)  # every language linked by some chain, or a clear error
        if self.whiten and self.mode == "joint":
            d = next(iter(spaces.values())).dim
            for lang in spaces:
                n = sum(len(r) for key, r in rows.items() if lang in key)
                if n < d:
                    raise InputError(f"whitening needs at least as many seed pairs per language as dimensions: "
                                     f"{lang} has {n} < {d}")
        self.languages_ = list(spaces)
        self.hub_ = hub
        self.seed_pairs_ = {f"{a}-{b}": int(len(r)) for (a, b), r in rows.items()}
        self.unused_dictionaries_ = ([f"{s}-{t}" for s, t in dictionaries if hub not in (s, t)]
                                     if self.mode == "hub" else [])
        self.ignored_params_ = self._ignored_params()
        if self.unused_dictionaries_:
            log.info("hub mode does not use the dictionaries between two non-hub languages (%s); joint mode does",
                     ", ".join(self.unused_dictionaries_))
        if self.ignored_params_:
            log.info("parameters without effect in this mode: %s", ", ".join(self.ignored_params_))
        if self.mode == "hub":
            mappings = self._fit_hub(spaces, dictionaries, hub)
        else:
            mappings = self._fit_joint(spaces, rows, hub)
        self.n_iter_ = len(self.history_)
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.provenance_params().items()}
        info = {"method": self.method, "mode": self.mode, "hub": hub, "params": params,
                "languages": self.languages_, "seed_pairs": self.seed_pairs_,
                "unused_dictionaries": self.unused_dictionaries_, "ignored_params": self.ignored_params_,
                "history": self.history_,
                "best_iteration": self.best_iteration_, "converged_at": self.converged_at_,
                "fit_seconds": round(time.perf_counter() - start, 3)}
        for lang, m in mappings.items():
            m.info.update(method=self.method, mode=self.mode, hub=hub, src_lang=lang, tgt_lang=f"shared:{hub}",
                          src=spaces[lang].name)
        return MultiMapping(mappings, info)

    def _fit_hub(self, spaces, dictionaries, hub: str) -> dict[str, Mapping]:
        """Each language onto the hub by the bilingual `hub_method` (Procrustes + refinement, or RCSLS), on its
        dictionaries with the hub."""
        hub_norm = Normalizer(parse_steps(self.normalize))
        hub_norm.fit_transform(spaces[hub].vectors)
        d = spaces[hub].dim
        mappings = {hub: Mapping(np.eye(d, dtype=np.float32), hub_norm, None, {"history": []})}
        self.history_, self.induced_pairs_ = [], {}
        best, converged = {}, {}
        for lang in _progress([x for x in spaces if x != hub], self.show_progress, desc="languages", unit="lang"):
            seeds = None
            for (src, tgt), dico in dictionaries.items():
                if {src, tgt} == {lang, hub}:
                    part = dico if src == lang else dico.reversed()
                    seeds = part if seeds is None else seeds + part
            if self.hub_method == "rcsls":
                aligner = RCSLSAligner(normalize=self.normalize, k=self.csls_k)
            else:
                aligner = ProcrustesAligner(normalize=self.normalize, refine=self.refine,
                                            refine_vocab=self.refine_vocab, csls_k=self.csls_k,
                                            criterion_words=self.criterion_words)
            m = aligner.fit(spaces[lang], spaces[hub], seeds)
            mappings[lang] = Mapping(m.W, m.src_norm, None, {"history": aligner.history_})
            self.history_.append({"language": lang, "rounds": aligner.history_})
            best[lang] = aligner.best_iteration_
            converged[lang] = getattr(aligner, "converged_at_", None)
            if getattr(aligner, "induced_", None) is not None:
                self.induced_pairs_[f"{lang}-{hub}"] = int(len(aligner.induced_.pairs))
        self.best_iteration_, self.converged_at_ = best, converged
        return {lang: mappings[lang] for lang in spaces}

    def _stats(self, X: dict[str, np.ndarray], seeds: dict[tuple[str, str], np.ndarray],
               induced: dict[tuple[str, str], np.ndarray] | None = None) -> list[PairStats]:
        """GPA's sums per language pair: seed pairs weigh 1, induced pairs that are not seeds `induced_weight`;
        with `balance`, each language pair's total is then scaled to the mean total (with `balance_induced`
        False, only the language pairs that have seeds are scaled, to their own mean)."""
        stats, seeded = [], []
        for key in dict.fromkeys([*seeds, *(induced or {})]):
            a, b = key
            seed = seeds.get(key, np.zeros((0, 2), dtype=np.int64))
            parts = [PairStats.of(a, b, X[a], X[b], seed, grams=self.whiten)] if len(seed) else []
            new = _without(induced.get(key), seed) if induced else None
            if new is not None and len(new):
                parts.append(PairStats.of(a, b, X[a], X[b], new, weight=self.induced_weight, grams=self.whiten))
            if parts:
                stats.append(sum(parts[1:], parts[0]))
                seeded.append(len(seed) > 0)
        if self.balance:
            scaled = [s for s, has in zip(stats, seeded) if has or self.balance_induced]
            mean = float(np.mean([s.weight for s in scaled]))
            stats = [s.scaled(mean / s.weight) if has or self.balance_induced else s
                     for s, has in zip(stats, seeded)]
        return stats

    def _maps(self, X: dict[str, np.ndarray], stats: list[PairStats], start: dict[str, np.ndarray] | None,
              rows: dict[tuple[str, str], np.ndarray], hub: str):
        """One joint fit: (orthogonal maps of GPA, whole maps, GPA sweeps, mean cosine of the fitted pairs).

        Without whitening the whole maps are GPA's; with it, GPA runs on the whitened languages (started
        from `start`, or from the spanning tree of the whitened seeds) and the multi-step maps wrap it."""
        if not self.whiten:
            Q, iters = gpa(stats, start if start is not None else tree_init(X, rows, hub), max_iter=self.max_iter)
            return Q, Q, iters, mean_pair_cosine(stats, Q)
        wh = whitenings(stats)
        white = whitened(stats, wh)
        if start is None:
            start = tree_init({lang: X[lang] @ wh[lang][0] for lang in X}, rows, hub)
        Q, iters = gpa(white, start, max_iter=self.max_iter)
        return Q, shared_maps(white, Q, wh, self.reweight), iters, mean_pair_cosine(white, Q)

    def _fit_joint(self, spaces, rows: dict[tuple[str, str], np.ndarray], hub: str) -> dict[str, Mapping]:
        """GPA on the seeds, then rounds of multilingual refinement; the best round by the criterion is kept."""
        norms = {lang: Normalizer(parse_steps(self.normalize)) for lang in spaces}
        X = {lang: norms[lang].fit_transform(emb.vectors) for lang, emb in spaces.items()}
        Q, W, iters, fit_cos = self._maps(X, self._stats(X, rows), None, rows, hub)
        self.history_ = []
        self.converged_at_ = None
        self.induced_pairs_ = {}
        pairs = list(combinations(spaces, 2))
        keep = None
        if self.refine and self.refine_filter is not None:  # each language's dictionary-like words
            keep = {}
            for lang in spaces:
                seed_rows = [r[:, key.index(lang)] for key, r in rows.items() if lang in key]
                keep[lang] = seed_like_mask(X[lang], np.concatenate(seed_rows), self.refine_filter, seed=0)
        best = (-np.inf, 0, W, {})
        before = None
        n_train = sum(len(r) for r in rows.values())
        rounds = range(self.refine + 1)
        for it in _progress(rounds, self.show_progress and self.refine > 0, desc="refinement",
                            total=self.refine + 1, unit="round"):
            entry = {"iteration": it, "gpa_iterations": iters, "train_pairs": n_train,
                     "train_mean_cosine": round(fit_cos, 6)}
            induced, found = {}, {}
            if self.refine:
                crit = []
                for a, b in pairs:
                    ind = induce(X[a][:self.refine_vocab] @ W[a], X[b][:self.refine_vocab] @ W[b],
                                 max_rank=self.refine_vocab, mode="mutual", csls_k=self.csls_k,
                                 criterion_words=self.criterion_words)
                    found[(a, b)] = len(ind.pairs)
                    induced[(a, b)] = ind.pairs if keep is None else ind.pairs[
                        keep[a][ind.pairs[:, 0]] & keep[b][ind.pairs[:, 1]]]
                    crit.append(ind.criterion)
                criterion = float(np.mean(crit))
                entry.update(criterion=round(criterion, 6),
                             induced_pairs={f"{a}-{b}": n for (a, b), n in found.items()})
                if keep is not None:
                    entry["kept_by_filter"] = {f"{a}-{b}": int(len(p)) for (a, b), p in induced.items()}
                if criterion > best[0]:
                    best = (criterion, it, W, induced)
            self.history_.append(entry)
            if it == self.refine:
                break
            train = {}
            for a, b in pairs:
                parts = [r for r in (rows.get((a, b)), induced.get((a, b))) if r is not None and len(r)]
                if parts:
                    train[(a, b)] = np.unique(np.vstack(parts), axis=0)
            if before is not None and train.keys() == before.keys() and all(
                    np.array_equal(train[k], before[k]) for k in train):
                self.converged_at_ = it  # the same pairs give the same maps: later rounds repeat this one
                break
            before = train
            Q, W, iters, fit_cos = self._maps(X, self._stats(X, rows, induced), Q, rows, hub)
            n_train = sum(len(r) for r in train.values())
        self.best_iteration_ = best[1]
        W = best[2]
        self.induced_pairs_ = {f"{a}-{b}": int(len(p)) for (a, b), p in best[3].items()}
        if self.whiten:  # linear maps: the shared space is the re-weighted one, no language's own
            return {lang: Mapping(W[lang], norms[lang], None, {}) for lang in spaces}
        # The hub's normalised space is the shared space: rotate every map by W_hubᵀ (cosines do not change).
        to_hub = W[hub].astype(np.float64).T
        return {lang: Mapping((W[lang].astype(np.float64) @ to_hub).astype(np.float32), norms[lang], None, {})
                for lang in spaces}
