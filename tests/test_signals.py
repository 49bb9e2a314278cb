"""Ctrl-C (SIGINT) and SIGTERM during real runs: prompt exit, no partial output, no temps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from convcli.images import ImageData, write_image


@pytest.fixture(scope="module")
def big_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.png"
    rng = np.random.default_rng(0)
    write_image(
        ImageData([rng.integers(0, 256, (2000, 2000, 3), dtype=np.uint8)], "RGB", "PNG"), str(path)
    )
    return path


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_busy(pid: int, seconds: float = 1.0, timeout: float = 60.0) -> None:
    """Wait until the process has done ``seconds`` of CPU work: past start-up and imports,
    inside the filtering, however loaded the machine is."""
    deadline = time.monotonic() + timeout
    while cpu_seconds(pid) < seconds and time.monotonic() < deadline:
        time.sleep(0.05)


def start(args, cwd):
    return subprocess.Popen(
        [sys.executable, "-m", "convcli", *args],
        cwd=cwd,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


@pytest.mark.parametrize(
    "signum, code, message",
    [
        (signal.SIGINT, 130, "Error: interrupted"),
        (signal.SIGTERM, 143, "Error: terminated (SIGTERM)"),
    ],
)
def test_single_file_signal_leaves_nothing(big_png, tmp_path, signum, code, message):
    before = big_png.read_bytes()
    # A 41x41 non-separable kernel keeps the process busy for seconds.
    proc = start(
        [
            "apply",
            "-k",
            "motion-blur:length=41,angle=30",
            "-k",
            "gaussian:sigma=6",
            str(big_png),
            "out.png",
        ],
        tmp_path,
    )
    wait_until_busy(proc.pid)
    sent = time.monotonic()
    os.kill(proc.pid, signum)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 5
    assert proc.returncode == code
    assert err.decode().strip().splitlines() == [message]
    assert list(tmp_path.iterdir()) == []  # no output, no temporary
    assert big_png.read_bytes() == before


def test_batch_sigint_to_process_group_stops_workers_and_cleans(big_png, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):
        os.link(big_png, src / f"i{i}.png")
    proc = start(
        ["apply", "-k", "motion-blur:length=31,angle=10", str(src), "out", "--jobs", "2", "-q"],
        tmp_path,
    )
    deadline = time.monotonic() + 60
    while not list((tmp_path / "out").glob(".*.part")) and time.monotonic() < deadline:
        time.sleep(0.02)  # until a worker is writing
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    out = tmp_path / "out"
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    time.sleep(0.5)  # no worker keeps writing after the exit
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    for done in out.glob("*.png"):
        assert done.stat().st_size > 0
    assert Path(src / "i0.png").read_bytes() == big_png.read_bytes()
