"""`spacy:NAME` vectors: tiny pipelines built here, a table of word vectors and floret."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from align import Embeddings, InputError
from align.cli import main

WORDS = ["the", "of", "house", "cat", "dog", "houses", "cats", "doggy", "kitten", "home"]
KEEP = 5  # rows the pruned pipeline really stores


def test_missing_spacy_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "spacy", None)
    monkeypatch.setitem(sys.modules, "spacy.strings", None)
    monkeypatch.setitem(sys.modules, "spacy.vectors", None)
    with pytest.raises(InputError, match=r"pip install 'align\[spacy\]'"):
        Embeddings.load("spacy:xx_anything")


@pytest.fixture(scope="module")
def spacy():
    return pytest.importorskip("spacy")


@pytest.fixture(scope="module")
def table_pipeline(spacy, tmp_path_factory):
    """A blank pipeline with 10 word vectors pruned to 5 rows: the 5 others map onto kept rows."""
    nlp = spacy.blank("en")
    rng = np.random.default_rng(0)
    data = rng.normal(size=(len(WORDS), 6)).astype(np.float32)
    nlp.vocab.reset_vectors(width=6)
    for w, v in zip(WORDS, data):
        nlp.vocab.set_vector(w, v)
    remap = nlp.vocab.prune_vectors(KEEP)
    path = tmp_path_factory.mktemp("spacy") / "table_pipe"
    nlp.to_disk(path)
    return path, data, remap


@pytest.fixture(scope="module")
def floret_pipeline(spacy, tmp_path_factory):
    from spacy.vectors import Vectors

    nlp = spacy.blank("fi")
    rng = np.random.default_rng(1)
    table = rng.normal(size=(64, 6)).astype(np.float32)
    nlp.vocab.vectors = Vectors(strings=nlp.vocab.strings, data=table, mode="floret", minn=2, maxn=4,
                                hash_count=2)
    path = tmp_path_factory.mktemp("spacy") / "floret_pipe"
    nlp.to_disk(path)
    return path, nlp.vocab.vectors


def test_table_reads_only_the_stored_rows_with_their_own_words(table_pipeline):
    path, data, remap = table_pipeline
    emb = Embeddings.load(f"spacy:{path}")
    assert emb.words == WORDS[:KEEP]  # frequency (row) order, no shared-row aliases
    assert np.allclose(emb.vectors, data[:KEEP])
    assert set(remap) == set(WORDS[KEEP:])  # the pipeline does map the others
    assert emb.report.warnings == [] and emb.name == f"spacy:{path}"
    assert Embeddings.load(f"spacy:{path}", max_vocab=3).words == WORDS[:3]


def test_table_extra_words_use_the_rows_they_are_mapped_to(table_pipeline):
    path, data, remap = table_pipeline
    emb = Embeddings.load(f"spacy:{path}", words=["houses", "nonexistent"])
    assert emb.words == WORDS[:KEEP] + ["houses"]
    target = remap["houses"][0]  # the kept word "houses" was mapped onto
    assert np.allclose(emb["houses"], emb[target])
    assert any("1 requested words" in w for w in emb.report.warnings)


def test_floret_vectors_for_given_words(floret_pipeline, tmp_path):
    path, vectors = floret_pipeline
    words = ["talo", "talossa", "kissa", "koira", "talo"]
    emb = Embeddings.load(f"spacy:{path}", words=words)
    assert emb.words == ["talo", "talossa", "kissa", "koira"]
    assert np.allclose(emb.vectors, vectors.get_batch(emb.words), atol=1e-6)
    assert Embeddings.load(f"spacy:{path}", words=words, max_vocab=2).words == ["talo", "talossa"]
    wordfile = tmp_path / "words.txt"
    wordfile.write_text("koira 12\nkissa 7\n\n", encoding="utf-8")
    emb2 = Embeddings.load(f"spacy:{path},words={wordfile}")
    assert emb2.words == ["koira", "kissa"] and np.allclose(emb2["kissa"], emb["kissa"])


def test_floret_default_vocabulary_is_wordfreq(floret_pipeline):
    pytest.importorskip("wordfreq")
    path, vectors = floret_pipeline
    emb = Embeddings.load(f"spacy:{path}", max_vocab=50)
    assert len(emb) == 50 and emb.words[0] == "ja"  # the most frequent Finnish word
    assert np.allclose(emb.vectors, vectors.get_batch(emb.words), atol=1e-6)


def test_errors(spacy, tmp_path):
    with pytest.raises(InputError, match="no installed spaCy pipeline"):
        Embeddings.load("spacy:xx_no_such_pipeline_here")
    (tmp_path / "notapipe").mkdir()
    with pytest.raises(InputError, match="not a spaCy pipeline"):
        Embeddings.load(f"spacy:{tmp_path / 'notapipe'}")
    nlp = spacy.blank("en")
    nlp.to_disk(tmp_path / "novectors")
    with pytest.raises(InputError, match="no static vectors"):
        Embeddings.load(f"spacy:{tmp_path / 'novectors'}")
    with pytest.raises(InputError, match="unknown option"):
        Embeddings.load(f"spacy:{tmp_path / 'novectors'},size=3")


def test_cli_accepts_spacy_paths(table_pipeline, tmp_path, capsys):
    """`spacy:NAME` works wherever a vectors path is accepted, e.g. as --src-emb of bli-eval."""
    path, data, remap = table_pipeline
    dico = tmp_path / "d.txt"
    dico.write_text("house house\ncat cat\n", encoding="utf-8")
    with pytest.raises(SystemExit) as e:
        main(["bli-eval", "--src-emb", f"spacy:{path}", "--tgt-emb", f"spacy:{path}", "--dico", str(dico),
              "--retrieval", "nn", "--json", "-q"])
    assert e.value.code == 0
    r = json.loads(capsys.readouterr().out)
    assert r["precision_at_1"] == pytest.approx(100.0)
