"""Image I/O: files and streams to arrays and back, keeping what a round trip needs.

The only part of convcli that imports Pillow (and the codec libraries for 16-bit PNG and
TIFF). :func:`read_image` turns a file or stream into :class:`ImageData` (frames as
``(H, W, C)`` arrays in their native dtype, plus layout, format, mode and metadata);
:func:`write_image` writes it back, atomically for a path.
"""

from __future__ import annotations

from convcli.images._data import FORMATS, ImageData, format_for
from convcli.images._read import read_image
from convcli.images._write import write_image

__all__ = ["FORMATS", "ImageData", "format_for", "read_image", "write_image"]
