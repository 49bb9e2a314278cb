"""A TIFF read by bands of rows: only the strips or tiles a band covers are decoded.

:func:`open_tiff_rows` opens a single-image TIFF file (strips or tiles, any compression
tifffile and imagecodecs decode, BigTIFF, planar or contiguous samples) and returns a
:class:`TiffRows` whose :meth:`TiffRows.rows` decodes rows ``r0:r1`` from the file on
demand, in the sample types :func:`convcli.images.read_image` gives (float samples as
float32, 8- and 16-bit signed as int32). Nothing holds the whole image.

What it keeps for the writer (:mod:`convcli.images._tiff_sink`): compression, predictor,
tiling or rows per strip, BigTIFF, and the tags a user relies on (ICC profile, resolution,
ImageDescription, Software, DateTime, Artist, Copyright, GeoTIFF and GDAL tags).

The decompression-bomb guard reads the header only: the strips or tiles must lie inside
the file, and the decoded size may not exceed what the compression can produce from the
bytes stored (:data:`MAX_RATIO`), so a few kilobytes cannot declare a terabyte.
"""

from __future__ import annotations

import math
import os
import stat
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from convcli.errors import ImageError
from convcli.images import _tiff  # noqa: F401  (silences tifffile's logger)
from convcli.images._declared import DEFLATE_RATIO, check_declared
from convcli.images._pillow import default_pixel_limit
from convcli.images._tiff_ifd import SUB_IFDS, RawIfd, read_ifd

#: Largest decoded/stored ratio each compression can reach (with margin): none 1, PackBits
#: 128/2, deflate 1032, LZW about 2700 (12-bit codes for strings of up to 4096 bytes);
#: others (zstd, LZMA, JPEG, WebP ...) get :data:`DEFAULT_RATIO`.
MAX_RATIO = {1: 1.0, 32773: 130.0, 8: DEFLATE_RATIO, 32946: DEFLATE_RATIO, 5: 3000.0}
#: Decoded/stored ratio allowed for compressions not in :data:`MAX_RATIO`.
DEFAULT_RATIO = 100_000.0

#: Tags copied to the output as they are (code -> name), besides ICC and resolution.
KEPT_TAGS = {
    269: "DocumentName",
    270: "ImageDescription",
    271: "Make",
    272: "Model",
    274: "Orientation",
    285: "PageName",
    305: "Software",
    306: "DateTime",
    315: "Artist",
    316: "HostComputer",
    33432: "Copyright",
    33550: "ModelPixelScale",
    33922: "ModelTiepoint",
    34264: "ModelTransformation",
    34735: "GeoKeyDirectory",
    34736: "GeoDoubleParams",
    34737: "GeoAsciiParams",
    42112: "GDAL_METADATA",
    42113: "GDAL_NODATA",
}
_JPEG = {6, 7, 34892, 33007}


@dataclass
class TiffLayout:
    """How a TIFF stores its pixels, and the tags to carry over.

    Attributes
    ----------
    compression, predictor : int
        TIFF tag values (1: none; predictor 1: none, 2: horizontal, 3: float).
    tile : (int, int) or None
        Tile length and width, or None for strips.
    rowsperstrip : int
    bigtiff : bool
    planar : bool
        Samples stored plane by plane (written back contiguous).
    tags : dict
        Tag code -> ``(tifffile dtype code, count, value)`` of :data:`KEPT_TAGS` present.
    icc_profile : bytes or None
    resolution : ((float, float), int) or None
        X and Y resolution and the ResolutionUnit tag value.
    subifds : dict
        The EXIF (34665) and GPS (34853) directories, tag -> :class:`RawIfd`.
    """

    compression: int = 1
    predictor: int = 1
    tile: tuple[int, int] | None = None
    rowsperstrip: int = 0
    bigtiff: bool = False
    planar: bool = False
    tags: dict = field(default_factory=dict)
    icc_profile: bytes | None = None
    resolution: tuple | None = None
    subifds: dict = field(default_factory=dict)


def _dtype_of(page):
    """The sample dtype convcli works in, or None when it does not read this kind."""
    dtype = page.dtype
    if dtype is None or page.bitspersample not in (8, 16, 32, 64):
        return None
    if dtype.kind == "f":
        return np.dtype(np.float32)
    if dtype.kind == "u" and dtype.itemsize in (1, 2):
        return np.dtype(dtype.str[1:]).newbyteorder("=")
    if dtype.kind == "i" and dtype.itemsize <= 4:
        return np.dtype(np.int32)
    return None


def streamable_layout(page) -> str | None:
    """The layout of a page the band reader handles exactly as :func:`read_image` does.

    Grey (min-is-black), RGB or CMYK, with or without unassociated alpha, or any number of
    min-is-black samples; None for the rest (palette, YCbCr, min-is-white, premultiplied
    alpha, 1-bit, volumes), which the in-memory reader handles.
    """
    photometric = int(page.photometric)
    extra = tuple(int(v) for v in page.extrasamples)
    if page.imagedepth > 1 or _dtype_of(page) is None or 1 in extra:
        return None
    channels = page.samplesperpixel
    if photometric == 1:
        colour = "L"
    elif photometric == 2:
        colour = "RGB"
    elif photometric == 5 and channels == 4 and not extra:
        return "CMYK"
    else:
        return None
    layout = colour + ("A" if extra[:1] == (2,) else "")
    return layout if len(layout) == channels else ""


def _tags(page) -> TiffLayout:
    tags = page.tags
    kept = {}
    for code in KEPT_TAGS:
        if code in tags:
            tag = tags[code]
            if code == 270 and str(tag.value).startswith('{"shape":'):
                continue  # tifffile's own array shape: it would describe the input's layout
            kept[code] = (int(tag.dtype), int(tag.count), tag.value)
    icc = bytes(tags[34675].value) if 34675 in tags else None
    resolution = None
    if 282 in tags and 283 in tags:
        x, y = (tags[code].value for code in (282, 283))
        unit = int(tags[296].value) if 296 in tags else 2
        resolution = ((x[0] / x[1] if x[1] else 0.0, y[0] / y[1] if y[1] else 0.0), unit)
    tile = (int(page.tilelength), int(page.tilewidth)) if page.is_tiled else None
    parent = page.parent
    subifds = {}
    for code in SUB_IFDS:
        if code in tags:
            ifd = _sub_ifd(parent.filehandle, tags[code], parent.byteorder, parent.is_bigtiff)
            if ifd is not None and ifd.entries:
                subifds[code] = ifd
    return TiffLayout(
        compression=int(page.compression),
        predictor=int(page.predictor),
        tile=tile,
        rowsperstrip=int(page.rowsperstrip) if not tile else 0,
        bigtiff=bool(page.parent.is_bigtiff),
        planar=page.planarconfig == 2 and page.samplesperpixel > 1,
        tags=kept,
        icc_profile=icc,
        resolution=resolution,
        subifds=subifds,
    )


def _sub_ifd(handle, tag, byteorder: str, bigtiff: bool) -> RawIfd | None:
    """The directory a pointer tag (ExifIFD, GPSIFD) points at, read raw (the pointer from
    the tag's entry itself: tifffile's ``valueoffset`` of these tags is the directory's)."""
    try:
        handle.seek(tag.offset + (12 if bigtiff else 8))  # after code, type and count
        word = "Q" if bigtiff and tag.dtype in (16, 18) else "I"
        (offset,) = struct.unpack(byteorder + word, handle.read(struct.calcsize(word)))
    except (OSError, struct.error):
        return None
    return read_ifd(handle, offset, byteorder, bigtiff)


class TiffRows:
    """Rows of one TIFF image, decoded band by band (see the module docstring).

    Attributes
    ----------
    height, width, channels : int
    format : str
        ``'TIFF'``.
    dtype : numpy.dtype
        Of the arrays :meth:`rows` returns.
    layout, mode : str
        As :class:`~convcli.images.ImageData` has them.
    metadata : dict
        ``icc_profile`` and ``dpi`` as :func:`read_image` gives them.
    stored : TiffLayout
        Compression, tiling and tags, for writing the result alike.
    """

    def __init__(self, tif, page, layout: str, name: str):
        self._tif, self._page, self.name = tif, page, name
        self.format = "TIFF"
        self.height, self.width = int(page.imagelength), int(page.imagewidth)
        self.channels = int(page.samplesperpixel)
        self.dtype = _dtype_of(page)
        self.layout = layout
        depth = {np.uint8: "", np.uint16: ";16", np.int32: ";32", np.float32: ";32F"}
        self.mode = (layout or f"{self.channels}ch") + depth[self.dtype.type]
        self.metadata = _tiff._metadata(page)
        self.stored = _tags(page)
        self._planes = self.channels if self.stored.planar else 1
        if page.is_tiled:
            assert self.stored.tile is not None  # a tiled page has a tile shape
            self._seg_rows, self._seg_cols = self.stored.tile
        else:
            self._seg_rows, self._seg_cols = max(1, min(page.rowsperstrip, self.height)), 0
        self._across = math.ceil(self.width / self._seg_cols) if self._seg_cols else 1
        self._down = math.ceil(self.height / self._seg_rows)
        self._decode = page.keyframe.decode
        self._decode_args = {"_fullsize": bool(page.is_tiled)}
        if page.compression in _JPEG:
            self._decode_args.update(jpegtables=page.jpegtables, jpegheader=page.jpegheader)
        self._lock = threading.Lock()
        raw = (
            page.compression == 1 and page.fillorder == 1 and page.bitspersample in (8, 16, 32, 64)
        )
        self._raw = np.dtype(tif.byteorder + page.dtype.str[1:]) if raw else None
        self._cache: OrderedDict = OrderedDict()
        self._cache_size = 3 * self._across * self._planes

    def close(self) -> None:
        """Close the file."""
        self._tif.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _read(self, offset: int, count: int) -> bytes:
        handle = self._tif.filehandle
        with self._lock:
            handle.seek(offset)
            return handle.read(count)

    def _segment(self, index: int, r0: int, r1: int):
        """Segment ``index`` decoded, as tifffile's decode function returns it.

        Uncompressed: only the rows ``r0:r1`` of the image it holds are read. Compressed:
        decoded whole and kept in a small cache, since consecutive bands share a row of
        tiles or a tall strip.
        """
        offset = int(self._page.dataoffsets[index])
        count = int(self._page.databytecounts[index])
        position, shape = self._position(index)
        if self._raw is not None and count:
            top = position[2]
            a, b = max(r0, top), min(r1, top + shape[1], self.height)
            row_bytes = shape[2] * shape[3] * self._raw.itemsize
            data = self._read(offset + (a - top) * row_bytes, (b - a) * row_bytes)
            if len(data) < (b - a) * row_bytes:
                raise ValueError(f"strip or tile {index} is cut short")
            rows = np.frombuffer(data, self._raw).reshape(b - a, shape[2], shape[3])
            position = (*position[:2], a, *position[3:])
            native = rows.astype(self._raw.newbyteorder("="), copy=False)  # swapped if need be
            return native, position, (1, b - a, *shape[2:])
        with self._lock:
            if index in self._cache:
                self._cache.move_to_end(index)
                return self._cache[index]
        segment = self._read(offset, count) if count else None
        decoded = self._decode(segment, index, **self._decode_args)
        with self._lock:
            self._cache[index] = decoded
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return decoded

    def _position(self, index: int):
        """(position, shape) of segment ``index`` as tifffile's decode gives them."""
        plane, rest = divmod(index, self._down * self._across)
        down, across = divmod(rest, self._across)
        top, left = down * self._seg_rows, across * (self._seg_cols or 0)
        samples = 1 if self._planes > 1 else self.channels
        width = self._seg_cols or self.width
        rows = self._seg_rows
        if not self._seg_cols:  # strips: the last one is shorter
            rows = min(rows, self.height - top)
        return (plane, 0, top, left, 0), (1, rows, width, samples)

    def rows(self, r0: int, r1: int) -> np.ndarray:
        """Rows ``r0:r1`` as an ``(r1 - r0, W, C)`` array of :attr:`dtype`.

        Raises
        ------
        ImageError
            Naming the file: a strip or tile cannot be read or decoded.
        """
        out = np.zeros((r1 - r0, self.width, self.channels), self.dtype)
        first, last = r0 // self._seg_rows, (r1 - 1) // self._seg_rows
        try:
            for plane in range(self._planes):
                for down in range(first, last + 1):
                    for across in range(self._across):
                        index = (plane * self._down + down) * self._across + across
                        self._place(out, r0, r1, plane, *self._segment(index, r0, r1))
        except ImageError:
            raise
        except Exception as exc:  # tifffile and imagecodecs raise many kinds for bad data
            raise ImageError(
                f"cannot read {self.name}: truncated or corrupt image data (rows {r0}-{r1}: "
                f"{exc}); re-export or re-download it"
            ) from None
        return out

    def _place(self, out, r0, r1, plane, segment, position, shape) -> None:
        if segment is None:  # an empty (sparse) strip or tile: zeros
            return
        _, _, top, left, _ = position
        segment = np.asarray(segment).reshape(shape[1], shape[2], shape[3])
        a, b = max(r0, top), min(r1, top + shape[1], self.height)
        if a >= b:
            return
        right = min(self.width, left + shape[2])
        block = segment[a - top : b - top, : right - left]
        if self._planes > 1:
            out[a - r0 : b - r0, left:right, plane] = block[:, :, 0]
        else:
            out[a - r0 : b - r0, left:right] = block


def check_declared_size(page, file_size: int, name: str, max_pixels: int | None) -> None:
    """Refuse a TIFF whose header is hostile or impossible, before decoding anything.

    Raises
    ------
    ImageError
        The strips or tiles lie beyond the end of the file; or, with ``max_pixels`` None,
        the decoded size exceeds :data:`MAX_RATIO` times the bytes stored; or the image
        has more than ``max_pixels`` pixels.
    """
    offsets = np.asarray(page.dataoffsets, np.int64)
    counts = np.asarray(page.databytecounts, np.int64)
    if counts.size and int((offsets + counts).max()) > file_size:
        raise ImageError(
            f"cannot read {name}: its strips or tiles lie beyond the end of the file "
            f"({file_size} bytes): it is truncated or corrupt; re-export or re-download it"
        )
    width, height = int(page.imagewidth), int(page.imagelength)
    decoded = width * height * int(page.samplesperpixel) * max(1, int(page.bitspersample) // 8)
    ratio = MAX_RATIO.get(int(page.compression), DEFAULT_RATIO)
    check_declared(name, (width, height), decoded, int(counts.sum()), ratio, max_pixels)


def _read_whole_when_small(page) -> bool:
    """True for a TIFF that fits the whole-image limit and that the in-memory path reads
    differently: EXIF or GPS directories (kept there through Pillow, as always), or an
    Orientation other than 1 (Pillow turns the pixels upright; by bands they stay as
    stored, the tag kept for viewers). A bigger one streams."""
    tags = page.tags
    oriented = 274 in tags and int(tags[274].value) != 1
    if not (oriented or 34665 in tags or 34853 in tags):
        return False
    limit = default_pixel_limit()
    return limit is None or int(page.imagelength) * int(page.imagewidth) <= limit


def open_tiff_rows(path, name: str, max_pixels: int | None = None) -> TiffRows | None:
    """A :class:`TiffRows` for the TIFF at ``path``, or None when it is not one it handles.

    None means: not a TIFF, several full-resolution pages, samples or a colour space the
    band reader does not handle (see :func:`streamable_layout`), or EXIF in an image small
    enough to be read whole (which keeps it); the caller reads the file whole instead. ``max_pixels`` as in :func:`check_declared_size`.

    Raises
    ------
    ImageError
        From :func:`check_declared_size`.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None  # a FIFO or a device: read once, whole, by the in-memory reader
        with open(path, "rb") as handle:
            if not _tiff.is_tiff(handle.read(4)):
                return None
        import tifffile  # noqa: PLC0415 - lazy: 25 ms of imports, for TIFF files only

        size = os.path.getsize(path)
        tif = tifffile.TiffFile(path)
    except Exception:  # unreadable or a damaged header: the in-memory reader reports it
        return None
    try:
        pages = [page for page in tif.pages if not int(getattr(page, "subfiletype", 0)) & 1]
        page = pages[0] if len(pages) == 1 else None
        layout = None if page is None else streamable_layout(page)
    except Exception:
        layout = None
    if layout is not None and _read_whole_when_small(page):
        layout = None
    if layout is None:
        tif.close()
        return None
    try:
        check_declared_size(page, size, name, max_pixels)
    except BaseException:
        tif.close()
        raise
    return TiffRows(tif, page, layout, name)
