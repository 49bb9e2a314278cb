"""A PNG read by bands of rows: the file is never whole in memory, nor its pixels.

:func:`open_png_rows` opens a plain PNG file (what :func:`convcli.images.png._codec.plain`
accepts: 8 or 16 bits, L, LA, RGB or RGBA, not interlaced, no transparent colour, one frame)
by walking its chunk headers with seeks, and returns a :class:`PngRows` whose
:meth:`PngRows.rows` gives rows ``r0:r1`` in the order a band reader asks for them.

Neither Pillow nor libpng (through imagecodecs) decodes part of an image, so the work is
split: the IDAT chunks are read from the file as they are needed (each checked against its
CRC), zlib inflates just enough of them for the rows asked, and libpng undoes the row filters
(None, Sub, Up, Average, Paeth) of a piece of rows at a time. Each piece goes to libpng as a
small PNG of its own: the same header with fewer rows, one IDAT holding the filtered rows
deflated at level 0 (stored blocks: a copy), and IEND. A piece after the first starts with
the row above it (filter None), which the Up, Average and Paeth filters of its first row
read, and that row is dropped from the result. The pixels are libpng's, so they are those
of the whole-image decode (:func:`convcli.images.read_image`), bit for bit; the metadata
(ICC profile, EXIF, DPI) is Pillow's reading of the header chunks, as there.

The decompression-bomb guard reads the chunk headers only: the rows declared must be
inflatable from the IDAT bytes the file holds (:mod:`convcli.images._declared`).
"""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass
from typing import cast

import numpy as np
from PIL import Image
from zlib_ng import zlib_ng as zlib

from convcli.errors import ImageError
from convcli.images._declared import DEFLATE_RATIO, check_declared
from convcli.images._pillow import _pillow_limit, metadata_of
from convcli.images.png._chunks import SIGNATURE, make_chunk
from convcli.images.png._codec import plain_chunks

#: Filtered bytes libpng reconstructs at a time (one small PNG).
PIECE_BYTES = 1 << 20
#: Largest read of compressed bytes from the file.
READ_BYTES = 1 << 20
#: Bytes of the last rows given that are kept for the next request (bands overlap).
KEEP_BYTES = 32 << 20
_LAYOUTS = {0: "L", 4: "LA", 2: "RGB", 6: "RGBA"}
_IEND = make_chunk(b"IEND", b"")
#: zlib-ng's error class (its stub declares an instance).
_ZLIB_ERROR = cast("type[Exception]", zlib.error)


@dataclass
class _Header:
    """What the chunk walk found: the IHDR body, the first IDAT's offset and the IDAT
    bytes the file holds."""

    ihdr: bytes
    first_idat: int
    stored: int


def _crc_ok(handle, kind: bytes, length: int) -> bool:
    """True when the chunk body at the handle's position matches the CRC after it."""
    crc, left = zlib.crc32(kind), length
    while left:
        piece = handle.read(min(left, READ_BYTES))
        if not piece:
            return False
        crc, left = zlib.crc32(piece, crc), left - len(piece)
    return handle.read(4) == struct.pack(">I", crc & 0xFFFFFFFF)


def _walk(handle, size: int) -> _Header | None:
    """The header of a plain PNG, from its chunk headers (IDAT bodies are skipped with a
    seek, the other chunks' CRCs are checked); None for anything else."""
    if handle.read(8) != SIGNATURE:
        return None
    offset, kinds, ihdr, first, stored = 8, [], b"", 0, 0
    while offset + 8 <= size:
        handle.seek(offset)
        length, kind = struct.unpack(">I4s", handle.read(8))
        if offset == 8:
            if kind != b"IHDR" or length != 13:
                return None
            ihdr = handle.read(13)
            handle.seek(offset + 8)
        kinds.append(kind)
        if kind == b"IDAT":
            first = first or offset
            stored += min(length, size - offset - 8)
        elif not _crc_ok(handle, kind, length):
            return None  # the whole-image reader reports it
        if kind == b"IEND":
            break
        offset += 12 + length
    if not ihdr or not first or not plain_chunks(ihdr, kinds):
        return None
    return _Header(ihdr, first, stored)


def open_png_rows(path, name: str, max_pixels: int | None = None) -> PngRows | None:
    """A :class:`PngRows` for the PNG file at ``path``, or None when it is not one it reads.

    None means: not a regular file, not a PNG, not a plain one (see the module docstring),
    a damaged header or a chunk failing its CRC; the caller reads the file whole instead,
    which reports what is wrong.

    Parameters
    ----------
    path : str or os.PathLike
    name : str
        For error messages.
    max_pixels : int, optional
        Refuse more pixels than this. None: no pixel limit, only the guard against a
        declared size the file cannot hold (:func:`convcli.images._declared.check_declared`).

    Raises
    ------
    ImageError
        From the guard: refused from the header, before any pixel is decoded.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        handle = open(path, "rb")  # noqa: SIM115 - owned by the PngRows returned
    except (OSError, ValueError):
        return None
    try:
        header = _walk(handle, os.fstat(handle.fileno()).st_size)
        if header is None:
            handle.close()
            return None
        with _pillow_limit(None), Image.open(path) as image:  # the header chunks only
            mode, metadata = image.mode, metadata_of(image)
    except Exception:  # unreadable or a damaged header: the whole-image reader reports it
        handle.close()
        return None
    reader = PngRows(handle, header, mode, metadata, name)
    try:
        decoded = reader.height * (reader.stride + 1)  # filtered rows, as inflated
        size = (reader.width, reader.height)
        check_declared(name, size, decoded, header.stored, DEFLATE_RATIO, max_pixels)
    except BaseException:
        reader.close()
        raise
    return reader


class PngRows:
    """Rows of one PNG file, decoded band by band (see the module docstring).

    :meth:`rows` must be asked for bands going down the image (each ``r0`` at least the
    previous one's), as :func:`convcli.filtering._stream.filtered_bands` does from its one
    reader thread; overlapping rows are served from the end of the previous band.

    Attributes
    ----------
    height, width, channels : int
    format : str
        ``'PNG'``.
    dtype : numpy.dtype
        uint8 or uint16.
    layout, mode : str
        As :func:`convcli.images.read_image` gives them.
    metadata : dict
        ``icc_profile``, ``exif`` and ``dpi``, as :func:`read_image` gives them.
    stored : None
        No storage layout to keep (TIFF readers have one).
    stride : int
        Bytes per row of pixels.
    """

    def __init__(self, handle, header: _Header, mode: str, metadata: dict, name: str):
        width, height, depth, colour = struct.unpack(">IIBB", header.ihdr[:10])
        self._handle, self._header, self.name = handle, header, name
        self.format, self.stored = "PNG", None
        self.height, self.width = height, width
        self.layout = _LAYOUTS[colour]
        self.channels = len(self.layout)
        self.dtype = np.dtype(np.uint8 if depth == 8 else np.uint16)
        self.mode = f"{self.layout};16" if depth == 16 and colour != 0 else mode
        self.metadata = metadata
        self.stride = width * self.channels * self.dtype.itemsize
        self._piece_rows = max(1, PIECE_BYTES // (self.stride + 1))
        self._keep_rows = max(1, KEEP_BYTES // self.stride)
        self._last_r0 = 0
        self._start()

    def close(self) -> None:
        """Close the file."""
        self._handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        """Go to the first row: the first IDAT chunk, a new inflater."""
        self._handle.seek(self._header.first_idat)
        self._inflater = zlib.decompressobj()
        self._input = b""  # compressed bytes read and not yet inflated
        self._chunk_at, self._chunk_left, self._crc = 0, 0, 0
        self._idat_done = False
        self._next = 0  # the next row to inflate
        self._inflated = 0  # bytes of filtered rows inflated
        self._above = b""  # row _next - 1 as stored (PNG byte order)
        self._kept: np.ndarray | None = None  # the last rows given, up to row _next

    # --- the compressed stream ---------------------------------------------------------

    def _error(self, detail: str) -> ImageError:
        return ImageError(
            f"cannot read {self.name}: truncated or corrupt image data ({detail}); "
            "re-export or re-download it"
        )

    def _read(self, count: int) -> bytes:
        data = self._handle.read(count)
        if len(data) < count:
            raise self._error(f"the file ends inside PNG chunk IDAT at byte {self._chunk_at}")
        return data

    def _compressed(self) -> bytes:
        """The next bytes of IDAT data (b"" after the last IDAT chunk), each chunk's CRC
        checked as soon as it has been read."""
        while not self._chunk_left:
            if self._idat_done:
                return b""
            at = self._handle.tell()
            head = self._handle.read(8)
            if len(head) < 8 or head[4:] != b"IDAT":
                self._idat_done = True
                return b""
            self._chunk_at, self._crc = at, zlib.crc32(b"IDAT")
            self._chunk_left = struct.unpack(">I", head[:4])[0]
            if not self._chunk_left:
                self._check_crc()
        piece = self._read(min(self._chunk_left, READ_BYTES))
        self._crc = zlib.crc32(piece, self._crc)
        self._chunk_left -= len(piece)
        if not self._chunk_left:
            self._check_crc()
        return piece

    def _check_crc(self) -> None:
        if self._read(4) != struct.pack(">I", self._crc & 0xFFFFFFFF):
            raise self._error(f"PNG chunk IDAT at byte {self._chunk_at} fails its CRC check")

    def _corrupt(self, exc: Exception, rows: tuple[int, int]) -> ImageError:
        """The error for data zlib or libpng refused; a chunk that fails its CRC (read to
        its end) is named instead, as the whole-image reader does."""
        while self._chunk_left:
            self._compressed()
        return self._error(f"rows {rows[0]}-{rows[1]}: {exc}")

    def _inflate(self, out: memoryview, rows: tuple[int, int]) -> None:
        """Fill ``out`` with the next inflated (filtered) bytes."""
        have = 0
        while have < len(out):
            if not self._input:
                self._input = b"" if self._inflater.eof else self._compressed()
                if not self._input:
                    row = self._inflated // (self.stride + 1)
                    raise self._error(f"the image data ends at row {row} of {self.height}")
            try:
                got = self._inflater.decompress(self._input, len(out) - have)
            except _ZLIB_ERROR as exc:
                raise self._corrupt(exc, rows) from None
            self._input = b"" if self._inflater.eof else self._inflater.unconsumed_tail
            out[have : have + len(got)] = got
            have += len(got)
            self._inflated += len(got)

    def _finish(self) -> None:
        """After the last row: the rest of the zlib stream (its Adler-32 checked, as libpng
        does) and of the IDAT chunks (their CRCs checked); surplus data is ignored."""
        rows = (self.height, self.height)
        while not self._inflater.eof:
            if not self._input:
                self._input = self._compressed()
                if not self._input:
                    raise self._error("the image data ends before its zlib stream does")
            try:
                self._inflater.decompress(self._input, 1 << 16)
            except _ZLIB_ERROR as exc:
                raise self._corrupt(exc, rows) from None
            self._input = b"" if self._inflater.eof else self._inflater.unconsumed_tail
        while self._compressed():
            pass

    # --- rows --------------------------------------------------------------------------

    def _decode(self, count: int) -> np.ndarray:
        """The next ``count`` rows, inflated and unfiltered by libpng."""
        import imagecodecs  # noqa: PLC0415 - lazy: 30 ms of imports, for PNG decoding only

        line, above = self.stride + 1, 1 if self._next else 0
        prefix = b"\x00" + self._above if above else b""  # filter None, the row above
        ihdr = struct.pack(">II", self.width, above + count) + self._header.ihdr[8:]
        piece, blocks = _piece_png(ihdr, line * (above + count))
        rows = (self._next, self._next + count)
        done = 0
        for block in blocks:  # the prefix, then the inflated rows, straight into place
            head = max(0, min(len(block), len(prefix) - done))
            block[:head] = prefix[done : done + head]
            if head < len(block):
                self._inflate(block[head:], rows)
            done += len(block)
        _seal(piece, blocks)
        try:
            pixels = imagecodecs.png_decode(piece)
        except Exception as exc:  # imagecodecs raises its own PngError for corrupt data
            raise self._corrupt(exc, rows) from None
        del piece, blocks
        pixels = pixels.reshape(above + count, self.width, self.channels)[above:]
        last = pixels[-1]
        self._above = (last if self.dtype.itemsize == 1 else last.astype(">u2")).tobytes()
        self._next += count
        if self._next == self.height:
            self._finish()
        return pixels

    def rows(self, r0: int, r1: int) -> np.ndarray:
        """Rows ``r0:r1`` as an ``(r1 - r0, W, C)`` array of :attr:`dtype`.

        Raises
        ------
        ImageError
            Naming the file: truncated or corrupt image data (a chunk cut short or failing
            its CRC, data zlib or libpng refuses, too few rows).
        RuntimeError
            ``r0`` is above the previous request's: the reader only goes down the image.
        """
        if not 0 <= r0 < r1 <= self.height:
            raise ValueError(f"rows {r0}-{r1} are not inside the image's {self.height} rows")
        if r0 < self._last_r0:
            raise RuntimeError(
                f"PngRows.rows({r0}, {r1}) after a request from row {self._last_r0}: a PNG "
                "is read down the image, each band starting at or below the previous one"
            )
        self._last_r0 = r0
        out = np.empty((r1 - r0, self.width, self.channels), self.dtype)
        kept = self._kept
        first_kept = self._next - (0 if kept is None else len(kept))
        if kept is not None and first_kept <= r0 < self._next:
            n = min(r1, self._next) - r0
            out[:n] = kept[r0 - first_kept : r0 - first_kept + n]
        elif r0 < self._next:  # rows given too long ago (a reach beyond KEEP_BYTES)
            self._start()
        if r1 <= self._next:
            return out
        while self._next < r1:  # rows above r0 are decoded and dropped
            a = self._next
            pixels = self._decode(min(self._piece_rows, r1 - a))
            if self._next > r0:
                lo = max(a, r0)
                out[lo - r0 : self._next - r0] = pixels[lo - a :]
        keep = min(r1 - r0, self._keep_rows)
        self._kept = out[r1 - r0 - keep :].copy()
        return out


#: Bytes of a stored (level 0) deflate block.
_BLOCK = 65535
#: Where the IDAT chunk's type starts in a piece: after the signature, IHDR and a length.
_IDAT_AT = len(SIGNATURE) + 25 + 4


def _piece_png(ihdr: bytes, size: int) -> tuple[bytearray, list[memoryview]]:
    """A PNG of IHDR body ``ihdr`` whose one IDAT holds ``size`` bytes of scanlines in
    stored deflate blocks, in one buffer; and the views of the buffer where the scanlines
    go, in order (a block each). Fill them, then :func:`_seal` it.

    Examples
    --------
    >>> import numpy as np, imagecodecs
    >>> piece, blocks = _piece_png(struct.pack(">IIBBBBB", 2, 1, 8, 0, 0, 0, 0), 3)
    >>> blocks[0][:] = bytes([1, 7, 5])  # filter Sub: 7, 7 + 5
    >>> _seal(piece, blocks)
    >>> imagecodecs.png_decode(piece).tolist()
    [[7, 12]]
    """
    count = max(1, -(-size // _BLOCK))
    body = 2 + size + 5 * count + 4  # zlib header, blocks, Adler-32
    piece = bytearray(_IDAT_AT + 4 + body + 4 + len(_IEND))
    head = SIGNATURE + make_chunk(b"IHDR", ihdr) + struct.pack(">I", body) + b"IDAT\x78\x01"
    piece[: len(head)] = head
    piece[-len(_IEND) :] = _IEND
    view, blocks, at = memoryview(piece), [], len(head)
    for i in range(count):
        n = min(_BLOCK, size - i * _BLOCK)
        struct.pack_into("<BHH", piece, at, i == count - 1, n, n ^ 0xFFFF)
        blocks.append(view[at + 5 : at + 5 + n])
        at += 5 + n
    return piece, blocks


def _seal(piece: bytearray, blocks: list[memoryview]) -> None:
    """Write the Adler-32 and the CRC of a filled :func:`_piece_png`."""
    adler = 1
    for block in blocks:
        adler = zlib.adler32(block, adler)
    end = len(piece) - len(_IEND) - 4  # the IDAT chunk's CRC
    struct.pack_into(">I", piece, end - 4, adler)
    crc = zlib.crc32(memoryview(piece)[_IDAT_AT:end])
    struct.pack_into(">I", piece, end, crc & 0xFFFFFFFF)
