"""Shared by the benchmark scripts: describe the machine, and replace one section of RESULTS.md."""
from __future__ import annotations

import os
import platform
import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine_info() -> dict:
    """nproc, CPU model, RAM, Python version and the load average now."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        ram = f"{kb / 2**20:.1f} GiB"
    except (OSError, AttributeError):
        pass
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"nproc": nproc, "cpu": cpu, "ram": ram, "python": platform.python_version(),
            "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def machine_description() -> str:
    """'N cores (CPU), RAM, Python, torch, load' for a section's first line."""
    info = machine_info()
    import torch

    return (f"{info['nproc']} cores ({info['cpu']}), {info['ram']} RAM, Python {info['python']}, "
            f"torch {torch.__version__} (CPU runs of `align` compute in numpy/OpenBLAS and faiss-cpu; torch only "
            f"screens large exact CSLS searches in bfloat16 where the CPU has it); load average at the start {info['load_before']}")


def replace_section(section: str, path: Path = RESULTS) -> None:
    """Put `section` (text starting with its `## ` heading) in RESULTS.md in place of the section with the
    same heading (up to the next `## `), or append it; the other sections are kept. Atomic."""
    heading = section.splitlines()[0].rstrip()
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    block = section.rstrip() + "\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: block + "\n", text, count=1)
    else:
        text = text.rstrip() + "\n\n" + block
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text.rstrip() + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_section(title: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section `## title` with `body`."""
    replace_section(f"## {title}\n\n{body.rstrip()}\n", path)
