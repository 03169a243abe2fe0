"""Ranking models over candidate features, saved in their own text formats (no pickle).

- `lightgbm`: LightGBM's lambdarank (the default), saved with `Booster.model_to_string`;
- `logistic`: scikit-learn's logistic regression on standardised features (the light fallback), saved as
  JSON coefficients and applied with numpy.
Both are deterministic given the seed.
"""
from __future__ import annotations

import json
import warnings

import numpy as np

from ..errors import AlignError, InputError

MODELS: tuple[str, ...] = ("lightgbm", "logistic")
LIGHTGBM_PARAMS: dict = {"objective": "lambdarank", "learning_rate": 0.05, "num_leaves": 7,
                         "min_data_in_leaf": 50, "feature_fraction": 0.8, "lambda_l2": 1.0,
                         "lambdarank_truncation_level": 20, "num_rounds": 200, "bags": 1}
BAG_FRACTION = 0.8  # the share of training queries each bagged model sees (with bags > 1)
LOGISTIC_PARAMS: dict = {"C": 1.0, "max_iter": 2000}


def _need(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise AlignError(f"the reranker needs {package}: pip install 'align[rerank]'") from None


def require(model: str) -> None:
    """A one-line AlignError naming the extra when a library the reranker needs is missing."""
    _need("rapidfuzz", "rapidfuzz")
    _need("sklearn", "scikit-learn")
    if model == "lightgbm":
        _need("lightgbm", "LightGBM")


def check_params(model: str, params) -> None:
    """A one-line InputError for a parameter `model` does not know: a typo would otherwise be ignored
    silently. LightGBM's names and aliases come from the library itself (unchecked where it does not say)."""
    if params is None:
        return
    if not isinstance(params, dict):
        raise InputError(f"model_params must be a dict of parameter names and values, got {params!r}")
    if model == "logistic":
        known = set(LOGISTIC_PARAMS)
    else:
        names = _lightgbm_names()
        if not names:
            return
        known = set(LIGHTGBM_PARAMS) | names
    unknown = sorted(set(params) - known)
    if unknown:
        raise InputError(f"unknown {model} parameter {unknown[0]!r}")


def _lightgbm_names() -> set[str]:
    """Every parameter name and alias LightGBM knows; empty where it is not installed or does not say."""
    try:
        from lightgbm.basic import _ConfigAliases

        aliases = _ConfigAliases._get_all_param_aliases()
    except Exception:  # not installed, or another version's internals: the model checks what it can
        return set()
    return set(aliases) | {name for names in aliases.values() for name in names}


class LightGBMRanker:
    """LightGBM lambdarank over query groups; with `bags` > 1, the mean score of that many models, each
    fitted with its own seed on a random BAG_FRACTION of the queries (a stabler ranking)."""

    name = "lightgbm"

    def __init__(self, params: dict | None = None, seed: int = 0, threads: int = 0):
        self.params = {**LIGHTGBM_PARAMS, **(params or {})}
        self.seed = seed
        self.threads = threads
        self.boosters_: list = []

    def _train_params(self, bag: int) -> tuple[dict, int]:
        p = dict(self.params)
        rounds, bags = int(p.pop("num_rounds")), int(p.pop("bags"))
        p.update(seed=self.seed + bag, deterministic=True, force_row_wise=True, verbosity=-1,
                 num_threads=self.threads)
        if bags > 1:
            p.update(bagging_fraction=BAG_FRACTION, bagging_freq=1, bagging_by_query=True)
        return p, rounds

    def fit(self, F: np.ndarray, y: np.ndarray, group_sizes: np.ndarray, names: list[str]) -> "LightGBMRanker":
        lgb = _need("lightgbm", "LightGBM")
        bags = int(self.params["bags"])
        if bags < 1:
            raise InputError(f"the LightGBM reranker needs bags >= 1, got {bags}")
        data = lgb.Dataset(F, label=y, group=group_sizes, feature_name=[n.replace(".", "__") for n in names],
                           free_raw_data=False)
        self.boosters_ = []
        for bag in range(bags):
            params, rounds = self._train_params(bag)
            self.boosters_.append(lgb.train(params, data, num_boost_round=rounds))
        return self

    def predict(self, F: np.ndarray) -> np.ndarray:
        lgb = _need("lightgbm", "LightGBM")
        try:
            return np.mean([np.asarray(b.predict(F, num_threads=self.threads), dtype=np.float64)
                            for b in self.boosters_], axis=0)
        except lgb.basic.LightGBMError as exc:  # e.g. a saved model expecting another number of features
            raise ValueError(str(exc).strip()) from None

    @property
    def n_features(self) -> int:
        """How many features the model was trained on (the same for every bag)."""
        counts = {b.num_feature() for b in self.boosters_}
        return counts.pop() if len(counts) == 1 else -1

    def importances(self, names: list[str]) -> dict[str, float]:
        """Total gain of each feature's splits (over all bags), normalised to sum 1."""
        gain = np.sum([np.asarray(b.feature_importance(importance_type="gain"), dtype=np.float64)
                       for b in self.boosters_], axis=0)
        gain = gain / gain.sum() if gain.sum() > 0 else gain
        return {n: round(float(g), 6) for n, g in zip(names, gain)}

    def to_text(self) -> str:
        """LightGBM's own model text; several bags as a JSON list of those texts."""
        if len(self.boosters_) == 1:
            return self.boosters_[0].model_to_string()
        return json.dumps({"format": "align-lightgbm-bags", "models": [b.model_to_string() for b in self.boosters_]})

    @classmethod
    def from_text(cls, text: str, params: dict, seed: int) -> "LightGBMRanker":
        lgb = _need("lightgbm", "LightGBM")
        m = cls(params, seed)
        texts = [text]
        if text.lstrip().startswith("{"):
            try:
                obj = json.loads(text)
                if obj.get("format") != "align-lightgbm-bags":
                    raise InputError("not a saved LightGBM reranking model")
                texts = [str(t) for t in obj["models"]]
            except (ValueError, KeyError, TypeError, AttributeError):
                raise InputError("not a saved LightGBM reranking model") from None
        for t in texts:  # LightGBM aborts the process on a truncated model: check that each one is whole first
            if not (t.startswith("tree\n") and "\nend of trees\n" in t and "\nend of parameters\n" in t):
                raise InputError("not a whole LightGBM model (truncated or edited)")
        try:
            m.boosters_ = [lgb.Booster(model_str=t) for t in texts]
        except lgb.basic.LightGBMError as exc:
            raise InputError(f"not a LightGBM model ({str(exc).strip()})") from None
        return m


class LogisticRanker:
    """Logistic regression of 'is a gold translation' on standardised features (missing values: the
    training mean); ranks by the decision value. `threads` is accepted for a common signature: the fit runs
    its small BLAS calls on one thread."""

    name = "logistic"

    def __init__(self, params: dict | None = None, seed: int = 0, threads: int = 0):
        self.params = {**LOGISTIC_PARAMS, **(params or {})}
        self.seed = seed
        self.mean_ = self.scale_ = self.coef_ = None
        self.intercept_ = 0.0

    def _standardise(self, F: np.ndarray) -> np.ndarray:
        F = np.where(np.isnan(F), self.mean_[None, :], F)
        return (F - self.mean_) / self.scale_

    def fit(self, F: np.ndarray, y: np.ndarray, group_sizes: np.ndarray, names: list[str]) -> "LogisticRanker":
        lm = _need("sklearn.linear_model", "scikit-learn")
        F = np.asarray(F, dtype=np.float64)
        with warnings.catch_warnings():  # a feature missing everywhere (e.g. no neighbour): mean 0, scale 1
            warnings.simplefilter("ignore", RuntimeWarning)
            self.mean_ = np.nan_to_num(np.nanmean(F, axis=0))
            std = np.nan_to_num(np.nanstd(F, axis=0))
        self.scale_ = np.where(std > 0, std, 1.0)
        clf = lm.LogisticRegression(C=self.params["C"], max_iter=self.params["max_iter"], random_state=self.seed)
        from ..device import small_linalg

        with small_linalg():  # many small BLAS calls: threads only wait on each other
            clf.fit(self._standardise(F), y)
        self.coef_, self.intercept_ = clf.coef_.ravel().astype(np.float64), float(clf.intercept_[0])
        return self

    def predict(self, F: np.ndarray) -> np.ndarray:
        return self._standardise(np.asarray(F, dtype=np.float64)) @ self.coef_ + self.intercept_

    @property
    def n_features(self) -> int:
        """How many features the model was trained on (-1 when its saved arrays disagree)."""
        sizes = {len(self.mean_), len(self.scale_), len(self.coef_)}
        return sizes.pop() if len(sizes) == 1 else -1

    def importances(self, names: list[str]) -> dict[str, float]:
        """|coefficient| on the standardised feature, normalised to sum 1."""
        a = np.abs(self.coef_)
        a = a / a.sum() if a.sum() > 0 else a
        return {n: round(float(v), 6) for n, v in zip(names, a)}

    def to_text(self) -> str:
        return json.dumps({"format": "align-logistic", "mean": self.mean_.tolist(), "scale": self.scale_.tolist(),
                           "coef": self.coef_.tolist(), "intercept": self.intercept_})

    @classmethod
    def from_text(cls, text: str, params: dict, seed: int) -> "LogisticRanker":
        obj = json.loads(text)
        if obj.get("format") != "align-logistic":
            raise InputError("not a saved logistic reranking model")
        m = cls(params, seed)
        m.mean_, m.scale_, m.coef_ = (np.asarray(obj[k], dtype=np.float64) for k in ("mean", "scale", "coef"))
        m.intercept_ = float(obj["intercept"])
        return m


def make_model(name: str, params: dict | None = None, seed: int = 0, threads: int = 0):
    """The ranking model `name` (see MODELS)."""
    if name == "lightgbm":
        return LightGBMRanker(params, seed, threads)
    if name == "logistic":
        return LogisticRanker(params, seed, threads)
    raise InputError(f"unknown reranking model {name!r}; choose from {', '.join(MODELS)}")


def load_model(name: str, text: str, params: dict | None, seed: int):
    """A model saved by `to_text`."""
    cls = {"lightgbm": LightGBMRanker, "logistic": LogisticRanker}.get(name)
    if cls is None:
        raise InputError(f"unknown reranking model {name!r}; choose from {', '.join(MODELS)}")
    return cls.from_text(text, params or {}, seed)
