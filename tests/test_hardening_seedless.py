"""No false success: seedless runs on spaces that share nothing are judged failed (exit 3), a run that finds
no pair is a failed run (exit 3, not bad input), and a mapping marked failed is never used silently."""
from __future__ import annotations

import json

import numpy as np

from align import Embeddings
from align.aligners.restarts import FAIL_EXCESS, heldout_rows
from align.aligners.unsupervised import UnsupervisedAligner
from align.space.mapping import Mapping

from conftest import run_cli, write_vec


def _noise(tmp_path, n: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    a = write_vec(tmp_path / "a.vec", [f"a{i}" for i in range(n)], rng.normal(size=(n, d)))
    b = write_vec(tmp_path / "b.vec", [f"b{i}" for i in range(n)], rng.normal(size=(n, d)))
    return a, b


def test_gaussian_noise_is_a_failed_run_even_where_its_fit_looks_distinct(tmp_path):
    a, b = _noise(tmp_path, 500, 20)
    out = tmp_path / "O"
    res = run_cli(["unsupervised", "a", "b", "--src-emb", a, "--tgt-emb", b, "--restarts", "1", "--output", out,
                   "--json", "-q"])
    assert res.exit_code == 3, res.output
    metrics = json.loads(res.stdout)
    assert metrics["failed"] is True
    # the words the map was fitted on look aligned (the old verdict said converged) ...
    assert metrics["distinctiveness"] - metrics["null_distinctiveness"] >= FAIL_EXCESS
    # ... the held-out words, which the fit never saw, do not
    assert metrics["heldout_words"] == 100
    assert metrics["heldout_distinctiveness"] - metrics["heldout_null_distinctiveness"] < 0.01
    assert Mapping.load(out).info["failed"] is True


def test_high_dimensional_noise_is_a_failed_run():
    rng = np.random.default_rng(1)
    n, d = 400, 100
    src = Embeddings([f"a{i}" for i in range(n)], rng.normal(size=(n, d)))
    tgt = Embeddings([f"b{i}" for i in range(n)], rng.normal(size=(n, d)))
    aligner = UnsupervisedAligner(restarts=1, seed=0)
    aligner.fit(src, tgt)
    assert aligner.failed_
    assert aligner.distinctiveness_ - aligner.null_ > FAIL_EXCESS  # overfitted: its own words look aligned


def test_heldout_rows_avoid_the_initialisation_vocabulary():
    rows = heldout_rows(20000, 10000, seed=0, start=4000)
    assert len(rows) == 1000 and rows.min() >= 4000 and rows.max() < 10000
    assert np.array_equal(rows, heldout_rows(20000, 10000, seed=0, start=4000))
    small = heldout_rows(500, 10000, seed=0, start=4000)  # all 500 are in the initialisation: the least frequent
    assert len(small) == 100 and small.min() >= 400


def test_a_seedless_run_with_no_pair_is_a_failed_run_not_bad_input(tmp_path):
    a, b = _noise(tmp_path, 12, 3, seed=12)
    res = run_cli(["unsupervised", "a", "b", "--src-emb", a, "--tgt-emb", b, "--restarts", "2", "--json", "-q"])
    assert res.exit_code == 3, res.output
    assert "Procrustes needs at least one pair" not in res.stderr
    metrics = json.loads(res.stdout)
    assert metrics["failed"] is True and metrics["restarts_converged"] == [False, False]
    assert any("no pairs" in h.get("error", "") for h in metrics["history"])


def test_translate_and_apply_warn_on_a_mapping_marked_failed(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(20)]
    vec = write_vec(tmp_path / "v.vec", words, rng.normal(size=(20, 4)))
    folder = tmp_path / "m"
    Mapping(np.eye(4), info={"failed": True, "method": "unsupervised", "src_path": str(vec),
                             "tgt_path": str(vec)}).save(folder)
    res = run_cli(["translate", folder, "w1"])
    assert res.exit_code == 0
    assert "marked failed" in res.stderr and "w1:" in res.stdout
    assert "marked failed" not in run_cli(["translate", folder, "w1", "-q"]).stderr
    res = run_cli(["apply", folder, vec, tmp_path / "o.vec"])
    assert res.exit_code == 0 and "marked failed" in res.stderr
