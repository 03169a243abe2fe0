"""`align procrustes`, `align apply`, `align translate` and `bli-eval --mapping` end to end on built data."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from align import Embeddings
from align.space.mapping import Mapping

from conftest import rotated_files, run_cli, write_vec


@pytest.fixture
def rotated(tmp_path):
    """Source/target .vec files (target = rotated source + noise, words s_i ↔ t_i), train and test dictionaries."""
    src, tgt, train = rotated_files(tmp_path, 800, 24, 0.01, 300)
    test = tmp_path / "test.txt"
    test.write_text("".join(f"s{i}\tt{i}\n" for i in range(400, 600)))
    return src, tgt, train, test


@pytest.mark.parametrize("method", ["procrustes", "rcsls"])
def test_procrustes_command_json_and_outputs(tmp_path, rotated, method):
    src, tgt, train, test = rotated
    out = tmp_path / "out"
    res = run_cli(["procrustes", "xx", "yy", "--src-emb", src, "--tgt-emb", tgt, "--dico-train", train,
                   "--dico-eval", test, "--method", method, "--refine", "2", "--refine-vocab", "500",
                   "--epochs", "3", "--output", out, "--json", "--quiet"])
    assert res.exit_code == 0, res.stderr
    m = json.loads(res.stdout)
    for r in ("nn", "csls"):
        assert m["eval"][r]["precision_at_1"] == 100.0
        assert m["eval"][r]["n_queries"] == 200 and m["eval"][r]["coverage"] == 1.0
        assert {"precision_at_5", "precision_at_10"} <= set(m["eval"][r])
    assert m["seconds"] > 0 and ("cpu" in m["device"] or "cuda" in m["device"])
    assert sorted(p.name for p in out.iterdir()) == ["W.npy", "induced.txt", "mapping.json", "metrics.json",
                                                     "xx.mapped.vec"]
    assert json.loads((out / "metrics.json").read_text())["eval"]["csls"]["precision_at_1"] == 100.0
    first = (out / "induced.txt").read_text().splitlines()[0].split()
    assert len(first) == 3 and first[0][0] == "s" and first[1][0] == "t" and float(first[2]) > 0
    induced = [line.split()[:2] for line in (out / "induced.txt").read_text().splitlines()]
    assert np.mean([a[1:] == b[1:] for a, b in induced]) > 0.95
    mapped = Embeddings.load(out / "xx.mapped.vec", cache=False)
    mp = Mapping.load(out)
    assert np.allclose(mapped.vectors, mp.transform(Embeddings.load(src, cache=False).vectors), atol=1e-5)
    # the saved mapping evaluates the same through bli-eval --mapping
    res2 = run_cli(["bli-eval", "--src-emb", src, "--tgt-emb", tgt, "--dico", test, "--mapping", out, "--json", "-q"])
    assert res2.exit_code == 0, res2.stderr
    assert json.loads(res2.stdout)["precision_at_1"] == 100.0
    if method == "procrustes":  # apply refuses to write over its input
        before = open(src, "rb").read()
        res3 = run_cli(["apply", out, src, src])
        assert res3.exit_code == 2 and "is the input file" in res3.stderr and open(src, "rb").read() == before


def test_seeds_mostly_outside_the_vocabularies_are_warned_about(rotated):
    src, tgt, train, test = rotated
    res = run_cli(["procrustes", "xx", "yy", "--src-emb", src, "--tgt-emb", tgt, "--dico-train", train,
                   "--refine", "0", "--max-vocab", "100", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["seed_pairs"]["kept"] == 100
    assert "200 of the 300 seed pairs are not in the vocabularies: the mapping is fitted on 100" in res.stderr
    most = run_cli(["procrustes", "xx", "yy", "--src-emb", src, "--tgt-emb", tgt, "--dico-train", train,
                    "--refine", "0", "--max-vocab", "200", "--json"])  # 200 of 300 kept: no warning
    assert most.exit_code == 0 and "seed pairs are not in" not in most.stderr


def test_procrustes_text_output_shows_iterations_and_table(rotated):
    src, tgt, train, test = rotated
    res = run_cli(["procrustes", "xx", "yy", "--src-emb", src, "--tgt-emb", tgt, "--dico-train", train,
                   "--dico-eval", test, "--refine", "1", "--refine-vocab", "500", "-q"])
    assert res.exit_code == 0, res.stderr
    assert "iteration 0" in res.stdout and "iteration 1" in res.stdout
    assert "csls" in res.stdout and "100.00" in res.stdout


def test_identical_seeds(tmp_path):
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(300)]
    X = rng.normal(size=(300, 16)).astype(np.float32)
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    src = write_vec(tmp_path / "a.vec", words, X)
    tgt = write_vec(tmp_path / "b.vec", words, X @ q.astype(np.float32))
    test = tmp_path / "t.txt"
    test.write_text("".join(f"w{i} w{i}\n" for i in range(300)))
    res = run_cli(["procrustes", "a", "b", "--src-emb", src, "--tgt-emb", tgt, "--dico-train", "identical",
                   "--dico-eval", test, "--refine", "0", "--json", "-q"])
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["seed_pairs"]["kept"] == 300
    assert out["eval"]["nn"]["precision_at_1"] == 100.0


def test_apply_and_translate(tmp_path, rotated):
    src, tgt, train, test = rotated
    out = tmp_path / "map"
    assert run_cli(["procrustes", "xx", "yy", "--src-emb", src, "--tgt-emb", tgt, "--dico-train", train,
                    "--refine", "0", "--output", out, "-q"]).exit_code == 0
    applied = tmp_path / "applied.vec"
    res = run_cli(["apply", out, src, applied, "--json"])
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["words"] == 800
    a = Embeddings.load(applied, cache=False)
    b = Embeddings.load(out / "xx.mapped.vec", cache=False)
    assert np.allclose(a.vectors, b.vectors, atol=1e-6)
    # the target side: normalised with the statistics recorded at fit time, in the same space
    res = run_cli(["apply", out, tgt, tmp_path / "tgt.applied.vec", "--side", "tgt", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["side"] == "tgt"
    t = Embeddings.load(tmp_path / "tgt.applied.vec", cache=False)
    m = Mapping.load(out)
    assert np.allclose(t.vectors, m.normalize_target(Embeddings.load(tgt, cache=False)).vectors, atol=1e-6)
    cos = (a.vectors[450] @ t.vectors[450]) / np.linalg.norm(a.vectors[450]) / np.linalg.norm(t.vectors[450])
    assert cos > 0.99
    res = run_cli(["translate", out, "s450", "s500", "-k", "3", "--json"])
    assert res.exit_code == 0, res.stderr
    tr = json.loads(res.stdout)["translations"]
    assert tr["s450"][0]["word"] == "t450" and len(tr["s450"]) == 3
    assert tr["s500"][0]["word"] == "t500"
    res = run_cli(["translate", out, "nope"])
    assert res.exit_code == 2 and "nope" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_apply_bin_maps_oov_words_through_subwords(tmp_path):
    fasttext = pytest.importorskip("fasttext")
    rng = np.random.default_rng(0)
    vocab = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa"]
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(vocab, 12)) for _ in range(300)) + "\n")
    model = fasttext.train_unsupervised(str(corpus), dim=8, epoch=1, minCount=1, thread=1, minn=2, maxn=4,
                                        verbose=0)
    bin_path = tmp_path / "m.bin"
    model.save_model(str(bin_path))
    W = np.linalg.qr(rng.normal(size=(8, 8)))[0]
    mdir = tmp_path / "map"
    Mapping(W).save(mdir)
    words = tmp_path / "words.txt"
    words.write_text("alpha\nalphabeta\n")  # 'alphabeta' is out of vocabulary
    out = tmp_path / "o.vec"
    res = run_cli(["apply", mdir, bin_path, out, "--words", words, "-q"])
    assert res.exit_code == 0, res.stderr
    got = Embeddings.load(out, cache=False)
    assert got.words == ["alpha", "alphabeta"]
    expect = np.stack([model.get_word_vector("alpha"), model.get_word_vector("alphabeta")]) @ W
    assert np.allclose(got.vectors, expect, atol=1e-5)


def test_procrustes_errors_are_one_line(tmp_path, rotated):
    src, tgt, train, test = rotated
    other = write_vec(tmp_path / "o.vec", ["a", "b"], np.ones((2, 5), np.float32))
    cases = [
        (["--src-emb", src, "--tgt-emb", other, "--dico-train", train], "dimension mismatch"),
        (["--src-emb", src, "--tgt-emb", tgt, "--dico-train", tmp_path / "missing.txt"], "no such file"),
        (["--src-emb", src, "--tgt-emb", tgt, "--dico-train", test.parent / "empty.txt"], "no such file"),
    ]
    (tmp_path / "nopairs.txt").write_text("foo bar\n")
    cases.append((["--src-emb", src, "--tgt-emb", tgt, "--dico-train", tmp_path / "nopairs.txt"], "no seed pair"))
    for args, msg in cases:
        res = run_cli(["procrustes", "xx", "yy", *args, "-q", "--refine", "0"])
        assert res.exit_code == 2, (args, res.stderr)
        assert msg in res.stderr and len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.output
    res = run_cli(["bli-eval", "--src-emb", src, "--tgt-emb", tgt, "--dico", test, "--mapping", tmp_path])
    assert res.exit_code == 2 and "not a mapping directory" in res.stderr


def test_procrustes_whiten_reweight_writes_both_mapped_sides(tmp_path, rotated):
    src, tgt, train, test = rotated
    out = tmp_path / "out"
    res = run_cli(["procrustes", "xx", "yy", "--src-emb", src, "--tgt-emb", tgt, "--dico-train", train,
                   "--dico-eval", test, "--whiten", "--reweight", "0.5", "--refine", "1", "--refine-vocab", "500",
                   "--output", out, "--json", "--quiet"])
    assert res.exit_code == 0, res.stderr
    m = json.loads(res.stdout)
    assert m["params"]["whiten"] is True and m["params"]["reweight"] == 0.5
    assert m["eval"]["csls"]["precision_at_1"] == 100.0
    assert {"W_tgt.npy", "xx.mapped.vec", "yy.mapped.vec"} <= {p.name for p in out.iterdir()}
    mp = Mapping.load(out)
    mapped_t = Embeddings.load(out / "yy.mapped.vec", cache=False)
    assert np.allclose(mapped_t.vectors, mp.transform_target(Embeddings.load(tgt, cache=False).vectors), atol=1e-5)
    res2 = run_cli(["bli-eval", "--src-emb", src, "--tgt-emb", tgt, "--dico", test, "--mapping", out, "--json", "-q"])
    assert res2.exit_code == 0, res2.stderr
    assert json.loads(res2.stdout)["precision_at_1"] == 100.0
    bad = run_cli(["procrustes", "xx", "yy", "--src-emb", src, "--tgt-emb", tgt, "--dico-train", train,
                   "--reweight", "-1", "--json", "-q"])
    assert bad.exit_code == 2


def test_procrustes_refine_filter_option(tmp_path, rotated):
    src, tgt, train, test = rotated
    base = ["procrustes", "xx", "yy", "--src-emb", src, "--tgt-emb", tgt, "--dico-train", train,
            "--dico-eval", test, "--refine", "2", "--refine-vocab", "500", "-q"]
    res = run_cli([*base, "--refine-filter", "25", "--json"])
    assert res.exit_code == 0, res.stderr
    m = json.loads(res.stdout)
    assert m["params"]["refine_filter"] == 25
    assert m["eval"]["csls"]["precision_at_1"] == 100.0
    assert all(0 < h["kept_by_filter"] < h["induced_pairs"] for h in m["history"])
    text = run_cli([*base, "--refine-filter", "25"])
    assert text.exit_code == 0 and "pass the filter" in text.stdout
    bad = run_cli([*base, "--refine-filter", "150"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_language_codes_find_the_data_directory_files_or_name_the_download(tmp_path, rotated, monkeypatch):
    """`align procrustes xx yy` with no paths reads $ALIGN_DATA's fastText/MUSE names; a missing file is a
    one-line error (exit 2) that names the `align download` command fetching it."""
    src, tgt, train, test = rotated
    data = tmp_path / "data"
    (data / "fasttext").mkdir(parents=True)
    (data / "muse").mkdir()
    for name, made in [("fasttext/wiki.xx.vec", src), ("fasttext/cc.yy.300.vec", tgt),
                       ("muse/xx-yy.0-5000.txt", train), ("muse/xx-yy.5000-6500.txt", test)]:
        shutil.copyfile(made, data / name)
    monkeypatch.setenv("ALIGN_DATA", str(data))
    res = run_cli(["procrustes", "xx", "yy", "--refine", "1", "--json", "-q"])
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["eval"]["csls"]["precision_at_1"] == 100.0 and out["eval"]["csls"]["n_queries"] == 200
    (data / "fasttext" / "cc.yy.300.vec").unlink()
    res = run_cli(["procrustes", "xx", "yy", "-q"])
    assert res.exit_code == 2
    assert res.stderr.strip().count("\n") == 0 and "fetch them with: align download vectors yy" in res.stderr
    shutil.copyfile(tgt, data / "fasttext" / "cc.yy.300.vec")
    (data / "muse" / "xx-yy.0-5000.txt").unlink()
    res = run_cli(["procrustes", "xx", "yy", "-q"])
    assert res.exit_code == 2 and "align download dictionary xx yy --split train" in res.stderr
