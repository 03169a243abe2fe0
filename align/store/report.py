"""What loading a vector file did: skipped rows, where the data came from, and the warnings about it."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LoadReport:
    """What happened while loading: skipped rows and where the data came from."""

    path: str = ""
    duplicates: int = 0
    first_duplicate_line: int | None = None
    zero_vectors: int = 0
    first_zero_line: int | None = None
    from_cache: bool = False
    cache_path: str | None = None
    parser: str | None = None  # "arrow" (pyarrow's multi-threaded CSV reader) or "python" (line by line)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    cache_problems: list[str] = field(default_factory=list)  # a stale or broken cache, parsed again (also in warnings)

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "duplicates": self.duplicates,
            "zero_vectors": self.zero_vectors,
            "from_cache": self.from_cache,
            "parser": self.parser,
            "seconds": round(self.seconds, 4),
        }



def skip_warnings(name: str, report: LoadReport) -> list[str]:
    """The warnings for skipped rows (also rebuilt when loading from the cache)."""
    out = []
    if report.duplicates:
        out.append(
            f"{name}: {report.duplicates} duplicated words ignored (first at line {report.first_duplicate_line}); kept the first occurrence")
    if report.zero_vectors:
        out.append(f"{name}: {report.zero_vectors} zero vectors dropped (first at line {report.first_zero_line})")
    return out


