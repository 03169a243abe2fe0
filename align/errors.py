"""The one error type the core raises, so the CLI can map it to an exit code."""
from __future__ import annotations


class AlignError(Exception):
    """Any failure with a one-line, user-facing message (CLI exit code 2)."""

    exit_code = 2


class InputError(AlignError):
    """Bad input: a file, a line or an argument that cannot be used."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)


class NoPairs(InputError):
    """A fit was asked of an empty set of pairs: for a seedless method, a run that found no pair to learn
    from (a failed run, reported as such), not bad input."""


class OutputError(InputError):
    """A file or folder that cannot be written (a full disk, a file-size limit, no permission)."""


class AlignmentFailed(AlignError):
    """An unsupervised run whose own criterion says it did not converge (CLI exit code 3)."""

    exit_code = 3
