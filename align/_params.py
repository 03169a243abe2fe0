"""Constructor parameters stored unchanged, after scikit-learn: one definition for the aligners, the
reranker and the multilingual aligner, and the defaults the CLI reads."""
from __future__ import annotations

import inspect

RUN_ONLY = ("show_progress",)  # how to run, not what is fitted: left out of a fit's recorded provenance


class Params:
    """Subclasses call `self._store(locals())` in `__init__`; `get_params()` and `defaults()` read the signature.
    `run_only` names the parameters that say how to run, not what is fitted (a subclass may name more)."""

    run_only: tuple[str, ...] = RUN_ONLY

    @classmethod
    def param_names(cls) -> list[str]:
        """The constructor's parameter names, in order."""
        return [n for n in inspect.signature(cls.__init__).parameters if n != "self"]

    @classmethod
    def defaults(cls) -> dict:
        """Every parameter's default: the one definition the CLI reads too."""
        return {n: p.default for n, p in inspect.signature(cls.__init__).parameters.items() if n != "self"}

    def _store(self, arguments: dict) -> None:
        """Store the constructor's arguments unchanged under their own names: `self._store(locals())`."""
        for name in self.param_names():
            setattr(self, name, arguments[name])

    def get_params(self) -> dict:
        """The constructor arguments, as given."""
        return {name: getattr(self, name) for name in self.param_names()}

    def provenance_params(self) -> dict:
        """The parameters that define what is fitted (all but `run_only`), for a fit's recorded provenance:
        a run with and without progress bars records the same."""
        return {n: v for n, v in self.get_params().items() if n not in self.run_only}
