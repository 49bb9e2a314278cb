"""One image's bands filtered on a Dask cluster (``apply --scheduler`` with one INPUT):
the same bytes as a local run, worker errors reported as locally, the in-memory path
noted."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("distributed")
tifffile = pytest.importorskip("tifffile")

from convcli.batch._dask_bands import dask_band_map  # noqa: E402
from convcli.cli import main  # noqa: E402
from convcli.filtering import _bands  # noqa: E402


@pytest.fixture
def cluster_map():
    with dask_band_map("local:2") as band_map:
        yield band_map


def smooth(shape, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[: shape[0], : shape[1]]
    base = (x * 3 + y * 2) % 256
    noise = rng.integers(0, 40, shape)
    return np.clip(base[..., None] + noise, 0, 255).astype(np.uint8)


def test_band_map_runs_remote_in_order(cluster_map):
    import os

    results = list(cluster_map(lambda a, b: (a * b, os.getpid()), [(i, 2) for i in range(20)]))
    assert [r[0] for r in results] == [2 * i for i in range(20)]
    assert os.getpid() not in {r[1] for r in results}  # ran in the workers


def test_cli_scheduler_gives_the_local_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(_bands, "BAND_SAMPLES", 64 * 96 * 3)  # many bands (sent pickled)
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, smooth((500, 96, 3)), photometric="rgb", rowsperstrip=32)
    runner = CliRunner()
    local = runner.invoke(
        main, ["--debug", "apply", "-k", "gaussian:sigma=2", str(src), str(tmp_path / "local.tif")]
    )
    assert local.exit_code == 0, local.output
    remote = runner.invoke(
        main,
        [
            "--debug",
            "apply",
            "-k",
            "gaussian:sigma=2",
            "--scheduler",
            "local:2",
            str(src),
            str(tmp_path / "remote.tif"),
        ],
    )
    assert remote.exit_code == 0, remote.output
    assert "TIFF read by bands, streamed in " in remote.output
    assert (tmp_path / "remote.tif").read_bytes() == (tmp_path / "local.tif").read_bytes()


def test_worker_error_is_reported_as_locally_and_leaves_nothing(tmp_path):
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, smooth((64, 40, 3)), photometric="rgb")
    args = ["apply", "-k", "unsharp:amount=1e300", str(src), str(tmp_path / "o.tif")]
    local = CliRunner().invoke(main, args)
    remote = CliRunner().invoke(main, [*args, "--scheduler", "local:1"])  # raised on a worker
    assert (remote.exit_code, remote.output) == (local.exit_code, local.output)
    assert local.exit_code == 2
    assert local.output.startswith("Error: kernel 'unsharp:amount=1e300' could turn the values")
    assert local.output.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]


def test_in_memory_path_is_noted(tmp_path):
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, smooth((64, 40, 3)), photometric="rgb")
    result = CliRunner().invoke(
        main,
        ["apply", "-k", "box", "--scheduler", "local:1", str(src), str(tmp_path / "o.jpg")],
    )
    assert result.exit_code == 0, result.output
    assert "filtered in this process" in result.output
