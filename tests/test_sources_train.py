"""fastText training (`align train`, `train_fasttext`) on small generated corpora."""
from __future__ import annotations

import gzip
import json
import random

import numpy as np
import pytest

from align import Embeddings, InputError
from align.cli import main
from align.sources import fit_fasttext, train_fasttext

TOPICS = 5
PER_TOPIC = 8
SMALL = dict(dim=16, epochs=10, min_count=1, threads=1, bucket=20_000)


def _words(rng: random.Random) -> list[list[str]]:
    """Random 7-letter words: topics are told apart only by co-occurrence, never by spelling."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    seen: set[str] = set()
    topics = []
    for _ in range(TOPICS):
        topic = []
        while len(topic) < PER_TOPIC:
            w = "".join(rng.choice(letters) for _ in range(7))
            if w not in seen:
                seen.add(w)
                topic.append(w)
        topics.append(topic)
    return topics


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Each line draws its words from one topic only."""
    rng = random.Random(7)
    topics = _words(rng)
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(2500):
            topic = rng.choice(topics)
            f.write(" ".join(rng.choice(topic) for _ in range(8)) + "\n")
    return path, topics


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    path, topics = corpus
    out = tmp_path_factory.mktemp("model") / "xx"
    return fit_fasttext(path, out, model="skipgram", **SMALL), topics


def _neighbours(emb: Embeddings, word: str, k: int) -> list[str]:
    X = emb.vectors / np.linalg.norm(emb.vectors, axis=1, keepdims=True)
    sims = X @ X[emb.index[word]]
    order = [int(i) for i in np.argsort(-sims) if emb.words[int(i)] not in (word, "</s>")]
    return [emb.words[i] for i in order[:k]]


def test_neighbours_follow_the_cooccurrences(trained):
    result, topics = trained
    emb = result.embeddings
    topic_of = {w: t for t, ws in enumerate(topics) for w in ws}
    hits = total = 0
    for w, t in topic_of.items():
        for n in _neighbours(emb, w, 3):
            hits += topic_of.get(n) == t
            total += 1
    assert hits / total >= 0.9


def test_outputs_and_report(trained):
    result, topics = trained
    assert result.bin_path.is_file() and result.vec_path.is_file()
    assert result.vocab_size == TOPICS * PER_TOPIC + 1  # + fastText's end-of-line token </s>
    assert result.tokens == 2500 * 8 and result.lines == 2500
    assert result.words_per_sec > 0 and result.fasttext_words_per_sec_thread
    vec = Embeddings.load(result.vec_path, cache=False)
    assert vec.words == result.embeddings.words and vec.dim == 16
    # frequency order, as fastText writes it: </s> (one per line) comes first
    assert vec.words[0] == "</s>"
    assert result.embeddings.report.cache_path  # the binary cache was written beside the .vec
    leftovers = [p.name for p in result.bin_path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_bin_gives_oov_vectors(trained):
    result, topics = trained
    word = topics[0][0]
    oov = word + "s"
    model = Embeddings.load(result.bin_path, words=[oov])
    assert oov in model and oov not in result.embeddings
    v = result.embeddings.get_vector(oov, oov=True)
    assert v.shape == (16,) and np.any(v)
    assert np.allclose(v, model[oov], atol=1e-6)
    # the OOV word shares most of its character n-grams with `word`
    others = [w for t in topics[1:] for w in t]
    sims = {w: float(np.dot(v, model[w]) / np.linalg.norm(v) / np.linalg.norm(model[w])) for w in [word] + others}
    assert max(sims, key=sims.get) == word


def test_gzip_corpus_cbow_and_progress_callback(corpus, tmp_path):
    path, _ = corpus
    gz = tmp_path / "corpus.txt.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    seen = []
    emb = train_fasttext(gz, tmp_path / "out" / "m", model="cbow", dim=8, epochs=2, min_count=1, threads=1,
                         maxn=0, on_progress=seen.append)
    assert len(emb) == TOPICS * PER_TOPIC + 1 and emb.dim == 8
    assert seen and seen[-1].percent == pytest.approx(100.0)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["m.bin", "m.vec", "m.vec.align-cache"]


def test_show_progress_prints_words_per_second(corpus, tmp_path, capfd):
    path, _ = corpus
    fit_fasttext(path, tmp_path / "m", dim=8, epochs=1, min_count=1, threads=1, maxn=0, show_progress=True)
    err = capfd.readouterr().err
    assert "words/s" in err and "ETA" in err
    fit_fasttext(path, tmp_path / "m", dim=8, epochs=1, min_count=1, threads=1, maxn=0, show_progress=False)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("content, message, line", [
    (b"", "corpus is empty", None),
    (b"  \n\n \t\n", "corpus is empty", None),
    (b"good words\nbad \xff byte\n", "not UTF-8", 2),
])
def test_bad_corpus_is_refused(tmp_path, content, message, line):
    path = tmp_path / "c.txt"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        fit_fasttext(path, tmp_path / "out" / "m", **SMALL)
    assert message in str(err.value) and err.value.line == line
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_failed_training_leaves_nothing(corpus, tmp_path):
    path, _ = corpus
    (tmp_path / "m.vec").write_text("old\n")
    with pytest.raises(InputError, match="lower --min-count"):
        fit_fasttext(path, tmp_path / "m", **{**SMALL, "min_count": 10**6})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.vec"]  # the old file untouched, no temp left
    assert (tmp_path / "m.vec").read_text() == "old\n"


def test_bad_parameters(corpus, tmp_path):
    path, _ = corpus
    with pytest.raises(InputError, match="minn"):
        fit_fasttext(path, tmp_path / "m", minn=5, maxn=3)
    with pytest.raises(InputError, match="unknown model"):
        fit_fasttext(path, tmp_path / "m", model="glove")
    with pytest.raises(InputError, match="no such file"):
        fit_fasttext(tmp_path / "missing.txt", tmp_path / "m")


def test_cli_train_json_and_errors(corpus, tmp_path, capsys):
    path, _ = corpus
    out = tmp_path / "cli" / "xx"
    with pytest.raises(SystemExit) as e:
        main(["train", "xx", str(path), "--dim", "8", "--epochs", "1", "--min-count", "1", "--threads", "1",
              "--bucket", "1000", "--output", str(out), "--json", "--quiet"])
    assert e.value.code == 0
    captured = capsys.readouterr()
    r = json.loads(captured.out)
    assert r["lang"] == "xx" and r["vocab_size"] == TOPICS * PER_TOPIC + 1 and r["words_per_sec"] > 0
    assert captured.err == ""
    assert (tmp_path / "cli" / "xx.bin").is_file() and (tmp_path / "cli" / "xx.vec").is_file()

    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xc3\x28 oops\n")
    with pytest.raises(SystemExit) as e:
        main(["train", "xx", str(bad), "--output", str(tmp_path / "b"), "-q"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}:1: not UTF-8") and err.count("\n") == 1
    with pytest.raises(SystemExit) as e:  # a language code as every other command takes it
        main(["train", "x y", str(path), "--output", str(tmp_path / "c"), "-q"])
    assert e.value.code == 2 and capsys.readouterr().err == "error: not a language code: 'x y' (language)\n"
    assert not (tmp_path / "c.bin").exists()
