"""Reranking features on built data: the offset from a neighbouring seed pair tells a translation from its
co-hyponym (and matches a direct computation), the seeds' pairs of endings tell which form of a stem
translates a word, and a word's statistics do not depend on how many words are computed with it."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from align.rerank.features import AffixOdds, nearest_seeds, offset_features  # noqa: E402
from align.rerank.search import MappedSpace  # noqa: E402


def _unit(a: np.ndarray) -> np.ndarray:
    return (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)


def test_the_offset_from_a_seed_pair_tells_a_translation_from_its_co_hyponym():
    # source: "boy" (query) and its seed neighbour "girl"; target: their translations, and the map is the
    # identity. The candidates "poika" and "tytto" are equally near the query's vector, but only "poika"
    # lies from the seed target "tytto" along the query's offset from "girl".
    rng = np.random.default_rng(0)
    dim = 16
    child, gender = rng.normal(size=dim), rng.normal(size=dim)
    X = _unit(np.stack([child + gender, child - gender, rng.normal(size=dim)]))  # boy, girl, other
    Y = _unit(np.stack([child + gender, child - gender, rng.normal(size=dim)]))  # poika, tytto, other
    seeds = np.array([[1, 1], [2, 2]])  # girl -> tytto, other -> other
    rows = np.array([0])
    space = MappedSpace(X, Y, csls_k=1, depth=2)
    near = nearest_seeds(X, seeds, rows, n=2)
    assert seeds[near[1][0, 0]].tolist() == [1, 1]  # girl is the query's nearest seed source
    group, tgt = np.array([0, 0, 0]), np.array([0, 1, 2])
    f = offset_features(space, seeds, near, rows, group, tgt, "m")
    best = f["offset.m.max"]
    assert best[0] > 0.99  # poika − tytto is boy − girl
    assert best[0] > best[2]
    # tytto is the seed target itself: no offset from it, only from "other"
    assert np.isfinite(best[1]) and best[1] < best[0]
    assert set(f) == {"offset.m.mean", "offset.m.max"}


def test_seed_pairs_of_endings_score_the_form_a_word_translates_to():
    # French verbs in -er translate to Finnish infinitives in -aa; the other forms of each stem (-ssa, -ko)
    # are the family negatives. A pair of endings never seen scores NaN.
    stems = ["kirjoit", "puhu", "laula", "luke", "kavel", "juokse"]
    src_words = [f"mo{chr(97 + i)}ler" for i in range(len(stems))]
    tgt_words = []
    for s in stems:
        tgt_words += [s + "taa", s + "tissa", s + "tko"]
    seeds = np.array([[i, 3 * i] for i in range(len(stems))])
    odds = AffixOdds(src_words, tgt_words, seeds)
    f = odds.features(["parler", "parler", "parler"], ["sanotaa", "sanotissa", "sanoxyz"])
    assert f["affix.odds2"][0] > 0 > f["affix.odds2"][1]
    assert f["affix.odds3"][0] > f["affix.odds3"][1]
    assert np.isnan(f["affix.odds3"][2])  # "yz" after "er" was never seen
    # a seed pair's own target is never its negative, even when it shares the stem
    assert odds.log_odds[(3, "ler", "taa")] == pytest.approx(np.log(6.5 / 0.5))


def test_offsets_match_a_direct_computation_across_blocks_and_with_few_seeds():
    from align.rerank.features import OFFSET_BLOCK

    rng = np.random.default_rng(5)
    X, Y = _unit(rng.normal(size=(400, 12))), _unit(rng.normal(size=(300, 12)))
    space = MappedSpace(X, Y, csls_k=3, depth=5)
    rows = np.arange(0, 2 * OFFSET_BLOCK + 30)  # three blocks, the last one partial
    group = np.repeat(np.arange(len(rows)), 4)
    tgt = rng.integers(0, 300, size=len(group))
    for n_seeds in (2, 40):  # fewer seeds than NEIGHBOURS, then more; some queries are seed sources themselves
        seeds = np.column_stack([rng.choice(np.arange(100, 200), n_seeds, replace=False),
                                 rng.integers(0, 300, size=n_seeds)])
        seeds[0, 0] = rows[5]
        seeds[1, 1] = tgt[0]  # a candidate that is a neighbour's seed target
        near = nearest_seeds(X, seeds, rows)
        got = offset_features(space, seeds, near, rows, group, tgt, "m")
        near_sim, idx, w = near
        for i in range(len(group)):
            q, c = rows[group[i]], tgt[i]
            cos, ws = [], []
            for j in range(idx.shape[1]):
                s, t = seeds[idx[group[i], j]]
                if not np.isfinite(near_sim[group[i], j]) or t == c:
                    continue
                a, b = Y[c].astype(np.float64) - Y[t], X[q].astype(np.float64) - X[s]
                cos.append(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
                ws.append(float(w[group[i], j]))
            if not cos:
                assert np.isnan(got["offset.m.max"][i]) and np.isnan(got["offset.m.mean"][i])
                continue
            assert got["offset.m.max"][i] == pytest.approx(max(cos), abs=1e-5)
            assert got["offset.m.mean"][i] == pytest.approx(np.average(cos, weights=ws), abs=1e-5)


def test_a_words_statistics_do_not_depend_on_how_many_words_are_computed_with_it():
    from align.rerank.search import mean_top

    rng = np.random.default_rng(3)
    vals = rng.random((500, 50)).astype(np.float32)
    assert mean_top(vals[7:8], 10)[0] == mean_top(vals, 10)[7]  # the same bits, alone or in a batch
    assert mean_top(vals[:, :4], 10)[0] == pytest.approx(vals[0, :4].mean())  # fewer than k: all of them
    X = _unit(rng.normal(size=(3000, 40)))
    Y = _unit(rng.normal(size=(2500, 40)))
    together = MappedSpace(X, Y, csls_k=10, depth=50)
    together.ensure_columns(np.arange(0, 2500, 3))
    alone = MappedSpace(X, Y, csls_k=10, depth=50)
    for j in (0, 3, 999, 2499):  # equal up to the rounding of the products
        alone.ensure_columns(np.array([j]))
        assert together.r_S[j] == pytest.approx(alone.r_S[j], abs=1e-6)
        np.testing.assert_allclose(together.src_top[j], alone.src_top[j], rtol=0, atol=1e-6)
    _, r_many, _ = together.query_stats(np.arange(0, 300))
    _, r_one, _ = together.query_stats(np.array([123]))
    assert r_many[123] == pytest.approx(r_one[0], abs=1e-6)
    shallow = MappedSpace(X, Y, csls_k=10, depth=4)  # depth below csls_k: r_S is the mean of what is kept
    shallow.ensure_columns(np.array([5]))
    assert shallow.r_S[5] == pytest.approx(shallow.src_top[5].mean(), abs=1e-6)
    shallow.ensure_columns(np.arange(2500))
    assert (shallow.lower_r_S() <= shallow.r_S).all()  # still a lower bound: the pruned search stays exact


def test_logistic_ranker_fits_a_feature_missing_everywhere_silently():
    import warnings

    from align.rerank.models import make_model

    rng = np.random.default_rng(1)
    F = rng.normal(size=(60, 3))
    F[:, 1] = np.nan  # e.g. a feature of neighbours that no query has
    y = (rng.random(60) < 0.3).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = make_model("logistic", None, 0, 1).fit(F, y, np.array([20, 20, 20]), ["a", "b", "c"])
    assert np.isfinite(m.predict(F)).all()
