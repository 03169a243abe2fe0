"""FreeDict dictd import (`align dictionary import-freedict`) on a small dictd file written here."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from align import Dictionary, InputError
from align.cli import main
from align.sources import freedict
from align.sources.freedict import dictd_number, freedict_dictionary, parse_entry, read_dictd, split_by_frequency

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

# entries as FreeDict renders WikDict's TEI (fra-fin): headword line, translations, glosses, sub-senses
ENTRIES = [
    ("00databaseinfo", "français-suomi test dictionary\n"),
    ("00databaseshort", "test ver. 1\n"),
    ("abattre", "abattre /a.batʁ/ <v>\n1. lamauttaa\nAffaiblir physiquement et moralement\n2. tappaa\n"
                "Assassiner par arme à feu\n3. lyödä korttinsa pöytään\nMettre ses cartes sur la table\n"),
    ("aigre", "aigre /ɛɡʁ/ <adj>\nhapan, terävä 2.\nQui a une saveur acide et amère\n 3.\n"
              "Se dit d’autres sentiments désagréables\n"),
    ("allemand", "allemand /al.mɑ̃/ <adj>\nsaksalainen, saksa\nRelatif à l’Allemagne\n"),
    ("chat", "chat /ʃa/ <n, masc>\nkissa\n"),
    ("chien", "chien /ʃjɛ̃/ <n, masc>\nkoira\nAnimal domestique\n"),
    ("detacher", "détacher /detaʃˈe/ <v>\nirrottaa\n1. Dégager une personne ou une chose.\n"),
    ("france", "France /fʁɑ̃s/ <pn>\nRanska\n"),
    ("maison", "maison /mɛ.zɔ̃/ <n, fem>\n1. talo, koti\n2. suku 2.\nFamille\n 3.\nLignée\n"),
    ("mer morte", "mer Morte /mɛʁ mɔʁt/ <pn>\nKuollutmeri\n"),
    ("premier", "1er /pʁə.mje/ <adj>\n1.\nPremier\n"),
    ("toutpuissant", "tout-puissant /tu.pɥi.sɑ̃/ <adj>\nkaikkivaltias\n"),
    ("eau", "eau /o/ <n, fem>\nvesi, H2O, hävitä (ottelu)\n"),
    ("chat", "chat /tʃat/ <n, masc>\nchatti, keskustelu\n"),  # a second entry under the same index word
]


def _b64(n: int) -> str:
    out = ""
    while True:
        out = B64[n % 64] + out
        n //= 64
        if n == 0:
            return out


def write_dictd(folder: Path, name: str = "freedict-fra-fin", entries=ENTRIES, compress: bool = True) -> Path:
    data = b""
    index = []
    for word, text in entries:
        body = text.encode("utf-8")
        index.append(f"{word}\t{_b64(len(data))}\t{_b64(len(body))}\n")
        data += body
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.index").write_text("".join(index), encoding="utf-8")
    if compress:
        (folder / f"{name}.dict.dz").write_bytes(gzip.compress(data))
    else:
        (folder / f"{name}.dict").write_bytes(data)
    return folder / f"{name}.index"


@pytest.fixture
def dictd(tmp_path, monkeypatch):
    monkeypatch.setattr(freedict, "DICTD_DIR", tmp_path / "dictd")
    return write_dictd(tmp_path / "dictd")


def write_vec(path: Path, words: list[str]) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{len(words)} 2\n")
        for i, w in enumerate(words):
            f.write(f"{w} {i + 1}.0 0.5\n")
    return path


def test_dictd_numbers():
    assert dictd_number("A") == 0 and dictd_number("B") == 1 and dictd_number("BA") == 64
    assert dictd_number(_b64(123456)) == 123456
    with pytest.raises(ValueError):
        dictd_number("*")


def test_parse_entry_keeps_translations_only():
    head, tr = parse_entry(ENTRIES[9][1])
    assert head == "maison" and tr == ["talo", "koti", "suku"]  # "Famille", "Lignée" are glosses
    assert parse_entry(ENTRIES[3][1]) == ("aigre", ["hapan", "terävä"])  # sub-sense marker " 2." dropped
    assert parse_entry(ENTRIES[7][1]) == ("détacher", ["irrottaa"])  # a gloss starting with "1." is no sense
    assert parse_entry(ENTRIES[11][1]) == ("1er", [])
    assert parse_entry("abaisser /a.be.se/ /a.bɛ.se/ <v>\nsupistaa\n") == ("abaisser", ["supistaa"])


def test_single_word_pairs_with_and_without_lowercase(dictd):
    d = freedict_dictionary("fra-fin")
    assert d.pairs == [
        ("abattre", "lamauttaa"), ("abattre", "tappaa"), ("aigre", "hapan"), ("aigre", "terävä"),
        ("allemand", "saksalainen"), ("allemand", "saksa"), ("chat", "kissa"), ("chien", "koira"),
        ("détacher", "irrottaa"), ("France", "Ranska"), ("maison", "talo"), ("maison", "koti"),
        ("maison", "suku"), ("tout-puissant", "kaikkivaltias"), ("eau", "vesi"), ("chat", "chatti"),
        ("chat", "keskustelu"),
    ]  # multi-word ("mer Morte", "lyödä korttinsa pöytään", "hävitä (ottelu)"), digits ("1er", "H2O") dropped
    low = freedict_dictionary(dictd, lowercase=True)
    assert ("france", "ranska") in low.pairs and ("France", "Ranska") not in low.pairs
    assert [(h, t) for h, t in read_dictd(dictd)][0] == ("abattre", ["lamauttaa", "tappaa", "lyödä korttinsa pöytään"])


def test_split_by_frequency_shares_no_source_word():
    d = Dictionary([(f"s{i}", f"t{i}") for i in range(20)] + [("s3", "u3"), ("s4", "u4"), ("zz", "t0")])
    src = [f"s{i}" for i in reversed(range(20))]  # s19 is the most frequent
    train, test, r = split_by_frequency(d, src, 0.25)
    test_src = {s for s, _ in test.pairs}
    assert len(test_src) == 5 and not test_src & {s for s, _ in train.pairs}
    assert test_src == {"s19", "s15", "s11", "s7", "s3"}  # every 4th word by frequency rank
    assert ("s3", "u3") in test.pairs and ("s4", "u4") in train.pairs
    assert train.pairs[0] == ("s18", "t18")  # ordered by source frequency
    assert r.dropped_src == 1 and r.kept == 22 and r.train_pairs + r.test_pairs == 22
    _, test2, r2 = split_by_frequency(d, src, 2, tgt_words={f"t{i}" for i in range(20)})
    assert r2.dropped_tgt == 2 and r2.test_sources == 2
    with pytest.raises(InputError, match="test size"):
        split_by_frequency(d, src, 20)


def test_cli_import_with_split(dictd, tmp_path, capsys):
    src = write_vec(tmp_path / "fr.vec", ["maison", "chat", "chien", "abattre", "eau", "allemand", "aigre", "zzz"])
    tgt = write_vec(tmp_path / "fi.vec", ["talo", "kissa", "koira", "vesi", "saksa", "tappaa", "hapan", "koti"])
    with pytest.raises(SystemExit) as e:
        main(["dictionary", "import-freedict", "fra-fin", "--src-emb", str(src), "--tgt-emb", str(tgt),
              "--test-size", "2", "--output", str(tmp_path / "out" / "fr-fi"), "--json", "-q"])
    assert e.value.code == 0
    r = json.loads(capsys.readouterr().out)
    assert r["test_sources"] == 2 and r["train_sources"] == 5
    train = Dictionary.load(tmp_path / "out" / "fr-fi.train.txt")
    test = Dictionary.load(tmp_path / "out" / "fr-fi.test.txt")
    assert not {s for s, _ in train.pairs} & {s for s, _ in test.pairs}
    everything = set(train.pairs) | set(test.pairs)
    assert everything == {("maison", "talo"), ("maison", "koti"), ("chat", "kissa"), ("chien", "koira"),
                          ("abattre", "tappaa"), ("eau", "vesi"), ("allemand", "saksa"), ("aigre", "hapan")}
    assert [s for s, _ in test.pairs] == ["maison", "maison", "abattre"]  # ranks 0 and 3 of 7 sources


def test_cli_import_without_vectors_and_errors(dictd, tmp_path, capsys):
    plain = write_dictd(tmp_path / "other", name="eng-xxx", compress=False)
    with pytest.raises(SystemExit) as e:
        main(["dictionary", "import-freedict", str(plain), "--output", str(tmp_path / "all"), "--lowercase"])
    assert e.value.code == 0
    assert "wrote" in capsys.readouterr().out
    assert ("france", "ranska") in Dictionary.load(tmp_path / "all.txt").pairs

    with pytest.raises(SystemExit) as e:  # split options without vectors to split by: said, not ignored
        main(["dictionary", "import-freedict", str(plain), "--output", str(tmp_path / "y"), "--test-size", "5"])
    assert e.value.code == 2 and "--test-size needs --src-emb" in capsys.readouterr().err
    assert not (tmp_path / "y.txt").exists()

    with pytest.raises(SystemExit) as e:
        main(["dictionary", "import-freedict", "nld-xxx", "--output", str(tmp_path / "x")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "no dictd index found" in err and "apt-get install dict-freedict-nld-xxx" in err

    bad = tmp_path / "bad" / "bad.index"
    bad.parent.mkdir()
    bad.write_text("word\tA\n", encoding="utf-8")
    (tmp_path / "bad" / "bad.dict").write_text("x", encoding="utf-8")
    with pytest.raises(SystemExit) as e:
        main(["dictionary", "import-freedict", str(bad), "--output", str(tmp_path / "x")])
    assert e.value.code == 2
    assert capsys.readouterr().err.startswith(f"error: {bad}:1: expected 'headword TAB offset TAB length'")


SHIPPED = Path(__file__).resolve().parent.parent / "dictionaries"
KIT = Path(__file__).resolve().parent.parent.parent / "shared" / "bench" / "vectors"


def test_shipped_fr_fi_dictionary_is_a_clean_split():
    train = Dictionary.load(SHIPPED / "fr-fi.train.txt")
    test = Dictionary.load(SHIPPED / "fr-fi.test.txt")
    assert len(train) > 1000 and len(test) > 300
    assert not {s for s, _ in train.pairs} & {s for s, _ in test.pairs}


@pytest.mark.skipif(not (Path("/usr/share/dictd/freedict-fra-fin.index").exists() and (KIT / "fr.vec.gz").exists()),
                    reason="needs dict-freedict-fra-fin and ../shared/bench")
def test_shipped_dictionary_is_reproducible(tmp_path, monkeypatch):
    from align.sources import import_freedict

    monkeypatch.setattr(freedict, "DICTD_DIR", Path("/usr/share/dictd"))
    import_freedict("fra-fin", tmp_path / "fr-fi", src_emb=str(KIT / "fr.vec.gz"), tgt_emb=str(KIT / "fi.vec.gz"),
                    lowercase=True)
    for part in ("train", "test"):
        assert (tmp_path / f"fr-fi.{part}.txt").read_bytes() == (SHIPPED / f"fr-fi.{part}.txt").read_bytes()



def test_a_split_with_nothing_left_says_which_side_is_missing():
    d = Dictionary([("chat", "kissa"), ("chien", "koira"), ("eau", "vesi")], name="fra-fin")
    with pytest.raises(InputError, match=r"fra-fin: only 0 of its source words have a pair left to split \(0 pairs "
                                         r"lack the source word in the source vectors, 3 the target word"):
        split_by_frequency(d, ["chat", "chien", "eau"], 0.5, tgt_words={"talo"})
