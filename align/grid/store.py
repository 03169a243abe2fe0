"""results.jsonl: one JSON record per finished cell, appended as each cell ends.

Only the process that runs the grid writes it, one whole line per record, flushed and fsynced, so a
crash loses at most the cell in flight. A line cut short by a kill (SIGKILL, power loss) is dropped
when the file is next opened for appending, and skipped by readers; a rerun then runs that cell again.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

from ..errors import InputError


def read_records(path: str | Path) -> Iterator[dict]:
    """The records of a results file in file order, skipping lines that are not whole JSON objects."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such results file" if not path.exists() else "is not a file", str(path))
    with open(path, "rb") as f:
        for raw in f:
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if isinstance(rec, dict) and "id" in rec:
                yield rec


def latest_records(path: str | Path) -> dict[str, dict]:
    """The last record of each cell id (a rerun's record supersedes an older one), in first-seen order."""
    out: dict[str, dict] = {}
    for rec in read_records(path):
        out[rec["id"]] = rec
    return out


class ResultsStore:
    """Appends records to `path` and knows which cells are finished.

    A cell is finished when its latest record has the cell's key (its parameters are unchanged) and
    status "ok", or status "failed" unless `retry_failed`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.dropped_partial = self._drop_partial_line()
        self.records = latest_records(self.path) if self.path.exists() else {}

    def is_finished(self, cell_id: str, key: str, retry_failed: bool = False) -> bool:
        rec = self.records.get(cell_id)
        if rec is None or rec.get("key") != key:
            return False
        return rec.get("status") == "ok" or (rec.get("status") == "failed" and not retry_failed)

    def append(self, record: dict) -> None:
        line = json.dumps(record, ensure_ascii=False, default=_jsonable) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        self.records[record["id"]] = record

    def _drop_partial_line(self) -> bool:
        """Truncate a last line with no newline (a record cut short by a kill); True if one was dropped."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return False
        with open(self.path, "rb+") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(-1, os.SEEK_END)
            if f.read(1) == b"\n":
                return False
            # find the last newline and cut after it
            pos, block = size, 65536
            while pos > 0:
                start = max(0, pos - block)
                f.seek(start)
                chunk = f.read(pos - start)
                nl = chunk.rfind(b"\n")
                if nl >= 0:
                    f.truncate(start + nl + 1)
                    return True
                pos = start
            f.truncate(0)
            return True


def _jsonable(value):
    """numpy scalars and arrays, tuples of paths...: whatever a metrics dict may hold, as JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)
