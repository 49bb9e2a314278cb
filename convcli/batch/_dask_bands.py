"""The bands of one big image filtered on a Dask cluster (``apply --scheduler`` with one INPUT).

This process reads the image band by band and writes the result in order, as without a
cluster; each band's filtering (:func:`convcli.filtering._frame.filter_frame`, the costly
part) runs as a task on the cluster's workers. The workers need convcli installed, not the
files: the rows travel with the task and the result comes back. The bands and their
computation are those of a local run, so the output is the same, byte for byte.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from convcli.batch._executors import connect_dask


@contextlib.contextmanager
def dask_band_map(address: str) -> Iterator[Callable]:
    """A ``band_map(fn, tasks)`` for :func:`convcli.filtering._stream.filtered_bands` that
    runs ``fn(*task)`` on the Dask scheduler at ``address`` (``local``, ``local:N`` or
    ``tcp://host:port``), yielding the results in order with about two tasks per worker
    thread in flight; the client (and a local cluster) is closed on leaving."""
    client, cluster = connect_dask(address)
    try:
        slots = max(2, 2 * sum(client.nthreads().values()))

        def band_map(fn: Callable, tasks: Iterable[tuple]) -> Iterator:
            running: deque = deque()
            try:
                for task in tasks:
                    running.append(client.submit(fn, *task, pure=False))
                    if len(running) > slots:  # bounded: memory stays a few bands
                        yield running.popleft().result()
                while running:
                    yield running.popleft().result()
            finally:
                for future in running:
                    future.cancel()

        yield band_map
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
