"""Dictionary induction and the blocked search behind it, against brute force on built data."""
from __future__ import annotations

import numpy as np
import pytest

from align.search.induction import induce
from align.space.normalize import normalize_rows
from align.search.csls import csls_argmax
from align.search.topk import block_topk, row_col_topk
from align.store.text import format_rows


def brute_csls(S: np.ndarray, T: np.ndarray, k: int = 10):
    """Reference CSLS nearest neighbours of both directions from the full similarity matrix."""
    S, T = normalize_rows(S).astype(np.float64), normalize_rows(T).astype(np.float64)
    M = S @ T.T
    r_t = np.sort(M, axis=1)[:, -k:].mean(axis=1)
    r_s = np.sort(M, axis=0)[-k:, :].mean(axis=0)
    C = 2 * M - r_t[:, None] - r_s[None, :]
    return C.argmax(axis=1), C.argmax(axis=0), M


def noisy_pair(n=1200, d=24, noise=0.25, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return X, (X @ q + noise * rng.normal(size=(n, d))).astype(np.float32), q.astype(np.float32)


def test_block_topk_matches_brute_force_across_blocks():
    rng = np.random.default_rng(1)
    Q, B = rng.normal(size=(700, 30)).astype(np.float32), rng.normal(size=(500, 30)).astype(np.float32)
    scores, ids = block_topk(Q, B, 7, block=128)
    M = Q.astype(np.float64) @ B.T.astype(np.float64)
    expect = np.argsort(-M, axis=1)[:, :7]
    assert np.array_equal(ids, expect)
    assert np.allclose(scores, np.take_along_axis(M, expect, axis=1), atol=1e-4)
    # more neighbours asked than there are rows: all of them, best first
    s2, i2 = block_topk(Q[:3], B[:5], 9)
    assert i2.shape == (3, 5) and np.all(np.diff(s2, axis=1) <= 0)


def test_row_col_topk_gives_both_sides_of_one_pass():
    rng = np.random.default_rng(2)
    Q, B = rng.normal(size=(530, 12)).astype(np.float32), rng.normal(size=(410, 12)).astype(np.float32)
    rv, ri, cv, ci = row_col_topk(Q, B, 6, block=100)  # several blocks, a ragged last one
    M = Q.astype(np.float64) @ B.T.astype(np.float64)
    assert np.array_equal(ri, np.argsort(-M, axis=1)[:, :6])
    assert np.array_equal(ci, np.argsort(-M.T, axis=1)[:, :6])
    assert np.allclose(cv, np.take_along_axis(M.T, ci, axis=1), atol=1e-4)


def test_row_col_topk_caps_the_block_by_the_buffer_budget(monkeypatch):
    """A wide base shrinks the row blocks (memory stays bounded) and the result does not change."""
    import align.search.topk as sim

    rng = np.random.default_rng(3)
    Q, B = rng.normal(size=(300, 10)).astype(np.float32), rng.normal(size=(500, 10)).astype(np.float32)
    full = row_col_topk(Q, B, 5)
    monkeypatch.setattr(sim, "BUFFER_SCORES", 500 * 7)  # 7-row blocks: 43 of them, the last ragged
    shapes = []
    real_matmul = np.matmul
    monkeypatch.setattr(sim.np, "matmul", lambda a, b, out: shapes.append(out.shape) or real_matmul(a, b, out=out))
    capped = row_col_topk(Q, B, 5)
    assert max(s[0] for s in shapes) == 7 and sum(s[0] for s in shapes) == 300
    for a, b in zip(full, capped):
        assert np.array_equal(a, b)


def test_csls_argmax_is_exact_when_the_answer_lies_outside_the_candidates():
    rng = np.random.default_rng(4)
    Q, B = normalize_rows(rng.normal(size=(50, 8))), normalize_rows(rng.normal(size=(300, 8)))
    penalty = np.zeros(300, dtype=np.float32)
    penalty[rng.choice(300, 150, replace=False)] = 1.5  # half the rows are hubs: their cosines do not win
    rv, ri = block_topk(Q, B, 3)
    best, score = csls_argmax(Q, B, rv, ri, penalty)
    A = 2 * (Q @ B.T) - penalty
    assert np.array_equal(best, A.argmax(axis=1))
    assert np.allclose(score, (Q @ B.T)[np.arange(50), best], atol=1e-6)


def test_induce_equals_brute_force_csls():
    X, Y, q = noisy_pair()
    nn_st, nn_ts, M = brute_csls(X @ q, Y)
    ind = induce(X @ q, Y, max_rank=1200, mode="s2t")
    agree = np.mean(ind.pairs[:, 1] == nn_st)
    t2s = induce(X @ q, Y, max_rank=1200, mode="t2s")
    agree_ts = np.mean(t2s.pairs[:, 0] == nn_ts)
    assert agree == 1.0 and agree_ts == 1.0
    # the criterion is the mean cosine of the source→target CSLS picks
    assert ind.criterion == pytest.approx(M[np.arange(1200), ind.pairs[:, 1]].mean(), abs=1e-5)
    mutual = induce(X @ q, Y, max_rank=1200)
    expect = {(i, int(j)) for i, j in enumerate(nn_st) if nn_ts[j] == i}
    assert {tuple(p) for p in mutual.pairs.tolist()} == expect
    union = induce(X @ q, Y, max_rank=1200, mode="union")
    assert len(union.pairs) == len(np.unique(union.pairs, axis=0)) >= len(mutual.pairs)
    expect_union = {(i, int(j)) for i, j in enumerate(nn_st)} | {(int(i), j) for j, i in enumerate(nn_ts)}
    assert {tuple(p) for p in union.pairs.tolist()} == expect_union


def test_induce_only_looks_at_the_most_frequent_words():
    X, Y, q = noisy_pair(n=600)
    ind = induce(X @ q, Y, max_rank=200, mode="union")
    assert ind.pairs.max() < 200


def test_format_rows_round_trips_and_has_no_negative_zero():
    rng = np.random.default_rng(3)
    v = (rng.normal(size=(300, 17)) * 0.2).astype(np.float32)
    back = np.array([np.array(r.split(), dtype=np.float64) for r in format_rows(v)])
    assert np.abs(back - v).max() <= 5e-7
    row = format_rows(np.array([[0.0, -0.0, -4e-7, 1.5, -123.25, 2.5e6]]), 2)[0]
    assert row == b"0.00 0.00 0.00 1.50 -123.25 2500000.00"
    assert format_rows(np.array([[-1.5, 2.0]]), 0)[0] == b"-2 2"
    assert format_rows(np.array([[np.nan, 1.0]]))[0] == b"nan 1.000000"  # non-finite: the slow path, still valid
    assert format_rows(np.zeros((0, 4))) == []


@pytest.mark.parametrize("scale", [0.3, 3.0, 30.0])
def test_format_rows_six_decimals_equals_python_formatting(scale):
    """Both paths (table look-ups below 10, digit arithmetic above) write what '%.6f' writes, without '-0'."""
    rng = np.random.default_rng(5)
    v = (rng.normal(size=(64, 33)) * scale).astype(np.float32)
    v[0, :6] = [0.0, -0.0, -4e-7, 4e-7, 9.999999, -9.999999]
    expected = [" ".join(("%.6f" % x).replace("-0.000000", "0.000000") for x in row).encode()
                for row in v.astype(np.float64).tolist()]
    assert format_rows(v) == expected
