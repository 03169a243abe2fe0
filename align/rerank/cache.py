"""What cross-fitting computed about the targets in each fold's view, kept for new queries in the same process.

With apply_maps="folds" the views that score new queries are the cross-fitting views themselves, so each
map's r_S and best source cosines, the targets' seed-likeness and the seeds' ending odds need not be computed
again. They serve only the very vector arrays (unmodified, by a fingerprint) and maps they were computed on,
and are never saved.
"""
from __future__ import annotations

import weakref
import zlib
from dataclasses import dataclass

import numpy as np

from .candidates import ViewState

KEEP_STATES_BYTES = 1 << 30  # kept only when all views' statistics together are at most this size
FINGERPRINT_ROWS = 256  # rows of each matrix checksummed to notice vectors changed in place


def worth_keeping(state: ViewState, n_views: int) -> bool:
    """Whether `n_views` states the size of `state` fit within KEEP_STATES_BYTES (checked before keeping any)."""
    return n_views * state.nbytes <= KEEP_STATES_BYTES


def fingerprint(a: np.ndarray) -> tuple:
    """Shape and a checksum of evenly spaced rows: cheap, and enough to notice vectors edited in place."""
    step = max(1, len(a) // FINGERPRINT_ROWS)
    return a.shape, zlib.crc32(np.ascontiguousarray(a[::step]).tobytes())


@dataclass
class FoldViews:
    """Each fold view's ViewState, with what they are valid for."""

    src: weakref.ref
    tgt: weakref.ref
    fingerprints: tuple
    maps: tuple  # the view_maps_ entries, compared by identity
    csls_k: int
    depth: int
    states: list[ViewState]

    @classmethod
    def keep(cls, src_vectors: np.ndarray, tgt_vectors: np.ndarray, view_maps: list, csls_k: int, depth: int,
             states: list[ViewState]) -> "FoldViews | None":
        """The states, or None when they would hold more than KEEP_STATES_BYTES (or a view has none)."""
        if len(states) != len(view_maps) or not all(worth_keeping(st, len(states)) for st in states):
            return None
        return cls(weakref.ref(src_vectors), weakref.ref(tgt_vectors),
                   (fingerprint(src_vectors), fingerprint(tgt_vectors)), tuple(view_maps), csls_k, depth, states)

    def for_(self, src_vectors: np.ndarray, tgt_vectors: np.ndarray, view_maps: list, csls_k: int,
             depth: int) -> list[ViewState] | None:
        """The states when these are the vectors, maps and search settings they were computed with, else None."""
        same = (self.src() is src_vectors and self.tgt() is tgt_vectors and csls_k == self.csls_k
                and depth == self.depth and len(view_maps) == len(self.maps)
                and all(a is b for a, b in zip(view_maps, self.maps)))
        if not same or (fingerprint(src_vectors), fingerprint(tgt_vectors)) != self.fingerprints:
            return None
        return self.states
