"""Integration on the real benchmark kit (../shared/bench); skipped when the kit is absent.

The reference pair was mapped by Procrustes outside this project; MUSE's and VecMap's own
evaluators give the figures below on it (see the kit's README). An evaluator that
disagrees by more than 0.1 has a bug.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from align import Dictionary, Embeddings
from conftest import run_cli

# (retrieval, P@1, P@5, P@10); None where the reference evaluator does not report it
REFERENCE = [
    ("nn", 40.99, 60.34, 66.60),  # MUSE evaluate.py, VecMap eval_translation.py
    ("csls", 48.39, 66.22, 70.59),  # MUSE csls_knn_10, VecMap csls
    ("isf", 41.56, None, None),  # VecMap invsoftmax, its defaults (beta 1, all sources)
]


def kit_read_only(bench: Path) -> bool:
    """The shared kit's folders carry no write bit. The loader then caches under $ALIGN_CACHE (even
    for root, whom os.access does not stop); in a writable copy of the kit it would cache beside
    the files, by design, so the tests read such a copy with --no-cache."""
    return all(os.stat(d).st_mode & 0o222 == 0 for d in (bench / "vectors", bench / "reference"))


def _bli(bench: Path, src: str, tgt: str, retrieval: str) -> dict:
    res = run_cli(["bli-eval", "--src-emb", bench / src, "--tgt-emb", bench / tgt,
                   "--dico", bench / "dictionaries" / "fr-fi.test.txt", "--retrieval", retrieval, "--json", "-q"]
                  + ([] if kit_read_only(bench) else ["--no-cache"]))
    assert res.exit_code == 0, res.output
    assert res.stderr == ""
    return json.loads(res.stdout)


@pytest.mark.parametrize("retrieval,p1,p5,p10", REFERENCE, ids=[r[0] for r in REFERENCE])
def test_reference_pair_reproduces_muse_and_vecmap(bench, retrieval, p1, p5, p10):
    out = _bli(bench, "reference/fr-fi.fr.mapped.vec.gz", "reference/fr-fi.fi.normalized.vec.gz", retrieval)
    assert out["retrieval"] == retrieval
    assert out["n_queries"] == 527
    assert out["coverage"] == 1.0
    assert out["precision_at_1"] == pytest.approx(p1, abs=0.1)
    if p5 is not None:
        assert out["precision_at_5"] == pytest.approx(p5, abs=0.1)
        assert out["precision_at_10"] == pytest.approx(p10, abs=0.1)


def test_unaligned_spaces_are_near_chance(bench):
    out = _bli(bench, "vectors/fr.vec.gz", "vectors/fi.vec.gz", "nn")
    assert out["n_queries"] == 527
    assert out["coverage"] == 1.0
    assert out["coverage_detail"]["pairs"] == 651 and out["coverage_detail"]["kept"] == 651
    assert out["precision_at_1"] < 1.0


def test_kit_vectors_load_and_cache_outside_the_kit(bench, tmp_path, monkeypatch):
    """The kit is read-only by its mode bits; the cache must go to $ALIGN_CACHE, never into the kit
    (the `bench` fixture also checks, after the test, that nothing in the kit changed)."""
    if not kit_read_only(bench):
        pytest.skip("this copy of the kit is writable: the loader would cache beside its files")
    cache_root = tmp_path / "cache"
    monkeypatch.setenv("ALIGN_CACHE", str(cache_root))
    path = bench / "vectors" / "fr.vec.gz"
    first = Embeddings.load(path)
    assert (len(first), first.dim) == (18031, 300)
    assert not first.report.from_cache
    assert Path(first.report.cache_path).parent == cache_root / "vectors"
    assert not any(p.name.endswith(".align-cache") for p in (bench / "vectors").iterdir())
    second = Embeddings.load(path, max_vocab=1000)
    assert second.report.from_cache and len(second) == 1000
    assert second.words == first.words[:1000]
    assert (second.vectors == first.vectors[:1000]).all()
    d = Dictionary.load(bench / "dictionaries" / "fr-fi.test.txt")
    assert len(d) == 651 and len({s for s, _ in d}) == 527
    assert sum(s in first for s, _ in d) == 651
