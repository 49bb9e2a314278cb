"""Is this an image? Decided from the first bytes, before reading the rest.

libvips and ImageMagick look at a file's first bytes and stop when no format claims them;
convcli does the same, so ``/dev/zero``, an endless pipe of text or a multi-gigabyte file
of something else is refused after a few bytes instead of being read to the end.
"""

from __future__ import annotations

import io

from PIL import Image

from convcli.images._npy import MAGIC as NPY_MAGIC

#: Bytes a format check looks at (Pillow's ``Image.open`` decides from 16).
PREFIX = 16
#: Bytes read for the formats Pillow identifies by opening their header (TGA, ...).
HEADER = 1 << 16
#: Magic numbers of the formats convcli reads most (a quick yes before asking Pillow).
_COMMON = (
    NPY_MAGIC,
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",
    b"MM\x00*",
    b"II+\x00",
    b"MM\x00+",
    b"BM",
)
#: What to say when nothing claims the bytes.
NOT_AN_IMAGE = "not an image convcli can read (PNG, JPEG, TIFF, BMP, WebP, GIF or .npy)"


def _accepts(accept, prefix: bytes) -> bool:
    try:
        answer = accept(prefix)
    except Exception:  # noqa: BLE001 - some checks fail on a prefix shorter than they read
        return False
    return bool(answer) and not isinstance(answer, str)  # a str: "plugin not available"


def claimed(head: bytes) -> bool:
    """True when a format convcli reads (through Pillow or its own .npy reader) may start
    with ``head`` (the first :data:`HEADER` bytes, or all of a shorter input).

    Examples
    --------
    >>> claimed(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8)), claimed(bytes(64)), claimed(b"hello")
    (True, False, False)
    """
    if head.startswith(_COMMON) or head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True  # without loading every Pillow plugin
    Image.init()
    prefix = head[:PREFIX]
    without_check = []
    for kind in Image.ID:
        _, accept = Image.OPEN[kind]
        if accept is None:
            without_check.append(kind)
        elif _accepts(accept, prefix):
            return True
    if not without_check:
        return False
    try:  # formats without a magic number: does the header parse?
        Image.open(io.BytesIO(head), formats=without_check).close()
    except Exception:  # noqa: BLE001 - any refusal means "not this format"
        return False
    return True
