"""A text vector file is parsed straight into its binary cache, block by block (align.store.cache)."""
from __future__ import annotations

import numpy as np
import pytest

import align.store.text as text
from align import Embeddings, InputError
from align.store.cache import cache_dir
from conftest import write_vec


@pytest.fixture
def rows():
    rng = np.random.default_rng(4)
    return [f"w{i}" for i in range(500)], rng.normal(size=(500, 7)).astype(np.float32)


def _same(a: Embeddings, b: Embeddings) -> None:
    assert a.words == b.words
    np.testing.assert_array_equal(np.asarray(a.vectors), np.asarray(b.vectors))


@pytest.mark.parametrize("irregular", [False, True])
def test_streamed_cache_equals_the_parse(tmp_path, rows, irregular, monkeypatch):
    """Many small blocks (both parsers), duplicates and zero rows skipped as before; the matrix comes back
    memory-mapped from the cache."""
    words, vecs = rows
    words = words[:100] + ["w3"] + words[101:]  # a duplicate
    vecs[200] = 0  # a zero row
    path = write_vec(tmp_path / "v.vec", words, vecs)
    if irregular:  # a tab in row 450: the fast reader hands back after streaming blocks; the line parser redoes it
        lines = path.read_text().splitlines(True)
        lines[451] = lines[451].replace(" ", "\t", 1)
        path.write_text("".join(lines))
    monkeypatch.setattr(text, "STREAM_BLOCK", 4096)
    monkeypatch.setattr(text, "SINK_ROWS", 64)
    ref = Embeddings.load(path, cache=False)
    emb = Embeddings.load(path)
    assert not emb.report.from_cache and emb.report.parser == ("python" if irregular else "arrow")
    assert isinstance(emb.vectors, np.memmap) or isinstance(emb.vectors.base, np.memmap)
    assert emb.report.duplicates == 1 and emb.report.zero_vectors == 1 and len(emb) == 498
    _same(emb, ref)
    again = Embeddings.load(path, max_vocab=50)
    assert again.report.from_cache
    _same(again, ref[:50])
    assert not list(cache_dir(path).parent.glob("*.part"))


def test_streamed_parse_holds_no_matrix(tmp_path, rows):
    words, vecs = rows
    path = write_vec(tmp_path / "v.vec", words, vecs)
    got = []

    class Sink:
        def add(self, block):
            got.append(block.copy())

        def reset(self):
            got.clear()

    w, matrix, report = text.parse_text(path, None, "utf-8", sink=Sink())
    assert matrix is None and w == words and report.parser == "arrow"
    np.testing.assert_array_equal(np.vstack(got), vecs)


def test_streamed_errors_name_the_line_and_leave_no_cache(tmp_path, rows, monkeypatch):
    words, vecs = rows
    path = write_vec(tmp_path / "v.vec", words, vecs)
    lines = path.read_text().splitlines(True)
    lines[301] = lines[301].split(" ", 1)[0] + " nan" + " 1" * 6 + "\n"
    path.write_text("".join(lines))
    monkeypatch.setattr(text, "SINK_ROWS", 64)
    with pytest.raises(InputError, match=r"v\.vec.*302.*NaN"):
        Embeddings.load(path)
    assert not cache_dir(path).exists()
    assert not list(cache_dir(path).parent.glob("*.part"))
