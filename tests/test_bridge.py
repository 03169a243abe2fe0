"""The XLM-R bridge on a tiny randomly initialised XLM-RoBERTa built here (nothing is downloaded)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")
torch = pytest.importorskip("torch")

from align.bridge import BridgeError, encode_words, encode_words_meta, parse_layers  # noqa: E402
from align.bridge import extract as bridge_extract  # noqa: E402

from conftest import run_cli, write_vec  # noqa: E402

EN = ["the", "cat", "sat", "on", "mat", "a", "dog", "and", "play", "house", "is", "big", "water", "fire"]
FR = ["le", "chat", "est", "sur", "tapis", "un", "chien", "et", "jouent", "la", "maison", "grande", "eau", "feu"]


def _states(model_dir: Path, **tok_kwargs):
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModel.from_pretrained(model_dir).eval()
    return tok, model


def test_parse_layers():
    assert parse_layers(None, 12) == list(range(7))
    assert parse_layers(None, 4) == [0, 1, 2]
    assert parse_layers("0-4", 12) == [0, 1, 2, 3, 4]
    assert parse_layers("12", 12) == [12]
    assert parse_layers("0,2,4", 12) == [0, 2, 4]
    with pytest.raises(Exception, match="out of range"):
        parse_layers("13", 12)
    with pytest.raises(Exception, match="bad layer"):
        parse_layers("x", 12)


def test_multi_piece_word_is_mean_of_its_pieces(tiny_model, tmp_path):
    tok, model = _states(tiny_model)
    word = "unbelievably"
    enc = tok(word, return_special_tokens_mask=True, return_tensors="pt")
    pieces = [i for i, s in enumerate(enc["special_tokens_mask"][0].tolist()) if not s]
    assert len(pieces) >= 3
    with torch.no_grad():
        hs = model(input_ids=enc["input_ids"], output_hidden_states=True).hidden_states
    for spec, layers in (("1-3", [1, 2, 3]), ("4", [4]), (None, [0, 1, 2])):
        expected = np.mean([hs[layer][0, pieces].mean(0).numpy() for layer in layers], axis=0)
        got = encode_words([word, "cat"], model=str(tiny_model), layers=spec, cache_dir=tmp_path)
        np.testing.assert_allclose(got[word], expected, atol=1e-5)


def test_batched_equals_unbatched(tiny_model, tmp_path):
    words = EN + FR + ["unbelievably", "catmat", "x"]
    one = encode_words(words, model=str(tiny_model), batch_size=1, cache_dir=tmp_path / "a")
    many = encode_words(words, model=str(tiny_model), batch_size=7, cache_dir=tmp_path / "b")
    assert one.words == many.words == words
    np.testing.assert_allclose(one.vectors, many.vectors, atol=1e-5)


def test_cache_hit_on_second_run(tiny_model, tmp_path, monkeypatch):
    emb1, meta1 = encode_words_meta(EN, model=str(tiny_model), layers="0-2", cache_dir=tmp_path)
    assert not meta1["from_cache"]
    files = sorted(p.name for p in Path(meta1["cache_path"]).iterdir())
    assert files == ["meta.json", "vectors.npy", "words.txt"]

    def no_encoder(*a, **k):
        raise AssertionError("the encoder was loaded again")

    monkeypatch.setattr(bridge_extract, "load_encoder", no_encoder)
    emb2, meta2 = encode_words_meta(EN, model=str(tiny_model), layers="0-2", cache_dir=tmp_path)
    assert meta2["from_cache"]
    np.testing.assert_array_equal(emb1.vectors, emb2.vectors)
    # another vocabulary or other layers are other entries
    with pytest.raises(AssertionError, match="loaded again"):
        encode_words(EN, model=str(tiny_model), layers="3", cache_dir=tmp_path)
    with pytest.raises(AssertionError, match="loaded again"):
        encode_words(EN[:-1], model=str(tiny_model), layers="0-2", cache_dir=tmp_path)


def test_default_cache_under_align_cache(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGN_CACHE", str(tmp_path))
    _, meta = encode_words_meta(["cat"], model=str(tiny_model))
    assert Path(meta["cache_path"]).parent == tmp_path / "bridge"
    assert not list((tmp_path / "bridge").glob("*.part"))


def test_context_mode_averages_occurrences(tiny_model, tmp_path):
    corpus = tmp_path / "corpus.txt"
    lines = ["the cat sat on the mat", "a dog and a cat play", "water and fire", "the cat is big", "cat"]
    corpus.write_text("\n".join(lines) + "\n")
    tok, model = _states(tiny_model)

    def occurrence(tokens: list[str], at: int) -> np.ndarray:
        enc = tok(tokens, is_split_into_words=True, return_tensors="pt")
        pos = [i for i, w in enumerate(enc.word_ids()) if w == at]
        with torch.no_grad():
            hs = model(input_ids=enc["input_ids"], output_hidden_states=True).hidden_states
        return np.mean([hs[layer][0, pos].mean(0).numpy() for layer in (1, 2)], axis=0)

    emb, meta = encode_words_meta(["cat", "dog", "unseenword"], model=str(tiny_model), layers="1-2", mode="context",
                                  corpus=corpus, max_sentences=2, window=3, cache_dir=tmp_path / "c")
    # 'cat': its first two occurrences, each in a window of 3 words either side
    exp_cat = (occurrence("the cat sat on the".split(), 1) + occurrence("dog and a cat play".split(), 3)) / 2
    np.testing.assert_allclose(emb["cat"], exp_cat, atol=1e-5)
    np.testing.assert_allclose(emb["dog"], occurrence("a dog and a cat".split(), 1), atol=1e-5)
    assert not np.allclose(emb["cat"], occurrence("the cat sat on the".split(), 1), atol=1e-4)
    # never in the corpus: the isolated vector
    iso = encode_words(["unseenword"], model=str(tiny_model), layers="1-2", cache_dir=tmp_path / "i")
    np.testing.assert_allclose(emb["unseenword"], iso["unseenword"], atol=1e-5)
    assert meta["occurrences"] == 3 and meta["words_in_corpus"] == 2 and meta["words_isolated_fallback"] == 1


def _static_files(tmp_path: Path):
    rng = np.random.default_rng(0)
    fillers_en = [f"{w}{i}" for i in range(6) for w in ("cat", "dog")]
    fillers_fr = [f"{w}{i}" for i in range(6) for w in ("chat", "chien")]
    en_words, fr_words = EN + fillers_en, FR + fillers_fr
    x = rng.normal(size=(len(en_words), 12)).astype(np.float32)
    q, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    y = (x @ q + 0.05 * rng.normal(size=x.shape)).astype(np.float32)
    src = write_vec(tmp_path / "en.vec", en_words, x)
    tgt = write_vec(tmp_path / "fr.vec", fr_words, y)
    pairs = list(zip(en_words, fr_words))
    train = tmp_path / "train.txt"
    train.write_text("".join(f"{a} {b}\n" for a, b in pairs[:18]))
    test = tmp_path / "test.txt"
    test.write_text("".join(f"{a} {b}\n" for a, b in pairs[18:]) + "nosuchword chat\n")
    return src, tgt, train, test


def test_bridge_command_end_to_end(tiny_model, tmp_path):
    src, tgt, train, test = _static_files(tmp_path)
    args = ["bridge", "en", "fr", "--src-emb", src, "--tgt-emb", tgt, "--dico-train", train, "--dico-eval", test,
            "--model", tiny_model, "--refine", "1", "-q"]
    res = run_cli(args)
    assert res.exit_code == 0, res.output
    out = res.stdout
    for label in ("1 encoder (no mapping)", "2 encoder + Procrustes", "3 fastText + Procrustes", "4 fusion"):
        assert label in out
    assert "8 test queries covered by both systems (of 9 test source words)" in out
    assert "layers 0-2 of 4 (default: lower half)" in out
    res = run_cli(args + ["--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data["rows"]) == {"encoder", "encoder+procrustes", "static+procrustes", "fusion"}
    assert all(data["rows"][r]["csls"]["n_queries"] == 8 for r in data["rows"])
    assert 0.0 <= data["rows"]["fusion"]["csls"]["lambda"] <= 1.0
    assert data["encoding"]["src"]["from_cache"] and data["encoding"]["tgt"]["from_cache"]
    # the near-orthogonal static toy problem is solved by the static map
    assert data["rows"]["static+procrustes"]["csls"]["precision_at_1"] == 100.0


def test_context_mode_needs_a_corpus(tiny_model, tmp_path):
    src, tgt, train, test = _static_files(tmp_path)
    res = run_cli(["bridge", "en", "fr", "--src-emb", src, "--tgt-emb", tgt, "--dico-train", train,
                   "--dico-eval", test, "--model", tiny_model, "--mode", "context", "-q"])
    assert res.exit_code == 2 and "corpus" in res.stderr


def test_missing_model_directory_is_a_clear_error(tmp_path):
    src, tgt, train, test = _static_files(tmp_path)
    res = run_cli(["bridge", "en", "fr", "--src-emb", src, "--tgt-emb", tgt, "--dico-train", train,
                   "--dico-eval", test, "--model", tmp_path / "no-such-model", "-q"])
    assert res.exit_code == 2
    assert res.stderr.strip().count("\n") == 0
    assert "no such model directory" in res.stderr
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    with pytest.raises(BridgeError, match="no config.json"):
        encode_words(["cat"], model=str(not_a_model), cache_dir=tmp_path)


def test_offline_and_not_cached_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(BridgeError) as err:
        encode_words(["cat"], model="align-tests/no-such-model", cache_dir=tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and "HF_HUB_OFFLINE" in msg and "align-tests/no-such-model" in msg


def test_an_unreachable_hub_and_an_uncached_name_fail_at_once(tmp_path, monkeypatch):
    """Without HF_HUB_OFFLINE but with no way to the hub, a model name that is not cached is a one-line error
    at once, not after the hub client's half a minute of retries."""
    import transformers

    import align.bridge.extract as extract

    def never(*args, **kwargs):
        raise AssertionError("the hub client was asked: it would retry for half a minute")

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(extract, "_hub_reachable", lambda: False)
    for cls in (transformers.AutoConfig, transformers.AutoTokenizer, transformers.AutoModel):
        monkeypatch.setattr(cls, "from_pretrained", never)
    with pytest.raises(BridgeError) as err:
        encode_words(["cat"], model="align-tests/no-such-model", cache_dir=tmp_path)
    assert "not in the local Hugging Face cache, and the hub" in str(err.value) and "\n" not in str(err.value)


def test_import_align_stays_light():
    import subprocess
    import sys

    code = "import sys, align, align.cli, align.bridge; print('transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_bridge_compare_can_be_called_twice_in_one_process(tiny_model, tmp_path):
    """`align.bridge.compare` stays the function after its first call (it once became a submodule)."""
    import align.bridge

    src, tgt, train, test = _static_files(tmp_path)
    kw = dict(model=str(tiny_model), refine=1, cache_dir=tmp_path / "cache")
    first = align.bridge.compare(str(src), str(tgt), str(train), str(test), **kw)
    assert callable(align.bridge.compare)
    second = align.bridge.compare(str(src), str(tgt), str(train), str(test), **kw)
    for row in ("static+procrustes", "fusion"):
        assert first["rows"][row]["csls"] == second["rows"][row]["csls"]
