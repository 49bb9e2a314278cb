"""convcli.engine.dask.conv2d on a real dask.distributed cluster: a scheduler and two worker
processes on loopback, no mocks."""

from __future__ import annotations

import os

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import convcli  # noqa: E402
from convcli.engine import PADDING_MODES  # noqa: E402
from convcli.engine.dask import conv2d  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",  # a free port: never clashes with another cluster
        silence_logs=40,  # logging.ERROR
    )
    with cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(2, timeout=60)
        yield client


def _block_pid(block):
    return np.full((1,) * block.ndim, os.getpid())


def test_cluster_has_two_worker_processes(client):
    workers = client.scheduler_info()["workers"]
    assert len(workers) == 2
    assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
    # The blocks run in the workers' processes, not in this one.
    pids = da.zeros((8,), chunks=1).map_blocks(_block_pid, dtype=int).compute()
    assert os.getpid() not in set(pids.tolist())
    assert set(pids.tolist()) <= set(client.run(os.getpid).values())


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_equals_in_memory_on_the_cluster(client, mode):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 37, 29)).astype(np.float32)
    w = rng.standard_normal((6, 1, 4, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    y = conv2d(
        da.from_array(x, chunks=(1, 3, 10, 8)),
        w,
        b,
        padding="same",
        dilation=(1, 2),
        groups=3,
        padding_mode=mode,
    )
    assert y.numblocks[2] > 1 and y.numblocks[3] > 1
    got = client.compute(y).result()
    want = convcli.conv2d(x, w, b, padding="same", dilation=(1, 2), groups=3, padding_mode=mode)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # Same input and options: the same bytes as computing locally.
    assert got.tobytes() == y.compute(scheduler="sync").tobytes()
