"""`align multi` end to end on built data, and `translate` / `bli-eval` between two of its languages."""
from __future__ import annotations

import json

import numpy as np
import pytest

from align.multi import MultiAligner, MultiMapping

from conftest import run_cli, write_vec

N, DIM = 800, 24


@pytest.fixture
def kit(tmp_path):
    """Vectors of a, b, c (three rotations of one space, plus noise), dictionaries a-b and c-b, a test a-c."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(N, DIM)).astype(np.float32)
    files = {}
    for lang in "abc":
        q, _ = np.linalg.qr(rng.normal(size=(DIM, DIM)))
        x = base @ q.astype(np.float32) + 0.01 * rng.normal(size=(N, DIM)).astype(np.float32)
        files[lang] = write_vec(tmp_path / f"{lang}.vec", [f"{lang}{i}" for i in range(N)], x)
    for s, t, rows in (("a", "b", range(250)), ("c", "b", range(250)), ("a", "c", range(400, 600))):
        (tmp_path / f"{s}-{t}.txt").write_text("".join(f"{s}{i} {t}{i}\n" for i in rows))
    return tmp_path, files


def args(tmp_path, files, *extra):
    return ["multi", *[f"--lang={lang}={path}" for lang, path in files.items()],
            "--dico", f"a-b={tmp_path / 'a-b.txt'}", "--dico", f"c-b={tmp_path / 'c-b.txt'}",
            "--refine", "1", "--refine-vocab", str(N), *extra]


@pytest.mark.parametrize("mode", ["joint", "hub"])
def test_multi_command_json_output_and_pairs(kit, mode):
    tmp_path, files = kit
    out = tmp_path / "space"
    res = run_cli(args(tmp_path, files, "--mode", mode, "--eval", f"a-c={tmp_path / 'a-c.txt'}", "--output", out,
                       "--json", "-q"))
    assert res.exit_code == 0, res.stderr
    m = json.loads(res.stdout)
    assert m["hub"] == "b" and m["mode"] == mode and m["seed_pairs"] == {"a-b": 250, "b-c": 250}
    assert m["eval"]["a-c"]["csls"]["precision_at_1"] == 100.0 and m["eval"]["a-c"]["csls"]["n_queries"] == 200
    assert m["params"]["refine"] == 1 and m["params"]["normalize"] == ["iternorm"]
    assert sorted(p.name for p in out.iterdir()) == ["a", "b", "c", "metrics.json", "multi.json"]
    assert MultiMapping.load(out).languages == ["a", "b", "c"]
    # translate and bli-eval between two languages of the space, vectors from the mappings' records
    tr = run_cli(["translate", out / "a", "a450", "a451", "--tgt-mapping", out / "c", "-k", "2", "--json"])
    assert tr.exit_code == 0, tr.stderr
    got = json.loads(tr.stdout)["translations"]
    assert [got[w][0]["word"] for w in ("a450", "a451")] == ["c450", "c451"]
    ev = run_cli(["bli-eval", "--src-emb", files["c"], "--tgt-emb", files["a"], "--dico", tmp_path / "a-c.txt",
                  "--mapping", out / "a", "--tgt-mapping", out / "c", "--json", "-q"])
    assert ev.exit_code == 2 and "no dictionary pair" in ev.stderr  # wrong sides: a clear error, not a number
    ev = run_cli(["bli-eval", "--src-emb", files["a"], "--tgt-emb", files["c"], "--dico", tmp_path / "a-c.txt",
                  "--mapping", out / "a", "--tgt-mapping", out / "c", "--json", "-q"])
    assert ev.exit_code == 0, ev.stderr
    assert json.loads(ev.stdout)["precision_at_1"] == 100.0
    for lone in (["translate", out / "a", "a450"],  # one language's mapping alone: no number from half a space
                 ["bli-eval", "--src-emb", files["a"], "--tgt-emb", files["c"], "--dico", tmp_path / "a-c.txt",
                  "--mapping", out / "a"]):
        bad = run_cli(lone)
        assert bad.exit_code == 2 and f"{out / 'a'}: maps one language into the shared space" in bad.stderr
        assert f"--tgt-mapping {out / 'LANG'}" in bad.stderr


def test_multi_text_output_and_rerun_replaces_the_folder(kit):
    tmp_path, files = kit
    out = tmp_path / "space"
    first = run_cli(args(tmp_path, files, "--mode", "joint", "--output", out, "-q"))
    assert first.exit_code == 0, first.stderr
    assert "joint space of a, b, c (hub b)" in first.stdout and "round 1" in first.stdout
    (out / "a" / "leftover.txt").write_text("x")
    again = run_cli(args(tmp_path, files, "--output", out, "-q", "--refine", "0"))
    assert again.exit_code == 0, again.stderr
    assert not (out / "a" / "leftover.txt").exists()  # swapped in whole
    assert json.loads((out / "metrics.json").read_text())["params"]["refine"] == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_multi_default_is_the_rcsls_hub_and_names_unused_dictionaries(kit):
    """The default (hub mode, RCSLS maps) cannot use a dictionary between two non-hub languages: it says so on
    stderr and in the JSON, and the API's default is the CLI's."""
    tmp_path, files = kit
    res = run_cli(args(tmp_path, files, "--dico", f"a-c={tmp_path / 'a-c.txt'}", "--hub", "b", "--json"))
    assert res.exit_code == 0, res.stderr
    m = json.loads(res.stdout)
    assert m["mode"] == "hub" and m["params"]["hub_method"] == "rcsls" and m["unused_dictionaries"] == ["a-c"]
    assert "does not use the dictionaries between two non-hub languages (a-c)" in res.stderr
    # --refine and --refine-vocab (given by args) are Procrustes' and joint mode's: RCSLS maps do not read them
    assert m["ignored_params"] == ["refine", "refine_vocab"]
    assert "--refine, --refine-vocab have no effect in hub mode with --hub-method rcsls" in res.stderr
    assert res.stderr.count("non-hub languages") == 1  # said once, by the CLI
    assert MultiAligner().get_params()["mode"] == "hub" and MultiAligner().hub_method == "rcsls"
    joint = run_cli(args(tmp_path, files, "--dico", f"a-c={tmp_path / 'a-c.txt'}", "--mode", "joint", "--json"))
    assert joint.exit_code == 0 and json.loads(joint.stdout)["unused_dictionaries"] == []
    assert json.loads(joint.stdout)["ignored_params"] == []
    assert "non-hub" not in joint.stderr and "no effect" not in joint.stderr
    quiet = run_cli(args(tmp_path, files, "--dico", f"a-c={tmp_path / 'a-c.txt'}", "--hub", "b", "--json", "-q"))
    assert quiet.exit_code == 0 and quiet.stderr == ""  # -q silences the warnings; the JSON keeps them


@pytest.mark.parametrize("extra, message", [
    (["--dico", "a-b"], "expects SRC-TGT=PATH"),
    (["--dico", "ab=x.txt"], "SRC-TGT"),
    (["--dico", "a-q=PATH"], "'q', which has no vectors"),
    (["--mode", "hub", "--hub", "a"], "c has none"),
    (["--lang", "a=other.vec"], "--lang a is given twice"),
    (["--eval", "a-c=missing.txt"], "missing.txt"),
])
def test_multi_bad_input_is_one_line(kit, extra, message):
    tmp_path, files = kit
    res = run_cli(args(tmp_path, files, *extra, "-q"))
    assert res.exit_code == 2, res.output
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_multi_bad_dictionary_line_and_foreign_folder(kit):
    tmp_path, files = kit
    bad = tmp_path / "bad.txt"
    bad.write_text("a1 b1\na2 b2 extra\n")
    res = run_cli(args(tmp_path, files, "--dico", f"a-c={bad}", "-q"))
    assert res.exit_code == 2 and f"{bad}:2:" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    res = run_cli(args(tmp_path, files, "--output", foreign, "-q", "--refine", "0"))
    assert res.exit_code == 2 and "refusing to replace" in res.stderr
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_multi_command_whiten_and_balance_induced(kit):
    tmp_path, files = kit
    res = run_cli(args(tmp_path, files, "--whiten", "--reweight", "0.25", "--no-balance-induced", "--refine-filter", "10",
                       "--eval", f"a-c={tmp_path / 'a-c.txt'}", "--json", "-q"))
    assert res.exit_code == 0, res.stderr
    m = json.loads(res.stdout)
    assert (m["params"]["whiten"], m["params"]["reweight"], m["params"]["balance_induced"]) == (True, 0.25, False)
    assert m["params"]["refine_filter"] == 10
    assert m["eval"]["a-c"]["csls"]["precision_at_1"] == 100.0
