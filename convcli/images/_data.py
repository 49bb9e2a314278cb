"""The :class:`ImageData` value and the format names convcli reads and writes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from convcli.choices import FORMATS

_BY_EXTENSION = {ext: name for name, exts in FORMATS.items() for ext in exts}

#: Layout for an image with a given channel count when its layout is "" (arbitrary).
LAYOUT_BY_CHANNELS = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}

_MAX_BY_KIND = {
    np.dtype(np.uint8): 255.0,
    np.dtype(np.uint16): 65535.0,
    np.dtype(np.int32): float(2**31 - 1),
}


def format_for(path_or_name) -> str | None:
    """The format name for a file name's extension, or None when it is not one convcli knows.

    Parameters
    ----------
    path_or_name : str or os.PathLike
        A file name or path; only its extension counts (case-insensitive).

    Returns
    -------
    str or None
        One of the keys of :data:`FORMATS` (``"PNG"``, ``"JPEG"``, ...), or None.

    Examples
    --------
    >>> format_for("photo.JPG")
    'JPEG'
    >>> format_for("out/scan.tiff")
    'TIFF'
    >>> format_for("-") is None
    True
    """
    ext = os.path.splitext(os.fspath(path_or_name))[1].lower()
    return _BY_EXTENSION.get(ext)


@dataclass
class ImageData:
    """An image as arrays plus what must survive a round trip through convcli.

    Attributes
    ----------
    frames : list of ndarray
        One ``(H, W, C)`` array per frame (C >= 1), in the native dtype: uint8 (8-bit),
        uint16 (16-bit), int32 (Pillow mode ``I``) or float32 (mode ``F``, float TIFF, .npy).
    layout : str
        What the channels mean: ``"L"``, ``"LA"``, ``"RGB"``, ``"RGBA"``, ``"CMYK"``, or
        ``""`` for arbitrary channels (from .npy or a many-sample TIFF).
    format : str
        The format it was read from: ``"PNG"``, ``"JPEG"``, ``"TIFF"``, ``"BMP"``,
        ``"WEBP"``, ``"GIF"`` or ``"NPY"``.
    mode : str
        The source's original mode, e.g. ``"P"``, ``"I;16"``, ``"1"``, ``"RGB"``
        (informative: the frames are already expanded).
    metadata : dict
        What is written back: ``"icc_profile"`` (bytes), ``"exif"`` (bytes), ``"dpi"``
        (pair of floats), ``"durations"`` (ms per frame), ``"loop"`` (int, 0 = forever),
        ``"geotiff"`` (GeoTIFF tags, :mod:`convcli.images._geotiff`), ``"nodata"`` (float,
        a TIFF's ``GDAL_NODATA``).

    Examples
    --------
    >>> import numpy as np
    >>> image = ImageData([np.zeros((2, 3, 4), np.uint16)], "RGBA", "PNG", "RGBA")
    >>> image.has_alpha, image.max_value, image.frames[0].shape
    (True, 65535.0, (2, 3, 4))
    """

    frames: list[np.ndarray]
    layout: str
    format: str
    mode: str = ""
    metadata: dict = field(default_factory=dict)

    @property
    def has_alpha(self) -> bool:
        """True when the last channel is alpha (layout ``LA`` or ``RGBA``)."""
        return self.layout.endswith("A")

    @property
    def max_value(self) -> float:
        """The value of full intensity for the frames' dtype (1.0 for float)."""
        return _MAX_BY_KIND.get(np.dtype(self.frames[0].dtype), 1.0)

    @property
    def channels(self) -> int:
        """The channel count C of every frame."""
        return int(self.frames[0].shape[2])

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the frames, as Pillow reports it."""
        height, width = self.frames[0].shape[:2]
        return int(width), int(height)
