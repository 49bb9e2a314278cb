"""Cores, threads and the thread pool: the one place every layer asks.

- :func:`available_cores`: the cores this process may run on (its affinity mask).
- :func:`get_threads` / :func:`set_threads` / :func:`threads_in_this_thread`: how many
  threads convcli's work runs on (``CONVCLI_THREADS`` from the environment, else every core).
- :func:`run_tasks`: call a function for every task on a shared pool of that many threads;
  inline with one thread, or when already inside a pool task (no nested pools).
- :func:`worker_environment`: the environment a worker process (a process pool's or a Dask
  worker's) is started with, so that ``workers x threads`` stays at the core count and BLAS
  and OpenMP pools size themselves the same way.
- :func:`blas_single_threaded`: BLAS on one thread while our own threads are the parallelism.

It imports nothing from convcli but :mod:`convcli.errors`.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from convcli.errors import ParameterError

T = TypeVar("T")
R = TypeVar("R")

#: Environment variables that size a worker's thread pools (ours, OpenMP's and BLAS's).
THREAD_VARIABLES = ("CONVCLI_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

_lock = threading.Lock()


@dataclass
class _Settings:
    """The process-wide settings and the shared pool (guarded by ``_lock`` where it changes)."""

    threads: int | None = None  # set_threads(); None: CONVCLI_THREADS, else every core
    pool: ThreadPoolExecutor | None = None
    pool_size: int = 0
    blas_limit: Any = None  # threadpoolctl's limit while blas_single_threaded() is entered
    blas_users: int = 0


_state = _Settings()
#: Per calling thread: a thread count that overrides ``_state`` (see threads_in_this_thread).
_local = threading.local()


def available_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one).

    >>> available_cores() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _check_count(n: object) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ParameterError(f"threads must be a positive int, got {n!r}")
    return n


def _threads_from_env() -> int:
    raw = os.environ.get("CONVCLI_THREADS", "").strip()
    if not raw:
        return available_cores()
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ParameterError(
            f"CONVCLI_THREADS={raw!r} is not a positive integer; set it to e.g. 1 or 4, "
            "or unset it to use every core"
        )
    return value


def get_threads() -> int:
    """The number of threads convcli's work runs on.

    Examples
    --------
    >>> get_threads() >= 1
    True
    """
    local = getattr(_local, "threads", None)
    if local is not None:
        return int(local)
    if _state.threads is None:
        return _threads_from_env()
    return _state.threads


def configured_threads() -> int | None:
    """The count given to :func:`set_threads`, or None when the default applies."""
    return _state.threads


def set_threads(n: int | None) -> None:
    """Run on ``n`` threads (``None``: back to the default).

    The default is ``CONVCLI_THREADS`` from the environment, else every core this process
    may use. Results do not depend on it.

    Raises
    ------
    ParameterError
        If ``n`` is not a positive int.

    Examples
    --------
    >>> set_threads(1); get_threads()
    1
    >>> set_threads(None)
    """
    _state.threads = None if n is None else _check_count(n)


@contextlib.contextmanager
def threads_in_this_thread(n: int) -> Iterator[None]:
    """Work started by the current thread uses ``n`` threads inside the block; other
    threads are not affected. For callers that already run on several threads of their
    own (Dask blocks), where the pool would multiply the threads.

    Examples
    --------
    >>> with threads_in_this_thread(1):
    ...     get_threads()
    1
    """
    _check_count(n)
    saved = getattr(_local, "threads", None)
    _local.threads = n
    try:
        yield
    finally:
        _local.threads = saved


def threads_per_worker(workers: int) -> int:
    """Threads per worker process so that workers x threads stays at the core count.

    >>> threads_per_worker(available_cores() * 2)
    1
    """
    return max(1, available_cores() // max(1, workers))


def worker_environment(threads: int) -> dict[str, str]:
    """The environment variables a worker process starts with to run on ``threads`` threads.

    Set before NumPy is imported in the worker, so BLAS/OpenMP pools and convcli's own
    threads size themselves from them. Used by the process pool and by Dask workers alike.

    >>> worker_environment(2)["OMP_NUM_THREADS"]
    '2'
    """
    return {name: str(_check_count(threads)) for name in THREAD_VARIABLES}


def _pool(threads: int) -> ThreadPoolExecutor:
    with _lock:
        if _state.pool is None or _state.pool_size != threads:
            if _state.pool is not None:
                _state.pool.shutdown(wait=False)
            _state.pool = ThreadPoolExecutor(
                threads, thread_name_prefix="convcli", initializer=_mark_worker
            )
            _state.pool_size = threads
        return _state.pool


def _mark_worker() -> None:
    _local.in_pool = True


def run_tasks(fn: Callable[[T], object], tasks: Iterable[T]) -> None:
    """Call ``fn(task)`` for every task on the pool; re-raises the first error.

    Runs inline with one thread, for a single task, or when called from inside a pool task
    (no nested pools): the pool is only created when work is really shared out.

    >>> done = []
    >>> run_tasks(done.append, range(3)); sorted(done)
    [0, 1, 2]
    """
    tasks = list(tasks)
    threads = get_threads()
    if threads == 1 or len(tasks) <= 1 or getattr(_local, "in_pool", False):
        for task in tasks:
            fn(task)
        return
    for _ in _pool(min(threads, len(tasks))).map(fn, tasks):
        pass


def ordered_map(
    fn: Callable[..., R],
    tasks: Iterable[tuple],
    threads: int,
    name: str = "convcli",
    ahead: int | None = None,
) -> Iterator[R]:
    """Yield ``fn(*task)`` for every task, in order, computed ``threads`` at a time.

    At most ``ahead + 1`` tasks (default ``2 * threads + 1``) are in flight, so a producer
    of large tasks (bands of an image) keeps memory bounded. Inline with one thread.
    Closing the iterator early cancels what has not started.

    >>> list(ordered_map(pow, [(2, 3), (3, 2)], threads=2))
    [8, 9]
    """
    if threads <= 1:
        for task in tasks:
            yield fn(*task)
        return
    # its workers count as pool tasks: what they run inside (the engine) runs inline
    pool = ThreadPoolExecutor(threads, thread_name_prefix=name, initializer=_mark_worker)
    try:
        running: deque[Future[R]] = deque()
        for task in tasks:
            running.append(pool.submit(fn, *task))
            if len(running) > (2 * threads if ahead is None else ahead):  # bounded memory
                yield running.popleft().result()
        while running:
            yield running.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_blas_lock = threading.Lock()


@contextlib.contextmanager
def blas_single_threaded() -> Iterator[None]:
    """A context in which BLAS runs on one thread: our own threads are the parallelism.

    BLAS's threads inside ours would oversubscribe the cores (OpenBLAS's spinning threads
    make that much worse). Reference-counted, so concurrent calls (a threaded scheduler)
    restore BLAS's own setting only when the last one leaves.
    """
    # threadpoolctl inspects every loaded library (a few ms): loaded when a GEMM runs.
    from threadpoolctl import ThreadpoolController  # noqa: PLC0415

    with _blas_lock:
        if _state.blas_users == 0:
            # A fresh look each time (0.3 ms): a BLAS loaded since (SciPy's) is limited too.
            _state.blas_limit = ThreadpoolController().limit(limits=1, user_api="blas")
        _state.blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _state.blas_users -= 1
            if _state.blas_users == 0:
                _state.blas_limit.restore_original_limits()
                _state.blas_limit = None
