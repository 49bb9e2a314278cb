"""Benchmark convcli's engine against OpenCV, SciPy and PyTorch, in one run.

Every case is timed best-of-N (wall clock) on the same machine in the same process, and
reported as a ratio to the peer, so a busy machine skews both sides alike. Cases follow
the targets of issue 6:

- per-channel kernels on a 4096x4096 RGB float32 image, 'same' size, reflect border
  (convcli ``padding_mode='reflect'`` = OpenCV ``BORDER_REFLECT_101`` = SciPy ``'mirror'``):
  Gaussian 3x3, 7x7, 31x31 and a random (non-separable) 7x7, for every method that makes
  sense and for ``auto`` (the planner's choice);
- cross-channel 3 -> 8 channels, 5x5, on 2048x2048, against PyTorch's CPU ``F.conv2d``
  (reflect padding via ``F.pad``).

convcli takes ``(1, 3, H, W)`` planes, OpenCV an interleaved ``(H, W, 3)`` image, SciPy
one ``(H, W)`` plane at a time: each library's natural layout, none converted in the timing.

Run (OpenCV from the ``bench`` extra; PyTorch with ``pip install torch==2.13.0``)::

    pip install -e ".[bench]"
    python benchmarks/bench_engine.py                 # the README table, ~3-5 minutes
    python benchmarks/bench_engine.py --runs 3 --size 2048 --no-scipy   # quicker look
    python benchmarks/bench_engine.py --single-core   # one thread each, CPU seconds

Missing peers are skipped and reported as such. ``--markdown`` prints the README table.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

import convcli  # noqa: E402
from convcli.engine import get_threads  # noqa: E402

#: (case, kernel size, separable?) -> target ratio to OpenCV (issue 6)
OPENCV_TARGETS = {
    "gaussian 3x3": 2.5,
    "gaussian 7x7": 3.0,
    "gaussian 31x31": 1.0,
    "random 7x7": 6.0,
}
SCIPY_TARGET = 1 / 5  # at least 5x faster than scipy.ndimage.correlate
TORCH_TARGET = 2.0


def gaussian(size: int) -> np.ndarray:
    """OpenCV's ``getGaussianKernel(size, 0)`` as a 2-D float32 kernel."""
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    g = np.exp(-0.5 * ((np.arange(size) - (size - 1) / 2) / sigma) ** 2)
    g /= g.sum()
    return np.outer(g, g).astype(np.float32)


CLOCK = {"clock": time.perf_counter}


def best_of(fn, runs: int) -> float:
    """Best time of ``runs`` calls (after a warm-up call when ``runs > 1``)."""
    clock = CLOCK["clock"]
    if runs > 1:
        fn()
    times = []
    for _ in range(runs):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times)


def best_of_within(fn, runs: int, budget: float = 10.0) -> float:
    """Best time of up to ``runs`` calls, stopping once they have taken ``budget``
    seconds (SciPy's 31x31 takes ~25 s a call; its 3x3, best of 3, ~0.4 s)."""
    clock = CLOCK["clock"]
    times: list[float] = []
    while len(times) < runs and sum(times) < budget:
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times)


def single_core() -> None:
    """Every library on one thread, timed in CPU seconds: ratios that a busy machine
    (other processes on the cores) cannot skew."""
    from convcli.engine import set_threads

    CLOCK["clock"] = time.process_time
    set_threads(1)
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def methods_for(name: str) -> list[str]:
    if name == "gaussian 31x31":
        return ["auto", "separable", "fft"]  # 961 direct taps: minutes, not informative
    if name == "random 7x7":
        return ["auto", "direct", "fft", "gemm"]  # full rank: separable = 7 rank-1 terms
    return ["auto", "direct", "separable", "fft", "gemm"]


def per_channel_cases(size: int, runs: int, scipy_runs: int, rows: list) -> None:
    rng = np.random.default_rng(0)
    planes = rng.random((1, 3, size, size), dtype=np.float32)
    interleaved = np.ascontiguousarray(planes[0].transpose(1, 2, 0))
    kernels = {
        "gaussian 3x3": gaussian(3),
        "gaussian 7x7": gaussian(7),
        "gaussian 31x31": gaussian(31),
        "random 7x7": rng.standard_normal((7, 7)).astype(np.float32),
    }
    try:
        import cv2
    except ImportError:
        cv2 = None
    try:
        from scipy import ndimage
    except ImportError:
        ndimage = None
    for name, k in kernels.items():
        weight = np.stack([k] * 3)[:, None]
        peer = {}
        if cv2 is not None:
            peer["OpenCV"] = best_of(
                lambda k=k: cv2.filter2D(interleaved, -1, k, borderType=cv2.BORDER_REFLECT_101),
                runs,
            )
        if ndimage is not None and scipy_runs:
            peer["SciPy"] = best_of_within(
                lambda k=k: [ndimage.correlate(planes[0, c], k, mode="mirror") for c in range(3)],
                scipy_runs,
            )
        for method in methods_for(name):
            seconds = best_of(
                lambda w=weight, m=method: convcli.conv2d(
                    planes, w, groups=3, padding="same", padding_mode="reflect", method=m
                ),
                runs,
            )
            chosen = f"auto ({_planned(planes, weight, 3)})" if method == "auto" else method
            rows.append(
                dict(
                    case=f"{name}, {size}x{size} RGB",
                    method=chosen,
                    seconds=seconds,
                    peer=peer,
                    target=OPENCV_TARGETS[name],
                )
            )
            print(_line(rows[-1]), flush=True)


def _planned(x, weight, groups) -> str:
    from convcli.engine import prepare
    from convcli.engine._planner import choose_method

    geometry = prepare(x, weight, padding="same", groups=groups, padding_mode="reflect")[3]
    return choose_method(weight, geometry)


def cross_channel_case(size: int, runs: int, rows: list) -> None:
    rng = np.random.default_rng(1)
    x = rng.random((1, 3, size, size), dtype=np.float32)
    w = rng.standard_normal((8, 3, 5, 5)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    peer = {}
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        torch = None
    if torch is not None:
        xt, wt, bt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
        with torch.no_grad():
            peer[f"PyTorch ({torch.get_num_threads()} threads)"] = best_of(
                lambda: F.conv2d(F.pad(xt, (2, 2, 2, 2), mode="reflect"), wt, bt), runs
            )
    for method in ("auto", "gemm", "direct", "fft"):
        seconds = best_of(
            lambda m=method: convcli.conv2d(
                x, w, b, padding="same", padding_mode="reflect", method=m
            ),
            runs,
        )
        if method == "auto":
            method = f"auto ({_planned(x, w, 1)})"
        rows.append(
            dict(
                case=f"cross-channel 3->8 5x5, {size}x{size}",
                method=method,
                seconds=seconds,
                peer=peer,
                target=TORCH_TARGET,
            )
        )
        print(_line(rows[-1]), flush=True)


def _ratio(row, key):
    value = row["peer"].get(key)
    return None if value is None else row["seconds"] / value


def _line(row) -> str:
    parts = [f"{row['case']:<32} {row['method']:<18} {row['seconds']:8.3f} s"]
    for key, value in row["peer"].items():
        parts.append(f"{key} {value:.3f} s (x{row['seconds'] / value:.2f})")
    return "  ".join(parts)


def markdown(rows) -> str:
    lines = [
        "| case | method | convcli (s) | peer (s) | ratio | target | SciPy (s) | "
        "speed-up vs SciPy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        peers = {k: v for k, v in row["peer"].items() if k != "SciPy"}
        name, value = next(iter(peers.items()), ("-", None))
        ratio = "-" if value is None else f"{row['seconds'] / value:.2f}x"
        target = "-"  # the targets are for what convcli runs by itself: the planner's choice
        if row["method"].startswith("auto"):
            met = (
                ""
                if value is None
                else (" met" if row["seconds"] / value <= row["target"] else " MISSED")
            )
            target = f"<= {row['target']}x{met}"
        scipy = row["peer"].get("SciPy")
        speedup = "-" if scipy is None else f"{scipy / row['seconds']:.1f}x"
        if scipy is not None and row["method"].startswith("auto"):
            met = "met" if row["seconds"] <= SCIPY_TARGET * scipy else "MISSED"
            speedup += f" (>= {1 / SCIPY_TARGET:.0f}x {met})"
        lines.append(
            f"| {row['case']} | {row['method']} | {row['seconds']:.3f} | "
            f"{'-' if value is None else f'{value:.3f}'} ({name}) | {ratio} | "
            f"{target} | "
            f"{'-' if scipy is None else f'{scipy:.2f}'} | {speedup} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=4096, help="image side (per-channel cases)")
    parser.add_argument("--cross-size", type=int, default=2048, help="image side (3->8 case)")
    parser.add_argument("--runs", type=int, default=7, help="best of this many runs")
    parser.add_argument(
        "--scipy-runs",
        type=int,
        default=3,
        help="best of up to this many SciPy runs, within 10 s per case",
    )
    parser.add_argument("--no-scipy", action="store_true", help="skip SciPy (it is slow)")
    parser.add_argument(
        "--only", choices=["per-channel", "cross-channel"], help="run one group of cases"
    )
    parser.add_argument("--markdown", action="store_true", help="print the README table")
    parser.add_argument(
        "--single-core",
        action="store_true",
        help="every library on one thread, CPU time (robust on a busy machine)",
    )
    args = parser.parse_args(argv)
    if args.single_core:
        single_core()
    print(
        f"convcli {convcli.__version__}, NumPy {np.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores, engine threads "
        f"{get_threads()}; best of {args.runs}"
        f"{', CPU time, one thread each' if args.single_core else ', wall clock'}",
        flush=True,
    )
    rows: list = []
    if args.only != "cross-channel":
        per_channel_cases(args.size, args.runs, 0 if args.no_scipy else args.scipy_runs, rows)
    if args.only != "per-channel":
        cross_channel_case(args.cross_size, args.runs, rows)
    if args.markdown:
        print()
        print(markdown(rows))


if __name__ == "__main__":
    main()
