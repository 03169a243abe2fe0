"""Citation forms (align.citation): inflected forms collapse onto the shortest form of their paradigm, and
a map refitted on citation pairs sends source words to the target's citation forms, not to the inflected
forms a seedless map prefers (issue 4: fr→fi année → vuoden instead of vuosi)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from align.aligners.citation import citation_forms, citation_refine
from align.errors import InputError
from align.space.normalize import normalize_rows


def _unit(rng: np.random.Generator, dim: int) -> np.ndarray:
    v = rng.normal(size=dim)
    return v / np.linalg.norm(v)


def test_citation_forms_pick_the_shortest_near_form_with_the_same_stem():
    rng = np.random.default_rng(0)
    dim = 64
    house, far, short, same = (_unit(rng, dim) for _ in range(4))
    near = lambda v: v + 0.15 * rng.normal(size=dim) / np.sqrt(dim)  # noqa: E731
    words = ["talon", "talossa", "talo", "talja", "mies", "miet", "on", "ont"]
    vectors = np.stack([near(house), near(house), near(house),  # one paradigm; the genitive is the most frequent
                        far,  # same first letters, unrelated meaning: not a form of talo
                        near(same), near(same),  # two forms of one length: the more frequent is the citation form
                        near(short), near(short)])  # "on" is shorter than the 3-letter stem: it matches nothing
    cite = citation_forms(vectors.astype(np.float32), words, neighbours=5)
    got = {w: words[c] for w, c in zip(words, cite)}
    assert got["talon"] == got["talossa"] == got["talo"] == "talo"
    assert got["talja"] == "talja"
    assert got["miet"] == "mies" and got["mies"] == "mies"
    assert got["on"] == "on" and got["ont"] == "ont"


def test_citation_forms_follow_the_cosine_threshold():
    words = ["kirja", "kirjoitus"]
    v = np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)  # cosine 0.6
    assert list(citation_forms(v, words, min_cos=0.5)) == [0, 0]
    assert list(citation_forms(v, words, min_cos=0.7)) == [0, 1]


def test_citation_forms_reject_mismatched_input():
    with pytest.raises(InputError, match="one vector per word"):
        citation_forms(np.zeros((3, 4), np.float32), ["a", "b"])


def _inflected_pair(n_lemmas: int = 120, dim: int = 24, seed: int = 0):
    """A source language with one form per word, and a target language with a nominative (the stem) and a
    genitive (stem + n) per lemma. The genitive matches the source exactly (x = [b, −a] rotated), the nominative
    is its mirror image in the last coordinate ([b, +a]): two exact orthogonal maps, one to each form."""
    rng = np.random.default_rng(seed)
    stems = ["".join(s) for s in itertools.product("bdfghjklmp", "aeiouy", "rstvz")]
    stems = list(rng.permutation(stems)[:n_lemmas])
    b = rng.normal(size=(n_lemmas, dim - 1))
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    a = np.full((n_lemmas, 1), 0.5)
    nom, gen = np.hstack([b, a]), np.hstack([b, -a])
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    X = normalize_rows((gen @ q.T).astype(np.float32))  # source row i translates lemma i
    tgt_words, rows = [], []
    for i, s in enumerate(stems):  # the genitive is the more frequent form
        tgt_words += [s + "n", s]
        rows += [gen[i], nom[i]]
    Y = normalize_rows(np.array(rows, dtype=np.float32))
    src_words = [s.upper() for s in stems]
    return X, Y, src_words, tgt_words, q


def _p_at_1(X: np.ndarray, W: np.ndarray, Y: np.ndarray, gold: np.ndarray) -> float:
    return float(np.mean(np.argmax(normalize_rows(X @ W) @ Y.T, axis=1) == gold))


def test_citation_refine_moves_a_map_from_inflected_to_citation_forms():
    X, Y, src_words, tgt_words, q = _inflected_pair()
    n = len(X)
    nominative, genitive = 2 * np.arange(n) + 1, 2 * np.arange(n)
    W0 = q.astype(np.float32)  # the seedless solution: every word to its genitive
    assert _p_at_1(X, W0, Y, genitive) == 1.0 and _p_at_1(X, W0, Y, nominative) == 0.0
    src_cite = citation_forms(X, src_words)
    tgt_cite = citation_forms(Y, tgt_words)
    assert np.array_equal(src_cite, np.arange(n))  # one form per source word: nothing to collapse
    assert np.array_equal(tgt_cite[genitive], nominative) and np.array_equal(tgt_cite[nominative], nominative)
    W, log = citation_refine(X, Y, W0, src_cite, tgt_cite, iterations=3)
    assert _p_at_1(X, W, Y, nominative) == 1.0
    assert np.allclose(W @ W.T, np.eye(len(W)), atol=1e-4)  # still orthogonal
    assert len(log) == 3 and log[0]["moved"] == 1.0 and log[0]["citation_pairs"] == n
    # without collapsing, the same refits keep the inflected solution
    W_plain, _ = citation_refine(X, Y, W0, np.arange(n), np.arange(len(Y)), iterations=3)
    assert _p_at_1(X, W_plain, Y, genitive) == 1.0


def test_citation_refine_checks_its_maps():
    X, Y, _, _, q = _inflected_pair(n_lemmas=40)
    with pytest.raises(InputError, match="cover"):
        citation_refine(X, Y, q.astype(np.float32), np.arange(5), np.arange(len(Y)))


def test_citation_forms_of_real_finnish_case_forms(bench):
    """On the kit's Finnish vectors, forms in -n (mostly genitives, the forms a seedless map picks: see
    benchmarks/RESULTS.md) mostly collapse onto the shorter form the dictionaries list. The heuristic is
    approximate (measured: 73 % of the 1,217 word / word+n pairs share their citation form, 61 % go straight to
    the word), so this asserts the aggregate with a margin, and a few forms that the seedless map gets wrong."""
    from align import Embeddings
    from align.space.normalize import Normalizer

    fi = Embeddings.load(bench / "vectors" / "fi.vec.gz")
    cite = citation_forms(Normalizer().fit_transform(fi.vectors), fi.words)
    index = {w: i for i, w in enumerate(fi.words)}
    pairs = [(index[w], index[w + "n"]) for w in fi.words if len(w) >= 4 and w + "n" in index]
    assert len(pairs) > 1000
    assert np.mean([cite[a] == cite[b] for a, b in pairs]) > 0.65
    assert np.mean([cite[b] == a for a, b in pairs]) > 0.55
    for inflected, lemma in (("naisen", "nainen"), ("yliopiston", "yliopisto"), ("talon", "talo"),
                             ("sarjan", "sarja"), ("kiven", "kivi")):
        assert fi.words[cite[index[inflected]]] == lemma
        assert cite[index[lemma]] == index[lemma]
