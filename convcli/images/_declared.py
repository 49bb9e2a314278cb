"""The decompression-bomb guard of the readers by bands: refuse from the header alone.

An image read band by band needs no pixel limit for memory's sake, but a few kilobytes must
not declare a terabyte: :func:`check_declared` refuses a decoded size that the bytes the
file stores cannot produce through its compression (:data:`DEFLATE_RATIO` for deflate), or,
when the caller gave ``max_pixels``, more pixels than that.
"""

from __future__ import annotations

from convcli.errors import ImageError
from convcli.images._pillow import check_pixels

#: Largest decoded/stored ratio of deflate (1032 in theory), with margin.
DEFLATE_RATIO = 1100.0
#: Decoded sizes up to this many bytes are never refused for their ratio.
SMALL_BYTES = 1 << 24


def check_declared(
    name: str,
    size: tuple[int, int],
    decoded: int,
    stored: int,
    ratio: float,
    max_pixels: int | None,
) -> None:
    """Refuse an image of ``size`` (width, height) whose header is hostile.

    ``decoded`` bytes must come out of ``stored`` bytes of image data expanding at most
    ``ratio`` times; with ``max_pixels`` given, that is the limit instead.

    Raises
    ------
    ImageError
        Naming ``name``, saying how to allow the file if it is trusted.

    Examples
    --------
    >>> check_declared("a.png", (4096, 4096), 50_331_648, 48_000, DEFLATE_RATIO, None)
    >>> check_declared("a.png", (100_000, 100_000), 30_000_100_000, 3_000, DEFLATE_RATIO, None)
    Traceback (most recent call last):
    ...
    convcli.errors.ImageError: cannot read a.png: it declares 100000x100000 pixels (30000100000 bytes decoded) but stores only 3000 bytes of image data, more than its compression can expand (a guard against decompression bombs); if you trust the file, give --max-pixels (max_pixels=) to allow it
    """
    width, height = size
    if max_pixels is not None:
        check_pixels(width * height, max_pixels, name)
        return
    if decoded > ratio * max(stored, 1) and decoded > SMALL_BYTES:
        raise ImageError(
            f"cannot read {name}: it declares {width}x{height} pixels "
            f"({decoded} bytes decoded) but stores only {stored} bytes of image data, more "
            "than its compression can expand (a guard against decompression bombs); if you "
            "trust the file, give --max-pixels (max_pixels=) to allow it"
        )
