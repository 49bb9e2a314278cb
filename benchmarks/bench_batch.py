"""Throughput of `convcli apply` over a folder: images per second.

Generates a folder of small photo-like PNGs (smooth gradients plus noise, 256x256 RGB by
default), then times, in one run on this machine:

- `convcli apply DIR OUT --jobs 1` and `--jobs N` (N = cores),
- a shell loop of single-file `convcli apply` runs (on a subset: it is slow), and
- ImageMagick `mogrify -morphology Convolve` with the same 5x5 Gaussian, when installed.

Run:  python benchmarks/bench_batch.py [--count 300] [--size 256]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_folder(root: Path, count: int, size: int) -> Path:
    from convcli.images import ImageData, write_image

    src = root / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(count):
        base = np.stack([np.sin(6 * xx + i), np.cos(5 * yy - i), xx * yy], axis=-1)
        pixels = (127.5 + 100 * base + rng.normal(0, 12, base.shape)).clip(0, 255)
        write_image(ImageData([pixels.astype(np.uint8)], "RGB", "PNG"), str(src / f"{i:04d}.png"))
    return src


def timed(cmd, **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument(
        "--loop-count", type=int, default=30, help="files for the shell-loop measurement"
    )
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    convcli = [sys.executable, "-m", "convcli"]
    kernel = "gaussian:sigma=1,size=5"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = make_folder(root, args.count, args.size)
        rows = []
        for jobs in sorted({1, cores}):
            seconds = timed(
                [
                    *convcli,
                    "apply",
                    "-k",
                    kernel,
                    str(src),
                    str(root / f"j{jobs}"),
                    "--jobs",
                    str(jobs),
                    "-q",
                ]
            )
            rows.append((f"convcli apply DIR --jobs {jobs}", args.count / seconds))
        subset = sorted(src.iterdir())[: args.loop_count]
        (root / "loop").mkdir()
        start = time.perf_counter()
        for path in subset:
            subprocess.run(
                [*convcli, "apply", "-k", kernel, str(path), str(root / "loop" / path.name)],
                check=True,
            )
        rows.append(("shell loop of single runs", len(subset) / (time.perf_counter() - start)))
        mogrify = shutil.which("mogrify")
        if mogrify:
            work = root / "magick"
            shutil.copytree(src, work)
            # The same 5x5 Gaussian, sigma 1, as ImageMagick's kernel syntax.
            seconds = timed(
                [
                    mogrify,
                    "-define",
                    "convolve:scale=!",
                    "-morphology",
                    "Convolve",
                    "Gaussian:2x1",
                    str(work / "*.png"),
                ]
            )
            rows.append(("ImageMagick mogrify -morphology Convolve", args.count / seconds))
        best = rows[-1][1] if mogrify else rows[0][1]
        peer = "mogrify" if mogrify else "--jobs 1"
        print(
            f"{args.count} images {args.size}x{args.size} RGB PNG, kernel {kernel}, {cores} cores"
        )
        print(f"{'run':45s} {'images/s':>9s} {'vs ' + peer:>12s}")
        for name, rate in rows:
            print(f"{name:45s} {rate:9.1f} {rate / best:11.2f}x")


if __name__ == "__main__":
    main()
