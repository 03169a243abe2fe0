"""Where cells run: in this process, in local worker processes, or as Ray tasks.

Every executor takes cells and yields their records as they finish (any order); the caller writes
them. Parallel workers each get an equal share of the cores for their BLAS/OpenMP threads, so that
N workers do not start N × cores threads that fight over the cores. Some results depend on that
number in their last digits (self-learning amplifies a multi-threaded BLAS's rounding), so each
record says how many threads its cell had, and a `threads` value pins it for every executor.
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterable, Iterator

from ..device import available_cores, loaded_torch
from ..errors import AlignError, InputError
from .cells import Cell
from .job import one_line_error, run_cell

_CONFIGURED_THREADS: int | None = None


def configure_worker(threads: int) -> None:
    """Limit this process's BLAS, OpenMP (faiss) and torch threads to `threads` (once per process)."""
    global _CONFIGURED_THREADS
    if _CONFIGURED_THREADS == threads:
        return
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)  # for libraries loaded later (torch reads it at import)

    import faiss
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)  # BLAS and OpenMP libraries loaded now; stays in effect
    faiss.omp_set_num_threads(threads)
    torch = loaded_torch()
    if torch is not None:
        torch.set_num_threads(threads)
    _CONFIGURED_THREADS = threads


def _run_in_worker(cell: Cell, threads: int) -> dict:
    configure_worker(threads)
    return run_cell(cell, threads)


@contextlib.contextmanager
def thread_limit(threads: int | None) -> Iterator[None]:
    """Inside the block, this process's BLAS, faiss OpenMP and (if imported) torch threads are limited to
    `threads`; None leaves them as they are."""
    if threads is None:
        yield
        return

    import faiss
    from threadpoolctl import threadpool_limits

    torch = loaded_torch()
    before = faiss.omp_get_max_threads(), (torch.get_num_threads() if torch is not None else None)
    with threadpool_limits(limits=threads):
        faiss.omp_set_num_threads(threads)
        if torch is not None:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            faiss.omp_set_num_threads(before[0])
            if torch is not None:
                torch.set_num_threads(before[1])


def run_in_process(cells: Iterable[Cell], threads: int | None = None) -> Iterator[dict]:
    """Run the cells one after the other in this process, with `threads` threads (None: all of them,
    as the single-pair commands run)."""
    with thread_limit(threads):
        for cell in cells:
            yield run_cell(cell, threads or available_cores())


def run_in_processes(cells: Iterable[Cell], workers: int, threads: int | None = None,
                     job=_run_in_worker) -> Iterator[dict]:
    """Run the cells on `workers` local processes (spawned: no inherited locks or thread pools), at most
    one cell per worker in flight, so an interrupted grid loses at most `workers` cells' work.

    A worker that dies (killed, out of memory) breaks the pool and every cell in flight with it, and
    which one killed it is unknown: those cells rerun one at a time in a fresh pool, where a cell that
    breaks it alone is recorded as failed and the others finish. `job(cell, threads)` runs a cell."""
    import multiprocessing
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    if workers < 1:
        raise InputError(f"workers must be at least 1, got {workers}")
    threads = threads or max(1, available_cores() // workers)
    todo, suspects = deque(cells), deque()
    context = multiprocessing.get_context("spawn")
    while todo or suspects:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        in_flight: dict = {}
        broken = False
        try:
            while True:
                if not broken and suspects:
                    if not in_flight:
                        cell = suspects.popleft()
                        in_flight[pool.submit(job, cell, threads)] = cell
                elif not broken:
                    while todo and len(in_flight) < workers:
                        cell = todo.popleft()
                        in_flight[pool.submit(job, cell, threads)] = cell
                if not in_flight:
                    break
                alone = len(in_flight) == 1
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for fut in done:
                    cell = in_flight.pop(fut)
                    try:
                        record = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        if not alone:
                            suspects.append(cell)
                            continue
                        record = _failed(cell, "its worker process died while running it (killed, or out of memory)")
                    except Exception as exc:  # an error outside run_cell: pickling, import
                        record = _failed(cell, one_line_error(exc))
                    yield record
        except BaseException:
            workers_now = list((getattr(pool, "_processes", None) or {}).values())  # shutdown forgets them
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in workers_now:  # after Ctrl-C the cells in flight are abandoned
                if proc.is_alive():
                    proc.terminate()
            raise
        pool.shutdown(wait=True)


def run_on_ray(cells: Iterable[Cell], address: str = "auto", num_cpus: int | None = None,
               threads: int = 1) -> Iterator[dict]:
    """Run each cell as a Ray task of `threads` CPUs, with as many BLAS threads.

    `address`: "local" starts a Ray instance on this machine with `num_cpus` CPUs (default: all);
    "auto" joins the running cluster (Ray's meaning); anything else is a cluster address. Connects at
    once (a bad address fails before any cell); a Ray this call started is shut down once the records
    are consumed, a cluster joined is left running."""
    ray = _import_ray()
    started_here = False
    if not ray.is_initialized():
        kwargs = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if address == "local":
            ray.init(num_cpus=num_cpus or available_cores(), **kwargs)
        else:
            try:
                ray.init(address=address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise AlignError(f"cannot join the Ray cluster at {address!r}: {one_line_error(exc)} "
                                 "(use --ray local to start one on this machine)") from None
        started_here = True
    return _ray_records(ray, list(cells), threads, started_here)


def _ray_records(ray, cells: list[Cell], threads: int, shutdown: bool) -> Iterator[dict]:
    remote = ray.remote(num_cpus=threads, max_retries=0)(_run_in_worker)
    pending = {}
    try:
        for cell in cells:
            pending[remote.remote(cell, threads)] = cell
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                cell = pending.pop(ref)
                try:
                    yield ray.get(ref)
                except Exception as exc:  # the worker died, or the task could not run
                    yield _failed(cell, one_line_error(exc))
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if shutdown:
            ray.shutdown()


def _import_ray():
    try:
        import ray
    except ImportError:
        raise AlignError("--ray needs the optional Ray package: pip install 'align[ray]'") from None
    return ray


def _failed(cell: Cell, error: str) -> dict:
    from .job import machine, versions

    return {"id": cell.id, "key": cell.key, "index": cell.index, "params": cell.params(), "started_at": None, "status": "failed",
            "error": error, "metrics": None, "seconds": None, "threads": None, "versions": versions(),
            "machine": machine()}
