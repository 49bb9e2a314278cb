"""Hands convcli's image reader to the kernel registry, so a greyscale image can be a kernel.

The kernels package sits below :mod:`convcli.images` and imports no image code; this module,
imported by :mod:`convcli.filtering` (which may use both), installs the reader once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convcli.images import read_image
from convcli.kernels._image_kernel import set_image_reader


def read_kernel_image(path: Path, max_pixels: int) -> tuple[list[np.ndarray], str]:
    """The frames ``(H, W, C)`` and the channel layout of the image file ``path``."""
    image = read_image(str(path), max_pixels=max_pixels)
    return image.frames, image.layout


set_image_reader(read_kernel_image)
