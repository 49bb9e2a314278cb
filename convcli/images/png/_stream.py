"""A PNG written from bands of rows in order: the same bytes as :func:`_codec.write`.

:func:`write_png_bands` cuts the rows it receives into the pieces
:func:`convcli.images.png._codec.write` would use (they depend on the image size only),
filters and deflates each piece on a thread as soon as its rows (and the row above it)
have arrived, and writes the IDAT chunks in order. Memory holds a few pieces.
"""

from __future__ import annotations

import contextlib
import struct

import numpy as np

from convcli.images.png._chunks import SIGNATURE, make_chunk, metadata_chunks
from convcli.images.png._codec import (
    _COLOUR_TYPE,
    IDAT_BYTES,
    PIECE_BYTES,
    _check,
    _deflate_piece,
    _flush_idat,
    adler32_combine,
    zlib_header,
)
from convcli.parallel import ordered_map


def _pieces(bands, height: int, rows: int):
    """``(block, r0, r1)`` per piece: ``block`` holds rows ``r0 - 1`` (when r0 > 0) to
    ``r1`` of the image, so :func:`_deflate_piece` can run on it alone."""
    pending, start, have = [], 0, 0  # rows start .. start + have are in pending
    r0 = 0
    for band in bands:
        pending.append(band)
        have += band.shape[0]
        while r0 < height and start + have >= min(r0 + rows, height):
            r1 = min(r0 + rows, height)
            block = np.concatenate(pending) if len(pending) > 1 else pending[0]
            first = max(r0 - 1, 0)
            yield block[first - start : r1 - start], r0 - first, r1 - first
            keep = r1 - 1 - start  # the last row stays: the next piece filters against it
            pending, start, have = [block[keep:]], r1 - 1, block.shape[0] - keep
            r0 = r1


def write_png_bands(
    stream,
    bands,
    *,
    shape: tuple[int, int, int],
    dtype,
    metadata: dict | None = None,
    level: int = 6,
    threads: int = 1,
    name: str = "the stream",
) -> None:
    """Write the ``(rows, W, C)`` arrays ``bands`` yields (``H`` rows in all) as a PNG.

    The bytes are those :func:`convcli.images.png._codec.write` writes for the whole
    array. ``shape`` is ``(H, W, C)``; the other parameters as in that function.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from convcli.images.png import _codec
    >>> img = np.random.default_rng(0).integers(0, 256, (50, 7, 3), np.uint8)
    >>> out = io.BytesIO()
    >>> write_png_bands(out, iter([img[:13], img[13:40], img[40:]]), shape=img.shape,
    ...                 dtype=img.dtype)
    >>> out.getvalue() == _codec.encode(img, threads=1)
    True
    """
    height, width, channels = shape
    dtype = np.dtype(dtype)
    _check(np.empty((1, 1, channels), dtype), level, threads, name)
    stride = width * channels * dtype.itemsize
    rows = max(1, PIECE_BYTES // (stride + 1))
    last = (height - 1) // rows
    ihdr = struct.pack(
        ">IIBBBBB", width, height, 8 * dtype.itemsize, _COLOUR_TYPE[channels], 0, 0, 0
    )
    stream.write(SIGNATURE + make_chunk(b"IHDR", ihdr) + b"".join(metadata_chunks(metadata or {})))
    pending, adler = bytearray(zlib_header(level)), 1

    def tasks():
        for i, (block, a, b) in enumerate(_pieces(bands, height, rows)):
            yield block, a, b, level, i == last

    with contextlib.closing(_run(tasks(), threads)) as done:
        for body, piece_adler, length in done:
            adler = adler32_combine(adler, piece_adler, length)
            pending += body
            pending = _flush_idat(stream, pending, IDAT_BYTES)
    pending += struct.pack(">I", adler)
    _flush_idat(stream, pending, 1)
    stream.write(make_chunk(b"IEND", b""))


def _run(tasks, threads: int):
    return ordered_map(_deflate_piece, tasks, threads, "convcli-png")
