"""Orthogonal maps of N languages into one space from pairwise correspondences.

Generalized Procrustes analysis (Kementchedjhieva et al. 2018; Gower 1975), written for pairwise
dictionaries: each language's word in a dictionary pair has a latent point, the position of its
partner word mapped by the partner's current map (the mean of the other members of its tuple,
which is one word for a bilingual pair). GPA alternates: rotate one language at a time onto its
latent points (Procrustes, optimal with the others fixed), then move the latent points with the
new map. Each step raises Σ w · (x_i W_a) · (y_j W_b) (equivalently lowers Σ w ‖x_i W_a − y_j W_b‖²
for unit rows), so the fit converges; it stops when the mean cosine of the mapped pairs gains
less than `tol`.

Only d × d sums over the pairs are needed (Σ w x yᵀ per set of pairs), computed once per set of
pairs; every iteration after that costs a few d × d products and one SVD per language.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..aligners.procrustes import procrustes
from ..errors import InputError

MAX_ITER = 100  # GPA sweeps at most per fit; on the kit the criterion settles within ten
TOL = 1e-7  # stop when a sweep raises the mean cosine of the mapped pairs by less than this


@dataclass
class PairStats:
    """Sums over the pairs of one language pair (rows of both languages already normalised)."""

    a: str
    b: str
    cross: np.ndarray  # Σ w x yᵀ over the pairs (x: a-side row, y: b-side row), float64 d × d
    weight: float  # Σ w
    gram_a: np.ndarray | None = None  # Σ w x xᵀ (a side) and Σ w y yᵀ (b side): only for whitening
    gram_b: np.ndarray | None = None

    @classmethod
    def of(cls, a: str, b: str, Xa: np.ndarray, Xb: np.ndarray, rows: np.ndarray, weight: float = 1.0,
           grams: bool = False) -> "PairStats":
        """Stats of the pairs `rows` ((n, 2): row in Xa, row in Xb), each pair weighing `weight`;
        with `grams`, each side's Gram sums too."""
        A = np.asarray(Xa[rows[:, 0]], dtype=np.float64)
        B = np.asarray(Xb[rows[:, 1]], dtype=np.float64)
        if not grams:
            return cls(a, b, weight * (A.T @ B), weight * len(rows))
        return cls(a, b, weight * (A.T @ B), weight * len(rows), weight * (A.T @ A), weight * (B.T @ B))

    def scaled(self, factor: float) -> PairStats:
        """The same pairs with every weight multiplied by `factor`."""
        return PairStats(self.a, self.b, self.cross * factor, self.weight * factor,
                         None if self.gram_a is None else self.gram_a * factor,
                         None if self.gram_b is None else self.gram_b * factor)

    def __add__(self, other: PairStats) -> PairStats:
        """Both sets of pairs of one language pair together."""
        grams = self.gram_a is not None and other.gram_a is not None
        return PairStats(self.a, self.b, self.cross + other.cross, self.weight + other.weight,
                         self.gram_a + other.gram_a if grams else None, self.gram_b + other.gram_b if grams else None)


def nearest_orthogonal(K: np.ndarray) -> np.ndarray:
    """The orthogonal matrix closest to K: Procrustes between the identity and K (argmin_W ‖I W − K‖)."""
    return procrustes(np.eye(K.shape[0], dtype=np.float64), K)


def mean_pair_cosine(stats: list[PairStats], W: dict[str, np.ndarray]) -> float:
    """Weighted mean inner product x W_a · y W_b of the mapped pairs (their cosine for unit rows)."""
    total = sum(float(np.sum((s.cross @ np.asarray(W[s.b], np.float64)) * np.asarray(W[s.a], np.float64)))
                for s in stats)
    return total / max(1e-12, sum(s.weight for s in stats))


def gpa(stats: list[PairStats], W: dict[str, np.ndarray], *, max_iter: int = MAX_ITER, tol: float = TOL
        ) -> tuple[dict[str, np.ndarray], int]:
    """Refine the maps `W` (language → d × d orthogonal) by GPA on `stats`; returns (maps, sweeps run).

    One sweep updates each language in turn: W_a ← the nearest orthogonal matrix to
    Σ xᵀ(latent) = Σ_b (Σ w x yᵀ) W_b over every set of pairs that holds a. Languages in no
    set of pairs keep their map.
    """
    W = {lang: np.asarray(m, dtype=np.float64) for lang, m in W.items()}
    score = mean_pair_cosine(stats, W)
    sweeps = 0
    for sweeps in range(1, max_iter + 1):
        for lang in W:
            K = np.zeros_like(W[lang])
            held = False
            for s in stats:
                if s.a == lang:
                    K += s.cross @ W[s.b]
                    held = True
                elif s.b == lang:
                    K += s.cross.T @ W[s.a]
                    held = True
            if held:
                W[lang] = nearest_orthogonal(K).astype(np.float64)
        new_score = mean_pair_cosine(stats, W)
        gain, score = new_score - score, new_score
        if gain < tol:
            break
    return {lang: m.astype(np.float32) for lang, m in W.items()}, sweeps


def spanning_tree(languages: list[str], edges: list[tuple[str, str]], root: str) -> list[tuple[str, str]]:
    """(parent, child) edges of a breadth-first tree from `root` over the language graph, in visiting order.

    Raises InputError naming the languages that no chain of dictionaries links to `root`."""
    neighbours: dict[str, list[str]] = {lang: [] for lang in languages}
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    seen, tree, queue = {root}, [], deque([root])
    while queue:
        parent = queue.popleft()
        for child in neighbours[parent]:
            if child not in seen:
                seen.add(child)
                tree.append((parent, child))
                queue.append(child)
    missing = [lang for lang in languages if lang not in seen]
    if missing:
        raise InputError(f"no chain of dictionaries links {', '.join(missing)} to {root}: "
                         "give a dictionary between each language and another one")
    return tree


def tree_init(X: dict[str, np.ndarray], rows: dict[tuple[str, str], np.ndarray], root: str) -> dict[str, np.ndarray]:
    """Starting maps: `root` as it is, then each language by Procrustes onto its tree parent's mapped rows."""
    d = next(iter(X.values())).shape[1]
    W = {root: np.eye(d, dtype=np.float32)}
    for parent, child in spanning_tree(list(X), list(rows), root):
        if (parent, child) in rows:
            r = rows[(parent, child)]
            p_rows, c_rows = r[:, 0], r[:, 1]
        else:
            r = rows[(child, parent)]
            c_rows, p_rows = r[:, 0], r[:, 1]
        W[child] = procrustes(X[child][c_rows], X[parent][p_rows] @ W[parent])
    return W
