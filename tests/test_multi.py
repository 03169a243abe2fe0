"""align.multi on built data: three rotations of one space, hub and joint modes, save/load, errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from align import Dictionary, Embeddings, InputError, evaluate_bli
from align.space import Mapping
from align.multi import MultiAligner, MultiMapping
from align.multi.gpa import PairStats, gpa, mean_pair_cosine, nearest_orthogonal

N, DIM = 800, 24
TRAIN, TEST = range(0, 250), range(400, 600)


def _rotation(rng, d=DIM):
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return q.astype(np.float32)


@pytest.fixture(scope="module")
def three():
    """Languages a, b, c: one random space under three rotations plus a little noise; word k{i} ↔ word m{i}."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(N, DIM)).astype(np.float32)
    spaces = {lang: Embeddings([f"{lang}{i}" for i in range(N)],
                               base @ _rotation(rng) + 0.01 * rng.normal(size=(N, DIM)).astype(np.float32))
              for lang in "abc"}
    return spaces


def dico(src: str, tgt: str, rows) -> Dictionary:
    return Dictionary([(f"{src}{i}", f"{tgt}{i}") for i in rows], name=f"{src}-{tgt}")


def p1(mm: MultiMapping, spaces, src: str, tgt: str, retrieval: str = "csls") -> float:
    m = mm.pair(src, tgt)
    return evaluate_bli(m.transform_embeddings(spaces[src]), m.normalize_target(spaces[tgt]),
                        dico(src, tgt, TEST), retrieval).precision_at_1


DIRECTIONS = [(s, t) for s in "abc" for t in "abc" if s != t]


@pytest.mark.parametrize("refine, options", [(0, {}), (2, {}), (2, {"balance": True, "induced_weight": 0.5,
                                                                   "normalize": ("iternorm",)})])
def test_joint_recovers_every_pair_without_a_c_dictionary(three, refine, options):
    # a-b (both directions given) and c-b only: a→c and c→a are never seen in a dictionary
    dicos = {("a", "b"): dico("a", "b", TRAIN), ("b", "a"): dico("b", "a", range(100, 300)),
             ("c", "b"): dico("c", "b", TRAIN)}
    aligner = MultiAligner(mode="joint", refine=refine, refine_vocab=N, **options)
    mm = aligner.fit(three, dicos)
    assert aligner.get_params()["refine"] == refine and mm.info["params"]["refine"] == refine
    assert aligner.hub_ == "b"  # the best-linked language
    assert aligner.seed_pairs_ == {"a-b": 300, "b-c": 250}  # both a-b dictionaries merged, 100..249 once
    for src, tgt in DIRECTIONS:
        assert p1(mm, three, src, tgt) == 100.0, (src, tgt)
    assert np.allclose(mm["b"].W, np.eye(DIM), atol=1e-5)  # the hub's space is the shared space
    for lang in "abc":
        assert mm[lang].is_orthogonal()
    if refine:
        assert len(aligner.history_) >= 2 and set(aligner.history_[0]["induced_pairs"]) == {"a-b", "a-c", "b-c"}
        # the induced a-c pairs are right (word indices agree) although no a-c dictionary was given
        assert aligner.induced_pairs_["a-c"] > 0.8 * N


def test_hub_mode_pivots(three):
    dicos = {("a", "b"): dico("a", "b", TRAIN), ("c", "b"): dico("c", "b", TRAIN)}
    aligner = MultiAligner(mode="hub", hub="b", hub_method="procrustes", refine=1, refine_vocab=N)
    mm = aligner.fit(three, dicos)
    for src, tgt in DIRECTIONS:
        assert p1(mm, three, src, tgt) == 100.0, (src, tgt)
    assert set(aligner.best_iteration_) == {"a", "c"} and aligner.ignored_params_ == []
    assert np.array_equal(mm["b"].W, np.eye(DIM, dtype=np.float32))


def test_hub_mode_with_rcsls_maps_pivots_and_records_its_method(three, tmp_path):
    dicos = {("a", "b"): dico("a", "b", TRAIN), ("c", "b"): dico("c", "b", TRAIN)}
    aligner = MultiAligner(mode="hub", hub="b", hub_method="rcsls")
    mm = aligner.fit(three, dicos)
    for src, tgt in DIRECTIONS:
        assert p1(mm, three, src, tgt) == 100.0, (src, tgt)
    assert aligner.history_[0]["language"] == "a" and aligner.history_[0]["rounds"]  # RCSLS's epochs
    mm.save(tmp_path / "space")
    back = MultiMapping.load(tmp_path / "space")
    assert back.info["params"]["hub_method"] == "rcsls"
    assert p1(back, three, "a", "c") == 100.0
    # what RCSLS maps and hub mode do not read is named, not silently dropped
    ignoring = MultiAligner(mode="hub", hub="b", hub_method="rcsls", refine=2, whiten=True)
    ignoring.fit(three, dicos)
    assert ignoring.ignored_params_ == ["refine", "whiten"]


def test_joint_beats_a_wrong_start(three):
    """GPA raises the fit's criterion monotonically from any start, up to the truth in a noiseless triangle."""
    rng = np.random.default_rng(1)
    base = rng.normal(size=(300, 8))
    Q = {lang: _rotation(rng, 8).astype(np.float64) for lang in "xyz"}
    X = {lang: base @ Q[lang] for lang in "xyz"}
    rows = np.stack([np.arange(300), np.arange(300)], axis=1)
    stats = [PairStats.of(a, b, X[a], X[b], rows) for a, b in (("x", "y"), ("y", "z"), ("x", "z"))]
    W = {lang: _rotation(rng, 8) for lang in "xyz"}
    scores = [mean_pair_cosine(stats, W)]
    for _ in range(5):
        W, _ = gpa(stats, W, max_iter=1)
        scores.append(mean_pair_cosine(stats, W))
    assert all(b >= a - 1e-9 for a, b in zip(scores, scores[1:]))
    W, _ = gpa(stats, W)
    for a in "xyz":
        for b in "xyz":
            assert np.allclose(X[a] @ W[a], X[b] @ W[b], atol=1e-3)
    K = rng.normal(size=(8, 8))
    O = nearest_orthogonal(K)
    assert np.allclose(O.T @ O, np.eye(8), atol=1e-5)


def test_save_load_round_trip_and_swap(three, tmp_path):
    dicos = {("a", "b"): dico("a", "b", TRAIN), ("c", "b"): dico("c", "b", TRAIN)}
    mm = MultiAligner(refine=0).fit(three, dicos)
    out = tmp_path / "space"
    mm.save(out)
    (out / "stale.txt").write_text("from an earlier run")
    mm.save(out)
    assert sorted(p.name for p in out.iterdir()) == ["a", "b", "c", "multi.json"]  # swapped in whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["space"]  # nothing left beside it
    manifest = json.loads((out / "multi.json").read_text())
    assert manifest["languages"] == ["a", "b", "c"] and manifest["info"]["mode"] == "hub"  # the default
    back = MultiMapping.load(out)
    assert back.languages == ["a", "b", "c"] and back.info["hub"] == "b"
    x = three["a"].vectors[:5]
    for lang in "abc":
        assert np.array_equal(Mapping.load(out / lang).W, mm[lang].W)  # each is a normal mapping folder
    assert np.allclose(back.pair("a", "c").transform(x), mm.pair("a", "c").transform(x))
    assert np.allclose(back.pair("a", "c").transform_target(three["c"].vectors[:5]),
                       mm.pair("a", "c").transform_target(three["c"].vectors[:5]))
    # a failing write leaves the earlier folder as it was
    broken = MultiMapping({lang: mm[lang] for lang in "ab"}, {})
    broken.mappings["a"] = None  # type: ignore[assignment]
    with pytest.raises(AttributeError):
        broken.save(out)
    assert sorted(p.name for p in out.iterdir()) == ["a", "b", "c", "multi.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["space"]
    # a folder of other files is never replaced
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="refusing to replace"):
        mm.save(other)
    assert [p.name for p in other.iterdir()] == ["notes.txt"]


def test_pair_needs_mappings_into_a_shared_space(three):
    mm = MultiAligner(refine=0).fit(three, {("a", "b"): dico("a", "b", TRAIN), ("c", "b"): dico("c", "b", TRAIN)})
    bilingual = Mapping(np.eye(DIM), mm["a"].src_norm, mm["b"].src_norm)
    with pytest.raises(InputError, match="shared space"):
        Mapping.pair(mm["a"], bilingual)
    with pytest.raises(InputError, match="no language 'z'"):
        mm.pair("a", "z")


@pytest.mark.parametrize("kwargs, dicos, message", [
    ({"mode": "star"}, {("a", "b"): TRAIN}, "unknown mode"),
    ({"refine": -1}, {("a", "b"): TRAIN}, "refine must be"),
    ({"induced_weight": 0}, {("a", "b"): TRAIN}, "induced_weight must be"),
    ({"balance": "yes"}, {("a", "b"): TRAIN}, "balance must be"),
    ({}, {("a", "q"): TRAIN}, "'q', which has no vectors"),
    ({}, {("a", "a"): TRAIN}, "two different languages"),
    ({"mode": "joint"}, {("a", "b"): TRAIN}, "no chain of dictionaries links c to a"),
    ({}, {("a", "b"): TRAIN}, "c has none"),
    ({"mode": "hub", "hub": "a"}, {("a", "b"): TRAIN, ("b", "c"): TRAIN}, "c has none"),
    ({"hub": "z"}, {("a", "b"): TRAIN}, "hub 'z'"),
    ({"mode": "hub", "hub_method": "gpa"}, {("a", "b"): TRAIN}, "unknown hub method 'gpa'"),
    ({}, {}, "at least one dictionary"),
])
def test_bad_input_is_one_clear_error(three, kwargs, dicos, message):
    dicos = {(s, t): dico(s, t, rows) for (s, t), rows in dicos.items()}
    with pytest.raises(InputError, match=message):
        MultiAligner(**kwargs).fit(three, dicos)


def test_bad_spaces(three):
    small = Embeddings(["x0", "x1"], np.ones((2, 3), dtype=np.float32))
    with pytest.raises(InputError, match="one dimension"):
        MultiAligner().fit({"a": three["a"], "x": small}, {("a", "x"): dico("a", "x", [0])})
    with pytest.raises(InputError, match="bad language code"):
        MultiAligner().fit({"a": three["a"], "b-c": three["b"]}, {("a", "b-c"): dico("a", "b", [0])})
    with pytest.raises(InputError, match="no a-b pair has both words"):
        MultiAligner().fit({"a": three["a"], "b": three["b"]}, {("a", "b"): Dictionary([("zz", "yy")], path="d.txt")})
