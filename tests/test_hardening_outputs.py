"""Nothing lost: every command that writes leaves either the earlier result untouched or a whole new one, even
when it is killed (SIGKILL) or its writes fail (a file-size limit), and its errors name the user's paths."""
from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from align import Dictionary, Embeddings
from align.space.mapping import Mapping

from conftest import REPO_ROOT, rotated_files, run_cli, write_vec


@pytest.fixture
def pair(tmp_path):
    """Rotated source/target files (s_i ↔ t_i) big enough that writing the outputs takes a while."""
    return rotated_files(tmp_path, 2000, 40, 0.05, 1000)


def _procrustes_args(pair, out: Path, refine: int) -> list[str]:
    src, tgt, train = pair
    return ["procrustes", "s", "t", "--src-emb", str(src), "--tgt-emb", str(tgt), "--dico-train", str(train),
            "--refine", str(refine), "--output", str(out), "-q", "--json"]


def _command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "align", *args]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _assert_whole(folder: Path, refine: int) -> None:
    """A complete, loadable output folder of a run with `refine` rounds."""
    assert sorted(p.name for p in folder.iterdir()) == ["W.npy", "induced.txt", "mapping.json", "metrics.json",
                                                          "s.mapped.vec"]
    mapping = Mapping.load(folder)
    assert mapping.info["params"]["refine"] == refine
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["params"]["refine"] == refine
    assert len(Embeddings.load(folder / "s.mapped.vec", cache=False)) == 2000
    assert len(Dictionary.load(folder / "induced.txt")) > 0


def test_sigkill_at_any_moment_leaves_the_earlier_folder_or_a_whole_new_one(pair, tmp_path):
    out = tmp_path / "O"
    t0 = time.perf_counter()
    first = subprocess.run(_command(_procrustes_args(pair, out, 0)), env=_env(), capture_output=True, text=True)
    full = time.perf_counter() - t0
    assert first.returncode == 0, first.stderr
    _assert_whole(out, 0)
    earlier = _digest(out)
    rng = np.random.default_rng(0)
    outcomes = set()
    for fraction in sorted(rng.uniform(0.55, 1.0, size=4)):  # most of a run's time is start-up and the fit
        proc = subprocess.Popen(_command(_procrustes_args(pair, out, 1)), env=_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(fraction * full)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert out.is_dir()
        if _digest(out) == earlier:
            outcomes.add("earlier")
        else:  # the new result, and whole
            _assert_whole(out, 1)
            outcomes.add("new")
            earlier = _digest(out)  # later kills may only leave this one or another whole one
        leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".O.")]
        assert all(p.endswith(".part") for p in leftovers)  # a killed run's work folder, never a mixed O
    # a later run cleans the work folders killed runs left and puts a whole result in place
    again = subprocess.run(_command(_procrustes_args(pair, out, 2)), env=_env(), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    _assert_whole(out, 2)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".O.")] == []


def test_sigkill_with_no_earlier_folder_leaves_none_or_a_whole_one(pair, tmp_path):
    out = tmp_path / "fresh"
    proc = subprocess.Popen(_command(_procrustes_args(pair, out, 0)), env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:  # kill as soon as its work folder appears
        if any(p.name.startswith(".fresh.") for p in tmp_path.iterdir()):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    proc.wait()
    if out.exists():
        _assert_whole(out, 0)
    res = run_cli(["translate", out, "s1", "-q"]) if not out.exists() else None
    if res is not None:
        assert res.exit_code == 2 and "no such mapping directory" in res.stderr


def _limit_file_size(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_failing_write_keeps_the_earlier_result_byte_for_byte_and_names_the_file(pair, tmp_path):
    out = tmp_path / "O"
    first = subprocess.run(_command(_procrustes_args(pair, out, 0)), env=_env(), capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    before = _digest(out)
    # 200 kB: W.npy and mapping.json fit, the mapped vectors (about 1 MB) do not
    res = subprocess.run(_command(_procrustes_args(pair, out, 5)), env=_env(), capture_output=True, text=True,
                         preexec_fn=_limit_file_size(200_000))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert lines == [f"error: {out / 's.mapped.vec'}: cannot write: File too large"]
    assert ".part" not in res.stderr
    assert _digest(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".O.")] == []  # its work folder is gone


def test_apply_keeps_the_earlier_file_on_a_failing_write(pair, tmp_path):
    src, tgt, train = pair
    mdir = tmp_path / "m"
    Mapping(np.eye(40, dtype=np.float32)).save(mdir)
    target = tmp_path / "mapped.vec"
    target.write_text("earlier\n")
    code = ("import sys; from align.cli import main; main(sys.argv[1:])")
    res = subprocess.run([sys.executable, "-c", code, "apply", str(mdir), str(src), str(target), "-q"], env=_env(),
                         capture_output=True, text=True, preexec_fn=_limit_file_size(100_000))
    assert res.returncode == 2
    assert res.stderr.strip() == f"error: {target}: cannot write: File too large"
    assert target.read_text() == "earlier\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".mapped.vec.")] == []


def test_errors_inside_a_swapped_folder_name_the_final_path(tmp_path):
    from align._io import atomic_write, folder_swap, shown
    from align.errors import OutputError

    final = tmp_path / "out"
    with pytest.raises(OutputError) as info:
        with folder_swap(final) as tmp:
            assert shown(tmp / "W.npy") == str(final / "W.npy")
            raise OSError(27, "File too large", str(tmp / "W.npy"))
    assert str(info.value) == f"{final / 'W.npy'}: cannot write: File too large"
    with pytest.raises(OutputError, match=r"out: cannot write: No space left on device"):
        with folder_swap(final):
            raise OSError(28, "No space left on device")  # a write error that names no file
    assert not final.exists() and list(tmp_path.iterdir()) == []
    # an error about a file the block was reading is not a write error
    with pytest.raises(FileNotFoundError):
        with atomic_write(tmp_path / "x.txt") as f:
            f.write("x")
            open(tmp_path / "missing.txt")
    assert list(tmp_path.iterdir()) == []


def test_orphans_of_killed_runs_are_removed_and_live_ones_kept(tmp_path):
    from align._io import remove_orphans

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    orphan = tmp_path / f".fr.vec.align-cache.{dead_pid}.abc.part"
    live = tmp_path / f".fr.vec.align-cache.{os.getpid()}.def.part"
    legacy_old = tmp_path / "fr.vec.align-cache.x1y2.part"  # named by older versions, without a process id
    legacy_new = tmp_path / "fr.vec.align-cache.z3w4.part"
    for p in (orphan, live, legacy_old, legacy_new):
        p.mkdir()
        (p / "vectors.npy").write_bytes(b"x")
    os.utime(legacy_old, (time.time() - 7200, time.time() - 7200))
    remove_orphans(tmp_path, "fr.vec.align-cache", legacy_age=3600)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, legacy_new.name])


def test_vector_cache_orphans_are_cleaned_when_a_cache_is_written(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    vec = write_vec(tmp_path / "a.vec", ["x", "y"], np.eye(2))
    orphan = tmp_path / f".a.vec.align-cache.{int(dead.stdout)}.q.part"
    orphan.mkdir()
    Embeddings.load(vec)
    assert not orphan.exists()
    assert (tmp_path / "a.vec.align-cache" / "vectors.npy").exists()


def test_train_writes_bin_and_vec_whole_or_not_at_all(tmp_path):
    pytest.importorskip("fasttext")
    rng = np.random.default_rng(0)
    vocab = [f"w{i}x" for i in range(200)]
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(vocab, 12)) for _ in range(1500)) + "\n")
    args = ["train", "xx", str(corpus), "--dim", "8", "--epochs", "1", "--min-count", "1", "--bucket", "1000",
            "--threads", "1", "-o", str(tmp_path / "m"), "-q"]
    ok = subprocess.run(_command(args), env=_env(), capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    before = {p: p.read_bytes() for p in (tmp_path / "m.bin", tmp_path / "m.vec")}
    # fastText's own save does not report a failed write: the saved model's size is checked against its header
    res = subprocess.run(_command(args), env=_env(), capture_output=True, text=True,
                         preexec_fn=_limit_file_size(20_000))
    assert res.returncode == 2
    assert res.stderr.strip().startswith(f"error: {tmp_path / 'm.bin'}: cannot write")
    assert ".part" not in res.stderr
    assert {p: p.read_bytes() for p in before} == before
    assert not [p for p in tmp_path.iterdir() if ".train." in p.name]


def test_a_gzip_output_names_its_final_file_in_its_header(tmp_path):
    """Written through a temp file, a .gz output still records its own name (what `gunzip -N` restores)."""
    import numpy as np

    from align import Embeddings

    emb = Embeddings(["a", "b"], np.eye(2, dtype=np.float32))
    emb.save(tmp_path / "x.vec.gz")
    data = (tmp_path / "x.vec.gz").read_bytes()
    assert data[:2] == b"\x1f\x8b" and data[3] & 8  # FNAME set
    assert data[10:data.index(b"\0", 10)] == b"x.vec"
    assert Embeddings.load(tmp_path / "x.vec.gz", cache=False).words == ["a", "b"]


def test_errors_in_a_folder_built_inside_a_work_folder_name_the_final_path(tmp_path):
    """A grid cell builds its mapping folder in `.NAME.part` and align's own folder swap builds inside that:
    an error names the file under the cell's final folder, never a temporary path."""
    from align._io import folder_swap, shown_as
    from align.errors import OutputError

    final, part = tmp_path / "a-b.procrustes.s0", tmp_path / ".a-b.procrustes.s0.part"
    with pytest.raises(OutputError) as info:
        with shown_as(part, final), folder_swap(part) as tmp:
            raise OSError(27, "File too large", str(tmp / "a.mapped.vec"))
    assert str(info.value) == f"{final / 'a.mapped.vec'}: cannot write: File too large"
