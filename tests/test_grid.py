"""Grids of runs on built data: every cell recorded, resume after an interruption or a kill, a failing
cell isolated, spec errors, and the same results in process, on 2 workers and on Ray."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from align import InputError
from align.grid import expand_cells, latest_records, load_spec, run_grid
from align.grid.executors import available_cores
from align.report import render_report

from conftest import write_vec

LANGS = ("a", "b", "c")


def _rotation(d: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


@pytest.fixture
def grid_dir(tmp_path) -> Path:
    """Three rotated, slightly noisy copies of one space (200 words, dim 12), a train/test dictionary
    per unordered pair, and a spec: all 6 directions (reverse ones read the same files reversed) ×
    {procrustes, procrustes + 2 refinements} × one seed."""
    rng = np.random.default_rng(0)
    n, d = 200, 12
    base = rng.normal(size=(n, d))
    for k, lang in enumerate(LANGS):
        x = base @ _rotation(d, k + 1) + 0.02 * rng.normal(size=(n, d))
        write_vec(tmp_path / f"{lang}.vec", [f"{lang}{i}" for i in range(n)], x)
    for s, t in (("a", "b"), ("a", "c"), ("b", "c")):
        (tmp_path / f"{s}-{t}.train.txt").write_text("".join(f"{s}{i} {t}{i}\n" for i in range(120)))
        (tmp_path / f"{s}-{t}.test.txt").write_text("".join(f"{s}{i} {t}{i}\n" for i in range(120, 200)))
    write_spec(tmp_path)
    return tmp_path


def write_spec(folder: Path, *, methods: str | None = None, extra_top: str = "", dictionaries: str | None = None,
               pairs: str = '"all"') -> Path:
    dicts = dictionaries if dictionaries is not None else "".join(
        f'{s}-{t} = {{ train = "{s}-{t}.train.txt", test = "{s}-{t}.test.txt" }}\n'
        f'{t}-{s} = {{ train = "{s}-{t}.train.txt", test = "{s}-{t}.test.txt", reverse = true }}\n'
        for s, t in (("a", "b"), ("a", "c"), ("b", "c")))
    methods = methods if methods is not None else (
        'procrustes = { method = "procrustes" }\n"procrustes+refine" = { method = "procrustes", refine = 2 }\n')
    text = (f'{extra_top}pairs = {pairs}\nseeds = [0]\n\n[vectors]\n'
            + "".join(f'{lang} = "{lang}.vec"\n' for lang in LANGS)
            + f"\n[dictionaries]\n{dicts}\n[methods]\n{methods}")
    path = folder / "spec.toml"
    path.write_text(text)
    return path


def results_table(results: Path) -> dict:
    """Each cell's status and evaluation without timings: what must not depend on the executor."""
    out = {}
    for cid, rec in latest_records(results).items():
        ev = (rec["metrics"] or {}).get("eval") or {}
        out[cid] = (rec["status"], {r: {k: v for k, v in e.items() if k not in ("seconds", "device")}
                                    for r, e in ev.items()})
    return out


def test_grid_records_every_cell_with_parameters_metrics_versions_and_machine(grid_dir):
    summary = run_grid(grid_dir / "spec.toml", grid_dir / "out")
    assert (summary.cells, summary.skipped, len(summary.ran), summary.failed) == (12, 0, 12, [])
    records = latest_records(grid_dir / "out" / "results.jsonl")
    assert list(records) == [c.id for c in expand_cells(load_spec(grid_dir / "spec.toml"))]
    rec = records["b-a.procrustes+refine.s0"]
    assert rec["status"] == "ok" and rec["error"] is None
    from align.aligners import ProcrustesAligner

    defaults = {k: list(v) if isinstance(v, tuple) else v for k, v in ProcrustesAligner.defaults().items()
                if k not in ("seed", "show_progress")}
    assert rec["params"]["reverse"] is True and rec["params"]["options"] == {**defaults, "refine": 2}
    assert rec["params"]["train"].endswith("a-b.train.txt") and rec["params"]["seed"] == 0
    for retrieval in ("nn", "csls"):
        e = rec["metrics"]["eval"][retrieval]
        assert e["precision_at_1"] == 100.0 and e["n_queries"] == 80 and e["coverage"] == 1.0
        assert {"precision_at_5", "precision_at_10"} <= set(e)
    assert set(rec["versions"]) >= {"align", "numpy", "torch", "faiss"}
    assert rec["machine"]["cores"] >= 1 and rec["seconds"] >= 0 and rec["started_at"]


def test_cells_leave_the_shared_vectors_as_loaded(grid_dir):
    from align import Embeddings
    from align.grid.job import cached_vectors

    spec = write_spec(grid_dir, methods='p = { method = "procrustes", refine = 2 }\nr = { method = "rcsls", epochs = 2 }\n')
    run_grid(spec, grid_dir / "out")
    for lang in LANGS:
        path = str((grid_dir / f"{lang}.vec").resolve())
        assert np.array_equal(cached_vectors(path, 200000).vectors, Embeddings.load(path).vectors)


def test_rerun_after_interruption_and_a_cut_line_runs_only_the_missing_cells(grid_dir):
    out = grid_dir / "out"
    seen = []

    def interrupt_after_five(record):
        seen.append(record["id"])
        if len(seen) == 5:
            raise KeyboardInterrupt  # Ctrl-C while the grid runs

    with pytest.raises(KeyboardInterrupt):
        run_grid(grid_dir / "spec.toml", out, on_record=interrupt_after_five)
    results = out / "results.jsonl"
    # a kill while the sixth record was being written leaves half a line
    whole = json.dumps({"id": "a-c.procrustes+refine.s0", "status": "ok"})
    with open(results, "a") as f:
        f.write(whole[: len(whole) // 2])
    assert len(latest_records(results)) == 5  # readers skip the cut line

    summary = run_grid(grid_dir / "spec.toml", out)
    all_ids = [c.id for c in expand_cells(load_spec(grid_dir / "spec.toml"))]
    assert summary.dropped_partial_line and summary.skipped == 5
    assert summary.ran == [i for i in all_ids if i not in seen]
    lines = results.read_text().splitlines()
    assert len(lines) == 12 and all(json.loads(line)["status"] == "ok" for line in lines)

    again = run_grid(grid_dir / "spec.toml", out)
    assert again.ran == [] and again.skipped == 12


def test_changed_options_rerun_only_the_changed_cells(grid_dir):
    run_grid(grid_dir / "spec.toml", grid_dir / "out")
    write_spec(grid_dir, methods='procrustes = { method = "procrustes" }\n'
                                 '"procrustes+refine" = { method = "procrustes", refine = 3 }\n')
    summary = run_grid(grid_dir / "spec.toml", grid_dir / "out")
    assert summary.skipped == 6 and all(i.split(".")[1] == "procrustes+refine" for i in summary.ran)
    rec = latest_records(grid_dir / "out" / "results.jsonl")["a-b.procrustes+refine.s0"]
    assert rec["params"]["options"]["refine"] == 3


def test_a_failing_cell_is_recorded_and_the_others_finish(grid_dir):
    (grid_dir / "b-c.test.txt").write_text("b120 c120\nb121 c121 extra\n")  # a malformed line 2
    summary = run_grid(grid_dir / "spec.toml", grid_dir / "out")
    failing = {"b-c.procrustes.s0", "b-c.procrustes+refine.s0", "c-b.procrustes.s0", "c-b.procrustes+refine.s0"}
    assert set(summary.failed) == failing and len(summary.ran) == 12
    records = latest_records(grid_dir / "out" / "results.jsonl")
    for cid in failing:
        err = records[cid]["error"]
        assert records[cid]["status"] == "failed" and records[cid]["metrics"] is None
        assert "b-c.test.txt:2:" in err and "\n" not in err
    assert all(r["status"] == "ok" for cid, r in records.items() if cid not in failing)
    # failed cells are finished too, unless asked to retry them once the input is fixed
    assert run_grid(grid_dir / "spec.toml", grid_dir / "out").ran == []
    (grid_dir / "b-c.test.txt").write_text("".join(f"b{i} c{i}\n" for i in range(120, 200)))
    retried = run_grid(grid_dir / "spec.toml", grid_dir / "out", retry_failed=True)
    assert set(retried.ran) == failing and retried.failed == []


@pytest.mark.parametrize("change, message, line", [
    (dict(extra_top="pairs_ = 1\n"), "unknown key 'pairs_'", 1),
    (dict(methods='x = { method = "procrustez" }\n'), "methods.x: unknown method 'procrustez'", None),
    (dict(methods='x = { method = "procrustes", refines = 2 }\n'), "methods.x: unknown option 'refines'", None),
    (dict(methods='x = { method = "procrustes", refine = -1 }\n'), "methods.x: refine must be >= 0", None),
    (dict(methods='x = { method = "procrustes", seed = 3 }\n'), "'seed' is set by the grid", None),
    (dict(methods='"a/b" = { method = "procrustes" }\n'), "bad method label 'a/b'", None),
    (dict(dictionaries='a-b = { train = "missing.txt" }\n'), "no such file 'missing.txt'", None),
    (dict(dictionaries='a-x = { train = "a-b.train.txt" }\n'), "no vectors for 'x'", None),
    (dict(dictionaries='a-b = { train = "a-b.train.txt" }\n'), "needs a training dictionary for a-c", None),
    (dict(extra_top="seeds = [0]\n"), "not valid TOML", 3),  # the second 'seeds'
    (dict(extra_top="max_vocab = [\n"), "not valid TOML", 2),
])
def test_spec_errors_are_one_line_and_name_the_spec_file(grid_dir, change, message, line):
    spec = write_spec(grid_dir, **change)
    with pytest.raises(InputError) as err:
        run_grid(spec, grid_dir / "out")
    text = str(err.value)
    assert text.startswith(str(spec) + ":") and message in text and "\n" not in text
    if line is not None:
        assert err.value.line == line
    elif "methods.x" in message:  # the line of the method's table
        assert err.value.line == [li.startswith("x =") for li in spec.read_text().splitlines()].index(True) + 1
    assert not (grid_dir / "out" / "results.jsonl").exists()


def test_two_workers_give_the_same_results_as_one_process(grid_dir):
    one = run_grid(grid_dir / "spec.toml", grid_dir / "one")
    two = run_grid(grid_dir / "spec.toml", grid_dir / "two", workers=2)
    assert two.executor == "2 worker processes" and sorted(two.ran) == sorted(one.ran) and two.failed == []
    cores = available_cores()
    assert {r["threads"] for r in latest_records(grid_dir / "one" / "results.jsonl").values()} == {cores}
    assert {r["threads"] for r in latest_records(grid_dir / "two" / "results.jsonl").values()} == {max(1, cores // 2)}
    assert results_table(grid_dir / "two" / "results.jsonl") == results_table(grid_dir / "one" / "results.jsonl")
    md = {name: render_report(grid_dir / name / "results.jsonl", "md", times=False) for name in ("one", "two")}
    assert md["one"] == md["two"]


def test_pinned_threads_are_recorded_and_released_after_an_in_process_grid(grid_dir):
    import faiss
    from threadpoolctl import threadpool_info

    before = faiss.omp_get_max_threads(), [i["num_threads"] for i in threadpool_info()]
    run_grid(grid_dir / "spec.toml", grid_dir / "out", threads=1)
    assert {r["threads"] for r in latest_records(grid_dir / "out" / "results.jsonl").values()} == {1}
    assert (faiss.omp_get_max_threads(), [i["num_threads"] for i in threadpool_info()]) == before


def test_ray_local_gives_the_same_results_as_one_process(grid_dir, cli):
    """Through the CLI with -q: Ray's own log lines (e.g. about token authentication) stay quiet too."""
    pytest.importorskip("ray")
    run_grid(grid_dir / "spec.toml", grid_dir / "one")
    res = cli(["grid", grid_dir / "spec.toml", "--output", grid_dir / "ray", "--ray", "local", "--workers", "2",
               "--json", "-q"])
    summary = json.loads(res.stdout)
    assert res.exit_code == 0 and res.stderr == "", res.stderr
    assert summary["executor"] == "ray (local)" and summary["failed"] == 0 and summary["ran"] == 12
    assert results_table(grid_dir / "ray" / "results.jsonl") == results_table(grid_dir / "one" / "results.jsonl")


def test_saved_mappings_are_swapped_in_whole(grid_dir):
    spec = write_spec(grid_dir, extra_top="save_mappings = true\n",
                      methods='procrustes = { method = "procrustes" }\n')
    run_grid(spec, grid_dir / "out")
    folders = sorted(p.name for p in (grid_dir / "out" / "mappings").iterdir())
    assert folders == sorted(c.id for c in expand_cells(load_spec(spec)))
    assert (grid_dir / "out" / "mappings" / "a-b.procrustes.s0" / "metrics.json").is_file()


def test_cli_grid_and_report_json_exit_codes_and_one_line_errors(grid_dir, cli):
    out = grid_dir / "out"
    res = cli(["grid", grid_dir / "spec.toml", "--output", out, "--json", "--quiet"])
    assert res.exit_code == 0 and res.stderr == ""
    summary = json.loads(res.stdout)
    assert (summary["cells"], summary["ran"], summary["failed"], summary["executor"]) == (12, 12, 0, "in-process")
    again = json.loads(cli(["grid", grid_dir / "spec.toml", "--output", out, "--json", "-q"]).stdout)
    assert again["ran"] == 0 and again["skipped"] == 12

    (grid_dir / "a-b.test.txt").write_text("only-one-field\n")
    res = cli(["grid", grid_dir / "spec.toml", "--output", grid_dir / "bad", "--json", "-q"])
    assert res.exit_code == 1 and json.loads(res.stdout)["failed"] == 4  # a-b and b-a, two methods each

    spec = write_spec(grid_dir, methods='x = { method = "procrustes", refine = "five" }\n')
    res = cli(["grid", spec, "--output", out])
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1 and str(spec) in res.stderr

    pytest.importorskip("matplotlib")
    res = cli(["report", out / "results.jsonl", "--json", "-q"])
    assert res.exit_code == 0 and json.loads(res.stdout)["output"] == str(out / "report.html")
    assert "<img" in (out / "report.html").read_text()
    md = cli(["report", out / "results.jsonl", "--format", "md"])
    assert md.exit_code == 0 and md.stdout.count("\n") == 2 + 12
    res = cli(["report", grid_dir / "nothing.jsonl"])
    assert res.exit_code == 2 and "nothing.jsonl: no such results file" in res.stderr


def die_in_cells_from_b(cell, threads):
    """A worker job that kills its process on the cells whose source is b (as an out-of-memory kill would)."""
    import os

    from align.grid.executors import _run_in_worker

    if cell.src == "b":
        os._exit(9)
    return _run_in_worker(cell, threads)


def test_a_worker_killed_by_a_cell_fails_that_cell_only(grid_dir):
    from align.grid.executors import run_in_processes

    # b-a kills the pool it shares with a-b; a-b, innocent, then finishes alone
    spec = write_spec(grid_dir, methods='procrustes = { method = "procrustes" }\n', pairs='["a-b", "b-a"]')
    cells = expand_cells(load_spec(spec))
    records = {r["id"]: r for r in run_in_processes(cells, 2, 1, job=die_in_cells_from_b)}
    assert records["a-b.procrustes.s0"]["status"] == "ok" and len(records) == 2
    assert records["b-a.procrustes.s0"]["status"] == "failed"
    assert "worker process died" in records["b-a.procrustes.s0"]["error"]


def test_a_seedless_cell_that_did_not_converge_is_counted_and_exits_3(grid_dir, cli):
    """Spaces that share nothing: the unsupervised cell finishes with its results, is counted as not converged
    (beside ok and failed), and the grid exits 3 as the single command would."""
    rng = np.random.default_rng(5)
    write_vec(grid_dir / "z.vec", [f"z{i}" for i in range(200)], rng.normal(size=(200, 12)))
    (grid_dir / "a-z.test.txt").write_text("".join(f"a{i} z{i}\n" for i in range(120, 200)))
    spec = grid_dir / "seedless.toml"
    spec.write_text('pairs = ["a-z"]\nseeds = [0]\n\n[vectors]\na = "a.vec"\nz = "z.vec"\n\n[dictionaries]\n'
                    'a-z = { test = "a-z.test.txt" }\n\n[methods]\n'
                    'u = { method = "unsupervised", restarts = 1 }\n')
    res = cli(["grid", spec, "--output", grid_dir / "seedless", "--json", "-q"])
    summary = json.loads(res.stdout)
    assert res.exit_code == 3, res.stderr
    assert (summary["failed"], summary["not_converged"], summary["not_converged_cells"]) == (0, 1, ["a-z.u.s0"])
    text = cli(["grid", spec, "--output", grid_dir / "seedless2"])
    assert text.exit_code == 3 and "(0 failed, 1 not converged)" in text.stdout and "not converged: a-z.u.s0" in text.stdout


def test_negative_seeds_are_a_spec_error(grid_dir):
    spec = write_spec(grid_dir)
    spec.write_text(spec.read_text().replace("seeds = [0]", "seeds = [0, -1]"))
    with pytest.raises(InputError, match=r"spec.toml:2: 'seeds' must be a non-empty list of non-negative integers"):
        run_grid(spec, grid_dir / "out")


def test_a_cell_whose_mapping_cannot_be_written_names_its_final_folder(grid_dir, monkeypatch):
    """A cell builds its mapping folder aside (`.NAME.part`) and the job builds its own inside that: the recorded
    error names the file in the cell's final folder, never a temporary path."""
    import align.jobs
    from align._io import folder_swap
    from align.grid.job import run_cell

    spec = write_spec(grid_dir, extra_top="save_mappings = true\n")
    cell = next(c for c in expand_cells(load_spec(spec), str(grid_dir / "out" / "mappings")) if c.save_to)

    def failing_write(src, tgt, seeds, *, output=None, **kw):
        with folder_swap(output) as tmp:
            raise OSError(27, "File too large", str(tmp / "a.mapped.vec"))

    monkeypatch.setattr(align.jobs, "run_alignment", failing_write)
    record = run_cell(cell)
    assert record["status"] == "failed" and ".part" not in record["error"]
    assert f"{Path(cell.save_to) / 'a.mapped.vec'}: cannot write: File too large" in record["error"]
