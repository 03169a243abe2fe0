"""word2vec/fastText text files (`.vec`, `.txt`, gzipped or not): the reader and the writer.

Reading: pyarrow's multi-threaded CSV reader for regular files, and a line-by-line parser that
handles every irregular file and names the line of any error. Writing: the digits of whole blocks
are computed with integer arithmetic in numpy (Python's `%` formatting is several times slower),
in fixed point with no "-0" and single spaces, which every word2vec, fastText, MUSE and VecMap
reader parses.
"""
from __future__ import annotations

import gzip
import os
import warnings
import zlib
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from .._io import open_binary
from ..errors import InputError
from .report import LoadReport, skip_warnings


_PAD = 0  # placeholder byte, deleted at the end
_ROWS = 2048  # rows per block: bounds the byte matrix to _ROWS × dim × field width


def format_rows(vectors: np.ndarray, decimals: int = 6) -> list[bytes]:
    """Each row of `vectors` as b'v1 v2 … vd' (fixed point, `decimals` digits after the point)."""
    vectors = np.asarray(vectors)
    if vectors.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got shape {vectors.shape}")
    starts = range(0, len(vectors), _ROWS)
    workers = min(len(starts), os.cpu_count() or 1, 4)
    if workers > 1:  # numpy releases the GIL in the array arithmetic: blocks format in parallel
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as ex:
            parts = list(ex.map(lambda s: _format_block(vectors[s:s + _ROWS], decimals), starts))
    else:
        parts = [_format_block(vectors[s:s + _ROWS], decimals) for s in starts]
    return [row for part in parts for row in part]


_DIGITS3 = np.array([[ord(c) for c in f"{i:03d}"] for i in range(1000)], dtype=np.uint8)  # 0 → b"000"


def _le_table(items: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(items), dtype="<u4")


# The common case, 6 decimals and |v| < 10 (normalised or mapped vectors): each number is a 12-byte field of
# three little-endian words, [pad, sign, digit, "."] [4 decimals] [2 decimals, " ", pad], each one table look-up.
_HEAD = _le_table([b"\0" + (b"-" if neg else b"\0") + str(i).encode() + b"." for neg in (0, 1) for i in range(10)])
_QUAD = _le_table([f"{i:04d}".encode() for i in range(10000)])
_TAIL = _le_table([f"{i:02d} \0".encode() for i in range(100)])


def _format_six(v: np.ndarray, mag: np.ndarray) -> list[bytes]:
    """_format_block for 6 decimals when every |v| rounds below 10 (`mag`: |v|·10⁶ rounded)."""
    n, d = v.shape
    m = mag.astype(np.int32)
    ip = m // 1000000
    fp = m - ip * 1000000
    hi = fp // 100
    words = np.empty((n, d, 3), dtype="<u4")
    np.take(_HEAD, ip + 10 * ((v < 0) & (m > 0)), out=words[..., 0])  # no "-0"
    np.take(_QUAD, hi, out=words[..., 1])
    np.take(_TAIL, fp - hi * 100, out=words[..., 2])
    chars = words.view(np.uint8)
    chars[:, -1, 10] = ord("\n")
    return chars.tobytes().translate(None, bytes([_PAD])).split(b"\n")[:n]


def _format_block(v: np.ndarray, decimals: int) -> list[bytes]:
    n, d = v.shape
    if n == 0:
        return []
    if d == 0:
        return [b""] * n
    v = v.astype(np.float64)
    scale = 10.0 ** decimals
    mag = np.rint(np.abs(v) * scale)  # integer-valued floats: float division is much faster than int64
    if decimals == 6 and np.isfinite(mag).all() and mag.max() < 1e7:
        return _format_six(v, mag)
    if not np.isfinite(mag).all() or mag.max() >= 2.0 ** 52:
        fmt = " ".join([f"%.{decimals}f"] * d)  # beyond exact float integers (or not finite): the slow path
        return [(fmt % tuple(row)).encode() for row in v.tolist()]
    ip = np.floor(mag / scale)
    fp = mag - ip * scale  # the decimals as an integer, exact
    width = max(1, len(str(int(ip.max()))))
    chunks = -(-decimals // 3)
    fp *= 10.0 ** (3 * chunks - decimals)  # pad the decimals to whole 3-digit chunks
    field = 1 + width + (1 + decimals if decimals else 0) + 1  # sign, integer digits, point + decimals, space
    chars = np.zeros((n, d, field + 3 * chunks - decimals), dtype=np.uint8)
    chars[..., 0] = ((v < 0) & (mag > 0)).view(np.uint8) * ord("-")  # no "-0"
    rest = ip
    for j in range(width - 1, -1, -1):  # integer digits right to left; leading zeros stay blank
        q = np.floor(rest / 10.0)
        digit = (rest - 10.0 * q).astype(np.uint8)
        chars[..., 1 + j] = np.where(ip >= 10.0 ** (width - 1 - j), digit + ord("0"), _PAD) if j < width - 1 \
            else digit + ord("0")
        rest = q
    if decimals:
        chars[..., 1 + width] = ord(".")
        for c in range(chunks):
            p = 10.0 ** (3 * (chunks - 1 - c))
            part = np.floor(fp / p)
            fp -= part * p
            chars[..., 2 + width + 3 * c:5 + width + 3 * c] = _DIGITS3[part.astype(np.int32)]
        chars[..., 2 + width + decimals:] = _PAD  # the chunk padding
    chars[..., field - 1] = ord(" ")
    chars[:, -1, field - 1] = ord("\n")
    text = chars.tobytes().translate(None, bytes([_PAD]))
    return text.split(b"\n")[:n]


def vec_text(words: Sequence[str], vectors: np.ndarray, decimals: int = 6) -> bytes:
    """The word2vec text file (`N D` header, one word and its values per line) of `words` and `vectors`."""
    parts = [f"{len(words)} {vectors.shape[1]}\n".encode()]
    for s in range(0, len(words), 8192):
        rows = format_rows(vectors[s:s + 8192], decimals)
        parts.append(b"".join(w.encode("utf-8") + b" " + r + b"\n" for w, r in zip(words[s:s + 8192], rows)))
    return b"".join(parts)


# ---- reading ------------------------------------------------------------------

def _split_word(line: str) -> tuple[str, str]:
    """Split a line at its first space or tab: fastText words may hold other whitespace."""
    sp, tab = line.find(" "), line.find("\t")
    cut = min(x for x in (sp, tab) if x >= 0) if (sp >= 0 or tab >= 0) else -1
    if cut < 0:
        return line, ""
    return line[:cut], line[cut + 1:]


def _explain_bad_values(rest: str, dim: int | None) -> str:
    fields = rest.split()
    for tok in fields:
        try:
            float(tok)
        except ValueError:
            return f"not a number: {tok[:40]!r}"
    if dim is not None:
        return f"expected {dim} values, found {len(fields)}"
    return "cannot parse the values"


class RowSink(Protocol):
    """Where a streaming parse puts the kept rows, block by block (the binary cache's writer)."""

    def add(self, rows: np.ndarray) -> None: ...

    def reset(self) -> None: ...


def parse_text(path: Path, max_vocab: int | None, encoding: str, sink: RowSink | None = None
               ) -> tuple[list[str], np.ndarray | None, LoadReport]:
    """Parse a word2vec text file: pyarrow's fast reader when the file is regular, else line by line.

    The fast reader hands back (None) on anything it does not handle exactly as the line parser
    does (another encoding, a byte-order mark, tabs, blank lines, ragged rows, a bad value, NaN,
    a header count that does not match); the line parser then gives the same result or the same
    error, with its line number. With a `sink`, the kept rows go to it block by block and the matrix
    returned is None: memory holds one block and the words, never the file or the whole matrix.
    """
    fast = _parse_text_arrow(path, max_vocab, encoding, sink)
    if fast is not None:
        return fast
    if sink is not None:
        sink.reset()  # the fast reader may have streamed some blocks before handing back
    return _parse_text_lines(path, max_vocab, encoding, sink)


ARROW_BLOCK = 1 << 20  # bytes per pyarrow parse block when reading only the head of a file
STREAM_BLOCK = 1 << 20  # bytes per block when streaming into a sink (larger blocks: more memory, no faster)
SINK_ROWS = 8192  # rows the line parser gathers before handing them to a sink


def _parse_text_arrow(path: Path, max_vocab: int | None, encoding: str, sink: RowSink | None = None
                      ) -> tuple[list[str], np.ndarray | None, LoadReport] | None:
    """Parse with pyarrow's CSV reader (multi-threaded, correctly rounded floats); None to fall back."""
    if encoding.lower().replace("-", "").replace("_", "") != "utf8":
        return None
    try:
        import pyarrow as pa
        import pyarrow.compute as pac
        import pyarrow.csv as pcsv
    except ImportError:  # pragma: no cover - pyarrow is a dependency; the line parser still works
        return None
    try:
        with open_binary(path) as f:
            gz = isinstance(f, gzip.GzipFile)
            first, second = f.readline(), f.readline()
        line1 = first.decode("utf-8").rstrip("\r\n").rstrip(" \t")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError):
        return None
    if not line1 or line1.startswith("\ufeff"):
        return None
    parts = line1.split()
    header = len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit()
    data = (second if header else first).rstrip(b"\r\n")
    if not data or b"\t" in data:
        return None
    trailing = data.endswith(b" ")
    dim = len(data.split(b" ")) - 1 - trailing
    if dim < 1 or (header and dim != int(parts[1])):
        return None
    names = ["w"] + [f"v{i}" for i in range(dim)] + (["pad"] if trailing else [])
    types = {n: pa.float32() for n in names[1:dim + 1]}
    types.update({"w": pa.string(), "pad": pa.string()})
    read = pcsv.ReadOptions(column_names=names, skip_rows=1 if header else 0, block_size=ARROW_BLOCK)
    parse = pcsv.ParseOptions(delimiter=" ", quote_char=False, escape_char=False, double_quote=False,
                              ignore_empty_lines=False)
    convert = pcsv.ConvertOptions(column_types={k: v for k, v in types.items() if k in names}, null_values=[],
                                  strings_can_be_null=False)
    report = LoadReport(path=str(path), parser="arrow")
    words: list[str] = []
    index: dict[str, int] = {}
    kept: list[np.ndarray] = []
    blocks: list[np.ndarray] = []
    rows = 0
    complete = True
    offset = 2 if header else 1  # line number of data row 0
    try:
        stream = pa.input_stream(str(path), compression="gzip" if gz else None)
        if sink is not None:  # the whole file, block by block into the sink
            read.block_size = STREAM_BLOCK
            batches = iter(pcsv.open_csv(stream, read, parse, convert))
        elif max_vocab is None:  # the whole file: one multi-threaded read
            batches = iter(pcsv.read_csv(stream, read, parse, convert).to_batches())
        else:  # only the head: stream blocks and stop early
            read.use_threads = False
            batches = iter(pcsv.open_csv(stream, read, parse, convert))
        for batch in batches:
            if batch.num_rows == 0:
                continue
            wcol = batch.column(0)
            if pac.any(pac.match_substring(wcol, "\t")).as_py():
                return None
            if trailing and pac.max(pac.utf8_length(batch.column(dim + 1))).as_py():
                return None
            block = np.stack([batch.column(i + 1).to_numpy() for i in range(dim)], axis=1)
            zero = ~block.any(axis=1)
            take = []
            for r, word in enumerate(wcol.to_pylist()):
                if max_vocab is not None and len(words) >= max_vocab:
                    complete = False
                    break
                if word in index:
                    report.duplicates += 1
                    if report.first_duplicate_line is None:
                        report.first_duplicate_line = rows + r + offset
                    continue
                if zero[r]:
                    report.zero_vectors += 1
                    if report.first_zero_line is None:
                        report.first_zero_line = rows + r + offset
                    continue
                index[word] = len(words)
                words.append(word)
                take.append(r)
            if sink is not None:
                good = block[np.asarray(take, dtype=np.int64)]
                if not np.isfinite(good).all():
                    return None
                sink.add(good)
            else:
                blocks.append(block)
                kept.append(np.asarray(take, dtype=np.int64))
            rows += batch.num_rows
            if not complete:
                break
            if max_vocab is not None and len(words) >= max_vocab and next(batches, None) is not None:
                complete = False
                break
    except (pa.ArrowException, ValueError, OSError, EOFError, zlib.error):
        return None
    if not words or (header and complete and int(parts[0]) != rows):
        return None
    vectors = None
    if sink is None:
        vectors = np.concatenate([b[k] for b, k in zip(blocks, kept)])
        if not np.isfinite(vectors).all():
            return None
    report.warnings.extend(skip_warnings(str(path), report))
    return words, vectors, report


def _parse_text_lines(path: Path, max_vocab: int | None, encoding: str, sink: RowSink | None = None
                      ) -> tuple[list[str], np.ndarray | None, LoadReport]:
    """The reference parser: line by line, with a precise error for every kind of bad line."""
    report = LoadReport(path=str(path), parser="python")
    name = str(path)
    words: list[str] = []
    index: dict[str, int] = {}
    rows: list[np.ndarray] = []
    row_lines: list[int] = []
    header_n: int | None = None
    dim: int | None = None
    data_lines = 0
    lineno = 0
    complete = True
    bad_line: int | None = None  # first row with NaN or infinity (reported after the other checks)

    def flush() -> None:
        nonlocal bad_line
        if not rows:
            return
        block = np.vstack(rows)
        finite = np.isfinite(block).all(axis=1)
        if not finite.all() and bad_line is None:
            bad_line = row_lines[int(np.argmin(finite))]
        if bad_line is None:
            sink.add(block)
        rows.clear(), row_lines.clear()

    with open_binary(path) as f, warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            for lineno, raw in enumerate(f, 1):
                try:
                    line = raw.decode(encoding)
                except UnicodeDecodeError as exc:
                    raise InputError(
                        f"not valid {encoding.upper()} text (byte {exc.start + 1} of the line is {raw[exc.start:exc.start + 1]!r}); "
                        f"convert the file to UTF-8 (e.g. iconv -f LATIN1 -t UTF-8), or load it from Python with "
                        f"Embeddings.load(path, encoding=...)", name, lineno) from None
                line = line.rstrip("\r\n").rstrip(" \t")
                if lineno == 1:
                    line = line.lstrip("\ufeff")  # a UTF-8 byte-order mark
                if not line:
                    continue
                if lineno == 1 and header_n is None:
                    parts = line.split()
                    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                        header_n, dim = int(parts[0]), int(parts[1])
                        if dim < 1:
                            raise InputError(f"header gives dimension {dim}", name, 1)
                        continue
                data_lines += 1
                if max_vocab is not None and len(words) >= max_vocab:
                    complete = False
                    break
                word, rest = _split_word(line)
                try:
                    vec = np.fromstring(rest, dtype=np.float32, sep=" ")
                except (ValueError, DeprecationWarning):
                    raise InputError(_explain_bad_values(rest, dim), name, lineno) from None
                if dim is None:
                    if vec.size == 0:
                        raise InputError(f"no vector values after the word {word[:40]!r}", name, lineno)
                    dim = vec.size
                elif vec.size != dim:
                    origin = "the header" if header_n is not None else "the first vector"
                    raise InputError(f"expected {dim} values (as in {origin}), found {vec.size}", name, lineno)
                if word in index:
                    report.duplicates += 1
                    if report.first_duplicate_line is None:
                        report.first_duplicate_line = lineno
                    continue
                if not vec.any():
                    report.zero_vectors += 1
                    if report.first_zero_line is None:
                        report.first_zero_line = lineno
                    continue
                index[word] = len(words)
                words.append(word)
                rows.append(vec)
                row_lines.append(lineno)
                if sink is not None and len(rows) >= SINK_ROWS:
                    flush()
        except (EOFError, zlib.error, OSError) as exc:
            if isinstance(exc, InputError):
                raise
            raise InputError(f"compressed data is truncated or corrupt ({exc})", name, lineno + 1) from None
    if lineno == 0 or (data_lines == 0 and header_n is None):
        raise InputError("file is empty", name)
    if data_lines == 0:
        raise InputError(f"no vectors after the header (it announces {header_n} words of dimension {dim})", name)
    if not words:
        raise InputError("no usable vectors (all rows were duplicates or zero)", name)
    if header_n is not None and complete and header_n != data_lines:
        raise InputError(f"header announces {header_n} words but the file holds {data_lines}", name, 1)
    if sink is not None:
        flush()
        if bad_line is not None:
            raise InputError("vector holds NaN or infinity", name, bad_line)
        report.warnings.extend(skip_warnings(name, report))
        return words, None, report
    vectors = np.vstack(rows)
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        bad = int(np.argmin(finite))
        raise InputError("vector holds NaN or infinity", name, row_lines[bad])
    report.warnings.extend(skip_warnings(name, report))
    return words, vectors, report

