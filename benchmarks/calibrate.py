"""Check the planner's cost model against measured times, method by method.

For a set of kernels it times every applicable method (single thread, CPU time, best of
N, on a 2048x2048 RGB float32 image by default), converts the times to "passes" (the
time of one in-place NumPy multiply over the image) and prints them beside the planner's
estimates (:func:`convcli.engine._planner.method_costs`), marking the planner's choice
and the fastest measured method. Use it after changing a method, to re-tune the
constants at the top of ``convcli/engine/planner.py``::

    python benchmarks/calibrate.py [--size 2048] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

import convcli  # noqa: E402
from convcli.engine import prepare, set_threads  # noqa: E402
from convcli.engine._planner import choose_method, method_costs  # noqa: E402


def gaussian(size: int) -> np.ndarray:
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    g = np.exp(-0.5 * ((np.arange(size) - (size - 1) / 2) / sigma) ** 2)
    return np.outer(g, g) / g.sum() ** 2


def cpu_best(fn, runs: int) -> float:
    fn()
    best = float("inf")
    for _ in range(runs):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def kernels():
    rng = np.random.default_rng(0)
    per_channel = {f"gaussian {k}": gaussian(k) for k in (3, 5, 7, 9, 13, 17, 31)}
    per_channel.update({f"random {k}": rng.standard_normal((k, k)) for k in (3, 5, 7, 9)})
    dog = gaussian(5) - 0.5 * np.pad(gaussian(3), 1)
    per_channel["DoG 5 (rank 2)"] = dog
    for name, k in per_channel.items():
        yield name, np.stack([k] * 3)[:, None].astype(np.float32), 3
    yield "3->8 5x5", rng.standard_normal((8, 3, 5, 5)).astype(np.float32), 1
    yield "3->8 3x3", rng.standard_normal((8, 3, 3, 3)).astype(np.float32), 1


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    set_threads(1)
    x = np.random.default_rng(1).random((1, 3, args.size, args.size), dtype=np.float32)
    scratch = np.empty_like(x)
    unit = cpu_best(lambda: np.multiply(x, np.float32(0.5), out=scratch), args.runs)
    print(f"one pass over the image: {unit * 1e3:.1f} ms CPU")
    print(f"{'kernel':<16} {'method':<10} {'measured':>9} {'model':>7}")
    for name, weight, groups in kernels():
        geometry = prepare(x, weight, padding="same", groups=groups, padding_mode="reflect")[3]
        costs = method_costs(weight, geometry)
        chosen = choose_method(weight, geometry)
        measured = {}
        for method in costs:
            if method == "direct" and costs[method] > 200:
                continue
            seconds = cpu_best(
                lambda m=method, w=weight, g=groups: convcli.conv2d(
                    x, w, padding="same", groups=g, padding_mode="reflect", method=m
                ),
                args.runs,
            )
            measured[method] = seconds / unit * x.shape[1] / weight.shape[0]
        fastest = min(measured, key=measured.get)
        for method, passes in measured.items():
            marks = ("planner " if method == chosen else "") + (
                "fastest" if method == fastest else ""
            )
            print(
                f"{name:<16} {method:<10} {passes:9.1f} {costs[method]:7.1f}  {marks}", flush=True
            )


if __name__ == "__main__":
    main()
