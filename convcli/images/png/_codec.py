"""Fast, deterministic PNG: rows filtered in NumPy, deflated in pieces on every core.

Writing: every row gets the PNG filter (None, Sub, Up, Average, Paeth) whose output has
the smallest sum of absolute values (bytes read as signed), the heuristic libpng and
Pillow use, computed on bands of rows at once. The filtered bytes are cut into pieces of
:data:`PIECE_BYTES` (a size that depends on the image only) which are deflated on a thread
pool, each ended by a full flush so that their concatenation is one deflate stream (what
pigz does); the zlib header and the Adler-32 of the whole stream are written here. The
file is therefore byte-identical for any thread count. Deflate is zlib-ng's (the
``zlib-ng`` package): at level 6 it is 2.3x faster than zlib on filtered image rows and
writes slightly smaller files.

Reading: a plain 8-bit or 16-bit grey, grey+alpha, RGB or RGBA PNG (no palette, no
transparent colour, not interlaced, one frame) is decoded by imagecodecs (libpng), faster
than Pillow and with the same pixels; :func:`plain` says which files those are.
"""

from __future__ import annotations

import contextlib
import io
import struct

import numpy as np
from zlib_ng import zlib_ng as zlib

from convcli.errors import ImageError, ParameterError
from convcli.images.png._chunks import SIGNATURE, chunks, decode_pixels, make_chunk, metadata_chunks
from convcli.parallel import get_threads, ordered_map

#: Filtered bytes per deflate piece: large enough that the full flushes cost nothing.
PIECE_BYTES = 4 * 1024 * 1024
#: Raw bytes per filtering band: the band and its candidates stay in the core's cache.
BAND_BYTES = 64 * 1024
#: Largest IDAT chunk body written.
IDAT_BYTES = 256 * 1024
#: libpng's default limit on width and height (larger files are left to Pillow).
_LIBPNG_MAX_SIDE = 1_000_000
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type
_ADLER_BASE = 65521


def _select(mask: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``where(mask, x, y)`` for uint8 arrays by bit masks (several times faster)."""
    m = mask.view(np.uint8)
    np.negative(m, out=m)  # True -> 255
    out = x ^ y
    out &= m
    out ^= y
    return out


def paeth_predictor(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The Paeth predictor of left ``a``, up ``b`` and upper-left ``c`` (uint8 arrays).

    The one of ``a, b, c`` closest to ``p = a + b - c``, ties going to ``a`` then ``b``,
    computed without leaving uint8: ``|p - a| = |b - c|``, ``|p - b| = |a - c|``, and
    ``|p - c|`` is their sum when ``b - c`` and ``a - c`` have the same sign, else the
    difference of their absolute values.

    Examples
    --------
    >>> import numpy as np
    >>> u = lambda *v: np.array(v, np.uint8)
    >>> paeth_predictor(u(30, 10, 10), u(20, 20, 20), u(20, 12, 15)).tolist()  # a, b, c
    [30, 20, 15]
    """
    pa = np.maximum(b, c)
    pa -= np.minimum(b, c)
    pb = np.maximum(a, c)
    pb -= np.minimum(a, c)
    small, spread = np.minimum(pa, pb), np.maximum(pa, pb)
    spread -= small
    not_c = np.less_equal(small, spread)
    not_c |= np.equal(np.greater_equal(b, c), np.greater_equal(a, c))
    return _select(not_c, _select(np.less_equal(pa, pb), a, b), c)


def _cost(filtered: np.ndarray) -> np.ndarray:
    """Per row: the sum of the bytes read as signed, in absolute value (libpng's heuristic)."""
    return np.add.reduce(np.minimum(filtered, np.negative(filtered)), axis=1, dtype=np.uint64)


def filter_rows(rows: np.ndarray, above: np.ndarray, bpp: int, out: np.ndarray) -> None:
    """Filter ``rows`` (R, S) uint8 into ``out`` (R, S + 1): filter type byte, then data.

    ``above`` (R, S) holds the row above each row (zeros above the first row of the
    image); ``bpp`` is the bytes per pixel. Each row gets the filter with the smallest
    :func:`_cost`, the first of None, Sub, Up, Average, Paeth on ties.

    Examples
    --------
    >>> import numpy as np
    >>> rows = np.array([[1, 2, 3, 4], [1, 2, 3, 4]], np.uint8)
    >>> above = np.array([[0, 0, 0, 0], [1, 2, 3, 4]], np.uint8)
    >>> out = np.empty((2, 5), np.uint8)
    >>> filter_rows(rows, above, 1, out)
    >>> out.tolist()  # Sub for the first row, Up for the second
    [[1, 1, 1, 1, 1], [2, 0, 0, 0, 0]]
    """
    x, a, b, c = rows[:, bpp:], rows[:, :-bpp], above[:, bpp:], above[:, :-bpp]
    candidates = np.empty((4, *rows.shape), np.uint8)  # Sub, Up, Average, Paeth
    sub, up, average, paeth = candidates
    sub[:, :bpp] = rows[:, :bpp]  # left of the first pixel is 0
    np.subtract(x, a, out=sub[:, bpp:])
    np.subtract(rows, above, out=up)
    np.subtract(rows[:, :bpp], above[:, :bpp] >> 1, out=average[:, :bpp])
    mean = a & b
    mean += (a ^ b) >> 1  # floor((a + b) / 2) without overflow
    np.subtract(x, mean, out=average[:, bpp:])
    paeth[:, :bpp] = up[:, :bpp]  # with a = c = 0 the predictor is b
    np.subtract(x, paeth_predictor(a, b, c), out=paeth[:, bpp:])
    costs = np.stack([_cost(rows), *(_cost(f) for f in candidates)])
    best = costs.argmin(axis=0)
    out[:, 0] = best
    out[:, 1:] = rows
    for kind in range(1, 5):
        chosen = best == kind
        if chosen.any():
            out[chosen, 1:] = candidates[kind - 1][chosen]


def _raw_rows(array: np.ndarray, r0: int, r1: int) -> np.ndarray:
    """Rows ``r0:r1`` of an (H, W, C) array as (rows, W * C * itemsize) big-endian bytes."""
    rows = np.ascontiguousarray(array[r0:r1], dtype=array.dtype.newbyteorder(">"))
    return rows.view(np.uint8).reshape(r1 - r0, -1)


def _deflate_piece(array: np.ndarray, r0: int, r1: int, level: int, last: bool):
    """Filter and deflate rows ``r0:r1``: ``(raw deflate bytes, adler32, length)``."""
    bpp = array.shape[2] * array.dtype.itemsize
    source = _raw_rows(array, max(r0 - 1, 0), r1)
    if r0 == 0:
        source = np.concatenate([np.zeros_like(source[:1]), source])
    stride = source.shape[1]
    filtered = np.empty((r1 - r0, stride + 1), np.uint8)
    band = max(1, BAND_BYTES // stride)
    for i in range(0, r1 - r0, band):
        j = min(i + band, r1 - r0)
        filter_rows(source[i + 1 : j + 1], source[i:j], bpp, filtered[i:j])
    # raw deflate (the zlib header and Adler-32 are written once for all pieces); the
    # strategy for filtered data, as libpng and Pillow use
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 8, zlib.Z_FILTERED)
    body = compressor.compress(filtered) + compressor.flush(
        zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH
    )
    return body, zlib.adler32(filtered), filtered.size


def adler32_combine(first: int, second: int, length: int) -> int:
    """The Adler-32 of ``A + B`` from those of ``A`` and of ``B`` (``length`` bytes).

    Examples
    --------
    >>> import zlib
    >>> adler32_combine(zlib.adler32(b"png "), zlib.adler32(b"rows"), 4) == zlib.adler32(
    ...     b"png rows")
    True
    """
    a1, b1 = first & 0xFFFF, first >> 16
    a2, b2 = second & 0xFFFF, second >> 16
    low = (a1 + a2 - 1) % _ADLER_BASE
    high = (b1 + b2 + length * (a1 - 1)) % _ADLER_BASE
    return low | high << 16


def zlib_header(level: int) -> bytes:
    """The two bytes zlib writes before a deflate stream of ``level`` (32 KiB window).

    Examples
    --------
    >>> zlib_header(6).hex(), zlib_header(9).hex(), zlib_header(1).hex()
    ('789c', '78da', '7801')
    """
    flags = 0 if level < 2 else 1 if level < 6 else 2 if level == 6 else 3
    header = 0x7800 | flags << 6
    return struct.pack(">H", header + 31 - header % 31)


def _check(array, level, threads, name: str) -> None:
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 0 <= level <= 9:
        raise ParameterError(f"PNG compression level must be an integer from 0 to 9, got {level!r}")
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise ParameterError(f"threads must be a positive int, got {threads!r}")
    shape: tuple[int, ...] = tuple(getattr(array, "shape", ()))
    if len(shape) != 3 or not 1 <= shape[2] <= 4 or array.dtype not in (np.uint8, np.uint16):
        raise ImageError(
            f"cannot write {name}: PNG holds (H, W, C) uint8 or uint16 arrays with 1 to 4 "
            f"channels; got {shape} {getattr(array, 'dtype', type(array).__name__)}"
        )
    if not (1 <= shape[0] < 2**31 and 1 <= shape[1] < 2**31):
        raise ImageError(
            f"cannot write {name}: PNG needs 1 to 2**31 - 1 rows and columns; "
            f"this image is {shape[1]}x{shape[0]}"
        )


def write(
    stream,
    array: np.ndarray,
    metadata: dict | None = None,
    *,
    level: int = 6,
    threads: int | None = None,
    name: str = "the stream",
) -> None:
    """Write ``array`` as a PNG to the binary ``stream``, piece by piece.

    Parameters
    ----------
    stream : binary file object
        Written to sequentially; memory stays a few pieces whatever the image size.
    array : ndarray
        ``(H, W, C)`` uint8 or uint16 with C = 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA).
    metadata : dict, optional
        ``icc_profile`` (iCCP), ``exif`` (eXIf) and ``dpi`` (pHYs) as in ImageData.
    level : int
        zlib compression level, 0 to 9 (default 6, as Pillow and libpng).
    threads : int, optional
        Threads deflating pieces; default the engine's (``CONVCLI_THREADS``, else every
        core). The bytes written do not depend on it.
    name : str
        The destination, for error messages.

    Raises
    ------
    ImageError
        Naming ``name``: an array PNG cannot hold (wrong dtype, channels, empty).
    ParameterError
        ``level`` or ``threads`` out of range.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from PIL import Image
    >>> buffer = io.BytesIO()
    >>> write(buffer, np.arange(12, dtype=np.uint8).reshape(2, 2, 3))
    >>> np.asarray(Image.open(buffer)).tolist()
    [[[0, 1, 2], [3, 4, 5]], [[6, 7, 8], [9, 10, 11]]]
    """
    _check(array, level, threads, name)
    if threads is None:
        threads = get_threads()
    height, width, channels = array.shape
    stride = width * channels * array.dtype.itemsize
    rows = max(1, PIECE_BYTES // (stride + 1))
    pieces = [(r0, min(r0 + rows, height)) for r0 in range(0, height, rows)]
    ihdr = struct.pack(
        ">IIBBBBB", width, height, 8 * array.dtype.itemsize, _COLOUR_TYPE[channels], 0, 0, 0
    )
    stream.write(SIGNATURE + make_chunk(b"IHDR", ihdr) + b"".join(metadata_chunks(metadata or {})))
    pending, adler = bytearray(zlib_header(level)), 1
    with contextlib.closing(_deflated(array, pieces, level, min(threads, len(pieces)))) as done:
        for body, piece_adler, length in done:
            adler = adler32_combine(adler, piece_adler, length)
            pending += body
            pending = _flush_idat(stream, pending, IDAT_BYTES)
    pending += struct.pack(">I", adler)
    _flush_idat(stream, pending, 1)
    stream.write(make_chunk(b"IEND", b""))


def _deflated(array, pieces, level: int, threads: int):
    """Yield :func:`_deflate_piece` of every piece in order, ``threads`` at a time."""
    tasks = [(array, r0, r1, level, i == len(pieces) - 1) for i, (r0, r1) in enumerate(pieces)]
    return ordered_map(_deflate_piece, tasks, threads, "convcli-png")


def _flush_idat(stream, pending: bytearray, least: int) -> bytearray:
    """Write IDAT chunks of :data:`IDAT_BYTES` while ``least`` bytes are left; the rest."""
    view, start = memoryview(pending), 0
    while len(pending) - start >= least:
        end = min(start + IDAT_BYTES, len(pending))
        stream.write(make_chunk(b"IDAT", bytes(view[start:end])))
        start = end
    view.release()
    return pending[start:]


def encode(
    array: np.ndarray, metadata: dict | None = None, *, level: int = 6, threads: int | None = None
) -> bytes:
    """The PNG of ``array`` as bytes (see :func:`write`).

    Examples
    --------
    >>> import numpy as np
    >>> data = encode(np.zeros((1, 1, 1), np.uint8))
    >>> data[:8] == SIGNATURE, [kind for kind, _ in chunks(data)]
    (True, [b'IHDR', b'IDAT', b'IEND'])
    """
    buffer = io.BytesIO()
    write(buffer, array, metadata, level=level, threads=threads)
    return buffer.getvalue()


def plain(data: bytes) -> bool:
    """True for a PNG imagecodecs decodes exactly as Pillow would (see the module doc).

    8 or 16 bits, grey, grey+alpha, RGB or RGBA, not interlaced, within libpng's default
    size limit, no transparent colour (tRNS), no animation (acTL) and no EXIF after the
    pixels (which Pillow only reads while decoding them).

    Examples
    --------
    >>> import numpy as np
    >>> plain(encode(np.zeros((2, 2, 3), np.uint8))), plain(b"GIF89a")
    (True, False)
    """
    if not data.startswith(SIGNATURE) or len(data) < 33 or data[12:16] != b"IHDR":
        return False
    return plain_chunks(data[16:29], (bytes(kind) for kind, _ in chunks(memoryview(data))))


def plain_chunks(ihdr: bytes, kinds) -> bool:
    """:func:`plain` from the IHDR body and the chunk types in file order (an iterable).

    Examples
    --------
    >>> ihdr = struct.pack(">IIBBBBB", 4, 4, 16, 6, 0, 0, 0)  # 16-bit RGBA
    >>> plain_chunks(ihdr, [b"IHDR", b"eXIf", b"IDAT", b"IEND"])
    True
    >>> plain_chunks(ihdr, [b"IHDR", b"IDAT", b"eXIf", b"IEND"])  # EXIF after the pixels
    False
    """
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", ihdr)
    if depth not in (8, 16) or colour not in (0, 2, 4, 6) or interlace:
        return False
    if not (width <= _LIBPNG_MAX_SIDE and height <= _LIBPNG_MAX_SIDE):
        return False
    seen_pixels = False
    for kind in kinds:
        seen_pixels = seen_pixels or kind == b"IDAT"
        if kind in (b"tRNS", b"acTL") or seen_pixels and kind == b"eXIf":
            return False
    return True


def decode(data: bytes, name: str) -> np.ndarray:
    """The pixels of a :func:`plain` PNG as an ``(H, W, C)`` uint8 or uint16 array.

    Raises
    ------
    ImageError
        Naming ``name``: truncated or corrupt pixel data.

    Examples
    --------
    >>> import numpy as np
    >>> rgba = np.arange(24, dtype=np.uint16).reshape(2, 3, 4) * 1000
    >>> np.array_equal(decode(encode(rgba), "a.png"), rgba)
    True
    """
    array = decode_pixels(data, name)
    return np.ascontiguousarray(array.reshape(array.shape[0], array.shape[1], -1))
