"""Draw docs/images/checkerboard-linear.png: a red/green checkerboard blurred both ways.

Three panels, left to right: the checkerboard, ``gaussian:sigma=3`` on the sRGB-encoded
values (convcli's default), and the same blur with ``--linear``. Deterministic: run it
again and the PNG is byte for byte the same.

Run:  python docs/images/make_colour_images.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convcli import filter_image
from convcli.images import ImageData, write_image

HERE = Path(__file__).resolve().parent


def checkerboard(size: int = 96, square: int = 16) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size]
    red = (y // square + x // square) % 2 == 0
    image = np.empty((size, size, 3), np.uint8)
    image[red] = (255, 0, 0)
    image[~red] = (0, 255, 0)
    return image


def main() -> None:
    board = checkerboard()
    plain = filter_image(board, "gaussian:sigma=3")
    linear = filter_image(board, "gaussian:sigma=3", linear=True)
    gap = np.full((board.shape[0], 6, 3), 255, np.uint8)
    strip = np.concatenate([board, gap, plain, gap, linear], axis=1)
    strip = strip.repeat(2, axis=0).repeat(2, axis=1)  # 2x, nearest: pixels stay visible
    write_image(ImageData([strip], "RGB", "PNG"), HERE / "checkerboard-linear.png")
    centre = board.shape[0] // 2 - 1, board.shape[1] // 2 - 1
    print("pixel at a corner of four squares:", plain[centre], "(sRGB)", linear[centre], "(linear)")


if __name__ == "__main__":
    main()
