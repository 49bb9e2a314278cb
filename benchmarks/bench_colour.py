"""The cost of `--linear` (and `--channels lightness`) on a 4096x4096 RGB image.

Times, in one run on this machine, the same kernel with and without the colour options:

- in memory: `filter_frame_by_rows` (what `convcli apply` runs between reading and
  writing), best of `--repeat` runs, wall-clock and CPU seconds;
- end to end: `convcli apply` on a PNG (reading, filtering, writing), one run each.

Prints seconds and the ratio to the plain run (the target for `--linear`: at most 1.5x the
plain `convcli apply`).

Run:  python benchmarks/bench_colour.py [--size 4096] [--kernel gaussian:sigma=2] [--repeat 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

VARIANTS = {
    "plain": {},
    "--linear": {"linear": True},
    "--channels lightness": {"channels": "lightness"},
}


def photo(size: int) -> np.ndarray:
    """Smooth gradients, edges and noise: a photo-like RGB image, deterministic."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = np.stack([np.sin(9 * xx), np.cos(7 * yy), xx * yy], axis=-1)
    base += (np.add(*np.mgrid[0:size, 0:size]) // 97 % 2)[..., None] * 0.4
    pixels = 90 + 80 * base + rng.normal(0, 6, base.shape).astype(np.float32)
    return pixels.clip(0, 255).astype(np.uint8)


def best(function, repeat: int) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds (all threads) of ``repeat`` runs: on a shared
    machine the CPU time is the steadier measure of the work done."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--kernel", default="gaussian:sigma=2")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end runs")
    args = parser.parse_args()

    from convcli.filtering import FilterOptions, filter_frame_by_rows
    from convcli.images import ImageData, write_image
    from convcli.kernels import load_kernel

    image = photo(args.size)
    kernels = (load_kernel(args.kernel),)
    print(f"{args.size}x{args.size} RGB, -k {args.kernel}")
    print("in memory (filter_frame_by_rows), best of", args.repeat)
    base = None
    for label, options in VARIANTS.items():
        opts = FilterOptions.from_kwargs(**options)
        wall, cpu = best(lambda o=opts: filter_frame_by_rows(image, kernels, "RGB", o), args.repeat)
        base = base or (wall, cpu)
        print(
            f"  {label:22s} wall {wall:6.2f} s {wall / base[0]:5.2f}x   "
            f"cpu {cpu:6.2f} s {cpu / base[1]:5.2f}x"
        )
    if args.no_cli:
        return
    print("end to end (convcli apply, PNG in and out), one run each")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp, "in.png")
        write_image(ImageData([image], "RGB", "PNG"), source)
        base = None
        for label in VARIANTS:
            flags = label.split() if label != "plain" else []
            command = [sys.executable, "-m", "convcli", "apply", "-k", args.kernel, *flags]
            command += [str(source), str(Path(tmp, "out.png"))]
            start = time.perf_counter()
            subprocess.run(command, check=True)
            seconds = time.perf_counter() - start
            base = base or seconds
            print(f"  {label:22s} {seconds:7.2f} s  {seconds / base:5.2f}x")


if __name__ == "__main__":
    main()
