"""Type-level word vectors from a multilingual encoder (XLM-R or any `AutoModel`), cached on disk.

A word's vector is the mean of its subword token states (special tokens excluded), averaged over
a set of hidden-state layers (0 = the embedding layer). `isolated` encodes the bare word with the
model's special tokens; `context` encodes up to M windows of corpus text around the word's
occurrences and averages the word's vectors over them (words never seen fall back to `isolated`).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .._io import open_binary
from .._io import progress as _progress
from ..store.cache import write_vector_dir
from ..store.matrix import read_matrix
from ..store.report import LoadReport
from ..store.vectors import Embeddings
from ..errors import AlignError, InputError

DEFAULT_MODEL = "xlm-roberta-base"
MODES: tuple[str, ...] = ("isolated", "context")
CACHE_FORMAT = 1
MAX_WORD_TOKENS = 32


class BridgeError(AlignError):
    """The encoder cannot be loaded (missing directory, not cached while offline) or used."""


# ---- layers -------------------------------------------------------------------

def parse_layers(spec: str | Sequence[int] | None, n_layers: int) -> list[int]:
    """'0-4' / '12' / '0,2,4' / None (the lower half, 0..n_layers//2) -> sorted hidden-state indices."""
    if spec is None or spec == "":
        return list(range(0, n_layers // 2 + 1))
    if isinstance(spec, str):
        out: set[int] = set()
        for part in spec.replace(" ", "").split(","):
            try:
                if "-" in part:
                    a, b = part.split("-", 1)
                    lo, hi = int(a), int(b)
                    if lo > hi:
                        raise ValueError
                    out.update(range(lo, hi + 1))
                else:
                    out.add(int(part))
            except ValueError:
                raise InputError(f"bad layer specification {spec!r} (e.g. 0-4, 12, 0,2,4)") from None
        layers = sorted(out)
    else:
        layers = sorted({int(x) for x in spec})
    if not layers or layers[0] < 0 or layers[-1] > n_layers:
        raise InputError(f"layers {spec!r} out of range: the model has hidden states 0..{n_layers}")
    return layers


def describe_layers(layers: Sequence[int]) -> str:
    """[0,1,2,3] -> '0-3'; [12] -> '12'; otherwise a comma list."""
    layers = list(layers)
    if len(layers) > 1 and layers == list(range(layers[0], layers[-1] + 1)):
        return f"{layers[0]}-{layers[-1]}"
    return ",".join(str(x) for x in layers)


# ---- loading the encoder ------------------------------------------------------

def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


HUB_PROBE_SECONDS = 3.0  # how long to wait for the hub before calling it unreachable


@functools.lru_cache(maxsize=1)
def _hub_reachable() -> bool:
    """Whether a TCP connection to the Hugging Face hub opens within HUB_PROBE_SECONDS (assumed so behind a
    proxy, which a direct connection would not show)."""
    import socket
    from urllib.parse import urlparse

    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((url.hostname or "huggingface.co", url.port or 443), HUB_PROBE_SECONDS).close()
        return True
    except OSError:
        return False


def _local_only(model: str, p: Path) -> bool:
    """Whether to load from local files only: a model directory, HF_HUB_OFFLINE, or a hub name that is cached
    while the hub cannot be reached. A hub name neither cached nor reachable is a one-line error at once: the
    hub's client would retry for half a minute first."""
    if p.is_dir() or _offline():
        return True
    if _hub_reachable():
        return False
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(model, "config.json"), str):
        return True
    raise BridgeError(f"cannot load encoder {model!r}: not in the local Hugging Face cache, and the hub "
                      f"({os.environ.get('HF_ENDPOINT', 'https://huggingface.co')}) cannot be reached")


def _looks_like_path(model: str) -> bool:
    """True for './x', '/x', '~/x', 'a/b/c' or Windows paths; 'org/name' is a hub id."""
    return model.startswith((".", "/", "~")) or model.count("/") > 1 or "\\" in model


def model_identity(model: str) -> str:
    """A string that changes when the model changes: the resolved directory and its files' sizes/mtimes, or the hub name."""
    p = Path(model).expanduser()
    if p.is_dir():
        stamp = sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in p.iterdir() if f.is_file())
        return json.dumps([str(p.resolve()), stamp])
    return model


def _load_error(model: str, exc: BaseException, is_dir: bool) -> BridgeError:
    """One-line BridgeError for a failed `from_pretrained`."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    if is_dir:
        return BridgeError(f"{model}: cannot load the encoder ({first})")
    where = "not in the local Hugging Face cache and HF_HUB_OFFLINE is set" if _offline() \
        else "not in the local Hugging Face cache and not downloadable (no network, or no such model)"
    return BridgeError(f"cannot load encoder {model!r}: {where} ({first})")


def check_source(model: str) -> Path:
    """The model as a path, after checking that a directory-like name is an existing model directory."""
    p = Path(model).expanduser()
    if not p.exists() and _looks_like_path(model):
        raise BridgeError(f"{model}: no such model directory")
    if p.exists() and not p.is_dir():
        raise BridgeError(f"{model}: not a model directory")
    if p.is_dir() and not (p / "config.json").exists():
        raise BridgeError(f"{model}: not a Hugging Face model directory (no config.json)")
    return p


def load_encoder(model: str = DEFAULT_MODEL, device: str | None = None, show_progress: bool = False):
    """(tokenizer, model, device) for a hub name or a local directory; BridgeError with one line on failure.
    Transformers' own bars ("Loading weights", downloads) show only with `show_progress`."""
    try:
        from transformers import AutoModel, AutoTokenizer
    except ImportError:  # pragma: no cover - the optional extra is missing
        raise BridgeError("the XLM-R bridge needs Hugging Face transformers: pip install 'align[xlmr]'") from None
    from transformers.utils import logging as hf_logging

    p = check_source(model)
    source = str(p) if p.is_dir() else model
    local_only = _local_only(model, p)
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    if not show_progress:
        hf_logging.disable_progress_bar()
    try:
        with _hub_quiet(show_progress):
            tok = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
            enc = AutoModel.from_pretrained(source, local_files_only=local_only)
    except Exception as exc:  # transformers/hub raise OSError, ValueError, HTTP errors...
        raise _load_error(model, exc, p.is_dir()) from None
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars and not show_progress:
            hf_logging.enable_progress_bar()
    if not getattr(tok, "is_fast", False):
        raise BridgeError(f"{model}: a fast (Rust) tokenizer is needed for word-to-piece alignment")
    if device is None:
        from ..device import torch_device

        device = torch_device()
    enc = enc.float().eval().to(device)  # float16 checkpoints are encoded in float32
    return tok, enc, device


def truncate_layers(enc, top: int) -> bool:
    """Drop the transformer layers above hidden state `top` (they do not change states 0..top); True if done."""
    import torch

    for path in (("encoder", "layer"), ("layers",), ("transformer", "layer")):
        obj = enc
        try:
            for name in path[:-1]:
                obj = getattr(obj, name)
            blocks = getattr(obj, path[-1])
        except AttributeError:
            continue
        if isinstance(blocks, torch.nn.ModuleList) and len(blocks) == enc.config.num_hidden_layers:
            if top < len(blocks):
                setattr(obj, path[-1], blocks[:top])
                enc.config.num_hidden_layers = top
            return True
    return False


# ---- pieces of words ----------------------------------------------------------

def _isolated_items(tok, words: Sequence[str]) -> list[tuple[list[int], list[int]]]:
    """(input ids with special tokens, positions of the word's pieces) for each bare word."""
    items = []
    for w in words:
        enc = tok(w, truncation=True, max_length=MAX_WORD_TOKENS, return_special_tokens_mask=True)
        full = list(enc["input_ids"])
        pos = [i for i, s in enumerate(enc["special_tokens_mask"]) if not s]
        if not pos:  # a word the tokenizer maps to nothing: use every position
            pos = list(range(len(full)))
        items.append((full, pos))
    return items


def find_contexts(corpus: str | os.PathLike, words: Iterable[str], max_sentences: int = 5,
                  window: int = 20, lowercase: bool = False) -> dict[str, list[tuple[list[str], int]]]:
    """Up to `max_sentences` windows (tokens, position of the word) per word, from whitespace-tokenised lines."""
    wanted = set(words)
    found: dict[str, list[tuple[list[str], int]]] = {}
    remaining = len(wanted)
    with open_binary(corpus) as f:
        for raw in f:
            line = raw.decode("utf-8", errors="replace")
            toks = (line.lower() if lowercase else line).split()
            for i, t in enumerate(toks):
                if t in wanted:
                    occ = found.setdefault(t, [])
                    if len(occ) < max_sentences:
                        lo = max(0, i - window)
                        occ.append((toks[lo:i + window + 1], i - lo))
                        if len(occ) == max_sentences:
                            remaining -= 1
            if remaining == 0:
                break
    return found


def _context_items(tok, contexts: dict[str, list[tuple[list[str], int]]], words: Sequence[str],
                   max_length: int = 128) -> tuple[list[tuple[list[int], list[int]]], list[int]]:
    """Encoder items for each occurrence, and the index (into `words`) each item belongs to."""
    items, owner = [], []
    for wi, w in enumerate(words):
        for toks, at in contexts.get(w, ()):
            enc = tok(toks, is_split_into_words=True, truncation=True, max_length=max_length)
            pos = [i for i, k in enumerate(enc.word_ids()) if k == at]
            if pos:
                items.append((enc["input_ids"], pos))
                owner.append(wi)
    return items, owner


def encode_items(tok, enc, device: str, items: Sequence[tuple[list[int], list[int]]], layers: Sequence[int],
                 batch_size: int = 64, show_progress: bool = False, desc: str = "encoding") -> np.ndarray:
    """For each (ids, positions): the mean over `layers` of the mean state of `positions`; batched by length."""
    import torch

    out = np.zeros((len(items), enc.config.hidden_size), dtype=np.float32)
    order = sorted(range(len(items)), key=lambda i: len(items[i][0]))
    batches = [order[s:s + batch_size] for s in range(0, len(order), batch_size)]
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    layer_idx = list(layers)
    with torch.inference_mode():
        for batch in _progress(batches, show_progress, desc=desc, total=len(batches), unit="batch"):
            width = max(len(items[i][0]) for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            att = torch.zeros((len(batch), width), dtype=torch.long)
            weight = torch.zeros((len(batch), width), dtype=torch.float32)
            for r, i in enumerate(batch):
                seq, pos = items[i]
                ids[r, :len(seq)] = torch.tensor(seq, dtype=torch.long)
                att[r, :len(seq)] = 1
                weight[r, pos] = 1.0 / len(pos)
            hs = enc(input_ids=ids.to(device), attention_mask=att.to(device), output_hidden_states=True).hidden_states
            states = torch.stack([hs[l] for l in layer_idx]).mean(0)  # (B, T, H)
            vec = torch.einsum("bt,bth->bh", weight.to(device), states.float())
            out[batch] = vec.cpu().numpy()
    return out


# ---- cache --------------------------------------------------------------------

def bridge_cache(cache_dir: str | os.PathLike | None = None) -> Path:
    """`cache_dir`, or $ALIGN_CACHE/bridge (see `align.store.cache.cache_root`)."""
    if cache_dir is not None:
        return Path(cache_dir)
    from ..store.cache import cache_root

    return cache_root() / "bridge"


def _corpus_identity(corpus: str | os.PathLike | None) -> list | None:
    if corpus is None:
        return None
    p = Path(corpus)
    st = p.stat()
    return [str(p.resolve()), st.st_size, st.st_mtime_ns]


def cache_key(model: str, layers: Sequence[int], mode: str, words: Sequence[str], extra: dict) -> str:
    """sha1 of the model identity, layers, mode, vocabulary and mode options."""
    h = hashlib.sha1()
    h.update(json.dumps([CACHE_FORMAT, model_identity(model), list(layers), mode, extra], sort_keys=True).encode())
    h.update("\n".join(words).encode("utf-8"))
    return h.hexdigest()[:24]


def _read_cache(d: Path, words: Sequence[str], problems: list[str]) -> tuple[np.ndarray, dict] | None:
    """The cached (vectors, meta) of folder `d` for exactly `words`, or None: when there is none, and when it
    is unusable (a cut or damaged file, other words, NaN), with the reason appended to `problems`."""
    if not d.exists():
        return None
    try:
        meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("meta.json is not an object")
        cached = (d / "words.txt").read_text(encoding="utf-8").split("\n")[:-1]
        if cached != list(words):
            raise ValueError("it holds other words")
        vectors = read_matrix(d / "vectors.npy")
        if vectors.shape[0] != len(words):
            raise ValueError(f"{vectors.shape[0]} vectors for {len(words)} words")
        return np.asarray(vectors, dtype=np.float32), meta
    except (OSError, ValueError, InputError) as exc:  # UnicodeDecodeError is a ValueError
        problems.append(f"the encoder cache {d} is unusable ({exc}); encoding again")
        return None


def _write_cache(d: Path, words: Sequence[str], vectors: np.ndarray, meta: dict) -> None:
    """Temp folder beside `d`, then rename; a failure to cache is not an error."""
    write_vector_dir(d, words, vectors, meta)


@contextmanager
def _hub_quiet(show_progress: bool):
    """Without progress, the hub's retry notices (an unreachable model name) stay quiet too; errors still show."""
    if show_progress:
        yield
        return
    from huggingface_hub.utils import logging as hub_logging

    level = hub_logging.get_verbosity()
    hub_logging.set_verbosity_error()
    try:
        yield
    finally:
        hub_logging.set_verbosity(level)


def _model_layers(model: str, show_progress: bool = False) -> int:
    """Number of transformer layers from config.json (no weights loaded)."""
    from transformers import AutoConfig

    p = Path(model).expanduser()
    local_only = _local_only(model, p)
    try:
        with _hub_quiet(show_progress):
            cfg = AutoConfig.from_pretrained(str(p) if p.is_dir() else model, local_files_only=local_only)
    except Exception as exc:
        raise _load_error(model, exc, Path(model).expanduser().is_dir()) from None
    return int(getattr(cfg, "num_hidden_layers"))


def encode_words_meta(words: Sequence[str], model: str = DEFAULT_MODEL, layers: str | Sequence[int] | None = None,
                      mode: str = "isolated", corpus: str | os.PathLike | None = None, max_sentences: int = 5,
                      batch_size: int = 64, cache_dir: str | os.PathLike | None = None, show_progress: bool = False,
                      window: int = 20, device: str | None = None) -> tuple[Embeddings, dict]:
    """`encode_words`, also returning a dict of what was done (layers, cache hit, seconds, context counts)."""
    start = time.perf_counter()
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}; choose isolated or context")
    if mode == "context" and corpus is None:
        raise InputError("context mode needs a corpus")
    words = list(dict.fromkeys(words))
    if not words:
        raise InputError("no words to encode")
    check_source(model)
    try:
        import transformers  # noqa: F401
    except ImportError:  # pragma: no cover
        raise BridgeError("the XLM-R bridge needs Hugging Face transformers: pip install 'align[xlmr]'") from None
    n_layers = _model_layers(model, show_progress)
    layer_list = parse_layers(layers, n_layers)
    extra = {"max_sentences": max_sentences, "window": window, "corpus": _corpus_identity(corpus)} \
        if mode == "context" else {}
    d = bridge_cache(cache_dir) / cache_key(model, layer_list, mode, words, extra)
    meta = {"model": model, "layers": layer_list, "layers_text": describe_layers(layer_list),
            "n_layers": n_layers, "mode": mode, "words": len(words), **extra}
    problems: list[str] = []
    hit = _read_cache(d, words, problems)
    if hit is not None:
        vectors, stored = hit
        meta.update({k: v for k, v in stored.items() if k not in meta}, from_cache=True, cache_path=str(d),
                    seconds=round(time.perf_counter() - start, 3))
    else:
        tok, enc, dev = load_encoder(model, device, show_progress)
        truncate_layers(enc, max(layer_list))  # the layers above the highest one asked for are not run
        if mode == "isolated":
            vectors = encode_items(tok, enc, dev, _isolated_items(tok, words), layer_list, batch_size,
                                   show_progress, desc="encoding words")
        else:
            contexts = find_contexts(corpus, words, max_sentences, window)  # type: ignore[arg-type]
            items, owner = _context_items(tok, contexts, words)
            occ = encode_items(tok, enc, dev, items, layer_list, batch_size, show_progress, desc="encoding contexts")
            vectors = np.zeros((len(words), enc.config.hidden_size), dtype=np.float32)
            counts = np.bincount(np.asarray(owner, dtype=np.int64), minlength=len(words)).astype(np.float32)
            np.add.at(vectors, np.asarray(owner, dtype=np.int64), occ)
            seen = counts > 0
            vectors[seen] /= counts[seen, None]
            missing = [w for w, s in zip(words, seen) if not s]
            if missing:  # never in the corpus: the bare word
                vectors[~seen] = encode_items(tok, enc, dev, _isolated_items(tok, missing), layer_list, batch_size,
                                              show_progress, desc="encoding unseen words")
            meta.update(occurrences=int(len(items)), words_in_corpus=int(seen.sum()),
                        words_isolated_fallback=len(missing))
        meta.update(encode_seconds=round(time.perf_counter() - start, 3), device=str(dev))
        _write_cache(d, words, vectors, {k: v for k, v in meta.items()})
        meta.update(from_cache=False, cache_path=str(d), seconds=round(time.perf_counter() - start, 3))
    report = LoadReport(path=str(model), from_cache=bool(meta["from_cache"]), cache_path=str(d),
                        seconds=float(meta["seconds"]), warnings=problems)
    if problems:
        meta["warnings"] = problems
    emb = Embeddings(words, vectors, report=report, name=f"{Path(model).name or model} layers {meta['layers_text']} {mode}")
    return emb, meta


def encode_words(words: Sequence[str], model: str = DEFAULT_MODEL, layers: str | Sequence[int] | None = None,
                 mode: str = "isolated", corpus: str | os.PathLike | None = None, max_sentences: int = 5,
                 batch_size: int = 64, cache_dir: str | os.PathLike | None = None,
                 show_progress: bool = False, window: int = 20) -> Embeddings:
    """Type-level vectors of `words` from `model` (hub name or local directory), averaged over `layers`."""
    return encode_words_meta(words, model, layers, mode, corpus, max_sentences, batch_size, cache_dir,
                             show_progress, window)[0]
