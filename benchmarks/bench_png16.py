"""16-bit RGB PNG: imagecodecs (what convcli uses) against pypng, same image, same run.

    python benchmarks/bench_png16.py [SIZE]

Prints the best of 3 encode and decode times for a SIZE x SIZE (default 2048) 16-bit RGB
photo-like image (smooth gradients plus noise), the file sizes, and the ratios. pypng is
optional (``pip install pypng``); Pillow is shown for reference: it decodes such a file to
8 bits, which is why convcli does not use it for this path.
"""

from __future__ import annotations

import io
import sys
import time

import imagecodecs
import numpy as np
from PIL import Image


def best(function, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(size: int) -> None:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size] * (65535 / size)
    image = np.stack([x, y, (x + y) / 2], axis=2) + rng.normal(0, 200, (size, size, 3))
    image = np.clip(image, 0, 65535).astype(np.uint16)
    print(f"{size}x{size} 16-bit RGB, best of 3")
    encode, data = best(lambda: imagecodecs.png_encode(image))
    decode, back = best(lambda: imagecodecs.png_decode(data))
    assert np.array_equal(back, image)
    print(f"imagecodecs  encode {encode:6.2f} s  decode {decode:6.2f} s  {len(data) / 1e6:5.1f} MB")
    pillow, reduced = best(lambda: np.asarray(Image.open(io.BytesIO(data))))
    print(f"Pillow                        decode {pillow:6.2f} s  -> {reduced.dtype} (8 bits)")
    try:
        import png
    except ImportError:
        print("pypng not installed: pip install pypng to compare")
        return

    def pypng_encode():
        buffer = io.BytesIO()
        png.Writer(size, size, greyscale=False, bitdepth=16).write(buffer, image.reshape(size, -1))
        return buffer.getvalue()

    def pypng_decode(blob):
        width, height, rows, _ = png.Reader(bytes=blob).read()
        return np.vstack([np.asarray(row, np.uint16) for row in rows]).reshape(height, width, 3)

    p_encode, p_data = best(pypng_encode)
    p_decode, p_back = best(lambda: pypng_decode(p_data))
    assert np.array_equal(p_back, image)
    print(f"pypng        encode {p_encode:6.2f} s  decode {p_decode:6.2f} s  "
          f"{len(p_data) / 1e6:5.1f} MB")  # fmt: skip
    print(f"pypng / imagecodecs: encode x{p_encode / encode:.1f}, decode x{p_decode / decode:.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2048)
