"""PNG encode and decode: convcli's png_fast against Pillow and imagecodecs, one run.

    python benchmarks/bench_png.py                 # sample photos + 4096x4096 RGB
    python benchmarks/bench_png.py --size 2048 --runs 3 [FILE.png ...]

For each image, best-of-N wall time and file size of:

- png_fast (convcli's writer, zlib-ng deflate) on 1 thread and on the engine's thread count
  (``CONVCLI_THREADS``, else every core), level 6;
- Pillow's PNG writer (zlib level 6, adaptive filters: what convcli used before);
- imagecodecs.png_encode (libpng, its default level);
- png_fast with the standard library's zlib instead of zlib-ng for the pieces, to show
  what zlib-ng gives;

then decoding png_fast's file with imagecodecs (what convcli reads plain PNGs with) and
with Pillow. Every file is decoded and compared with the source pixels. Ratios are to
Pillow measured in the same run, so a busy machine skews both sides alike.

The synthetic image is smooth gradients plus noise, blurred with a Gaussian of sigma 2
(like the output of ``convcli apply -k gaussian:sigma=2``); ``--raw`` keeps the noise.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import zlib

import imagecodecs
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from convcli.engine import get_threads  # noqa: E402
from convcli.images import read_image  # noqa: E402
from convcli.images.png import _codec as png_fast  # noqa: E402

SAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, "sample_images")


def best(function, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def synthetic(size: int, raw: bool) -> np.ndarray:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size] * (255 / size)
    image = np.stack([x, y, (x + y) / 2], axis=2) + rng.normal(0, 12, (size, size, 3))
    if not raw:
        from scipy.ndimage import gaussian_filter

        image = gaussian_filter(image, sigma=(2, 2, 0))
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def pillow_encode(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    pixels = array[:, :, 0] if array.shape[2] == 1 else array
    if array.dtype == np.uint16:  # Pillow holds 16 bits only for grey
        if array.shape[2] != 1:
            return b""
        image = Image.frombytes("I;16", pixels.shape[::-1], pixels.astype("<u2").tobytes())
    else:
        image = Image.fromarray(pixels)
    image.save(buffer, "PNG")
    return buffer.getvalue()


def with_stdlib_zlib(array: np.ndarray, threads: int) -> bytes:
    """png_fast with the standard library's zlib deflating the pieces (same stream layout):
    what png_fast wrote before it used zlib-ng."""
    saved = png_fast.zlib
    png_fast.zlib = zlib
    try:
        return png_fast.encode(array, threads=threads)
    finally:
        png_fast.zlib = saved


def row(label, seconds, data, pillow_seconds, pillow_size):
    ratio = f"x{seconds / pillow_seconds:5.2f}" if pillow_seconds else "     -"
    size = f"{len(data) / 1e6:8.2f} MB" if data else "       -"
    versus = f"{(len(data) / pillow_size - 1) * 100:+5.1f}%" if data and pillow_size else ""
    print(f"  {label:<28} {seconds:7.3f} s  {ratio}  {size} {versus}")


def bench(name: str, array: np.ndarray, runs: int, threads: int) -> None:
    print(f"{name}: {array.shape[1]}x{array.shape[0]}x{array.shape[2]} {array.dtype}")
    p_time, p_data = best(lambda: pillow_encode(array), runs)
    if not p_data:
        p_time = 0.0
    row("Pillow (zlib 6)", p_time, p_data, p_time, len(p_data))
    cases = [("png_fast, 1 thread", lambda: png_fast.encode(array, threads=1))]
    if threads > 1:
        cases.append((f"png_fast, {threads} threads", lambda: png_fast.encode(array)))
    cases.append(
        (
            "imagecodecs (libpng)",
            lambda: bytes(imagecodecs.png_encode(array[:, :, 0] if array.shape[2] == 1 else array)),
        )
    )
    cases.append((f"png_fast, zlib, {threads} thr", lambda: with_stdlib_zlib(array, threads)))
    ours = None
    for label, encode in cases:
        seconds, data = best(encode, runs)
        decoded = imagecodecs.png_decode(data).reshape(array.shape)
        assert np.array_equal(decoded, array), label
        row(label, seconds, data, p_time, len(p_data))
        ours = data if ours is None else ours
    assert ours == png_fast.encode(array, threads=max(1, threads)), "thread-count dependent"
    d_time, _ = best(lambda: imagecodecs.png_decode(ours), runs)
    pil_time, _ = best(lambda: np.asarray(Image.open(io.BytesIO(ours))), runs)
    print(
        f"  decode: imagecodecs {d_time:.3f} s, Pillow {pil_time:.3f} s (x{d_time / pil_time:.2f})"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="PNG files (default: the sample photos)")
    parser.add_argument("--size", type=int, default=4096, help="synthetic image side (0: none)")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs")
    parser.add_argument("--raw", action="store_true", help="synthetic image not blurred")
    args = parser.parse_args(argv)
    threads = get_threads()
    print(f"zlib {zlib.ZLIB_RUNTIME_VERSION}, {threads} threads, best of {args.runs}")
    files = args.files or [
        os.path.join(SAMPLES, name) for name in sorted(os.listdir(SAMPLES)) if name.endswith(".png")
    ]
    for path in files:
        bench(os.path.basename(path), read_image(path).frames[0], args.runs, threads)
    if args.size:
        bench("synthetic", synthetic(args.size, args.raw), args.runs, threads)


if __name__ == "__main__":
    main()
