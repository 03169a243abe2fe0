"""What the vector cache's key costs (align.store.cache.source_stamp): size + mtime + inode + ctime + a hash of
the file's first and last MiB, against the size + mtime it replaced, and against a whole load from the cache.

    python benchmarks/bench_cache_key.py [extra .vec files ...]

Median of 7 of each, files in the page cache (each is read once first), like a second run on the same file.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from align import Embeddings  # noqa: E402
from align.store.cache import source_stamp  # noqa: E402

KIT = ROOT.parent / "shared" / "bench" / "vectors"


def median_ms(fn, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    files = [KIT / name for name in ("fr.vec.gz", "fi.vec.gz", "en.vec.gz")] + [Path(p) for p in sys.argv[1:]]
    print(f"{'file':<16} {'MB':>7} {'size+mtime':>11} {'new key':>8} {'cached load':>12}  (ms, median of 7)")
    for path in files:
        if not path.exists():
            print(f"{path.name:<16} absent")
            continue
        Embeddings.load(path)  # writes the cache if needed; the file is now in the page cache
        old = median_ms(lambda: (lambda st: (st.st_size, st.st_mtime_ns))(path.stat()))
        new = median_ms(lambda: source_stamp(path))
        load = median_ms(lambda: Embeddings.load(path))
        print(f"{path.name:<16} {path.stat().st_size / 1e6:>7.1f} {old:>11.3f} {new:>8.2f} {load:>12.1f}")


if __name__ == "__main__":
    main()
