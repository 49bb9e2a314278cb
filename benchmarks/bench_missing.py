"""Benchmark ``nan_policy='omit'`` (normalized convolution) against ``'propagate'`` and
against astropy's ``convolve(nan_treatment='interpolate')``, in one run.

A float32 image (4096x4096 by default) with 5% of its samples NaN (random holes, a few
whole rows and a block), 'same' size, ``replicate`` border (astropy ``boundary='extend'``).
Every case is timed best-of-N (wall clock) in the same process and reported as a ratio:
issue 14's targets are ``omit / propagate <= 2.5`` and ``omit / astropy < 1``. "no holes"
is the ordinary convolution of the same image with its holes set to 0, for scale.

Run::

    pip install astropy
    python benchmarks/bench_missing.py                  # 4096x4096, ~1-2 minutes
    python benchmarks/bench_missing.py --size 2048 --runs 2 --no-astropy   # quicker look
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

import convcli  # noqa: E402
from convcli.engine import get_threads  # noqa: E402


def best(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def image(size: int, fraction: float = 0.05) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.random((size, size), dtype=np.float32) * 1000
    holes = rng.random((size, size)) < fraction - 0.01
    holes[rng.integers(0, size, 8)] = True  # whole rows
    holes[size // 3 : size // 3 + size // 16, size // 2 : size // 2 + size // 16] = True
    x[holes] = np.nan
    return x


def kernels() -> dict[str, np.ndarray]:
    def gauss(sigma, radius):
        g = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
        return np.outer(g, g) / np.outer(g, g).sum()

    rng = np.random.default_rng(1)
    disk = (np.hypot(*np.mgrid[-7:8, -7:8]) <= 7).astype(np.float32)
    return {
        "gaussian 5x5": gauss(1.0, 2),
        "gaussian 13x13": gauss(2.0, 6),
        "random 7x7 (>0)": rng.random((7, 7)) + 0.1,
        "disk 15x15": disk / disk.sum(),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-astropy", action="store_true")
    args = parser.parse_args(argv)
    x = image(args.size)
    x4 = x[None, None]
    clean = np.nan_to_num(x4)  # the same image without holes: the ordinary convolution
    print(
        f"{args.size}x{args.size} float32, {np.isnan(x).mean():.1%} NaN, replicate border; "
        f"{platform.machine()}, {os.cpu_count()} cores, convcli threads {get_threads()}, "
        f"best of {args.runs}"
    )
    astropy = None
    if not args.no_astropy:
        try:
            from astropy.convolution import convolve as astropy
        except ImportError:
            print("astropy is not installed: its column is skipped")
    rows = []
    for name, w in kernels().items():
        w4 = w.astype(np.float32)[None, None]

        def run(policy, w4=w4):
            return convcli.conv2d(
                x4, w4, padding="same", padding_mode="replicate", nan_policy=policy
            )

        t_plain = best(
            lambda w4=w4: convcli.conv2d(clean, w4, padding="same", padding_mode="replicate"),
            args.runs,
        )
        t_prop = best(lambda: run("propagate"), args.runs)
        t_omit = best(lambda: run("omit"), args.runs)
        t_astro = float("nan")
        if astropy is not None:

            def run_astropy(w=w):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return astropy(
                        x,
                        w[::-1, ::-1],
                        boundary="extend",
                        nan_treatment="interpolate",
                        normalize_kernel=False,
                    )

            t_astro = best(run_astropy, 1 if args.size > 2048 else args.runs)
        rows.append((name, t_plain, t_prop, t_omit, t_astro))
    print()
    print(
        "| kernel | no holes s | propagate s | omit s | omit/propagate | omit/no holes "
        "| astropy s | omit/astropy |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, t_plain, t_prop, t_omit, t_astro in rows:
        print(
            f"| {name} | {t_plain:.3f} | {t_prop:.3f} | {t_omit:.3f} | {t_omit / t_prop:.2f} | "
            f"{t_omit / t_plain:.2f} | {t_astro:.2f} | {t_omit / t_astro:.3f} |"
        )


if __name__ == "__main__":
    main()
