"""Images as kernels (point-spread functions): a greyscale PNG, TIFF or unsigned-integer
``.npy`` given as a kernel.

The samples become float weights: integer images scaled to 0..1 (by 255, 65535, or
``2**31 - 1`` for 32-bit integer TIFF), float images as they are. The kernel has
``normalize`` set, so it is divided by its sum when applied (a PSF keeps the image's
brightness); ``--no-normalize`` (``normalize=False``) keeps the samples as they are. It
is applied by correlation like every kernel: ``--convolve`` for a PSF meant as a
convolution kernel. Colour, alpha and multi-frame images are refused.

The file is read by :mod:`convcli.images`, the only package that reads image formats. The
kernels package sits below it and imports no image code: the reader is handed over with
:func:`set_image_reader` by :mod:`convcli.filtering` (the first layer that sees both), so
``convcli.load_kernel``, ``filter_image`` and the command line read image kernels, and a
bare ``convcli.kernels.load_kernel`` asks for ``import convcli.filtering`` when it meets one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from convcli.errors import ConvcliError, KernelError
from convcli.kernels._checks import MAX_TAPS, build_kernel
from convcli.kernels._kernel import Kernel

#: Suffixes read as image kernels (through convcli.images).
IMAGE_SUFFIXES = (".png", ".tif", ".tiff")

#: ``reader(path, max_pixels) -> (frames, layout)``: the frames as ``(H, W, C)`` arrays.
ImageReader = Callable[[Path, int], tuple[list[np.ndarray], str]]
_reader: list[ImageReader] = []


def set_image_reader(reader: ImageReader) -> None:
    """Install the function that reads an image file for :func:`load_image_kernel`."""
    _reader[:] = [reader]


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
    if not _reader:
        raise KernelError(
            f"{where}: reading an image as a kernel needs convcli's image reader; "
            "import convcli.filtering first (convcli.load_kernel and the command line do)"
        )
    try:
        frames, layout = _reader[0](path, MAX_TAPS * MAX_TAPS)
    except ConvcliError as exc:
        raise KernelError(f"{where}: {exc}") from None
    if len(frames) != 1:
        raise KernelError(f"{where}: the image has {len(frames)} frames; a kernel image has one")
    frame = frames[0]
    if frame.shape[2] != 1:
        what = layout or f"{frame.shape[2]} channels"
        raise KernelError(
            f"{where}: the image is {what}; a kernel image must be greyscale (one channel, "
            "no alpha): convert it first, e.g. with Pillow's Image.convert('L')"
        )
    return image_kernel(frame[:, :, 0], name, where, str(path))
