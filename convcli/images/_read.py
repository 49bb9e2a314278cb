"""``read_image``: any supported file or stream to :class:`ImageData`."""

from __future__ import annotations

import os
from typing import BinaryIO

from PIL import Image

from convcli.images import _npy as npy
from convcli.images import _pillow as pillow_io
from convcli.images import _tiff as tiff
from convcli.images._data import LAYOUT_BY_CHANNELS, ImageData
from convcli.images._sources import describe, read_all
from convcli.images.png import _chunks as png16
from convcli.images.png import _codec as png_fast


def read_image(
    source: str | os.PathLike[str] | BinaryIO, *, max_pixels: int | None = None
) -> ImageData:
    """Read an image file or stream into arrays, keeping what a round trip needs.

    Parameters
    ----------
    source : str, os.PathLike or binary file object
        A path, or a readable binary stream (which may be non-seekable, e.g. standard
        input: it is read to the end first).
    max_pixels : int, optional
        Refuse frames of more than this many pixels. None keeps Pillow's
        decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``, about 89 million); a
        larger value raises it knowingly.

    Returns
    -------
    ImageData
        Palette images are expanded (``P`` to RGB, or RGBA when the palette has
        transparency; ``PA`` to RGBA), 1-bit to L (0 or 255, uint8), ``I;16*`` to uint16
        L; 16-bit RGB/RGBA/LA PNG and TIFF stay uint16. Every frame of GIF, TIFF, WebP and
        APNG is read, with durations and loop count in ``metadata``.

    Raises
    ------
    ImageError
        Naming the source: missing, unreadable, empty, truncated, not an image, or over
        ``max_pixels``.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from convcli.images import ImageData, write_image
    >>> buffer = io.BytesIO()
    >>> write_image(ImageData([np.full((2, 3, 1), 7, np.uint8)], "L", "PNG"), buffer)
    >>> image = read_image(io.BytesIO(buffer.getvalue()))
    >>> image.format, image.layout, image.frames[0].shape, int(image.frames[0][0, 0, 0])
    ('PNG', 'L', (2, 3, 1), 7)
    """
    name = describe(source)
    data = read_all(source, name)
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    if data.startswith(npy.MAGIC):
        array = npy.decode(data, name, limit)
        return ImageData([array], "", "NPY", str(array.dtype))
    if tiff.is_tiff(data) and tiff.wants_tifffile(data):
        frames, layout, mode, metadata = tiff.decode(data, name, limit)
        return ImageData(frames, layout, "TIFF", mode, metadata)
    if data.startswith(png16.SIGNATURE):
        png16.check_crcs(data, name)
    image = pillow_io.open_image(data, name, max_pixels)
    if image.format == "PNG" and png16.wants_png16(data):
        array, layout, mode = png16.decode(data, name)
        return ImageData([array], layout, "PNG", mode, pillow_io.metadata_of(image))
    if image.format == "PNG" and png_fast.plain(data):  # libpng: same pixels, faster
        array = png_fast.decode(data, name)
        layout = LAYOUT_BY_CHANNELS[array.shape[2]]
        return ImageData([array], layout, "PNG", image.mode, pillow_io.metadata_of(image))
    mode = image.mode  # of the first frame: reading the others moves on
    frames, layout, metadata = pillow_io.read_frames(image, name, max_pixels)
    fmt = "JPEG" if image.format == "MPO" else image.format or ""
    if fmt == "JPEG":
        frames = frames[:1]  # MPO: the main picture; the others are previews or views
    return ImageData(frames, layout, fmt, mode, metadata)
