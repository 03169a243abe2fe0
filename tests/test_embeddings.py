"""The vector store: text/.gz/.bin loading, the binary cache, and bad input through the CLI."""
from __future__ import annotations

import gzip
import json
import os
import re
import zlib
from pathlib import Path

import numpy as np
import pytest

from align import Dictionary, Embeddings, InputError
from conftest import format_vec, run_cli, write_vec

WORDS = ["le", "la", "de", "et", "chat", "chien", "maison", "voiture"]


@pytest.fixture
def mat() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(len(WORDS), 6)).astype(np.float32)


# ---- loading ------------------------------------------------------------------

@pytest.mark.parametrize("name,header", [("a.vec", True), ("a.vec", False), ("a.vec.gz", True),
                                         ("a.vec.gz", False), ("a.txt", True), ("a.txt", False)])
def test_load_text_formats(tmp_path, mat, name, header):
    path = write_vec(tmp_path / name, WORDS, mat, header=header)
    emb = Embeddings.load(path)
    assert emb.words == WORDS
    assert emb.dim == 6 and len(emb) == len(WORDS)
    assert emb.vectors.dtype == np.float32
    np.testing.assert_array_equal(emb.vectors, mat)
    assert emb.report.duplicates == 0 and emb.report.zero_vectors == 0


def test_container_protocol(tmp_path, mat):
    emb = Embeddings.load(write_vec(tmp_path / "a.vec", WORDS, mat))
    assert len(emb) == 8
    assert "chat" in emb and "cat" not in emb and 3 not in emb
    np.testing.assert_array_equal(emb["chien"], mat[5])
    assert emb.get_index("chien") == 5
    with pytest.raises(KeyError):
        emb["cat"]
    head = emb[:3]
    assert isinstance(head, Embeddings)
    assert head.words == WORDS[:3] and len(head) == 3
    np.testing.assert_array_equal(head.vectors, mat[:3])
    assert "chat" not in head
    assert emb[:100].words == WORDS  # a prefix longer than the vocabulary is the whole vocabulary
    with pytest.raises(ValueError):
        emb[2:4]
    np.testing.assert_array_equal(emb.lookup(["et", "le"]), mat[[3, 0]])


@pytest.mark.parametrize("cache", [True, False])
def test_max_vocab_keeps_most_frequent(tmp_path, mat, cache):
    path = write_vec(tmp_path / "a.vec", WORDS, mat)
    emb = Embeddings.load(path, max_vocab=3, cache=cache)
    assert emb.words == WORDS[:3]
    np.testing.assert_array_equal(emb.vectors, mat[:3])
    # the same from the cache written by a full load
    Embeddings.load(path)
    again = Embeddings.load(path, max_vocab=3)
    assert again.report.from_cache and again.words == WORDS[:3]
    np.testing.assert_array_equal(again.vectors, mat[:3])
    with pytest.raises(InputError, match="max_vocab"):
        Embeddings.load(path, max_vocab=0)


@pytest.mark.parametrize("name", ["out.vec", "out.vec.gz", "out.txt"])
def test_save_load_round_trip(tmp_path, name):
    rng = np.random.default_rng(2)
    vectors = rng.normal(scale=3.0, size=(50, 12)).astype(np.float32)
    words = [f"mot{i}" for i in range(49)] + ["ünïcødé"]
    Embeddings(words, vectors).save(tmp_path / name)
    if name.endswith(".gz"):
        with open(tmp_path / name, "rb") as f:
            assert f.read(2) == b"\x1f\x8b"
    back = Embeddings.load(tmp_path / name, cache=False)
    assert back.words == words
    np.testing.assert_allclose(back.vectors, vectors, rtol=1e-5, atol=1e-5)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


# ---- the binary cache -----------------------------------------------------------

def test_cache_written_then_reused(tmp_path, mat):
    path = write_vec(tmp_path / "a.vec.gz", WORDS, mat)
    first = Embeddings.load(path)
    assert not first.report.from_cache
    assert first.report.cache_path is not None and Path(first.report.cache_path).is_dir()
    assert Path(first.report.cache_path).parent == tmp_path  # writable folder: beside the file
    second = Embeddings.load(path)
    assert second.report.from_cache
    assert second.words == WORDS
    np.testing.assert_array_equal(second.vectors, mat)
    np.testing.assert_array_equal(second["maison"], mat[6])


def test_cache_invalidated_when_source_changes(tmp_path, mat):
    path = write_vec(tmp_path / "a.vec", WORDS, mat)
    Embeddings.load(path)
    assert Embeddings.load(path).report.from_cache
    st = path.stat()
    new = mat[:5] * 2
    write_vec(path, WORDS[:5], new)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    changed = Embeddings.load(path)
    assert not changed.report.from_cache
    assert changed.words == WORDS[:5]
    np.testing.assert_array_equal(changed.vectors, new)
    assert Embeddings.load(path).report.from_cache  # and the new cache is reused


def test_cache_invalidated_by_mtime_alone(tmp_path, mat):
    """Same size, new content, new mtime: must not serve the stale cache."""
    path = write_vec(tmp_path / "a.vec", WORDS, mat)
    Embeddings.load(path)
    text = path.read_text().replace("chat ", "chaT ")
    st = path.stat()
    path.write_text(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    emb = Embeddings.load(path)
    assert not emb.report.from_cache
    assert "chaT" in emb and "chat" not in emb


def test_no_cache_writes_nothing(tmp_path, mat):
    path = write_vec(tmp_path / "a.vec", WORDS, mat)
    emb = Embeddings.load(path, cache=False)
    assert not emb.report.from_cache and emb.report.cache_path is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.vec"]


def test_read_only_folder_caches_under_align_cache(tmp_path, mat, monkeypatch):
    """A read-only data folder (like the benchmark kit) is never written, even by root."""
    data = tmp_path / "kit"
    data.mkdir()
    path = write_vec(data / "a.vec", WORDS, mat)
    cache_root = tmp_path / "cache-root"
    monkeypatch.setenv("ALIGN_CACHE", str(cache_root))
    data.chmod(0o555)
    try:
        first = Embeddings.load(path)
        second = Embeddings.load(path)
        assert sorted(p.name for p in data.iterdir()) == ["a.vec"]
    finally:
        data.chmod(0o755)
    assert Path(first.report.cache_path).parent == cache_root / "vectors"
    assert second.report.from_cache
    np.testing.assert_array_equal(second.vectors, mat)


def test_cache_keeps_skip_counts(tmp_path):
    path = tmp_path / "d.vec"
    path.write_text("a 1 2\nb 0 0\na 3 4\nc 5 6\n")
    first = Embeddings.load(path)
    second = Embeddings.load(path)
    assert second.report.from_cache
    assert (second.report.duplicates, second.report.zero_vectors) == (1, 1)
    assert (second.report.first_duplicate_line, second.report.first_zero_line) == (3, 2)
    assert second.report.warnings == first.report.warnings and len(first.report.warnings) == 2
    assert second.words == first.words == ["a", "c"]


# ---- fastText .bin ---------------------------------------------------------------

@pytest.fixture(scope="module")
def ft_model(tmp_path_factory):
    fasttext = pytest.importorskip("fasttext")
    d = tmp_path_factory.mktemp("ft")
    rng = np.random.default_rng(0)
    letters = list("abcdefghij")
    vocab = sorted({"".join(rng.choice(letters, size=rng.integers(3, 8))) for _ in range(150)})
    corpus = d / "corpus.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(vocab, size=15)) for _ in range(400)) + "\n")
    model = fasttext.train_unsupervised(str(corpus), dim=10, epoch=1, minCount=1, thread=1, verbose=0)
    path = d / "model.bin"
    model.save_model(str(path))
    return path, model


def test_fasttext_bin(ft_model):
    path, model = ft_model
    emb = Embeddings.load(path)
    assert emb.dim == 10
    assert emb.words == list(model.words)
    for w in emb.words[:20]:
        np.testing.assert_allclose(emb[w], model.get_word_vector(w), atol=1e-6)
    small = Embeddings.load(path, max_vocab=5)
    assert small.words == list(model.words)[:5]


def test_fasttext_bin_oov_words_from_subwords(ft_model):
    path, model = ft_model
    oov = ["abcdefgh", "jihgfe", "bababab"]
    assert not any(w in model.words for w in oov)
    emb = Embeddings.load(path, max_vocab=10, words=oov + [model.words[3]])
    assert len(emb) == 10 + len(oov)  # the in-vocabulary extra word is not added twice
    for w in oov:
        assert w in emb
        vec = model.get_word_vector(w)
        assert np.abs(vec).sum() > 0
        np.testing.assert_allclose(emb[w], vec, atol=1e-6)
    np.testing.assert_allclose(emb.get_vector("hhhhiii", oov=True), model.get_word_vector("hhhhiii"), atol=1e-6)
    with pytest.raises(KeyError):
        emb.get_vector("hhhhiii")


def test_words_argument_needs_a_bin(tmp_path, mat):
    path = write_vec(tmp_path / "a.vec", WORDS, mat)
    with pytest.raises(InputError, match=r"\.bin"):
        Embeddings.load(path, words=["x"])


# ---- bad input through the CLI ---------------------------------------------------

GOOD = "4 3\nw0 0.1 0.2 0.3\nw1 0.4 0.5 0.6\nw2 0.7 0.8 0.9\nw3 1.0 1.1 1.2\n"


def _case_wrong_field_count(p):
    p.write_text("w0 0.1 0.2 0.3\nw1 0.4 0.5 0.6\nw2 0.7 0.8\nw3 1.0 1.1 1.2\n")
    return 3, r"expected 3 values \(as in the first vector\), found 2"


def _case_too_many_fields_with_header(p):
    p.write_text("4 3\nw0 0.1 0.2 0.3\nw1 0.4 0.5 0.6\nw2 0.7 0.8 0.9\nw3 1.0 1.1 1.2 1.3\n")
    return 5, r"expected 3 values \(as in the header\), found 4"


def _case_not_a_number(p):
    p.write_text("4 3\nw0 0.1 0.2 0.3\nw1 0.4 0.5 0.6\nw2 0.7 abc 0.9\nw3 1.0 1.1 1.2\n")
    return 4, r"not a number: 'abc'"


def _case_comma_decimal(p):
    p.write_text("w0 0,1 0,2 0,3\n")
    return 1, r"not a number: '0,1'"


def _case_header_wrong_dimension(p):
    p.write_text("4 5\nw0 0.1 0.2 0.3\nw1 0.4 0.5 0.6\nw2 0.7 0.8 0.9\nw3 1.0 1.1 1.2\n")
    return 2, r"expected 5 values \(as in the header\), found 3"


def _case_header_too_many_words(p):
    p.write_text(GOOD.replace("4 3", "6 3", 1))
    return 1, r"header announces 6 words but the file holds 4"


def _case_header_too_few_words(p):
    p.write_text(GOOD.replace("4 3", "2 3", 1))
    return 1, r"header announces 2 words but the file holds 4"


def _case_nan(p):
    p.write_text("4 3\nw0 0.1 0.2 0.3\nw1 0.4 0.5 0.6\nw2 0.7 nan 0.9\nw3 1.0 1.1 1.2\n")
    return 4, r"NaN or infinity"


def _case_inf(p):
    p.write_text("4 3\nw0 0.1 0.2 0.3\nw1 0.4 0.5 0.6\nw2 0.7 0.8 0.9\nw3 1.0 -inf 1.2\n")
    return 5, r"NaN or infinity"


def _case_overflow(p):
    p.write_text("w0 0.1 0.2 0.3\nw1 0.4 1e400 0.6\n")
    return 2, r"NaN or infinity"


def _case_empty(p):
    p.write_bytes(b"")
    return None, r"file is empty"


def _case_blank_lines_only(p):
    p.write_text("\n\n  \n")
    return None, r"file is empty"


def _case_non_utf8(p):
    p.write_bytes(GOOD.encode().replace(b"w2", b"caf\xe9"))
    return 4, r"not valid UTF-8"


def _case_missing(p):
    return None, r"no such file"


def _case_truncated_gz(p):
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(3000)]
    data = gzip.compress(format_vec(words, rng.normal(size=(3000, 20))).encode())
    cut = data[: len(data) // 2]
    p.write_bytes(cut)
    complete = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(cut).count(b"\n")
    assert 10 < complete < 3000
    return complete + 1, r"compressed data is truncated or corrupt"


def _case_only_zero_vectors(p):
    p.write_text("a 0 0 0\nb 0 0 0\n")
    return None, r"no usable vectors"


BAD_CASES = {
    "wrong-field-count": ("bad.vec", _case_wrong_field_count),
    "too-many-fields-header": ("bad.vec", _case_too_many_fields_with_header),
    "not-a-number": ("bad.vec", _case_not_a_number),
    "comma-decimal": ("bad.txt", _case_comma_decimal),
    "header-wrong-dimension": ("bad.vec", _case_header_wrong_dimension),
    "header-too-many-words": ("bad.vec", _case_header_too_many_words),
    "header-too-few-words": ("bad.vec", _case_header_too_few_words),
    "nan": ("bad.vec", _case_nan),
    "inf": ("bad.vec", _case_inf),
    "overflow": ("bad.vec", _case_overflow),
    "empty": ("bad.vec", _case_empty),
    "blank-lines-only": ("bad.vec", _case_blank_lines_only),
    "non-utf8": ("bad.vec", _case_non_utf8),
    "missing": ("missing.vec", _case_missing),
    "truncated-gz": ("bad.vec.gz", _case_truncated_gz),
    "only-zero-vectors": ("bad.vec", _case_only_zero_vectors),
}


def assert_one_line_error(res, path, line, message_re):
    """Exit code 2, stderr exactly `error: PATH:LINE: MESSAGE` (or `error: PATH: MESSAGE`), no traceback."""
    assert res.exit_code == 2, (res.exit_code, res.output)
    assert "Traceback" not in res.output
    lines = res.stderr_lines()
    assert len(lines) == 1, res.stderr
    where = f"error: {path}:{line}: " if line is not None else f"error: {path}: "
    assert lines[0].startswith(where), (lines[0], where)
    message = lines[0][len(where):]
    assert message and not re.match(r"^\d+:", message), lines[0]  # no line number where none applies
    assert re.search(message_re, message), (message, message_re)
    assert res.stdout == ""


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_vectors_cli(tmp_path, small_space, case):
    name, make = BAD_CASES[case]
    bad = tmp_path / name
    line, message_re = make(bad)
    _, tgt, dico = small_space
    res = run_cli(["bli-eval", "--src-emb", bad, "--tgt-emb", tgt, "--dico", dico])
    assert_one_line_error(res, bad, line, message_re)
    # the same error from the Python API, and no cache left behind for a file that failed
    if case != "missing":
        with pytest.raises(InputError) as info:
            Embeddings.load(bad)
        assert info.value.line == line and info.value.path == str(bad)
        # (the good target's cache may be there: both files of a first load are parsed at once)
        assert not list(tmp_path.glob(f"{bad.name}.align-cache*"))


def test_bad_target_vectors_cli(tmp_path, small_space):
    src, _, dico = small_space
    bad = tmp_path / "tgt-bad.vec"
    line, message_re = _case_not_a_number(bad)
    res = run_cli(["bli-eval", "--src-emb", src, "--tgt-emb", bad, "--dico", dico])
    assert_one_line_error(res, bad, line, message_re)


def test_bad_fasttext_bin_cli(tmp_path, small_space):
    _, tgt, dico = small_space
    bad = tmp_path / "model.bin"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    res = run_cli(["bli-eval", "--src-emb", bad, "--tgt-emb", tgt, "--dico", dico])
    assert_one_line_error(res, bad, None, r"not a fastText \.bin model")


# ---- irregular input that is handled, not refused --------------------------------

def test_duplicate_word_keeps_first(tmp_path):
    path = tmp_path / "dup.vec"
    path.write_text("5 2\nw0 1 2\nw1 3 4\nw0 5 6\nw2 7 8\nw1 9 10\n")
    emb = Embeddings.load(path, cache=False)
    assert emb.words == ["w0", "w1", "w2"]
    np.testing.assert_array_equal(emb["w0"], [1, 2])
    np.testing.assert_array_equal(emb["w1"], [3, 4])
    assert emb.report.duplicates == 2
    assert emb.report.first_duplicate_line == 4


def test_duplicate_word_warns_in_cli(tmp_path, small_space):
    _, tgt, dico = small_space
    src = tmp_path / "dup.vec"
    text = small_space[0].read_text().splitlines(keepends=True)
    header_n, dim = map(int, text[0].split())
    dup_row = "w3 " + " ".join(["0.5"] * dim) + "\n"
    src.write_text(f"{header_n + 1} {dim}\n" + "".join(text[1:6]) + dup_row + "".join(text[6:]))
    for attempt in range(2):  # the second run reads the cache: the warning must not be lost
        res = run_cli(["bli-eval", "--src-emb", src, "--tgt-emb", tgt, "--dico", dico, "--json"])
        assert res.exit_code == 0, res.output
        warnings = [l for l in res.stderr_lines() if l.startswith("warning:")]
        assert len(warnings) == 1, (attempt, res.stderr)
        assert str(src) in warnings[0] and "1 duplicated word" in warnings[0] and "line 7" in warnings[0]
        assert json.loads(res.stdout)["precision_at_1"] == 100.0  # w3's first (true) vector was kept


def test_zero_vector_dropped_and_counted(tmp_path):
    path = tmp_path / "zero.vec"
    path.write_text("4 3\na 1 2 3\nz 0 0 0\nb 4 5 6\nz2 0.0 -0.0 0\n")
    emb = Embeddings.load(path)
    assert emb.words == ["a", "b"] and "z" not in emb
    assert emb.report.zero_vectors == 2 and emb.report.first_zero_line == 3
    assert any("zero vectors dropped" in w for w in emb.report.warnings)


@pytest.mark.parametrize("variant", ["crlf", "trailing-spaces", "trailing-tab", "crlf+trailing", "no-final-newline"])
def test_line_ending_variants_load_like_lf(tmp_path, mat, variant):
    ref = Embeddings.load(write_vec(tmp_path / "lf.vec", WORDS, mat), cache=False)
    kw = {"crlf": dict(newline="\r\n"), "trailing-spaces": dict(trailing="   "),
          "trailing-tab": dict(trailing="\t"), "crlf+trailing": dict(newline="\r\n", trailing=" "),
          "no-final-newline": {}}[variant]
    path = write_vec(tmp_path / "v.vec", WORDS, mat, **kw)
    if variant == "no-final-newline":
        path.write_bytes(path.read_bytes().rstrip(b"\n"))
    emb = Embeddings.load(path, cache=False)
    assert emb.words == ref.words
    np.testing.assert_array_equal(emb.vectors, ref.vectors)


def test_tab_separated_and_headerless_dim_two(tmp_path):
    """A headerless file whose rows have 2 values is data, not a header (the word is not a number)."""
    path = tmp_path / "t.vec"
    path.write_text("a\t1 2\nb\t3 4\n")
    emb = Embeddings.load(path, cache=False)
    assert emb.words == ["a", "b"]
    np.testing.assert_array_equal(emb.vectors, [[1, 2], [3, 4]])


# ---- dictionaries --------------------------------------------------------------------

def test_dictionary_three_fields_cli(tmp_path, small_space):
    src, tgt, _ = small_space
    dico = tmp_path / "d3.txt"
    dico.write_text("w0 w0\nw1 w1\n\nw2 w2 extra\n")
    res = run_cli(["bli-eval", "--src-emb", src, "--tgt-emb", tgt, "--dico", dico])
    assert_one_line_error(res, dico, 4, r"expected 'source target'.*found 3 fields.*'extra', is not a number")


def test_dictionary_unknown_words_counted(tmp_path, small_space):
    src, tgt, _ = small_space
    dico = tmp_path / "d.txt"
    dico.write_text("w0 w0\nw1 w1\nw1 w2\nnope w0\nnada w1\nw2 inconnu\n\nw0 w0\n")
    res = run_cli(["bli-eval", "--src-emb", src, "--tgt-emb", tgt, "--dico", dico, "--json", "--retrieval", "nn"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    # the repeated pair (w0 w0) is kept once: 6 pairs, 2 unknown sources, 1 unknown target
    assert out["coverage_detail"] == {"pairs": 6, "kept": 3, "dropped_src": 2, "dropped_tgt": 1,
                                      "sources": 2, "coverage": 0.5}
    assert out["coverage"] == 0.5
    assert out["n_queries"] == 2
    d = Dictionary.load(dico)
    cov = d.coverage(Embeddings.load(src), Embeddings.load(tgt))
    assert (cov.pairs, cov.kept, cov.dropped_src, cov.dropped_tgt, cov.sources) == (6, 3, 2, 1, 2)


def test_dictionary_without_known_pairs_cli(tmp_path, small_space):
    src, tgt, _ = small_space
    dico = tmp_path / "none.txt"
    dico.write_text("chat cat\nw0 dog\n")
    res = run_cli(["bli-eval", "--src-emb", src, "--tgt-emb", tgt, "--dico", dico])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = res.stderr_lines()
    assert len(lines) == 1, res.stderr
    assert re.fullmatch(r"error: \S*none\.txt: no dictionary pair has both words in the vocabularies "
                        r"\(2 pairs: 1 unknown source words, 1 unknown target words\)", lines[0]), lines[0]


@pytest.mark.parametrize("content,line,message", [
    (b"", None, "dictionary is empty"),
    (b"a b\n\xff\xfe c\n", 2, "not valid UTF-8"),
    (b"a b\nlonely\n", 2, "found 1 fields"),
])
def test_dictionary_bad_files_cli(tmp_path, small_space, content, line, message):
    src, tgt, _ = small_space
    dico = tmp_path / "bad-dico.txt"
    dico.write_bytes(content)
    res = run_cli(["bli-eval", "--src-emb", src, "--tgt-emb", tgt, "--dico", dico])
    assert_one_line_error(res, dico, line, re.escape(message))


def test_missing_dictionary_cli(tmp_path, small_space):
    src, tgt, _ = small_space
    dico = tmp_path / "nope.txt"
    res = run_cli(["bli-eval", "--src-emb", src, "--tgt-emb", tgt, "--dico", dico])
    assert_one_line_error(res, dico, None, "no such file")


def test_utf8_byte_order_mark_is_ignored(tmp_path):
    vec = tmp_path / "bom.vec"
    vec.write_bytes(b"\xef\xbb\xbf2 3\na 1 2 3\nb 4 5 6\n")
    emb = Embeddings.load(vec, cache=False)
    assert emb.words == ["a", "b"] and emb.dim == 3
    dico = tmp_path / "bom.txt"
    dico.write_bytes(b"\xef\xbb\xbfa b\n")
    assert Dictionary.load(dico).pairs == [("a", "b")]


def test_load_all_parses_text_files_in_workers_and_matches_single_loads(tmp_path):
    from align.store.vectors import _needs_parse, load_all

    rng = np.random.default_rng(5)
    a = write_vec(tmp_path / "a.vec.gz", [f"a{i}" for i in range(300)], rng.normal(size=(300, 8)).astype(np.float32))
    b = write_vec(tmp_path / "b.vec", [f"b{i}" for i in range(200)], rng.normal(size=(200, 8)).astype(np.float32))
    assert _needs_parse(a) and _needs_parse(b)
    ea, eb = load_all([a, b], max_vocab=150)
    assert not _needs_parse(a) and not _needs_parse(b)  # the workers wrote both caches
    assert ea.report.from_cache and eb.report.from_cache and len(ea) == len(eb) == 150
    for e, p in ((ea, a), (eb, b)):
        ref = Embeddings.load(p, max_vocab=150, cache=False)
        assert e.words == ref.words and np.array_equal(np.asarray(e.vectors), ref.vectors)


def test_load_all_reports_a_bad_file_like_load(tmp_path):
    from align.store.vectors import load_all

    good = write_vec(tmp_path / "good.vec", ["x", "y"], np.ones((2, 3), dtype=np.float32))
    bad = tmp_path / "bad.vec"
    bad.write_text("2 3\nx 1 2 3\ny 1 2\n")
    with pytest.raises(InputError, match=r"bad\.vec.*:3:.*expected 3 values"):
        load_all([good, bad])
    assert not any(p.name.startswith("bad.vec.align-cache") for p in tmp_path.iterdir())


# ---- the fast (pyarrow) reader against the line parser ----------------------------

def _both_parsers(path, max_vocab=None):
    from align.store.text import _parse_text_arrow, _parse_text_lines

    return _parse_text_arrow(Path(path), max_vocab, "utf-8"), _parse_text_lines(Path(path), max_vocab, "utf-8")


def _random_lines(rng, n, dim, decimals):
    words = [f"w{i}" for i in range(n)]
    words[7] = words[3]  # a duplicate
    words[11] = "l'été"  # non-ASCII, an apostrophe
    words[12] = '"quoted"'  # quotes are literal
    words[13] = "NA"  # not a missing value
    vecs = np.round(rng.normal(scale=3, size=(n, dim)), decimals)
    vecs[5] = 0.0  # a zero vector
    body = []
    for w, v in zip(words, vecs):
        fields = [f"{x:.{decimals}f}" for x in v]
        fields[0] = f"{v[0]:.3e}"  # exponent notation too
        body.append(w + " " + " ".join(fields))
    return body


@pytest.mark.parametrize("header,gz,trailing,newline", [(True, True, "", "\n"), (False, False, "", "\n"),
                                                          (True, False, " ", "\n"), (True, True, "", "\r\n")])
@pytest.mark.parametrize("max_vocab", [None, 5, 4000])
def test_fast_reader_matches_line_parser(tmp_path, header, gz, trailing, newline, max_vocab):
    rng = np.random.default_rng(0)
    n, dim = 5000, 40  # several parse blocks
    body = _random_lines(rng, n, dim, 5)
    text = (f"{n} {dim}{newline}" if header else "") + "".join(line + trailing + newline for line in body)
    path = tmp_path / ("v.vec.gz" if gz else "v.vec")
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    fast, ref = _both_parsers(path, max_vocab)
    assert fast is not None, "a regular file should not need the line parser"
    assert fast[0] == ref[0]
    np.testing.assert_array_equal(fast[1], ref[1])
    for key in ("duplicates", "first_duplicate_line", "zero_vectors", "first_zero_line", "warnings"):
        assert getattr(fast[2], key) == getattr(ref[2], key), key
    assert fast[2].parser == "arrow" and ref[2].parser == "python"
    assert len(fast[0]) == (max_vocab or n - 2)


@pytest.mark.parametrize("body", [
    "2 3\na\t1 2 3\nb\t4 5 6\n",  # tab after the word
    "2 3\na 1 2 3\n\nb 4 5 6\n",  # a blank line
    "\ufeff2 3\na 1 2 3\nb 4 5 6\n",  # byte-order mark
    "2 3\na 1 2 3 \nb 4 5 6\n",  # one trailing space, not on every line
    "a 1 2 3\nb 4  5 6\n",  # a double space
])
def test_irregular_files_fall_back_to_the_line_parser(tmp_path, body):
    path = tmp_path / "v.vec"
    path.write_text(body, encoding="utf-8")
    fast, ref = _both_parsers(path)
    assert fast is None
    emb = Embeddings.load(path, cache=False)
    assert emb.report.parser == "python" and emb.words == ["a", "b"]
    np.testing.assert_array_equal(emb.vectors, [[1, 2, 3], [4, 5, 6]])


def test_bad_rows_after_max_vocab_are_not_read(tmp_path, monkeypatch):
    """Like the line parser, the fast reader stops at the head: a bad row below it is no error."""
    monkeypatch.setattr("align.store.text.ARROW_BLOCK", 4096)  # the bad row in a later block
    rows = "".join(f"w{i} {i + 1} 2 3\n" for i in range(3000))
    path = tmp_path / "v.vec"
    path.write_text("3001 3\n" + rows + "bad 1 x 3\n")
    emb = Embeddings.load(path, max_vocab=10, cache=False)
    assert emb.report.parser == "arrow" and len(emb) == 10
    with pytest.raises(InputError, match=r"v\.vec:3002: not a number"):
        Embeddings.load(path, cache=False)
