"""An 8-bit PNG file handed out by bands of rows, without a second whole copy.

PNG cannot be decoded by rows from Python at a useful speed (un-filtering the Average and
Paeth rows runs pixel by pixel), so the image is decoded whole, once: by Pillow, which
reads the file in small pieces (the faster imagecodecs path needs the whole file in memory
beside the pixels: file size + decoded size). :meth:`PngRows.rows` copies only the rows
asked for out of Pillow's image. Peak memory: the decoded image plus a few bands.
"""

from __future__ import annotations

import mmap

import numpy as np

from convcli.errors import ImageError
from convcli.images import _pillow as pillow_io
from convcli.images.png._chunks import SIGNATURE, check_crcs

_CHANNELS = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}


class PngRows:
    """Rows of an 8-bit grey, grey+alpha, RGB or RGBA PNG (see the module docstring).

    Attributes as :class:`convcli.images._tiff_stream.TiffRows` has them (``stored`` is
    None: there is no TIFF layout to keep).
    """

    format = "PNG"
    stored = None

    def __init__(self, image, name: str):
        self._image, self.name = image, name
        self.width, self.height = image.size
        self.layout = self.mode = image.mode
        self.channels = _CHANNELS[image.mode]
        self.dtype = np.dtype(np.uint8)
        self.metadata = pillow_io.metadata_of(image)

    def rows(self, r0: int, r1: int) -> np.ndarray:
        """Rows ``r0:r1`` as an ``(r1 - r0, W, C)`` uint8 array."""
        band = np.asarray(self._image.crop((0, r0, self.width, r1)))
        return band.reshape(r1 - r0, self.width, self.channels)

    def close(self) -> None:
        """Release the decoded image."""
        self._image.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _simple_header(head: bytes) -> bool:
    """An 8-bit, non-interlaced grey, grey+alpha, RGB or RGBA PNG's signature and IHDR."""
    if len(head) < 33 or not head.startswith(SIGNATURE) or head[12:16] != b"IHDR":
        return False
    depth, colour, interlace = head[24], head[25], head[28]
    return depth == 8 and colour in (0, 2, 4, 6) and interlace == 0


def open_png_rows(path, name: str, max_pixels: int | None) -> PngRows | None:
    """A :class:`PngRows` for a one-frame 8-bit L/LA/RGB/RGBA PNG at ``path``, else None.

    None for anything else (16-bit, palette, transparent colour, animation, not a PNG):
    the caller reads the file the usual way. ``max_pixels`` as :func:`read_image` (the
    decoded image is whole).

    Raises
    ------
    ImageError
        Naming ``name``: over the pixel limit, or damaged pixel data.
    """
    from PIL import Image

    try:
        with open(path, "rb") as handle:
            head = handle.read(33)
            if not _simple_header(head):
                return None
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                check_crcs(data, name)  # as read_image does; the file is not read into memory
        image = Image.open(path)
    except ImageError:
        raise
    except Exception:  # the usual reader reports what is wrong
        return None
    simple = (
        image.format == "PNG"
        and image.mode in _CHANNELS
        and not getattr(image, "is_animated", False)
        and "transparency" not in image.info
        and not image.info.get("interlace")
    )
    if not simple:
        image.close()
        return None
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    try:
        pillow_io.check_pixels(image.size[0] * image.size[1], limit, name)
        with pillow_io._pillow_limit(limit):
            image.load()
    except ImageError:
        image.close()
        raise
    except Exception as exc:  # Pillow raises many kinds for damaged data
        image.close()
        raise ImageError(
            f"cannot read {name}: truncated or corrupt image data ({exc}); "
            "re-export or re-download it"
        ) from None
    return PngRows(image, name)
