"""Executors run a batch's per-file work: in this process, or in a pool of processes.

An executor has one method, ``run(work, items)``, an iterator of
:class:`convcli.batch._plan.ItemResult` in completion order. It keeps only about ``jobs`` items
in flight, so a batch holds about ``jobs`` images in memory, not the whole folder.
The Dask executor (:class:`DaskExecutor`, below) has the same shape.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from convcli._notes import show_notes
from convcli.batch._plan import BatchItem, ItemResult, run_item, sweep_temporaries
from convcli.errors import MissingDependencyError, ParameterError
from convcli.parallel import available_cores, threads_per_worker, worker_environment


def _limit_threads(threads: int) -> None:
    # Runs in a fresh worker before NumPy is imported there (see worker_environment).
    os.environ.update(worker_environment(threads))
    show_notes()  # a worker's notes print as the main process's do


class InlineExecutor:
    """Runs every item in this process, one after another (``--jobs 1``)."""

    jobs = 1

    def run(
        self, work: Callable[[str, str], str | None], items: list[BatchItem]
    ) -> Iterator[ItemResult]:
        for item in items:
            yield run_item(work, item)


class ProcessExecutor:
    """Runs items on ``jobs`` worker processes (spawned: no state shared by fork).

    A worker that dies (a crash in a codec, the out-of-memory killer) breaks the whole
    pool and every item in flight with it. The pool is then restarted for the remaining
    items, and the items that were in flight are rerun one at a time, each in a pool of
    its own: the one that kills its worker again is reported failed, the others finish.
    """

    def __init__(self, jobs: int):
        self.jobs = jobs

    def run(
        self, work: Callable[[str, str], str | None], items: list[BatchItem]
    ) -> Iterator[ItemResult]:
        pending = deque(items)
        while pending:
            suspects = yield from self._run_pool(work, pending, self.jobs)
            for item in suspects:
                culprit = yield from self._run_pool(work, deque([item]), 1)
                for dead in culprit:
                    yield ItemResult(
                        dead.source,
                        dead.target,
                        "failed",
                        f"the worker process died while filtering '{dead.source}' "
                        "(a crash or the out-of-memory killer)",
                    )

    def _run_pool(self, work, pending: deque, jobs: int):
        """Run items from ``pending`` on a fresh pool until it is empty or the pool breaks;
        yields results, returns the items that were in flight when it broke."""
        pool = ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_limit_threads,
            initargs=(threads_per_worker(jobs),),
        )
        in_flight: dict = {}
        clean_exit = False
        try:
            while pending or in_flight:
                while pending and len(in_flight) < jobs:
                    item = pending.popleft()
                    in_flight[pool.submit(run_item, work, item)] = item
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                    suspects = list(in_flight.values())
                    in_flight.clear()
                    sweep_temporaries(item.target for item in suspects)
                    clean_exit = True
                    return suspects
                for future in done:
                    in_flight.pop(future)
                    yield future.result()
            clean_exit = True
            return []
        finally:
            if not clean_exit:
                # Interrupted or stopped early (--fail-fast): stop the workers now; a
                # worker killed mid-write leaves at most a temporary file, never a
                # partial image under a final name.
                for process in list((getattr(pool, "_processes", None) or {}).values()):
                    process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            if not clean_exit:
                sweep_temporaries(item.target for item in in_flight.values())


def make_executor(jobs: int):
    """The local executor for ``--jobs N``: inline for 1, a process pool otherwise."""
    return InlineExecutor() if jobs <= 1 else ProcessExecutor(jobs)


def connect_dask(address: str):
    """``(client, cluster)`` for a ``--scheduler`` address: a ``LocalCluster`` of worker
    processes for ``local`` / ``local:N`` (``cluster`` to close after the client), else a
    client of the scheduler at ``address`` (``cluster`` None)."""
    try:
        from distributed import Client, LocalCluster  # noqa: PLC0415 - optional dependency
    except ImportError as exc:
        raise MissingDependencyError(
            f"--scheduler needs Dask's distributed scheduler, which is not installed "
            f'({exc}); install it with: pip install "convcli[dask]"',
            name="distributed",
        ) from exc
    if address == "local" or address.startswith("local:"):
        count = address.partition(":")[2]
        if count and not (count.isdigit() and int(count) > 0):
            raise ParameterError(
                f"--scheduler {address!r}: the worker count after 'local:' must be a "
                "positive whole number, e.g. local:4"
            )
        workers = int(count) if count else available_cores()
        threads = threads_per_worker(workers)
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
            env=worker_environment(threads),
        )
        return Client(cluster), cluster
    try:
        return Client(address, timeout="10s"), None
    except (OSError, TimeoutError, ValueError) as exc:
        raise ParameterError(
            f"cannot reach the Dask scheduler at {address!r} ({exc}); start one with "
            "'dask scheduler' and workers with 'dask worker ADDRESS', or use "
            "--scheduler local"
        ) from exc


class DaskExecutor:
    """Runs items as tasks on a ``dask.distributed`` scheduler (``--scheduler``).

    ``address`` is a scheduler address (``tcp://host:8786``), or ``local`` /
    ``local:N`` to start an in-process ``LocalCluster`` of N worker processes (default:
    one per core). Workers need convcli installed and the same paths as this machine.
    Dask reschedules the task of a lost worker; one that keeps failing is reported
    failed. Outputs are written atomically by the task itself, so a lost worker never
    leaves a partial image under a final name.
    """

    def __init__(self, address: str):
        self.address = address
        self.jobs = 1

    def run(
        self, work: Callable[[str, str], str | None], items: list[BatchItem]
    ) -> Iterator[ItemResult]:
        if not items:
            return
        client, cluster = connect_dask(self.address)
        from distributed import as_completed  # noqa: PLC0415 - optional dependency

        futures = {}
        try:
            slots = max(2, 2 * sum(client.nthreads().values()))
            pending = iter(items)

            def submit(item):
                future = client.submit(run_item, work, item, pure=False)
                futures[future] = item
                return future

            queue = as_completed([submit(i) for i in itertools.islice(pending, slots)])
            for future in queue:
                item = futures.pop(future)
                if future.status == "error":
                    exc = future.exception()
                    reason = str(exc).split(". ")[0]  # Dask appends advice paragraphs
                    yield ItemResult(
                        item.source,
                        item.target,
                        "failed",
                        f"Dask task failed on '{item.source}': {type(exc).__name__}: {reason}",
                    )
                else:
                    yield future.result()
                nxt = next(pending, None)
                if nxt is not None:
                    queue.add(submit(nxt))
        finally:
            for future in futures:
                future.cancel()
            sweep_temporaries(item.target for item in items)
            client.close()
            if cluster is not None:
                cluster.close()
