"""align.multi with the multi-step framework (whitening around GPA) and balance of induced-only pairs."""
from __future__ import annotations

import numpy as np
import pytest

from align import Dictionary, Embeddings, InputError, evaluate_bli
from align.aligners.multistep import multistep
from align.multi import MultiAligner

N, DIM = 800, 24
TRAIN, TEST = range(250), range(400, 600)


def _rotation(rng, d=DIM):
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return q.astype(np.float32)


def dico(src: str, tgt: str, rows) -> Dictionary:
    return Dictionary([(f"{src}{i}", f"{tgt}{i}") for i in rows], name=f"{src}-{tgt}")


@pytest.fixture(scope="module")
def three():
    """One random space (with unequal variances per axis) under three rotations plus a little noise."""
    rng = np.random.default_rng(0)
    base = (rng.normal(size=(N, DIM)) * np.linspace(0.5, 2.0, DIM)).astype(np.float32)
    return {lang: Embeddings([f"{lang}{i}" for i in range(N)],
                             base @ _rotation(rng) + 0.01 * rng.normal(size=(N, DIM)).astype(np.float32))
            for lang in "abc"}


def test_two_languages_give_the_bilingual_multistep_map():
    """With one set of pairs the N-language framework is the bilingual one: the same similarities, up to a factor."""
    rng = np.random.default_rng(3)
    base = rng.normal(size=(N, DIM))
    spaces = {"a": Embeddings([f"a{i}" for i in range(N)], (base @ rng.normal(size=(DIM, DIM))).astype(np.float32)),
              "b": Embeddings([f"b{i}" for i in range(N)],
                              (base @ rng.normal(size=(DIM, DIM)) + 0.3 * rng.normal(size=(N, DIM))).astype(np.float32))}
    mm = MultiAligner(mode="joint", whiten=True, reweight=0.5, refine=0, normalize=()).fit(spaces, {("a", "b"): dico("a", "b", TRAIN)})
    rows = np.array(list(TRAIN))
    Wa, Wb = multistep(spaces["a"].vectors[rows], spaces["b"].vectors[rows], whiten=True, reweight=0.5)
    ours = mm["a"].W.astype(np.float64) @ mm["b"].W.astype(np.float64).T
    theirs = Wa.astype(np.float64) @ Wb.astype(np.float64).T
    factor = float(np.sum(ours * theirs) / np.sum(theirs * theirs))
    assert factor > 0
    assert np.allclose(ours, factor * theirs, atol=1e-4 * np.abs(ours).max())
    assert not mm["a"].is_orthogonal()


@pytest.mark.parametrize("balance_induced", [True, False])
def test_whitened_joint_space_recovers_every_pair(three, balance_induced):
    dicos = {("a", "b"): dico("a", "b", TRAIN), ("c", "b"): dico("c", "b", TRAIN)}  # no a-c dictionary
    aligner = MultiAligner(mode="joint", whiten=True, refine=2, refine_vocab=N, balance_induced=balance_induced)
    mm = aligner.fit(three, dicos)
    assert mm.info["params"]["whiten"] is True
    for src in "abc":
        for tgt in "abc":
            if src != tgt:
                m = mm.pair(src, tgt)
                res = evaluate_bli(m.transform_embeddings(three[src]), m.normalize_target(three[tgt]),
                                   dico(src, tgt, TEST), "csls")
                assert res.precision_at_1 == 100.0, (src, tgt)
    assert aligner.induced_pairs_["a-c"] > 0.8 * N


def test_balance_induced_scales_only_what_it_says(three):
    X = {lang: e.vectors for lang, e in three.items()}

    def pairs(n):
        return np.stack([np.arange(n), np.arange(n)], axis=1)

    seeds = {("a", "b"): pairs(100), ("b", "c"): pairs(300)}
    induced = {("a", "b"): pairs(100), ("b", "c"): pairs(300), ("a", "c"): pairs(500)}  # a-b, b-c: the seeds again

    def weights(**kw):
        return {(s.a, s.b): s.weight for s in MultiAligner(mode="joint", induced_weight=0.5, **kw)._stats(X, seeds, induced)}

    assert weights(balance=False) == {("a", "b"): 100, ("b", "c"): 300, ("a", "c"): 250}
    assert weights(balance=True, balance_induced=True) == pytest.approx({("a", "b"): 650 / 3, ("b", "c"): 650 / 3, ("a", "c"): 650 / 3})
    # only the language pairs with a dictionary are balanced (to their own mean); a-c keeps 500 × 0.5
    assert weights(balance=True, balance_induced=False) == pytest.approx(
        {("a", "b"): 200, ("b", "c"): 200, ("a", "c"): 250})


@pytest.mark.parametrize("kwargs, message", [
    ({"whiten": True}, "whitening needs at least as many seed pairs per language as dimensions: a has 10 < 24"),
    ({"whiten": 1}, "whiten must be True or False"),
    ({"balance_induced": None}, "balance_induced must be True or False"),
    ({"reweight": -1}, "reweight must be a number >= 0"),
])
def test_bad_options(three, kwargs, message):
    with pytest.raises(InputError, match=message):
        MultiAligner(**{"mode": "joint", **kwargs}).fit(three, {("a", "b"): dico("a", "b", range(10)), ("c", "b"): dico("c", "b", TRAIN)})


def test_refine_filter_keeps_dictionary_like_pairs():
    """Half the words of every language sit apart (another kind of word) and no dictionary lists one of them:
    with the filter, refinement refits on induced pairs of the dictionary's kind only."""
    rng = np.random.default_rng(5)
    base = rng.normal(size=(N, DIM))
    base[N // 2:, 0] += 4.0  # the second half: the kind of word no dictionary lists
    spaces = {lang: Embeddings([f"{lang}{i}" for i in range(N)],
                               (base @ _rotation(rng) + 0.01 * rng.normal(size=(N, DIM))).astype(np.float32))
              for lang in "abc"}
    seeds = range(0, N // 2, 2)
    dicos = {("a", "b"): dico("a", "b", seeds), ("c", "b"): dico("c", "b", seeds)}
    plain = MultiAligner(mode="joint", refine=1, refine_vocab=N).fit(spaces, dicos)
    aligner = MultiAligner(mode="joint", refine=1, refine_vocab=N, refine_filter=25)
    mm = aligner.fit(spaces, dicos)
    assert mm.info["params"]["refine_filter"] == 25 and plain.info["params"]["refine_filter"] is None
    first = aligner.history_[0]
    for pair, kept in first["kept_by_filter"].items():
        assert kept <= first["induced_pairs"][pair]
    # a-c has no dictionary: nearly every induced pair of the unlisted half is dropped, most of the listed half kept
    assert first["induced_pairs"]["a-c"] > 0.9 * N and N // 4 < first["kept_by_filter"]["a-c"] < 0.6 * N
    assert "kept_by_filter" not in plain.info["history"][0]
    with pytest.raises(InputError, match="refine_filter must be a percentile"):
        MultiAligner(mode="joint", refine_filter=150).fit(spaces, dicos)
