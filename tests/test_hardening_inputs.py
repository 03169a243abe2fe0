"""Everything read back is checked: a damaged mapping is a one-line error (exit 2), a damaged or stale cache is
parsed again with a warning, a cut fastText .bin is refused; exit 130 only for a real Ctrl-C."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from align import Dictionary, Embeddings
from align.errors import InputError
from align.space.mapping import Mapping
from align.space.normalize import Normalizer

from conftest import run_cli, write_vec


@pytest.fixture
def saved(tmp_path):
    """A saved mapping with a centring step (so the normalisers hold statistics), and its source vectors."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    x = rng.normal(size=(30, 6)).astype(np.float32)
    src = write_vec(tmp_path / "src.vec", words, x)
    tgt = write_vec(tmp_path / "tgt.vec", words, x)
    norm = Normalizer(("unit", "center", "unitdim"))
    norm.fit_transform(x)
    tnorm = Normalizer(("unit", "center"))
    tnorm.fit_transform(x)
    folder = tmp_path / "m"
    Mapping(np.eye(6), norm, tnorm, {"src_path": str(src), "tgt_path": str(tgt), "method": "procrustes"}).save(folder)
    return folder, src


def _edit(folder: Path, change) -> None:
    meta = json.loads((folder / "mapping.json").read_text())
    change(meta)
    (folder / "mapping.json").write_text(json.dumps(meta))


BAD_META = {
    "missing src_normalize": lambda m: m.pop("src_normalize"),
    "a list instead of an object": None,  # the whole file: see the test
    "a string where a list belongs": lambda m: m["src_normalize"].update(steps="unit center"),
    "std of the wrong length": lambda m: m["src_normalize"]["recorded"][2].update(std=[1.0, 2.0]),
    "center without mean": lambda m: m["tgt_normalize"]["recorded"][1].pop("mean"),
    "info as a list": lambda m: m.update(info=[1, 2]),
    "shape as a string": lambda m: m.update(shape="6x6"),
    "unknown op": lambda m: m["src_normalize"]["recorded"][0].update(op="rotate"),
    "NaN in a mean": lambda m: m["tgt_normalize"]["recorded"][1]["mean"].__setitem__(0, float("nan")),
    "src_path not a string": lambda m: m["info"].update(src_path=["a"]),
    "a newer format": lambda m: m.update(version=99),
}


@pytest.mark.parametrize("case", sorted(BAD_META))
def test_a_damaged_mapping_json_is_a_one_line_error(saved, case):
    folder, _ = saved
    if case == "a list instead of an object":
        (folder / "mapping.json").write_text("[1, 2, 3]")
    else:
        _edit(folder, BAD_META[case])
    with pytest.raises(InputError, match="mapping.json"):
        Mapping.load(folder)
    res = run_cli(["translate", folder, "w1", "-q"])
    assert res.exit_code == 2
    assert len(res.stderr_lines()) == 1 and "mapping.json" in res.stderr


@pytest.mark.parametrize("content", ["empty", "structured", "nan", "3-d", "text", "object"])
def test_a_damaged_matrix_is_a_one_line_error_naming_it(saved, content):
    folder, src = saved
    w = folder / "W.npy"
    if content == "empty":
        w.write_bytes(b"")
    elif content == "structured":
        np.save(w, np.zeros((6, 6), dtype=[("a", "f4"), ("b", "i4")]))
    elif content == "nan":
        m = np.eye(6, dtype=np.float32)
        m[2, 3] = np.nan
        np.save(w, m)
    elif content == "3-d":
        np.save(w, np.zeros((6, 6, 1), dtype=np.float32))
    elif content == "text":
        w.write_text("not numpy")
    else:
        np.save(w, np.array([[{"a": 1}]], dtype=object), allow_pickle=True)
    for args in (["translate", folder, "w1"], ["apply", folder, src, folder.parent / "o.vec"]):
        res = run_cli(args)
        assert res.exit_code == 2, res.output
        assert res.stderr_lines() == [res.stderr_lines()[0]] and f"{w}:" in res.stderr
    assert not (folder.parent / "o.vec").exists()


def test_zero_byte_vector_cache_is_rebuilt_with_a_warning(tmp_path):
    vec = write_vec(tmp_path / "a.vec", ["x", "y", "z"], np.arange(9.0).reshape(3, 3) + 1)
    first = Embeddings.load(vec)
    expected = np.array(first.vectors)  # a first load is memory-mapped on the cache too: copy before truncating it
    cache = tmp_path / "a.vec.align-cache"
    (cache / "vectors.npy").write_bytes(b"")
    again = Embeddings.load(vec)
    assert not again.report.from_cache
    np.testing.assert_array_equal(again.vectors, expected)
    assert any("cache" in w and "unusable" in w for w in again.report.warnings)
    third = Embeddings.load(vec)  # rebuilt: served from the cache again, without a warning
    assert third.report.from_cache and third.report.warnings == []


@pytest.mark.parametrize("damage", ["words", "meta", "nan", "shape"])
def test_other_damaged_caches_are_rebuilt_never_fatal(tmp_path, damage, cli):
    vec = write_vec(tmp_path / "a.vec", ["x", "y", "z"], np.arange(9.0).reshape(3, 3) + 1)
    Embeddings.load(vec)
    cache = tmp_path / "a.vec.align-cache"
    if damage == "words":
        (cache / "words.txt").write_text("x\nx\nx\n")  # duplicate words
    elif damage == "meta":
        (cache / "meta.json").write_text("[]")
    elif damage == "nan":
        np.save(cache / "vectors.npy", np.full((3, 3), np.nan, dtype=np.float32))
    else:
        np.save(cache / "vectors.npy", np.ones((2, 3), dtype=np.float32))
    res = cli(["bli-eval", "--src-emb", vec, "--tgt-emb", vec, "--dico", _dico(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "warning:" in res.stderr and "parsed again" in res.stderr
    assert Embeddings.load(vec).report.from_cache


def _dico(tmp_path: Path) -> Path:
    d = tmp_path / "d.txt"
    d.write_text("x x\ny y\n")
    return d


def test_a_replaced_file_of_the_same_size_and_mtime_is_parsed_again(tmp_path):
    vec = write_vec(tmp_path / "a.vec", ["x", "y"], np.array([[1.0, 2.0], [3.0, 4.0]]))
    other = write_vec(tmp_path / "b.vec", ["x", "y"], np.array([[5.0, 6.0], [7.0, 8.0]]))
    assert vec.stat().st_size == other.stat().st_size
    Embeddings.load(vec)
    st = vec.stat()
    shutil.copyfile(other, vec)  # `cp -p`: same size, same mtime
    os.utime(vec, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert vec.stat().st_mtime_ns == st.st_mtime_ns and vec.stat().st_size == st.st_size
    got = Embeddings.load(vec)
    np.testing.assert_array_equal(got.vectors, [[5.0, 6.0], [7.0, 8.0]])


def test_an_eof_error_is_not_taken_for_ctrl_c(tmp_path, monkeypatch):
    vec = write_vec(tmp_path / "a.vec", ["x", "y"], np.eye(2))

    def eof(*a, **k):
        raise EOFError("No data left in file")

    monkeypatch.setattr(Embeddings, "load", classmethod(lambda cls, *a, **k: eof()))
    res = run_cli(["bli-eval", "--src-emb", vec, "--tgt-emb", vec, "--dico", _dico(tmp_path), "--no-cache"])
    assert res.exit_code == 2
    assert "aborted" not in res.output and "error:" in res.stderr


def test_ctrl_c_still_exits_130(tmp_path, monkeypatch):
    vec = write_vec(tmp_path / "a.vec", ["x", "y"], np.eye(2))

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(Embeddings, "load", classmethod(lambda cls, *a, **k: interrupt()))
    res = run_cli(["bli-eval", "--src-emb", vec, "--tgt-emb", vec, "--dico", _dico(tmp_path), "--no-cache"])
    assert res.exit_code == 130


def _tiny_bin(tmp_path: Path) -> Path:
    fasttext = pytest.importorskip("fasttext")
    rng = np.random.default_rng(0)
    vocab = [f"w{i}x" for i in range(300)]
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(vocab, 12)) for _ in range(2000)) + "\n")
    model = fasttext.train_unsupervised(str(corpus), dim=8, epoch=1, minCount=1, thread=1, minn=2, maxn=4,
                                        bucket=1000, verbose=0)
    path = tmp_path / "m.bin"
    model.save_model(str(path))
    return path


def test_a_cut_fasttext_bin_is_refused(tmp_path):
    path = _tiny_bin(tmp_path)
    data = path.read_bytes()
    from align.store.fasttext_header import read_layout

    layout = read_layout(path)
    assert layout.expected_size == len(data) and layout.input_shape == (301 + 1000, 8)
    for cut, where in ((40, "training arguments"), (2000, "dictionary"), (len(data) // 2, "input matrix"),
                       (len(data) - 4, "output matrix")):
        bad = tmp_path / f"cut{cut}.bin"
        bad.write_bytes(data[:cut])
        res = run_cli(["apply", tmp_path / "nomap", bad, tmp_path / "o.vec"])  # the mapping is checked first
        assert res.exit_code == 2
        with pytest.raises(InputError, match=f"cut short.*{where}"):
            Embeddings.load(bad)
    long = tmp_path / "long.bin"
    long.write_bytes(data + b"\0\0")
    with pytest.raises(InputError, match="past the end"):
        Embeddings.load(long)
    Mapping(np.eye(8, dtype=np.float32)).save(tmp_path / "map")
    res = run_cli(["apply", tmp_path / "map", tmp_path / f"cut{len(data) // 2}.bin", tmp_path / "o.vec"])
    assert res.exit_code == 2 and "cut short" in res.stderr and len(res.stderr_lines()) == 1


def test_nan_in_w_is_refused_by_apply_and_translate(saved, tmp_path):
    folder, src = saved
    m = np.eye(6, dtype=np.float32)
    m[0, 0] = np.nan
    np.save(folder / "W.npy", m)
    for args in (["apply", folder, src, tmp_path / "o.vec"], ["translate", folder, "w1"]):
        res = run_cli(args)
        assert res.exit_code == 2 and "NaN" in res.stderr and "(inf)" not in res.stdout
    assert not (tmp_path / "o.vec").exists()


def test_whiten_with_a_huge_reweight_never_writes_zero_vectors(tmp_path):
    rng = np.random.default_rng(0)
    n, d = 300, 10
    x = rng.normal(size=(n, d)).astype(np.float32)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    y = x @ q + 0.3 * rng.normal(size=(n, d))
    src = write_vec(tmp_path / "s.vec", [f"s{i}" for i in range(n)], x)
    tgt = write_vec(tmp_path / "t.vec", [f"t{i}" for i in range(n)], y)
    train = tmp_path / "train.txt"
    train.write_text("".join(f"s{i} t{i}\n" for i in range(200)))
    out = tmp_path / "O"
    res = run_cli(["procrustes", "s", "t", "--src-emb", src, "--tgt-emb", tgt, "--dico-train", train, "--whiten",
                   "--reweight", "1000", "--output", out, "-q"])
    if res.exit_code == 0:
        mapped = Embeddings.load(out / "s.mapped.vec", cache=False)
        assert np.abs(mapped.vectors).sum(axis=1).min() > 0
    else:  # a degenerate map is an error, never a result
        assert res.exit_code == 2 and not out.exists()


def test_header_only_file_says_there_are_no_vectors(tmp_path):
    p = tmp_path / "h.vec"
    p.write_text("5 3\n")
    with pytest.raises(InputError, match="no vectors after the header"):
        Embeddings.load(p)


def test_encoding_error_suggests_something_a_user_can_do(tmp_path):
    p = tmp_path / "l.vec"
    p.write_bytes("2 2\ncaf\xe9 1 2\nx 3 4\n".encode("latin-1"))
    with pytest.raises(InputError) as info:
        Embeddings.load(p)
    assert "pass the file's encoding" not in str(info.value) and "iconv" in str(info.value)
    assert Embeddings.load(p, encoding="latin-1").words == ["café", "x"]


def test_the_tools_own_induced_dictionary_is_accepted_as_seeds(tmp_path):
    p = tmp_path / "induced.txt"
    p.write_text("chat kissa 0.812345\nchien koira 0.700000\n")
    assert Dictionary.load(p).pairs == [("chat", "kissa"), ("chien", "koira")]
    bad = tmp_path / "bad.txt"
    bad.write_text("chat kissa sana\n")
    with pytest.raises(InputError, match="not a number"):
        Dictionary.load(bad)


def test_language_codes_end_at_the_end(tmp_path, monkeypatch):
    from align.sources.datadir import find_vectors
    from align.sources.download import vectors_url

    for code in ("fr\n", "fr/../x", "../fr"):
        with pytest.raises(InputError, match="not a language code"):
            vectors_url(code)
        with pytest.raises(InputError, match="not a language code"):
            find_vectors(code)


def test_streams_a_dictionary_from_a_pipe_and_refuses_vectors_from_one():
    """A dictionary is read once, so a pipe (`--dico <(zcat d.txt.gz)`) works, gzip or not; vectors are read more
    than once, so a pipe gets a one-line error naming it."""
    import gzip
    import os

    from align import Dictionary, Embeddings, InputError

    for data in (b"a b\nc d\n", gzip.compress(b"a b\nc d\n")):
        r, w = os.pipe()
        os.write(w, data)
        os.close(w)
        try:
            assert Dictionary.load(f"/dev/fd/{r}").pairs == [("a", "b"), ("c", "d")]
        finally:
            os.close(r)
    r, w = os.pipe()
    os.write(w, b"2 2\na 1 0\nb 0 1\n")
    os.close(w)
    try:
        with pytest.raises(InputError, match=f"/dev/fd/{r}: not a regular file"):
            Embeddings.load(f"/dev/fd/{r}")
    finally:
        os.close(r)
