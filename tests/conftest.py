"""Shared fixtures: the benchmark kit, small vector files and a CLI runner.

Every test runs with $ALIGN_CACHE pointing at a temporary folder, so no test writes a
vector cache into the user's ~/.cache; and tests that read the read-only benchmark kit
check that they left it exactly as they found it.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest
from click.testing import CliRunner

import align.cli

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"


# ---- caches -------------------------------------------------------------------

@pytest.fixture(scope="session")
def session_cache_dir(tmp_path_factory) -> Path:
    """One $ALIGN_CACHE for the session, so the kit's big files are parsed once per run."""
    return tmp_path_factory.mktemp("align-cache")


@pytest.fixture(autouse=True)
def _align_cache(monkeypatch, session_cache_dir) -> Path:
    monkeypatch.setenv("ALIGN_CACHE", str(session_cache_dir))
    return session_cache_dir


# ---- the benchmark kit --------------------------------------------------------

def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture
def bench() -> Path:
    """Path to ../shared/bench; skips when the kit is absent. Fails if a test wrote into it."""
    if not (BENCH / "vectors").is_dir():
        pytest.skip(f"benchmark kit not found at {BENCH}")
    before = _snapshot(BENCH)
    yield BENCH
    after = _snapshot(BENCH)
    assert after == before, f"a test modified the read-only benchmark kit {BENCH}: " \
        f"{sorted(set(after.items()) ^ set(before.items()))[:5]}"


# ---- writing small vector files -----------------------------------------------

def format_vec(words: Sequence[str], vectors: np.ndarray, header: bool = True, newline: str = "\n",
               trailing: str = "") -> str:
    """word2vec text for `words` and `vectors` (repr-exact floats), optionally without header."""
    vectors = np.asarray(vectors, dtype=np.float32)
    lines = [f"{len(words)} {vectors.shape[1]}"] if header else []
    for w, row in zip(words, vectors):
        lines.append(w + " " + " ".join(repr(float(v)) for v in row) + trailing)
    return "".join(line + newline for line in lines)


def write_vec(path: Path, words: Sequence[str], vectors: np.ndarray, *, header: bool = True,
              newline: str = "\n", trailing: str = "") -> Path:
    """Write a .vec (gzip when the name ends in .gz) and return its path."""
    path = Path(path)
    data = format_vec(words, vectors, header, newline, trailing).encode("utf-8")
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


@pytest.fixture
def vec_writer(tmp_path):
    """write(name, words, vectors, **kw) -> Path, inside the test's tmp_path."""
    def write(name: str, words, vectors, **kw) -> Path:
        return write_vec(tmp_path / name, words, vectors, **kw)
    return write


def rotated_files(folder, n: int, d: int, noise: float, n_train: int, seed: int = 0):
    """src.vec and tgt.vec in `folder` (target = rotated source + noise, words s_i ↔ t_i) and train.txt with
    the first `n_train` pairs; returns their paths."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    Y = X @ q.astype(np.float32) + noise * rng.normal(size=(n, d)).astype(np.float32)
    src = write_vec(folder / "src.vec", [f"s{i}" for i in range(n)], X)
    tgt = write_vec(folder / "tgt.vec", [f"t{i}" for i in range(n)], Y)
    train = folder / "train.txt"
    train.write_text("".join(f"s{i} t{i}\n" for i in range(n_train)))
    return src, tgt, train


@pytest.fixture
def small_space(tmp_path):
    """A good source file, a good target file and a good dictionary (identity pairs w0..w9)."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    x = rng.normal(size=(40, 8)).astype(np.float32)
    src = write_vec(tmp_path / "src.vec", words, x)
    tgt = write_vec(tmp_path / "tgt.vec", words, x + 0.01 * rng.normal(size=x.shape).astype(np.float32))
    dico = tmp_path / "dico.txt"
    dico.write_text("".join(f"w{i} w{i}\n" for i in range(10)))
    return src, tgt, dico


# ---- running the command line -------------------------------------------------

@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    output: str  # stdout and stderr interleaved, as a terminal shows them

    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


class _MainEntryPoint:
    """Lets CliRunner call `align.cli.main(argv)`, the console entry point, so that its
    error-to-exit-code mapping (not just the click group) is what the tests see."""

    name = "align"

    def main(self, args=(), prog_name=None, **extra):
        return align.cli.main(list(args))


def run_cli(args: Sequence[str | os.PathLike]) -> CliResult:
    """Run `align ARGS` in process through `align.cli.main`, stdout and stderr kept apart.

    Unexpected exceptions are not caught: a test that hits one fails with the traceback,
    which is what a user would have seen instead of a one-line error.
    """
    runner = CliRunner()
    res = runner.invoke(_MainEntryPoint(), [str(a) for a in args], prog_name="align",  # type: ignore[arg-type]
                        catch_exceptions=False)
    return CliResult(res.exit_code, res.stdout, res.stderr, res.output)


@pytest.fixture
def cli():
    return run_cli


TINY_TEXT = ["the cat sat on the mat", "le chat est sur le tapis", "a dog and a cat play", "un chien et un chat jouent",
        "the house is big", "la maison est grande", "water and fire", "l eau et le feu"] * 3


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A 4-layer, 16-wide XLM-RoBERTa with a 60-piece Unigram tokenizer trained on TINY_TEXT, saved to a folder."""
    pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    torch = pytest.importorskip("torch")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaModel

    tk = Tokenizer(models.Unigram())
    tk.pre_tokenizer = pre_tokenizers.Metaspace()
    tk.decoder = decoders.Metaspace()
    tk.train_from_iterator(TINY_TEXT, trainers.UnigramTrainer(
        vocab_size=60, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], unk_token="<unk>"))
    tk.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    d = tmp_path_factory.mktemp("tiny-xlmr")
    PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                            unk_token="<unk>", mask_token="<mask>", cls_token="<s>", sep_token="</s>").save_pretrained(d)
    torch.manual_seed(0)
    cfg = XLMRobertaConfig(vocab_size=tk.get_vocab_size(), hidden_size=16, num_hidden_layers=4, num_attention_heads=2,
                           intermediate_size=32, max_position_embeddings=160, pad_token_id=1, bos_token_id=0,
                           eos_token_id=2)
    XLMRobertaModel(cfg).save_pretrained(d)
    return d
