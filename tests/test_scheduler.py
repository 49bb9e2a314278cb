"""Batches on a real dask.distributed scheduler with worker processes on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_work import copy_upper

from convcli.batch._executors import DaskExecutor
from convcli.batch._plan import BatchItem, run_batch
from convcli.errors import ParameterError

distributed = pytest.importorskip("distributed")


def make_items(tmp_path, names):
    items = []
    for name in names:
        (tmp_path / name).write_text(f"text of {name}")
        items.append(BatchItem(str(tmp_path / name), str(tmp_path / "out" / "deep" / name)))
    return items


@pytest.fixture(scope="module")
def scheduler_address():
    import logging

    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.CRITICAL,
    ) as cluster:
        yield cluster.scheduler_address


def test_batch_on_running_scheduler(tmp_path, scheduler_address):
    items = make_items(tmp_path, ["a.png", "bad.png", "b.png", "c.png"])
    results = {
        Path(r.source).name: r
        for r in run_batch(items, copy_upper, DaskExecutor(scheduler_address))
    }
    assert {n: r.status for n, r in results.items()} == {
        "a.png": "done",
        "bad.png": "failed",
        "b.png": "done",
        "c.png": "done",
    }
    assert Path(items[3].target).read_text() == "TEXT OF C.PNG"


def test_lost_worker_is_reported_failed_and_others_finish(tmp_path):
    items = make_items(tmp_path, ["a.png", "die.png", "b.png"])
    results = {
        Path(r.source).name: r for r in run_batch(items, copy_upper, DaskExecutor("local:2"))
    }
    assert results["a.png"].status == results["b.png"].status == "done"
    assert results["die.png"].status == "failed"
    assert results["die.png"].error.startswith(
        f"Dask task failed on '{items[1].source}': KilledWorker"
    )
    assert not Path(items[1].target).exists()


@pytest.mark.parametrize(
    "address, message",
    [
        ("local:zero", r"the worker count after 'local:' must be a positive whole number"),
        ("local:0", r"the worker count after 'local:' must be a positive whole number"),
        ("tcp://127.0.0.1:9", r"cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'"),
    ],
)
def test_bad_scheduler_addresses(tmp_path, address, message):
    items = make_items(tmp_path, ["a.png"])
    with pytest.raises(ParameterError, match=message):
        list(run_batch(items, copy_upper, DaskExecutor(address)))


def test_cli_batch_through_scheduler_equals_local_run(tmp_path, scheduler_address):
    import numpy as np
    from click.testing import CliRunner

    from convcli.cli import main
    from convcli.images import ImageData, write_image

    rng = np.random.default_rng(0)
    src = tmp_path / "in"
    for rel in ["a.png", "sub/b.png", "sub/c.png"]:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, size=(40, 30, 3), dtype=np.uint8)
        write_image(ImageData([pixels], "RGB", "PNG"), str(src / rel))
    (src / "sub" / "broken.png").write_bytes(b"not a png")
    runner = CliRunner()
    common = ["apply", "-k", "gaussian:sigma=2", "-r", str(src)]
    local = runner.invoke(main, [*common, str(tmp_path / "local"), "--jobs", "1"])
    report = tmp_path / "report.json"
    dask = runner.invoke(
        main,
        [
            *common,
            str(tmp_path / "dask"),
            "--scheduler",
            scheduler_address,
            "--report",
            str(report),
        ],
    )
    assert local.exit_code == dask.exit_code == 1  # the broken file, in both
    assert dask.stderr.splitlines()[-1].startswith("convcli: 3 done, 0 skipped, 1 failed")
    names = sorted(
        p.relative_to(tmp_path / "local").as_posix() for p in (tmp_path / "local").rglob("*.png")
    )
    assert names == ["a.png", "sub/b.png", "sub/c.png"]
    for name in names:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
