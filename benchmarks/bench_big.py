"""Big images through ``convcli apply``, whole process, against libvips on the same files.

    python benchmarks/bench_big.py                        # 8192x8192, every format
    python benchmarks/bench_big.py --size 16384 --formats tiff-strips,tiff-tiles,png
    python benchmarks/bench_big.py --size 4096 --check    # + pixels against vips conv

For each input (RGB 8-bit: uncompressed TIFF strips, deflate TIFF tiles of 256, PNG),
made here band by band (gradients plus noise), it runs under ``/usr/bin/time -v``:

- ``convcli apply -k gaussian:sigma=2`` (a 13x13 Gaussian), output in the input's format
  (TIFF keeps the input's compression and tiling);
- ``vips gaussblur IN OUT 2`` (libvips' fast path, its default precision) writing the
  same kind of file: the yardstick for time;

and prints wall time, peak RSS and the ratios to libvips as a Markdown table. With
``--check``, also ``vips conv`` with the same 13x13 matrix (float precision) and the
largest difference in grey levels from convcli's pixels, away from the borders (libvips
extends the image by copying its edge, convcli reflects by default).
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from convcli.images._tiff_stream import open_tiff_rows  # noqa: E402
from convcli.images.png._stream import write_png_bands  # noqa: E402
from convcli.kernels import load_kernel  # noqa: E402

KERNEL = "gaussian:sigma=2"
ROWS = 256


def bands(size: int):
    """The synthetic image, ROWS rows at a time: gradients plus noise."""
    rng = np.random.default_rng(0)
    x = np.arange(size) * (255 / size)
    for r0 in range(0, size, ROWS):
        y = np.arange(r0, min(size, r0 + ROWS))[:, None] * (255 / size)
        xx = np.broadcast_to(x, (y.shape[0], size))
        yy = np.broadcast_to(y, (y.shape[0], size))
        band = np.stack([xx, yy, (xx + yy) / 2], axis=2)
        band = band + rng.normal(0, 12, band.shape)
        yield np.clip(np.rint(band), 0, 255).astype(np.uint8)


def make_inputs(size: int, formats, directory: str) -> dict:
    """The input files, made unless ``directory`` holds them from an earlier run."""
    import tifffile

    paths = {}
    shape = (size, size, 3)
    names = {"tiff-strips": "strips.tif", "tiff-tiles": "tiles.tif", "png": "in.png"}
    for kind in list(formats):
        path = os.path.join(directory, names[kind])
        if os.path.exists(path):
            paths[kind] = path
            formats = [f for f in formats if f != kind]
    if "tiff-strips" in formats:
        path = paths["tiff-strips"] = os.path.join(directory, "strips.tif")
        tifffile.imwrite(
            path, bands(size), shape=shape, dtype=np.uint8, photometric="rgb", rowsperstrip=ROWS
        )
    if "tiff-tiles" in formats:
        path = paths["tiff-tiles"] = os.path.join(directory, "tiles.tif")

        def tiles():
            for band in bands(size):
                for x in range(0, size, 256):
                    yield np.ascontiguousarray(band[:, x : x + 256])

        tifffile.imwrite(
            path,
            tiles(),
            shape=shape,
            dtype=np.uint8,
            photometric="rgb",
            tile=(256, 256),
            compression="zlib",
            predictor=2,
        )
    if "png" in formats:
        path = paths["png"] = os.path.join(directory, "in.png")
        with open(path, "wb") as stream:
            write_png_bands(stream, bands(size), shape=shape, dtype=np.uint8)
    return {kind: paths[kind] for kind in names if kind in paths}


def timed(command) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of ``command`` under /usr/bin/time -v."""
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    hours, minutes, seconds = (float(v) if v else 0.0 for v in wall.groups())
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    return hours * 3600 + minutes * 60 + seconds, rss / 1024


def vips_target(kind: str, path: str) -> str:
    if kind == "tiff-tiles":
        return (
            path + "[compression=deflate,predictor=horizontal,tile,tile-width=256,tile-height=256]"
        )
    return path


def read_rows(path: str, r0: int, r1: int) -> np.ndarray:
    if path.endswith(".png"):
        from PIL import Image

        Image.MAX_IMAGE_PIXELS = None
        with Image.open(path) as image:
            return np.asarray(image.crop((0, r0, image.width, r1)))
    with open_tiff_rows(path, path, max_pixels=1 << 40) as rows:
        return rows.rows(r0, r1)


def check(size: int, kind: str, source: str, ours: str, directory: str) -> float:
    """Largest difference from ``vips conv`` (float, same matrix), away from the borders."""
    matrix = os.path.join(directory, "gauss13.mat")
    weight = np.asarray(load_kernel(KERNEL).weight, np.float64)
    weight = weight / weight.sum()
    with open(matrix, "w") as handle:
        handle.write(f"{weight.shape[1]} {weight.shape[0]} 1 0\n")
        for row in weight:
            handle.write(" ".join(f"{v:.17g}" for v in row) + "\n")
    theirs = os.path.join(directory, "conv.tif")
    subprocess.run(
        ["vips", "conv", source, theirs + "[compression=none]", matrix, "--precision", "float"],
        check=True,
    )
    worst = 0.0
    for r0 in range(16, size - 16, max(ROWS, size // 8)):
        r1 = min(r0 + ROWS, size - 16)
        a = read_rows(ours, r0, r1)[:, 16:-16].astype(np.float64)
        b = read_rows(theirs, r0, r1)[:, 16:-16].astype(np.float64)
        worst = max(worst, float(np.abs(a - b).max()))
    os.remove(theirs)
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--formats", default="tiff-strips,tiff-tiles,png")
    parser.add_argument("--check", action="store_true", help="compare pixels with vips conv")
    parser.add_argument(
        "--dir",
        help="working directory, kept with its inputs for the next run (default: temporary)",
    )
    args = parser.parse_args()
    formats = args.formats.split(",")
    convcli = shutil.which("convcli") or sys.exit("convcli is not on PATH: pip install -e .")
    if not shutil.which("vips"):
        sys.exit("vips is not on PATH: apt-get install libvips-tools")
    directory = args.dir or tempfile.mkdtemp(prefix="bench_big.")
    os.makedirs(directory, exist_ok=True)
    try:
        paths = make_inputs(args.size, formats, directory)
        print(
            f"{args.size}x{args.size} RGB 8-bit, {os.cpu_count()} cores, "
            f"{datetime.date.today()}, kernel {KERNEL} (13x13)\n"
        )
        print(
            "| input | convcli | vips gaussblur | time ratio | peak RSS ratio | max diff vs vips conv |"
        )
        print("|---|---|---|---|---|---|")
        for kind, source in paths.items():
            ext = ".png" if kind == "png" else ".tif"
            ours = os.path.join(directory, "ours" + ext)
            theirs = os.path.join(directory, "vips" + ext)
            wall, rss = timed([convcli, "apply", "-k", KERNEL, source, ours])  # no pixel limit
            vwall, vrss = timed(["vips", "gaussblur", source, vips_target(kind, theirs), "2"])
            diff = f"{check(args.size, kind, source, ours, directory):g}" if args.check else "-"
            megabytes = os.path.getsize(source) / 2**20
            print(
                f"| {kind} ({megabytes:.0f} MB) | {wall:.1f} s, {rss:.0f} MB | {vwall:.1f} s, "
                f"{vrss:.0f} MB | {wall / vwall:.2f} | {rss / vrss:.1f} | {diff} |",
                flush=True,
            )
            os.remove(ours)
            os.remove(theirs)
    finally:
        if not args.dir:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
