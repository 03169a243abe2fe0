"""The learned reranker on built data: spelling decides where the map cannot, cross-fitting keeps each
query's pairs out of the maps that score it, and a saved reranker ranks exactly as the fitted one."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

pytest.importorskip("lightgbm")
pytest.importorskip("sklearn")
pytest.importorskip("rapidfuzz")

from align import AlignError, Dictionary, Embeddings, InputError  # noqa: E402
from align.rerank import Reranker  # noqa: E402
from align.rerank.crossfit import source_folds  # noqa: E402

LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


def _word(rng, n=7) -> str:
    return "".join(rng.choice(LETTERS, n))


@pytest.fixture(scope="module")
def twins():
    """Each source word has two target words at the same distance from its rotated vector: its
    translation, spelled like it (a cognate), and a decoy with another spelling. The map alone is a coin
    toss between them; spelling decides. Rows are shuffled so that frequency says nothing."""
    rng = np.random.default_rng(0)
    n, dim = 300, 24
    src_words = list(dict.fromkeys(_word(rng) for _ in range(3 * n)))[:n]
    X = rng.normal(size=(n, dim)).astype(np.float32)
    R = np.linalg.qr(rng.normal(size=(dim, dim)))[0].astype(np.float32)
    centre = X @ R
    noise = 0.25
    tgt_words, tgt_vecs = [], []
    for i, w in enumerate(src_words):
        tgt_words += [w[:-1] + "o", _word(rng, 7) + "q"]
        tgt_vecs += [centre[i] + noise * rng.normal(size=dim), centre[i] + noise * rng.normal(size=dim)]
    order = rng.permutation(len(tgt_words))
    tgt = Embeddings([tgt_words[j] for j in order], np.asarray(tgt_vecs, dtype=np.float32)[order])
    src = Embeddings(src_words, X)
    gold = [(w, w[:-1] + "o") for w in src_words]
    return src, tgt, Dictionary(gold[:220]), Dictionary(gold[220:])


def _fit(src, tgt, train, **kw) -> Reranker:
    kw.setdefault("k", 10)
    kw.setdefault("maps", ("procrustes",))
    kw.setdefault("score_folds", False)
    kw.setdefault("identical", False)
    kw.setdefault("threads", 1)
    kw.setdefault("model_params", {"num_rounds": 60} if kw.get("model", "lightgbm") == "lightgbm" else None)
    return Reranker(**kw).fit(src, tgt, train)


def test_spelling_decides_where_the_map_cannot(twins):
    from align import evaluate_bli
    from align.aligners import ProcrustesAligner

    src, tgt, train, test = twins
    m = ProcrustesAligner(refine=0).fit(src, tgt, train)
    plain = evaluate_bli(m.transform_embeddings(src), m.normalize_target(tgt), test, "csls").precision_at_1
    r = _fit(src, tgt, train)
    res = r.evaluate(src, tgt, test)
    assert plain < 75.0  # the map alone: about a coin toss between the twins
    assert res["precision_at_1"] >= 95.0
    assert res["n_queries"] == 80 and res["coverage"] == 1.0
    assert set(res) >= {"precision_at_1", "precision_at_5", "precision_at_10", "n_queries", "coverage"}
    top = max(r.importances_, key=r.importances_.get)
    assert top.startswith("string."), top
    # without the spelling features (the seed-likeness of word endings and the seeds' pairs of endings too)
    # it is back to a coin toss
    blind = _fit(src, tgt, train, exclude=("string", "family", "seedlike", "affix"))
    assert blind.evaluate(src, tgt, test)["precision_at_1"] < 75.0


@pytest.fixture(scope="module")
def cognates():
    """Half of the dictionary translates words into themselves (names, loanwords) whose target vectors have
    nothing to do with the map, so no map proposes them; the other half is a clean rotation."""
    rng = np.random.default_rng(1)
    n, dim, half = 300, 24, 150
    src_words = list(dict.fromkeys(_word(rng) for _ in range(3 * n)))[:n]
    X = rng.normal(size=(n, dim)).astype(np.float32)
    R = np.linalg.qr(rng.normal(size=(dim, dim)))[0].astype(np.float32)
    tgt_words = [_word(rng, 8) + "x" for _ in range(half)] + src_words[half:]
    Y = np.vstack([X[:half] @ R + 0.1 * rng.normal(size=(half, dim)), rng.normal(size=(n - half, dim))])
    order = rng.permutation(n)
    tgt = Embeddings([tgt_words[j] for j in order], Y.astype(np.float32)[order])
    gold = list(zip(src_words, tgt_words))
    train, test = gold[:100] + gold[half:half + 100], gold[100:half] + gold[half + 100:]
    return Embeddings(src_words, X), tgt, Dictionary(train), Dictionary(test)


def test_spelled_alike_candidates_the_maps_miss(cognates, twins, tmp_path):
    src, tgt, train, test = cognates
    never = _fit(src, tgt, train, identical=False)
    assert never.evaluate(src, tgt, test)["precision_at_1"] < 65.0  # the cognates are not among the candidates
    # a reranker that built the spelled-alike candidates but did not keep them never ranks one
    declined = _fit(src, tgt, train, identical=True)
    declined.identical_ = False
    rows = np.sort([src.index[w] for w, _ in test.pairs])
    assert all(not P.injected.any() for P in declined.view_candidates(src, tgt, rows))
    assert declined.evaluate(src, tgt, test)["precision_at_1"] < 65.0
    auto = _fit(src, tgt, train, identical="auto")  # scores the folds to choose, whatever score_folds says
    assert _fit(src, tgt, train, identical="auto", threads=2).train_ == auto.train_  # folds fitted side by side
    assert auto.identical_ is True  # chosen on the cross-fitted training queries
    choice = auto.train_["identical"]
    assert choice["rerank_precision_at_1_with"] > choice["rerank_precision_at_1_without"] + 20
    assert auto.evaluate(src, tgt, test)["precision_at_1"] >= 95.0
    auto.save(tmp_path / "r")
    back = Reranker.load(tmp_path / "r")
    rows = np.array([src.index[w] for w, _ in test.pairs])
    assert back.identical_ is True and np.array_equal(back.rank(src, tgt, rows)[1], auto.rank(src, tgt, rows)[1])
    meta = json.loads((tmp_path / "r" / "rerank.json").read_text())
    del meta["params"]["identical"], meta["identical_chosen"]  # as written before the option existed
    (tmp_path / "r" / "rerank.json").write_text(json.dumps(meta))
    old = Reranker.load(tmp_path / "r")
    assert old.identical is False and old.identical_ is False
    # where no source word is spelled like a target word there is nothing to add
    src2, tgt2, train2, test2 = twins
    r = _fit(src2, tgt2, train2, identical="auto")
    assert r.identical_ is False and "identical" not in r.train_
    with pytest.raises(InputError, match="identical"):
        Reranker(identical="sometimes").fit(src, tgt, train)


def test_crossfitting_keeps_each_querys_pairs_out_of_its_maps(twins):
    src, tgt, train, _ = twins
    pairs = train.indices(src, tgt)
    folds = source_folds(pairs, 5, seed=3)
    seen = np.concatenate([f.queries for f in folds])
    assert np.array_equal(np.sort(seen), np.unique(pairs[:, 0]))  # every seed source is a query once
    for f in folds:
        assert not np.isin(f.fit_pairs[:, 0], f.queries).any()
        own = pairs[np.isin(pairs[:, 0], f.queries)]
        assert len(own) + len(f.fit_pairs) == len(pairs)
    r = _fit(src, tgt, train, folds=4, seed=3)
    assert len(r.fold_queries_) == 4
    for queries, fit_sources in zip(r.fold_queries_, r.fold_fit_sources_):
        assert len(queries) and not np.isin(queries, fit_sources).any()
    # new queries are scored in the same four views: each holds the other folds' seeds only
    views = list(r.views(src, tgt))
    assert len(views) == 4
    from align.rerank.maps import fit_map

    X, Y = r.src_norm_.transform(src.vectors), r.tgt_norm_.transform(tgt.vectors)
    for view, queries, fit_sources, (maps, _) in zip(views, r.fold_queries_, r.fold_fit_sources_, r.view_maps_):
        assert np.array_equal(np.unique(view.seeds[:, 0]), fit_sources)
        assert not np.isin(view.seeds[:, 0], queries).any()
        # and its maps are the ones fitted on exactly those seeds
        np.testing.assert_allclose(maps["procrustes"][0], fit_map("procrustes", X, Y, view.seeds)[0], atol=1e-5)
    whole = _fit(src, tgt, train, folds=4, seed=3, apply_maps="all")
    (view,) = whole.views(src, tgt)
    assert len(view.seeds) == len(pairs)


def test_views_combine_by_mean_rank():
    from align.rerank.ranking import combine_views, top_by_group

    # query 0: view A ranks targets 5, 7, 9; view B ranks 7, 5 and does not list 9 (last, rank 2 of 2)
    a = (np.array([0, 0, 0]), np.array([5, 7, 9]), np.array([3.0, 2.0, 1.0]))
    b = (np.array([0, 0]), np.array([5, 7]), np.array([0.5, 0.9]))
    group, tgt, score, tie = combine_views([a, b], 1, 10)
    assert tgt.tolist() == [5, 7, 9] and group.tolist() == [0, 0, 0]
    assert score.tolist() == [-0.5, -0.5, -2.0]  # mean ranks (0+1)/2, (1+0)/2, (2+2)/2
    np.testing.assert_allclose(tie, [1.75, 1.45, 0.75])  # mean scores, B's lowest (0.5) for the target it lacks
    _, ids = top_by_group(score, group, tgt, 1, 3, tie)
    assert ids.tolist() == [[5, 7, 9]]  # the tie on mean rank goes to the higher mean score


def test_save_load_apply_gives_the_same_ranking(twins, tmp_path):
    src, tgt, train, test = twins
    rows = np.array([src.index[s] for s, _ in test.pairs])
    for model, apply_maps in (("lightgbm", "folds"), ("logistic", "all")):
        r = _fit(src, tgt, train, model=model, seed=1, apply_maps=apply_maps)
        scores, ids = r.rank(src, tgt, rows, k=10)
        r.save(tmp_path / model)
        files = sorted(os.listdir(tmp_path / model))
        views = range(5) if apply_maps == "folds" else range(1)
        assert files == sorted(["rerank.json", "seeds.txt", "seed_folds.npy",
                                *(f"view{v}.procrustes.W.npy" for v in views),
                                "model.txt" if model == "lightgbm" else "model.json"])
        back = Reranker.load(tmp_path / model)
        s2, i2 = back.rank(src, tgt, rows, k=10)
        assert np.array_equal(ids, i2)
        np.testing.assert_allclose(scores, s2, rtol=1e-6, atol=1e-9)
        assert back.params_json() == r.params_json()
        assert json.loads((tmp_path / model / "rerank.json").read_text())["format"] == "align-rerank"
    r.save(tmp_path / "logistic")  # saving over an existing reranker replaces it whole
    assert Reranker.load(tmp_path / "logistic").model == "logistic"
    # a reranker saved in the first format (one set of maps, no folds) loads and ranks as before
    d = tmp_path / "logistic"
    meta = json.loads((d / "rerank.json").read_text())
    os.rename(d / "view0.procrustes.W.npy", d / "procrustes.W.npy")
    meta["maps"] = {"procrustes": {"W": "procrustes.W.npy", "W_tgt": None}}
    for key in ("views", "seed_folds", "identical_chosen"):
        del meta[key]
    os.remove(d / "seed_folds.npy")
    for key in ("apply_maps", "identical"):
        del meta["params"][key]
    meta["version"] = 1
    (d / "rerank.json").write_text(json.dumps(meta))
    old = Reranker.load(d)
    assert old.apply_maps == "all" and old.identical is False
    assert np.array_equal(old.rank(src, tgt, rows, k=10)[1], r.rank(src, tgt, rows, k=10)[1])


def test_fitted_views_reuse_their_target_statistics_only_on_their_own_vectors_and_maps(twins, monkeypatch):
    import copy

    import align.rerank.cache as cache_module

    src, tgt, train, test = twins
    rows = np.array([src.index[s] for s, _ in test.pairs])
    r = _fit(src, tgt, train, seed=2)
    known = lambda rr, s, t: int((~np.isnan(next(rr.views(s, t)).spaces["procrustes"].r_S)).sum())  # noqa: E731
    assert known(r, src, tgt) > 0  # what cross-fitting computed about the targets serves new queries
    fresh = copy.copy(r)
    fresh.release_views()
    assert known(fresh, src, tgt) == 0
    assert np.array_equal(r.rank(src, tgt, rows, 10)[1], fresh.rank(src, tgt, rows, 10)[1])
    for a, b in zip(r.view_candidates(src, tgt, rows), fresh.view_candidates(src, tgt, rows)):
        assert np.array_equal(a.tgt, b.tgt) and set(a.features) == set(b.features)
        for name in a.features:  # equal up to the rounding of the products
            np.testing.assert_allclose(a.features[name], b.features[name], rtol=0, atol=1e-5, err_msg=name)
    # other vectors (even equal ones), other maps or search settings start from nothing
    assert known(r, Embeddings(src.words, src.vectors.copy()), tgt) == 0
    refitted = copy.copy(r)
    refitted.view_maps_ = list(r.view_maps_)
    refitted.view_maps_[0] = (dict(r.view_maps_[0][0]), r.view_maps_[0][1])
    assert known(refitted, src, tgt) == 0
    deeper = copy.copy(r)
    deeper.depth = r.depth + 1
    assert known(deeper, src, tgt) == 0
    own = Embeddings(src.words, src.vectors.copy())  # vectors edited in place after fit
    edited = _fit(own, tgt, train, seed=2)
    own.vectors[::7] *= 2.0
    assert known(edited, own, tgt) == 0
    assert _fit(src, tgt, train, seed=2, apply_maps="all")._fold_views is None
    monkeypatch.setattr(cache_module, "KEEP_STATES_BYTES", 0)  # too large to keep: nothing is kept
    small = _fit(src, tgt, train, seed=2)
    assert small._fold_views is None and known(small, src, tgt) == 0
    assert np.array_equal(small.rank(src, tgt, rows, 10)[1], fresh.rank(src, tgt, rows, 10)[1])


def test_a_damaged_saved_reranker_gives_a_one_line_error(twins, tmp_path):
    """Truncated, edited or half-deleted reranker folders are refused with an InputError naming the file,
    never a crash (LightGBM aborts the process on a truncated model) or a traceback."""
    import shutil

    src, tgt, train, _ = twins
    good = tmp_path / "good"
    _fit(src, tgt, train).save(good)

    def damaged(name: str, edit) -> str:
        d = tmp_path / name
        shutil.copytree(good, d)
        edit(d)
        with pytest.raises(InputError) as err:
            Reranker.load(d)
        return str(err.value)

    def truncate(d):
        text = (d / "model.txt").read_text()
        (d / "model.txt").write_text(text[: len(text) // 2])

    def edit_json(change):
        def edit(d):
            meta = json.loads((d / "rerank.json").read_text())
            change(meta)
            (d / "rerank.json").write_text(json.dumps(meta))
        return edit

    assert "model.txt" in damaged("truncated", truncate)
    assert "checksum" in damaged("edited", lambda d: (d / "model.txt").write_text(
        (d / "model.txt").read_text().replace("shrinkage=", "shrinkage=9")))
    assert "malformed rerank.json" in damaged("no-params", edit_json(lambda m: m.pop("params")))
    assert "format version True" in damaged("bool-version", edit_json(lambda m: m.update(version=True)))
    assert "k must be an integer" in damaged("bad-k", edit_json(lambda m: m["params"].update(k="30")))
    assert "rerank.json: apply_maps" in damaged("bad-apply", edit_json(lambda m: m["params"].update(apply_maps="x")))
    assert "5 views for 3 folds" in damaged("folds-views", edit_json(lambda m: m["params"].update(folds=3)))
    assert "seed_folds.npy" in damaged("bad-folds", lambda d: np.save(d / "seed_folds.npy", np.zeros((3, 2), int)))
    assert "seeds' folds" in damaged("one-fold", lambda d: np.save(
        d / "seed_folds.npy", np.zeros(len(train.pairs), np.int64)))
    assert "view1.procrustes.W.npy" in damaged("bad-map", lambda d: np.save(d / "view1.procrustes.W.npy",
                                                                            np.zeros(5)))
    assert "view0.procrustes.W.npy: holds NaN" in damaged("nan-map", lambda d: np.save(
        d / "view0.procrustes.W.npy", np.full_like(np.load(d / "view0.procrustes.W.npy"), np.nan)))
    small = damaged("small-map", lambda d: np.save(d / "view2.procrustes.W.npy", np.eye(5, dtype=np.float32)))
    assert "view2.procrustes.W.npy: maps 5-dim sources onto 5-dim targets" in small
    swapped = edit_json(lambda m: m.update(feature_names=m["feature_names"][::-1]))
    assert "feature_names do not match their checksum" in damaged("swapped", swapped)
    shorter = edit_json(lambda m: m.update(feature_names=m["feature_names"][:-1], features_sha256=_sha(
        "\n".join(m["feature_names"][:-1]))))
    assert f"{len(json.loads((good / 'rerank.json').read_text())['feature_names']) - 1} feature names for a model " \
        "trained on" in damaged("shorter", shorter)
    assert "features_sha256 missing" in damaged("no-sum", edit_json(lambda m: m.pop("features_sha256")))
    assert "identical_chosen and has_extra must be true or false" in damaged(
        "maybe", edit_json(lambda m: m.update(identical_chosen="maybe")))
    renamed = tmp_path / "renamed"
    shutil.copytree(good, renamed)
    edit_json(lambda m: m.update(feature_names=(names := [*m["feature_names"][:-1], "bogus.feature"]),
                                 features_sha256=_sha("\n".join(names))))(renamed)
    with pytest.raises(InputError, match=f"{renamed}: the model uses feature 'bogus.feature'"):
        Reranker.load(renamed).rank(src, tgt, np.arange(5))


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_fits_are_deterministic_given_the_seed(twins):
    src, tgt, train, test = twins
    rows = np.array([src.index[s] for s, _ in test.pairs])
    a = _fit(src, tgt, train, seed=5).rank(src, tgt, rows)
    b = _fit(src, tgt, train, seed=5).rank(src, tgt, rows)
    assert np.array_equal(a[1], b[1]) and np.array_equal(a[0], b[0])


def test_cross_fitted_training_figures(twins):
    src, tgt, train, _ = twins
    r = _fit(src, tgt, train, score_folds=True)
    t = r.train_
    assert t["queries"] == 220
    assert t["rerank_precision_at_1"] > t["csls_precision_at_1"]["procrustes"] + 20
    assert 0 < t["candidate_recall"] <= 100


def test_translate_and_bad_input(twins, tmp_path):
    src, tgt, train, _ = twins
    w = train.pairs[0][0]
    for apply_maps in ("all", "folds"):
        r = _fit(src, tgt, train, apply_maps=apply_maps)
        out = r.translate(src, tgt, [w], k=3)
        assert len(out[w]) == 3 and all(isinstance(t, str) for t, _ in out[w])
        scores = [sc for _, sc in out[w]]
        assert scores == sorted(scores, reverse=True)
    with pytest.raises(InputError, match="not in the source vocabulary"):
        r.translate(src, tgt, ["zzzzzzzzz"])
    for bad, message in (({"k": 5}, "k >= 10"), ({"maps": "procrustes,nope"}, "unknown candidate map"),
                         ({"exclude": ("spelling",)}, "unknown feature group"),
                         ({"model": "forest"}, "unknown reranking model"),
                         ({"apply_maps": "some"}, "apply_maps must be one of folds, all"),
                         ({"model_params": {"num_leafs": 3}}, "unknown lightgbm parameter 'num_leafs'"),
                         ({"model": "logistic", "model_params": {"c": 0.1}}, "unknown logistic parameter 'c'"),
                         ({"encoder": str(tmp_path / "no-such-model")}, "no such model directory")):
        r = Reranker(**bad)  # parameters are stored as given, checked by fit
        assert all(getattr(r, n) == v for n, v in bad.items())
        with pytest.raises(AlignError, match=message):  # InputError; BridgeError for the encoder
            r.fit(src, tgt, train)
    with pytest.raises(InputError, match="not a reranker directory"):
        Reranker.load(tmp_path)


def _rerank_cli_args(twins, tmp_path):
    """The twins written as files, and `align procrustes … --rerank` arguments over them (json, quiet):
    (source path, target path, arguments)."""
    from conftest import write_vec

    src, tgt, train, test = twins
    s = write_vec(tmp_path / "src.vec", src.words, src.vectors)
    t = write_vec(tmp_path / "tgt.vec", tgt.words, tgt.vectors)
    train.save(tmp_path / "train.txt")
    test.save(tmp_path / "test.txt")
    return s, t, ["procrustes", "xx", "yy", "--src-emb", s, "--tgt-emb", t, "--dico-train", tmp_path / "train.txt",
                  "--dico-eval", tmp_path / "test.txt", "--refine", "0", "--no-cache", "--rerank", "--rerank-k", "10",
                  "--rerank-maps", "procrustes", "--json", "--quiet"]


def test_cli_rerank_end_to_end(twins, tmp_path):
    """`align procrustes … --rerank` reports eval.rerank beside eval.csls on the same queries and saves the
    reranker with the mapping; `align translate` and `align bli-eval --mapping` re-apply it."""
    from conftest import run_cli

    src, tgt, train, test = twins
    s, t, args = _rerank_cli_args(twins, tmp_path)
    out = tmp_path / "out"
    args = [*args, "--output", out]
    res = run_cli(args)
    assert res.exit_code == 0, res.stderr
    m = json.loads(res.stdout)
    ev = m["eval"]
    assert set(ev["csls"]) == set(ev["rerank"]) and ev["rerank"]["retrieval"] == "rerank"
    assert ev["rerank"]["n_queries"] == ev["csls"]["n_queries"] == 80
    assert ev["csls"]["precision_at_1"] < 75.0 <= 95.0 <= ev["rerank"]["precision_at_1"]
    assert m["rerank"]["params"]["k"] == 10 and m["rerank"]["params"]["maps"] == ["procrustes"]
    assert m["rerank"]["importances"] and m["rerank"]["train"]["queries"] == 220
    assert m["rerank"]["identical"] is False and m["rerank"]["params"]["identical"] == "auto"  # no cognate here
    assert (out / "rerank" / "rerank.json").exists() and (out / "metrics.json").exists()
    word, gold = test.pairs[0]
    res = run_cli(["translate", out, word, "--src-emb", s, "--tgt-emb", t, "-k", "3", "--json"])
    assert res.exit_code == 0, res.stderr
    tr = json.loads(res.stdout)
    assert tr["retrieval"] == "rerank" and len(tr["translations"][word]) == 3
    assert tr["score"].startswith("minus the mean rank over 5 views")  # the folds' views (the default)
    assert [c["score"] for c in tr["translations"][word]] == sorted((c["score"] for c in tr["translations"][word]),
                                                                    reverse=True)
    assert all(c["mean_rank"] == round(1 - c["score"], 6) >= 1 for c in tr["translations"][word])
    res = run_cli(["translate", out, word, "--src-emb", s, "--tgt-emb", t, "-k", "500", "--json"])
    assert res.exit_code == 0 and 0 < len(json.loads(res.stdout)["translations"][word]) < 500
    assert "the reranker ranks only its maps' candidates" in res.stderr and f"{word} has " in res.stderr
    res = run_cli(["translate", out, word, "--src-emb", s, "--tgt-emb", t, "-k", "2"])
    assert res.exit_code == 0 and "mean rank" in res.stdout and f"{word}: " in res.stdout
    assert "warning" not in res.stderr
    res = run_cli(["translate", out, word, "--src-emb", s, "--tgt-emb", t, "--retrieval", "nn"])
    assert res.exit_code == 2 and "add --no-rerank" in res.stderr and "Traceback" not in res.stderr
    res = run_cli(["translate", out, word, "--src-emb", s, "--tgt-emb", t, "--retrieval", "nn", "--no-rerank",
                   "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["retrieval"] == "nn"
    few = tmp_path / "few.vec"  # vectors lacking most seed words: the reranker's features see fewer seeds
    kept = list(dict.fromkeys([word, *src.words[:99]]))
    few.write_text(f"{len(kept)} {src.dim}\n" + "".join(f"{w} {' '.join(map(str, src[w]))}\n" for w in kept))
    res = run_cli(["translate", out, word, "--src-emb", few, "--tgt-emb", t])
    assert res.exit_code == 0 and "seed pairs are not in these vectors" in res.stderr
    res = run_cli(["bli-eval", "--src-emb", s, "--tgt-emb", t, "--dico", tmp_path / "test.txt", "--mapping", out,
                   "--json", "--quiet"])
    assert res.exit_code == 0, res.stderr
    again = json.loads(res.stdout)["results"]
    assert again["rerank"]["precision_at_1"] == ev["rerank"]["precision_at_1"]
    assert again["csls"]["precision_at_1"] == ev["csls"]["precision_at_1"]
    bad = run_cli(args[:-4] + ["--rerank-maps", "procrustes,nope", "--json", "--quiet"])
    assert bad.exit_code == 2 and "unknown candidate map 'nope'" in bad.stderr and "Traceback" not in bad.stderr
    (out / "rerank" / "rerank.json").rename(tmp_path / "moved.json")  # a damaged reranker is not ignored
    res = run_cli(["translate", out, word, "--src-emb", s, "--tgt-emb", t])
    assert res.exit_code == 2 and "rerank.json missing" in res.stderr and "Traceback" not in res.stderr
    loud = run_cli([a for a in args if a != "--quiet"] + ["--rerank-identical", "yes"])  # twins: no cognate
    assert loud.exit_code == 0 and "--rerank-identical yes added nothing" in loud.stderr
    bad = run_cli([*args, "--rerank-identical", "sometimes"])
    assert bad.exit_code == 2 and "--rerank-identical" in bad.stderr and "Traceback" not in bad.stderr
    three = tmp_path / "three"
    res = run_cli([*args[:-1], three, "--rerank-folds", "3"])
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["rerank"]["params"]["folds"] == 3
    assert sorted(p.name for p in (three / "rerank").glob("view*.W.npy")) == [f"view{v}.procrustes.W.npy"
                                                                            for v in range(3)]
    bad = run_cli([*args, "--rerank-folds", "1"])
    assert bad.exit_code == 2 and "--rerank-folds" in bad.stderr and "Traceback" not in bad.stderr
    many = tmp_path / "many"  # more folds than seed words: said before the alignment is fitted, naming the file
    bad = run_cli([*args[:-2], "--output", many, "--rerank-folds", "221", "--json", "--quiet"])
    assert bad.exit_code == 2 and "Traceback" not in bad.stderr and not many.exists()
    assert "train.txt: 220 distinct source words" in bad.stderr and "--rerank-folds 221" in bad.stderr
    plain = [a for a in args if a not in ("--rerank",)]  # reranking options without --rerank
    bad = run_cli([*plain, "--rerank-folds", "3", "--rerank-model", "logistic"])
    assert bad.exit_code == 2 and "--rerank-folds, --rerank-model need --rerank" in bad.stderr
    res = run_cli(["bli-eval", "--src-emb", s, "--tgt-emb", t, "--dico", tmp_path / "test.txt", "--mapping", out,
                   "--no-rerank", "--json", "--quiet"])  # the flat result of one retrieval, as without a reranker
    assert res.exit_code == 0 and json.loads(res.stdout)["retrieval"] == "csls"
    none = tmp_path / "none.vec"  # vectors holding none of the reranker's seed words: a one-line error
    test_words = list(dict.fromkeys(w for w, _ in test.pairs))
    none.write_text(f"{len(test_words)} {src.dim}\n" + "".join(f"{w} {' '.join(map(str, src[w]))}\n"
                                                                for w in test_words))
    for cmd in (["translate", out, test_words[0], "--src-emb", none, "--tgt-emb", t],
                ["bli-eval", "--src-emb", none, "--tgt-emb", t, "--dico", tmp_path / "test.txt", "--mapping", out]):
        bad = run_cli(cmd)
        assert bad.exit_code == 2 and "none of the reranker's 220 seed pairs" in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr and "warning" not in bad.stderr


def test_import_align_loads_no_reranking_library():
    import subprocess
    import sys

    code = ("import sys, align, align.cli, align.rerank; "
            "print([m for m in ('lightgbm', 'sklearn', 'rapidfuzz') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bagged_lightgbm_saves_and_loads(twins, tmp_path):
    """bags > 1: the mean of several LightGBM models on random query subsets, saved as one JSON list."""
    src, tgt, train, test = twins
    rows = np.array([src.index[s] for s, _ in test.pairs])
    r = _fit(src, tgt, train, model_params={"num_rounds": 30, "bags": 3})
    assert len(r.model_.boosters_) == 3
    scores, ids = r.rank(src, tgt, rows, k=10)
    r.save(tmp_path / "bags")
    back = Reranker.load(tmp_path / "bags")
    s2, i2 = back.rank(src, tgt, rows, k=10)
    assert np.array_equal(ids, i2)
    np.testing.assert_allclose(scores, s2, rtol=1e-6, atol=1e-9)
    assert r.evaluate(src, tgt, test)["precision_at_1"] >= 90.0


def test_cli_rerank_options_default_to_the_library():
    import click

    from align.cli import cli
    from align.rerank import DEFAULT_K, DEFAULT_MAPS, DEFAULT_MODEL

    cmd = cli.get_command(None, "procrustes")
    ctx = click.Context(cmd)
    got = {p.name: p.get_default(ctx) for p in cmd.params}
    assert got["rerank_k"] == DEFAULT_K and got["rerank_model"] == DEFAULT_MODEL
    assert got["rerank_maps"] == " ".join(DEFAULT_MAPS) and got["rerank"] is False
    assert got["rerank_identical"] == Reranker.defaults()["identical"] == "auto"
    assert got["rerank_apply_maps"] == Reranker.defaults()["apply_maps"] == "folds"
    assert got["rerank_folds"] == Reranker.defaults()["folds"]
    assert got["rerank_encoder"] == Reranker.defaults()["encoder"] is None
    assert got["rerank_encoder_layers"] == Reranker.defaults()["encoder_layers"] is None


def test_an_extra_space_adds_the_encoder_features(twins, tmp_path):
    """Another embedding of (some of) the same words, e.g. an encoder's: its map's scores are one more
    feature group, its candidates join the lists, and it must be given again to apply the reranker."""
    src, tgt, train, test = twins
    rng = np.random.default_rng(7)
    keep_s, keep_t = src.words[:250], tgt.words[: len(tgt) - 40]  # some words have no extra vector
    es = Embeddings(keep_s, src.lookup(keep_s) @ rng.normal(size=(24, 16)).astype(np.float32))
    et = Embeddings(keep_t, rng.normal(size=(len(keep_t), 16)).astype(np.float32))
    r = _fit(src, tgt, train, exclude=("string", "family", "seedlike"))
    rx = Reranker(k=10, maps=("procrustes",), score_folds=False, threads=1, model_params={"num_rounds": 60},
                  exclude=("string", "family", "seedlike")).fit(src, tgt, train, extra=(es, et))
    assert any(n.startswith("encoder.") for n in rx.feature_names_)
    assert not any(n.startswith("encoder.") for n in r.feature_names_)
    with pytest.raises(InputError, match="extra space"):
        rx.evaluate(src, tgt, test)
    res = rx.evaluate(src, tgt, test, extra=(es, et))
    assert res["n_queries"] == 80
    rx.save(tmp_path / "x")
    back = Reranker.load(tmp_path / "x")
    rows = np.array([src.index[s] for s, _ in test.pairs])
    a, b = rx.rank(src, tgt, rows, extra=(es, et)), back.rank(src, tgt, rows, extra=(es, et))
    assert np.array_equal(a[1], b[1])
    assert len(back.view_maps_) == len(rx.view_maps_) == 5  # each fold's view, with its own extra-space map
    for (maps, extra_map), (maps2, extra_map2) in zip(rx.view_maps_, back.view_maps_):
        assert np.array_equal(maps["procrustes"][0], maps2["procrustes"][0])
        assert np.array_equal(extra_map[0], extra_map2[0])
    meta = json.loads((tmp_path / "x" / "rerank.json").read_text())
    assert back.legacy_extra_vocabulary is False
    older = {k: v for k, v in meta.items() if k not in ("vocab", "features_sha256")}
    (tmp_path / "x" / "rerank.json").write_text(json.dumps({**older, "version": 2}))  # as written before format 3
    old = Reranker.load(tmp_path / "x")  # ranks as it was fitted: every word of its extra space a source
    assert old.legacy_extra_vocabulary is True and old.vocab_ is None
    old.save(tmp_path / "again")  # and saves again, as format 3
    assert json.loads((tmp_path / "again" / "rerank.json").read_text())["version"] == 3
    meta["version"] = 99
    (tmp_path / "x" / "rerank.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="format version 99"):
        Reranker.load(tmp_path / "x")


def test_cli_rerank_encoder_feature_set(twins, tiny_model, tmp_path):
    """`--rerank-encoder MODEL` (align bridge's --model) adds the encoder feature group from the CLI; the
    saved reranker names its encoder and translate / bli-eval encode the words they need again."""
    from conftest import run_cli

    src, tgt, train, test = twins
    s, t, args = _rerank_cli_args(twins, tmp_path)
    out = tmp_path / "out"
    res = run_cli([*args, "--rerank-encoder", tiny_model, "--rerank-encoder-layers", "0-2", "--output", out])
    assert res.exit_code == 0, res.stderr
    m = json.loads(res.stdout)
    assert any(n.startswith("encoder.") for n in m["rerank"]["importances"])
    assert m["rerank"]["params"]["encoder"] == str(tiny_model) and m["rerank"]["params"]["encoder_layers"] == "0-2"
    assert m["eval"]["rerank"]["n_queries"] == 80
    word = test.pairs[0][0]
    tr = run_cli(["translate", out, word, "--src-emb", s, "--tgt-emb", t, "-k", "3", "--json"])
    assert tr.exit_code == 0, tr.stderr
    assert len(json.loads(tr.stdout)["translations"][word]) == 3
    again = run_cli(["bli-eval", "--src-emb", s, "--tgt-emb", t, "--dico", tmp_path / "test.txt", "--mapping", out,
                     "--json", "--quiet"])
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["results"]["rerank"]["precision_at_1"] == m["eval"]["rerank"]["precision_at_1"]
    bad = run_cli([*args, "--rerank-encoder", tmp_path / "no-such-model"])
    assert bad.exit_code == 2 and "no such model directory" in bad.stderr and "Traceback" not in bad.stderr
    lone = run_cli([*args[:-7], "--json", "--quiet", "--rerank-encoder", tiny_model])
    assert lone.exit_code == 2 and "--rerank-encoder needs --rerank" in lone.stderr


def test_seeds_whose_translations_no_map_finds_give_a_one_line_error(cognates):
    """Seeds the maps cannot learn from (target vectors unrelated to the sources) leave no query with its
    translation among the candidates: an InputError saying so, not the model library's crash. Where only the
    spelled-alike candidates hold the translations, "auto" keeps them without a choice to make."""
    src, tgt, train, _ = cognates
    alike = Dictionary([(s, t) for s, t in train.pairs if s == t])  # the half whose target vectors are noise
    with pytest.raises(InputError, match="too few seed queries have their translation among the candidate maps' "
                                         "top 10: 0 of 5"):  # one query per fold, each fold's map fitted on 4
        _fit(src, tgt, Dictionary(alike.pairs[:5]), folds=5)
    r = _fit(src, tgt, alike, identical="auto")
    assert r.identical_ is True and r.train_["candidate_recall"] == 100.0
    with pytest.raises(InputError, match="seed must be a non-negative integer"):
        _fit(src, tgt, train, seed=-1)


def test_cli_rerank_hardening(twins, tmp_path):
    """What a user meets around a reranked mapping: one JSON shape for bli-eval, the fitted vocabulary sizes
    reused or warned about, one-line usage errors, view matrices checked on load."""
    from conftest import run_cli

    s, t, args = _rerank_cli_args(twins, tmp_path)
    out = tmp_path / "out"
    res = run_cli([*args, "--output", out, "--max-vocab", "450"])
    assert res.exit_code == 0, res.stderr
    fitted = json.loads(res.stdout)["eval"]["rerank"]
    word = twins[3].pairs[0][0]
    res = run_cli(["translate", out, word, "--json"])  # the vectors it was fitted on, as many words as then
    assert res.exit_code == 0 and res.stderr == "", res.stderr
    res = run_cli(["bli-eval", "--src-emb", s, "--tgt-emb", t, "--dico", tmp_path / "test.txt", "--mapping", out,
                   "--max-vocab", "450", "--json"])
    both = json.loads(res.stdout)
    assert both["results"]["rerank"]["precision_at_1"] == fitted["precision_at_1"] and res.stderr == ""
    assert both["precision_at_1"] == both["results"]["csls"]["precision_at_1"]  # the first row at the top
    res = run_cli(["bli-eval", "--src-emb", s, "--tgt-emb", t, "--dico", tmp_path / "test.txt", "--mapping", out,
                   "--no-rerank", "--json", "--quiet"])
    plain = json.loads(res.stdout)
    assert set(plain["results"]) == {"csls"} and set(plain) == set(both)  # one shape with or without a reranker
    res = run_cli(["bli-eval", "--src-emb", s, "--tgt-emb", t, "--dico", tmp_path / "test.txt", "--mapping", out])
    assert res.exit_code == 0 and "fitted on 300 × 450 words, these vectors hold 300 × 600" in res.stderr
    for bad, message in ((["--seed", "-1"], "Invalid value for '--seed'"),
                         (["--rerank-encoder-layers", "0-3"], "--rerank-encoder-layers needs --rerank-encoder")):
        res = run_cli([*args, "--output", tmp_path / "never", *bad])
        assert res.exit_code == 2 and res.stderr.startswith("error: ") and message in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "never").exists()
    res = run_cli(["bli-eval", "--src-emb", s, "--tgt-emb", t, "--dico", tmp_path / "test.txt", "--no-rerank"])
    assert res.exit_code == 2 and res.stderr == "error: --no-rerank needs --mapping (see 'align bli-eval -h')\n"
    np.save(out / "rerank" / "view3.procrustes.W.npy", np.full((24, 24), np.inf, dtype=np.float32))
    res = run_cli(["translate", out, word])
    assert res.exit_code == 2 and "view3.procrustes.W.npy: holds NaN or infinite values" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    narrow = tmp_path / "narrow.vec"  # a plain mapping given target vectors of another dimension
    narrow.write_text("2 3\nab 1 0 0\ncd 0 1 0\n")
    res = run_cli(["translate", out, word, "--no-rerank", "--tgt-emb", narrow])
    assert res.exit_code == 2 and f"{narrow}: dimension mismatch" in res.stderr


def test_cli_warns_when_every_seed_is_spelled_alike(tmp_path):
    """`--dico-train identical` with --rerank: the reranker learns that spelling decides, and says so."""
    from conftest import run_cli, write_vec

    rng = np.random.default_rng(3)
    words = list(dict.fromkeys(_word(rng) for _ in range(400)))[:200]
    X = rng.normal(size=(200, 16)).astype(np.float32)
    R = np.linalg.qr(rng.normal(size=(16, 16)))[0].astype(np.float32)
    s = write_vec(tmp_path / "s.vec", words, X)
    t = write_vec(tmp_path / "t.vec", words, X @ R + 0.05 * rng.normal(size=(200, 16)).astype(np.float32))
    res = run_cli(["procrustes", "xx", "yy", "--src-emb", s, "--tgt-emb", t, "--dico-train", "identical",
                   "--refine", "0", "--no-cache", "--rerank", "--rerank-k", "10", "--rerank-maps", "procrustes",
                   "--output", tmp_path / "out", "--json"])
    assert res.exit_code == 0, res.stderr
    assert "200 of the reranker's 200 seed pairs are spelled alike" in res.stderr


def test_string_features_kept_across_views_equal_fresh_ones():
    """The views of one ranking share their candidates' string features (StringMemo): what it returns for a
    batch, in any order and mixed with pairs seen before, is what string_features computes for it alone."""
    from align.rerank.candidates import StringMemo
    from align.rerank.features import string_features

    rng = np.random.default_rng(4)
    src_words = [_word(rng, int(rng.integers(2, 9))) for _ in range(40)]
    tgt_words = [_word(rng, int(rng.integers(2, 9))) for _ in range(50)] + src_words[:5]
    memo = StringMemo(len(tgt_words))
    for _ in range(3):
        q = rng.integers(0, len(src_words), 300)
        t = rng.integers(0, len(tgt_words), 300)
        kept = memo.features(q, t, src_words, tgt_words)
        fresh = string_features([src_words[i] for i in q], [tgt_words[j] for j in t])
        assert kept.keys() == fresh.keys()
        assert all(np.array_equal(kept[n], fresh[n]) for n in fresh)


def test_encoder_features_do_not_depend_on_the_other_queries(twins, tiny_model):
    """With an encoder, words outside its fixed source vocabulary (the most frequent words and the seed sources)
    are queries only: a word ranks the same asked alone or with others, and a fit given the test's source words
    to encode (as `align procrustes` does, to encode once) learns exactly what it learns without them."""
    src, tgt, train, test = twins
    kw = dict(k=10, maps=("procrustes",), score_folds=False, threads=1, identical=False,
              model_params={"num_rounds": 30}, encoder=str(tiny_model), encoder_layers="0-2", encode_vocab=100)
    r = Reranker(**kw).fit(src, tgt, train)
    queries = list(dict.fromkeys(s for s, _ in test.pairs))  # rows 220-299: neither frequent nor seeds
    told = Reranker(**kw)
    told.fit(src, tgt, train, extra=told.encode(src, tgt, train.pairs, queries))
    assert told.model_.to_text() == r.model_.to_text()
    rows = np.array([src.index[w] for w in queries])
    alone = r.rank(src, tgt, rows[:1])
    together = r.rank(src, tgt, rows)
    assert np.array_equal(alone[1][0], together[1][0]) and np.array_equal(alone[0][0], together[0][0])


def test_refits_duplicates_and_empty_requests(twins, tmp_path):
    """A failed re-fit leaves an unfitted reranker (not the old model over new normalisers); duplicated seed
    pairs save and load; an empty request ranks nothing; refit_model and exclude are checked."""
    src, tgt, train, test = twins
    r = _fit(src, tgt, train, keep_crossfit=True)
    assert r.refit_model(model="logistic").view_maps_ is r.view_maps_
    assert not any(n.startswith("string.") for n in r.refit_model(exclude="string").feature_names_)
    with pytest.raises(InputError, match="unknown feature group 'bogus'"):
        r.refit_model(exclude=["bogus"])
    from align.rerank.features import GROUPS

    with pytest.raises(InputError, match="leaves no feature to learn from"):
        r.refit_model(exclude=GROUPS)
    with pytest.raises(InputError, match="too few seed queries"):
        r.fit(src, tgt, Dictionary(train.pairs[:5]))
    assert not hasattr(r, "model_") and not hasattr(r, "crossfit_")
    with pytest.raises(InputError, match="not fitted"):
        r.rank(src, tgt, [0])
    twice = _fit(src, tgt, Dictionary(train.pairs + train.pairs[:30]), exclude="string, affix")
    assert not any(n.startswith(("string.", "affix.")) for n in twice.feature_names_)
    twice.save(tmp_path / "twice")
    back = Reranker.load(tmp_path / "twice")
    rows = np.array([src.index[w] for w, _ in test.pairs])
    assert np.array_equal(back.rank(src, tgt, rows)[1], twice.rank(src, tgt, rows)[1])
    assert back.translate(src, tgt, []) == {}
    scores, ids = back.rank(src, tgt, [], k=3)
    assert scores.shape == ids.shape == (0, 3)
