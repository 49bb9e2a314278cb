"""Images as kernels (point-spread functions): a greyscale PNG, TIFF or unsigned-integer
``.npy`` given as a kernel.

The samples become float weights: integer images scaled to 0..1 (by 255, 65535, or
``2**31 - 1`` for 32-bit integer TIFF), float images as they are. The kernel has
``normalize`` set, so it is divided by its sum when applied (a PSF keeps the image's
brightness); ``--no-normalize`` (``normalize=False``) keeps the samples as they are. It
is applied by correlation like every kernel: ``--convolve`` for a PSF meant as a
convolution kernel. Colour, alpha and multi-frame images are refused.

The file is read by :mod:`convcli.images` (the only package that reads image formats),
imported when an image kernel is met: the kernels package itself imports no image code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convcli.errors import ConvcliError, KernelError
from convcli.kernels._checks import MAX_TAPS, build_kernel
from convcli.kernels._kernel import Kernel

#: Suffixes read as image kernels (through convcli.images).
IMAGE_SUFFIXES = (".png", ".tif", ".tiff")


def is_image_array(array: np.ndarray) -> bool:
    """True for what a ``.npy`` image kernel holds: 2-D uint8 or uint16 samples."""
    return array.ndim == 2 and array.dtype in (np.uint8, np.uint16)


def image_kernel(samples: np.ndarray, name: str, where: str, source: str) -> Kernel:
    """A normalized kernel from greyscale ``samples`` (2-D): integers scaled to 0..1."""
    samples = np.asarray(samples)
    if samples.dtype.kind in "ui":
        top = float(np.iinfo(samples.dtype).max)
        weight = samples.astype(np.float64) / top
    else:
        weight = samples.astype(np.float64)
    return build_kernel(
        name,
        weight,
        where=where,
        normalize=True,
        description="image kernel (PSF), normalized to sum 1",
        source=source,
    )


def load_image_kernel(path: Path, name: str, where: str) -> Kernel:
    """Read the greyscale image ``path`` as a kernel (see the module docstring)."""
    # Lazy: convcli.images imports Pillow, which only image kernels need.
    from convcli.images import read_image

    try:
        image = read_image(str(path), max_pixels=MAX_TAPS * MAX_TAPS)
    except ConvcliError as exc:
        raise KernelError(f"{where}: {exc}") from None
    if len(image.frames) != 1:
        raise KernelError(
            f"{where}: the image has {len(image.frames)} frames; a kernel image has one"
        )
    frame = image.frames[0]
    if frame.shape[2] != 1:
        what = image.layout or f"{frame.shape[2]} channels"
        raise KernelError(
            f"{where}: the image is {what}; a kernel image must be greyscale (one channel, "
            "no alpha): convert it first, e.g. with Pillow's Image.convert('L')"
        )
    return image_kernel(frame[:, :, 0], name, where, str(path))
