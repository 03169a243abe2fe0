"""Supervised alignment on built data where the right answer is known: a random rotation of random vectors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from align import Dictionary, Embeddings, InputError, evaluate_bli
from align.aligners import ProcrustesAligner, RCSLSAligner, procrustes
from align.space.mapping import Mapping
from align.space.normalize import Normalizer, parse_steps


def rotation(d: int, rng) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return (q * np.sign(np.diag(r))).astype(np.float32)


def make_pair(n=1500, d=40, noise=0.01, seed=0):
    """Source words s0.., target words t0..: target = source @ R + noise, so si ↔ ti."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    R = rotation(d, rng)
    Y = X @ R + noise * rng.normal(size=(n, d)).astype(np.float32)
    src = Embeddings([f"s{i}" for i in range(n)], X)
    tgt = Embeddings([f"t{i}" for i in range(n)], Y)
    return src, tgt, R


def true_dico(idx) -> Dictionary:
    return Dictionary([(f"s{i}", f"t{i}") for i in idx], name="true")


def test_procrustes_closed_form_recovers_rotation():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 30)).astype(np.float32)
    R = rotation(30, rng)
    W = procrustes(X, X @ R)
    assert np.abs(W - R).max() < 1e-4
    assert np.allclose(W.T @ W, np.eye(30), atol=1e-4)


@pytest.mark.parametrize("normalize", [(), ("unit", "center", "unit")])
def test_rotation_with_noise_is_recovered(normalize):
    src, tgt, R = make_pair()
    m = ProcrustesAligner(normalize=normalize).fit(src, tgt, true_dico(range(0, 1500, 3)))
    assert m.is_orthogonal()
    if not normalize:
        assert np.linalg.norm(m.W - R) / np.linalg.norm(R) < 0.01
    test = true_dico(range(1, 1500, 3))
    for retrieval in ("nn", "csls", "isf"):
        r = evaluate_bli(m.transform_embeddings(src), m.normalize_target(tgt), test, retrieval)
        assert r.precision_at_1 == 100.0, retrieval


def test_refinement_from_noisy_small_seed_reaches_full_answer():
    src, tgt, _ = make_pair(n=2000, d=30, noise=0.05, seed=3)
    rng = np.random.default_rng(0)
    good = rng.choice(2000, 40, replace=False)
    bad_src, bad_tgt = rng.choice(2000, 10, replace=False), rng.choice(2000, 10, replace=False)
    seeds = Dictionary([(f"s{i}", f"t{i}") for i in good] + [(f"s{a}", f"t{b}") for a, b in zip(bad_src, bad_tgt)])
    test = true_dico(range(2000))
    plain = ProcrustesAligner(normalize=(), refine=0).fit(src, tgt, seeds)
    p_plain = evaluate_bli(plain.transform_embeddings(src), tgt, test, "nn").precision_at_1
    aligner = ProcrustesAligner(normalize=(), refine=3, refine_vocab=2000)
    refined = aligner.fit(src, tgt, seeds)
    p_ref = evaluate_bli(refined.transform_embeddings(src), tgt, test, "nn").precision_at_1
    assert p_plain < 99.0  # the 10 wrong pairs in 50 spoil the plain fit
    assert p_ref == 100.0
    # best iteration chosen by the unsupervised criterion, recorded for every iteration
    hist = aligner.history_
    assert [h["iteration"] for h in hist] == list(range(len(hist)))
    assert len(hist) == 4 or aligner.converged_at_ == len(hist) - 1
    assert aligner.best_iteration_ == int(np.argmax([h["criterion"] for h in hist]))
    assert aligner.induced_ is not None and len(aligner.induced_.pairs) > 1500


def test_refinement_stops_when_the_induced_pairs_repeat_with_the_same_result():
    """Once a round induces the very pairs its map was fitted on, every later round repeats it: stopping
    there gives exactly the mapping that running every round gives."""
    src, tgt, _ = make_pair(n=1500, d=30, noise=0.05, seed=4)
    rng = np.random.default_rng(1)
    seeds = Dictionary([(f"s{i}", f"t{i}") for i in rng.choice(1500, 60, replace=False)])
    long = ProcrustesAligner(normalize=(), refine=25, refine_vocab=1500)
    m_long = long.fit(src, tgt, seeds)
    assert long.converged_at_ is not None and long.converged_at_ < 25
    assert len(long.history_) == long.converged_at_ + 1
    stop = long.converged_at_
    for rounds in (stop, stop + 1):  # just enough rounds, and one more: the same mapping
        short = ProcrustesAligner(normalize=(), refine=rounds, refine_vocab=1500)
        m_short = short.fit(src, tgt, seeds)
        np.testing.assert_array_equal(m_short.W, m_long.W)
        assert short.best_iteration_ == long.best_iteration_
        np.testing.assert_array_equal(short.induced_.pairs, long.induced_.pairs)


def test_rcsls_recovers_rotation_and_orthogonal_option():
    src, tgt, _ = make_pair(n=1200, d=30, noise=0.02, seed=5)
    test = true_dico(range(1, 1200, 2))
    for ortho in (False, True):
        m = RCSLSAligner(epochs=5, orthogonal=ortho).fit(src, tgt, true_dico(range(0, 1200, 2)))
        r = evaluate_bli(m.transform_embeddings(src), m.normalize_target(tgt), test, "csls")
        assert r.precision_at_1 == 100.0
        losses = [h["loss"] for h in m.info["history"]]
        assert losses[-1] <= losses[0]
    # on noisy data the free map leaves the orthogonal matrices; the orthogonal option keeps it there
    src, tgt, _ = make_pair(n=600, d=16, noise=1.0, seed=7)
    free = RCSLSAligner(epochs=6, k=5).fit(src, tgt, true_dico(range(0, 600, 10)))
    ortho = RCSLSAligner(epochs=6, k=5, orthogonal=True).fit(src, tgt, true_dico(range(0, 600, 10)))
    assert ortho.is_orthogonal() and not free.is_orthogonal()


def rcsls_problem():
    """A noisy pair with 60 seeds, words with several translations and targets of several words."""
    from align.aligners.base import prepare

    src, tgt, _ = make_pair(n=600, d=16, noise=1.0, seed=7)  # noisy, 60 seeds: the loss keeps falling
    seeds = Dictionary([(f"s{i}", f"t{i}") for i in range(0, 600, 10)]
                       + [(f"s{i}", f"t{i + 1}") for i in range(0, 600, 20)]
                       + [(f"s{i + 2}", f"t{i}") for i in range(0, 600, 30)])
    p = prepare(src, tgt, seeds, ("unit", "center", "unit"))
    assert len(np.unique(p.pairs[:, 0])) < len(p.pairs) and len(np.unique(p.pairs[:, 1])) < len(p.pairs)
    return p


def test_rcsls_closed_form_gradient_equals_autograd():
    """The closed-form gradient is torch autograd's gradient of the loss, with the k-NN sets held fixed."""
    import torch

    from align.aligners.procrustes import procrustes as fit_procrustes
    from align.aligners.rcsls import Objective
    from align.backend import get_backend

    p = rcsls_problem()
    W = fit_procrustes(p.X[p.pairs[:, 0]], p.Y[p.pairs[:, 1]]) * 0.9
    obj = Objective(p, 5, 10**6, get_backend("cpu"))
    for b in (slice(0, len(p.pairs)), np.arange(0, len(p.pairs), 3)):
        loss, grad, _ = obj.loss_grad(W, b)
        xs, ys = (torch.from_numpy(a) for a in obj.pairs(b))
        ybar, xbar = (torch.from_numpy(a) for a in obj.neighbour_means(W, b))
        Wt = torch.from_numpy(W.copy()).requires_grad_(True)
        xw = xs @ Wt
        lt = (-2 * (xw * ys).sum(1) + (xw * ybar).sum(1) + ((xbar @ Wt) * ys).sum(1)).mean()
        lt.backward()
        assert abs(lt.item() - loss) < 1e-5
        np.testing.assert_allclose(grad, Wt.grad.numpy(), atol=1e-5)


@pytest.mark.parametrize("kw", [dict(), dict(orthogonal=True), dict(spectral=False, lr=0.5), dict(lr=200.0),
                                dict(batch_size=20)])
def test_rcsls_descends_alike_on_both_backends(kw):
    """The RCSLS loop, written once, gives the same loss curve, steps and W on numpy and on torch (the GPU
    path, run here on the CPU); overshooting full-batch steps are halved."""
    from align.aligners.procrustes import procrustes as fit_procrustes
    from align.backend import get_backend, torch_backend

    p = rcsls_problem()
    a = RCSLSAligner(epochs=6, k=5, **{"lr": 1.0, **kw})
    W0 = fit_procrustes(p.X[p.pairs[:, 0]], p.Y[p.pairs[:, 1]])
    Wn, hn = a._descend(p, W0, get_backend("cpu"))
    Wt, ht = a._descend(p, W0, torch_backend("cpu"))
    assert [h["lr"] for h in hn] == [h["lr"] for h in ht]
    if kw.get("lr") == 200.0:
        assert hn[-1]["lr"] < 200.0  # the overshooting steps were halved, alike in both
    np.testing.assert_allclose([h["loss"] for h in hn], [h["loss"] for h in ht], atol=1e-5)
    np.testing.assert_allclose(Wn, Wt, atol=1e-4)
    assert hn[-1]["loss"] < hn[0]["loss"] and np.abs(Wn - W0).max() > 1e-3  # the descent did move the map


def test_save_load_apply_gives_identical_vectors(tmp_path):
    src, tgt, _ = make_pair(n=600, d=20)
    m = ProcrustesAligner().fit(src, tgt, true_dico(range(300)))
    m.save(tmp_path / "map")
    assert sorted(p.name for p in (tmp_path / "map").iterdir()) == ["W.npy", "mapping.json"]
    json.loads((tmp_path / "map" / "mapping.json").read_text())  # plain JSON, no pickle
    m2 = Mapping.load(tmp_path / "map")
    new = np.random.default_rng(9).normal(size=(7, 20)).astype(np.float32)
    assert np.array_equal(m.transform(new), m2.transform(new))
    assert np.array_equal(m.normalize_target(tgt).vectors, m2.normalize_target(tgt).vectors)


def test_normalisation_is_reapplied_on_new_vectors():
    rng = np.random.default_rng(2)
    X = rng.normal(loc=3.0, size=(400, 10)).astype(np.float32)
    norm = Normalizer(("unit", "center", "unit"))
    Xn = norm.fit_transform(X)
    mean_after_unit = (X / np.linalg.norm(X, axis=1, keepdims=True)).mean(0)
    new = rng.normal(loc=3.0, size=(5, 10)).astype(np.float32)
    got = norm.transform(new)
    expect = new / np.linalg.norm(new, axis=1, keepdims=True) - mean_after_unit
    expect /= np.linalg.norm(expect, axis=1, keepdims=True)
    assert np.allclose(got, expect, atol=1e-5)
    assert np.allclose(norm.transform(X), Xn, atol=1e-6)
    # the mapping re-applies the fitted statistics, not new ones
    m = Mapping(np.eye(10), norm, Normalizer(()))
    assert np.allclose(m.transform(new), expect, atol=1e-5)


def test_iternorm_makes_unit_and_centered():
    X = np.random.default_rng(4).normal(loc=1.0, size=(300, 8)).astype(np.float32)
    Xn = Normalizer(("iternorm",)).fit_transform(X)
    assert np.allclose(np.linalg.norm(Xn, axis=1), 1, atol=1e-5)
    assert np.abs(Xn.mean(0)).max() < 1e-2


def test_unitdim_gives_unit_variance():
    X = np.random.default_rng(4).normal(scale=[1, 5, 9], size=(300, 3)).astype(np.float32)
    Xn = Normalizer(("unitdim",)).fit_transform(X)
    assert np.allclose(Xn.std(0), 1, atol=1e-4)


def test_bad_inputs_are_clear_errors(tmp_path):
    src, tgt, _ = make_pair(n=100, d=10)
    other = Embeddings([f"t{i}" for i in range(100)], np.random.default_rng(0).normal(size=(100, 12)))
    with pytest.raises(InputError, match="dimension mismatch"):
        ProcrustesAligner().fit(src, other, true_dico(range(10)))
    with pytest.raises(InputError, match="empty"):
        ProcrustesAligner().fit(src, tgt, Dictionary([]))
    with pytest.raises(InputError, match="no seed pair"):
        ProcrustesAligner().fit(src, tgt, Dictionary([("zz", "yy"), ("s1", "nope")]))
    with pytest.raises(InputError, match="unknown normalisation step"):
        parse_steps("unit foo")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine")
    with pytest.raises(InputError, match="not a mapping directory"):
        Mapping.load(notes)
    with pytest.raises(InputError, match="not an output of align"):  # never replaces a folder of other files
        Mapping(np.eye(10)).save(notes)
    assert [p.name for p in notes.iterdir()] == ["todo.txt"] and (notes / "todo.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["notes"]  # no work folder left beside it


def test_mapping_with_target_side_matrix_round_trips_and_is_applied(tmp_path):
    rng = np.random.default_rng(5)
    W, W_tgt = rotation(12, rng), rng.normal(size=(12, 12)).astype(np.float32)
    tgt_norm = Normalizer(("center",))
    tgt_norm.fit_transform(rng.normal(size=(50, 12)).astype(np.float32))
    m = Mapping(W, Normalizer(("unit",)), tgt_norm, {"method": "x"}, W_tgt=W_tgt)
    y = rng.normal(size=(4, 12)).astype(np.float32)
    assert np.allclose(m.transform_target(y), m.tgt_norm.transform(y) @ W_tgt, atol=1e-6)
    assert not m.is_orthogonal()
    m.save(tmp_path / "map")
    assert sorted(p.name for p in (tmp_path / "map").iterdir()) == ["W.npy", "W_tgt.npy", "mapping.json"]
    m2 = Mapping.load(tmp_path / "map")
    assert np.array_equal(m2.W_tgt, W_tgt) and np.array_equal(m2.transform_target(y), m.transform_target(y))
    # overwriting with a one-sided mapping removes the stale target matrix
    Mapping(W).save(tmp_path / "map")
    assert Mapping.load(tmp_path / "map").W_tgt is None
    assert not (tmp_path / "map" / "W_tgt.npy").exists()
    with pytest.raises(InputError, match="target-side matrix"):
        Mapping(W, W_tgt=np.ones((12, 5)))
    with pytest.raises(InputError, match="dimension mismatch"):
        m.transform_target(np.ones((2, 7), np.float32))


def test_multistep_without_whitening_or_reweighting_is_procrustes():
    from align.aligners.multistep import multistep

    rng = np.random.default_rng(8)
    X = rng.normal(size=(400, 20))
    Y = X @ rotation(20, rng) + 0.1 * rng.normal(size=(400, 20))
    Wa, Wb = multistep(X, Y, whiten=False, reweight=0.0)
    np.testing.assert_allclose(Wa @ Wb.T, procrustes(X.astype(np.float32), Y.astype(np.float32)), atol=1e-4)


def test_multistep_whitening_decorrelates_and_dewhitening_restores_the_geometry():
    from align.aligners.multistep import multistep

    rng = np.random.default_rng(9)
    X = rng.normal(size=(600, 16)) * np.linspace(0.2, 3.0, 16)  # very unequal variances
    R = rotation(16, rng)
    Y = X @ R
    Wa, Wb = multistep(X, Y, whiten=True, reweight=0.0, dewhiten=False)
    cov = (X @ Wa).T @ (X @ Wa)
    np.testing.assert_allclose(cov, np.eye(16), atol=1e-3)  # whitened and rotated: identity covariance
    np.testing.assert_allclose(X @ Wa, Y @ Wb, atol=1e-3)  # an exact rotation: both sides meet
    Wa, Wb = multistep(X, Y, whiten=True, reweight=0.0, dewhiten=True)
    G = (X @ Wa) @ (X @ Wa).T
    np.testing.assert_allclose(G, X @ X.T, atol=1e-2 * np.abs(X @ X.T).max())  # de-whitened: the original Gram
    np.testing.assert_allclose(X @ Wa, Y @ Wb, atol=1e-3)
    with pytest.raises(InputError, match="at least as many seed pairs"):
        multistep(X[:10], Y[:10], whiten=True)


def test_whitened_reweighted_procrustes_maps_both_sides_and_round_trips(tmp_path):
    src, tgt, _ = make_pair(n=1500, d=30, noise=0.05, seed=6)
    aligner = ProcrustesAligner(whiten=True, reweight=0.5, refine=2, refine_vocab=1500)
    m = aligner.fit(src, tgt, true_dico(range(0, 1500, 3)))
    assert m.W_tgt is not None and not m.is_orthogonal()
    r = evaluate_bli(m.transform_embeddings(src), m.normalize_target(tgt), true_dico(range(1, 1500, 3)), "csls")
    assert r.precision_at_1 == 100.0
    m.save(tmp_path / "m")
    back = Mapping.load(tmp_path / "m")
    np.testing.assert_array_equal(back.transform(src.vectors[:50]), m.transform(src.vectors[:50]))
    np.testing.assert_array_equal(back.transform_target(tgt.vectors[:50]), m.transform_target(tgt.vectors[:50]))
    assert back.info["params"]["whiten"] is True and back.info["params"]["reweight"] == 0.5


def make_drift(n=2000, d=30, seed=0, shift=3.0):
    """Targets of two kinds: 'lemmas' t_i (rotated source + noise) and, for the second half of the words,
    'inflections' u_i that sit off the lemmas along one direction; the seeds hold lemmas only."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    Y = X @ rotation(d, rng) + 0.05 * rng.normal(size=(n, d)).astype(np.float32)
    v = rng.normal(size=d).astype(np.float32)
    Y[n // 2:] += shift * v / np.linalg.norm(v)
    order = rng.permutation(n)  # the two kinds interleave in frequency order
    src = Embeddings([f"s{i}" for i in order], X[order])
    tgt = Embeddings([f"t{i}" if i < n // 2 else f"u{i}" for i in order], Y[order])
    return src, tgt, Dictionary([(f"s{i}", f"t{i}") for i in range(0, n // 2, 4)])


def test_seed_like_mask_tells_seed_kind_targets_from_others():
    from align.aligners.seedlike import seed_like_mask

    _, tgt, seeds = make_drift()
    positives = np.array([tgt.get_index(t) for _, t in seeds.pairs])
    mask = seed_like_mask(tgt.vectors, positives, 25, seed=0)
    lemma = np.array([w.startswith("t") for w in tgt.words])
    assert 0.6 < mask[lemma].mean() < 0.9  # about 75% of seed-kind words reach the seeds' 25th percentile
    assert mask[~lemma].mean() < 0.05
    assert np.array_equal(mask, seed_like_mask(tgt.vectors, positives, 25, seed=0))  # deterministic
    assert seed_like_mask(tgt.vectors, positives, 0, seed=0)[positives].all()
    with pytest.raises(InputError, match="0..100"):
        seed_like_mask(tgt.vectors, positives, 101)


def test_refine_filter_keeps_refinement_on_the_seeds_kind_of_target():
    src, tgt, seeds = make_drift()
    plain = ProcrustesAligner(refine=3, refine_vocab=2000)
    plain.fit(src, tgt, seeds)
    drifted = np.mean([tgt.words[j].startswith("u") for j in plain.train_pairs_[:, 1]])
    assert drifted > 0.3  # unfiltered self-learning trains on the other kind of target too
    aligner = ProcrustesAligner(refine=3, refine_vocab=2000, refine_filter=25)
    m = aligner.fit(src, tgt, seeds)
    kept = [tgt.words[j] for j in aligner.train_pairs_[:, 1]]
    assert len(kept) > 2 * len(seeds) and np.mean([w.startswith("u") for w in kept]) < 0.05
    assert all("kept_by_filter" in h and h["kept_by_filter"] < h["induced_pairs"] for h in aligner.history_)
    assert m.info["params"]["refine_filter"] == 25
    with pytest.raises(InputError, match="refine_filter"):
        ProcrustesAligner(refine=1, refine_filter=-1).fit(src, tgt, seeds)  # validated in fit


def test_no_output_is_written_when_the_evaluation_fails(tmp_path, monkeypatch):
    """The mapped vectors are formatted beside the evaluation, but written only after it succeeded."""
    import align.jobs.run as pipeline

    src, tgt, _ = make_pair(n=300, d=10)

    def broken(*args, **kwargs):
        raise InputError("evaluation failed")

    monkeypatch.setattr(pipeline, "evaluate_mapping", broken)
    with pytest.raises(InputError, match="evaluation failed"):
        pipeline.run_alignment(src, tgt, true_dico(range(100)), dico_eval=true_dico(range(100, 200)),
                                output=tmp_path / "out", refine=0)
    assert not (tmp_path / "out").exists()
    monkeypatch.undo()
    _, metrics = pipeline.run_alignment(src, tgt, true_dico(range(100)), dico_eval=true_dico(range(100, 200)),
                                         output=tmp_path / "out", refine=0)
    mapped = Embeddings.load(tmp_path / "out" / "src.mapped.vec", cache=False)
    assert mapped.words == src.words and metrics["eval"]["csls"]["precision_at_1"] == 100.0
    assert np.allclose(mapped.vectors, Mapping.load(tmp_path / "out").transform(src.vectors), atol=1e-5)


def test_progress_bars_leave_the_recorded_parameters_alone():
    """show_progress says how to run, not what was fitted: runs with and without it record the same."""
    src, tgt, _ = make_pair(n=400, d=20)
    train = true_dico(range(300))
    quiet = ProcrustesAligner(refine=1).fit(src, tgt, train)
    loud = ProcrustesAligner(refine=1, show_progress=True).fit(src, tgt, train)
    assert quiet.info["params"] == loud.info["params"] and "show_progress" not in quiet.info["params"]
    assert quiet.info["params"]["refine"] == 1
