"""NumPy-free choices for TIFF output (the command line builds its help from them)."""

from __future__ import annotations

#: ``--compression`` names -> TIFF Compression tag values (``deflate`` and ``zlib`` are one).
TIFF_COMPRESSIONS: dict[str, int] = {
    "none": 1,
    "deflate": 8,
    "zlib": 8,
    "lzw": 5,
    "zstd": 50000,
    "lzma": 34925,
    "packbits": 32773,
    "jpeg": 7,
    "webp": 50001,
}
