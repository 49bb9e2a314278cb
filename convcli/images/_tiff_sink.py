"""A TIFF written from bands of rows in order: strips or tiles, nothing whole in memory.

:func:`write_tiff_bands` consumes an iterator of ``(rows, W, C)`` arrays (any number of
rows each, top to bottom) and writes a single-image TIFF through tifffile: tiles are cut
as soon as a row of tiles is complete and handed to tifffile's iterator interface; strips
are encoded here (predictor, then compression) on a few threads and handed over as bytes.
The result keeps the input's compression, predictor, tiling, BigTIFF and tags
(:class:`~convcli.images._tiff_stream.TiffLayout`) unless told otherwise, and adjusts the
georeferencing and resolution when the pixel grid changed (:class:`PixelMapping`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from convcli.choices import TIFF_COMPRESSIONS
from convcli.errors import ImageError, ParameterError
from convcli.images._tiff_ifd import append_ifds, placeholder_tags
from convcli.images._tiff_stream import TiffLayout
from convcli.parallel import ordered_map

#: ``--compression`` names -> TIFF Compression tag values.
COMPRESSIONS = TIFF_COMPRESSIONS
_JPEG_TAGS = {6, 7, 34892, 33007}
_PHOTOMETRIC = {"L": "minisblack", "LA": "minisblack", "RGB": "rgb", "RGBA": "rgb"}
_PHOTOMETRIC["CMYK"] = "separated"
#: Output larger than this is written as BigTIFF (the classic format's offsets are 32-bit).
BIGTIFF_BYTES = 2**32 - 2**27
#: Uncompressed bytes per strip for a TIFF whose rows per strip are not given.
STRIP_BYTES = 1 << 20


@dataclass(frozen=True)
class PixelMapping:
    """Where an output pixel lies on the input grid: input = output * scale + offset.

    Per axis ``(y, x)``, in pixel-centre coordinates: output pixel ``i`` is centred on
    input position ``i * scale + offset``. Identity for ``same`` padding at stride 1.
    """

    scale: tuple[float, float] = (1.0, 1.0)
    offset: tuple[float, float] = (0.0, 0.0)

    @property
    def identity(self) -> bool:
        return self.scale == (1.0, 1.0) and self.offset == (0.0, 0.0)


def _pixel_is_point(tags: dict) -> bool:
    """GTRasterTypeGeoKey (1025) is RasterPixelIsPoint (2)."""
    keys = tags.get(34735)
    if keys is None:
        return False
    values = list(np.atleast_1d(keys[2]))
    for i in range(4, len(values) - 3, 4):
        if values[i] == 1025 and values[i + 1] == 0:
            return values[i + 3] == 2
    return False


def _raster_to_input(mapping: PixelMapping, point: bool):
    """(a, b) per axis (y, x): an output raster coordinate u' is input coordinate a*u' + b."""
    shift = 0.0 if point else 0.5  # PixelIsArea: coordinates count pixel corners
    return [(s, o + shift - s * shift) for s, o in zip(mapping.scale, mapping.offset, strict=True)]


def adjusted_tags(tags: dict, mapping: PixelMapping) -> dict:
    """GeoTIFF tags for the output grid: pixel scale, tiepoints and transformation moved.

    Examples
    --------
    >>> tags = {33550: (12, 3, (10.0, 10.0, 0.0)), 33922: (12, 6, (0, 0, 0, 500.0, 900.0, 0))}
    >>> out = adjusted_tags(tags, PixelMapping(scale=(2.0, 2.0)))
    >>> out[33550][2], out[33922][2]
    ((20.0, 20.0, 0.0), (0.25, 0.25, 0.0, 500.0, 900.0, 0.0))
    """
    if mapping.identity:
        return dict(tags)
    tags = dict(tags)
    (ay, by), (ax, bx) = _raster_to_input(mapping, _pixel_is_point(tags))
    if 33550 in tags:
        dtype, count, value = tags[33550]
        scale = [float(v) for v in value]
        scale[0] *= mapping.scale[1]
        scale[1] *= mapping.scale[0]
        tags[33550] = (dtype, count, tuple(scale))
    if 33922 in tags:  # (I, J, K, X, Y, Z) per tiepoint: the raster point moves
        dtype, count, value = tags[33922]
        points = [float(v) for v in value]
        for k in range(0, len(points) - 5, 6):
            points[k] = (points[k] - bx) / ax
            points[k + 1] = (points[k + 1] - by) / ay
        tags[33922] = (dtype, count, tuple(points))
    if 34264 in tags:  # model = M @ (I, J, K, 1) with (I, J) = A @ (I', J') + b
        dtype, count, value = tags[34264]
        matrix = np.asarray(value, np.float64).reshape(4, 4)
        grid = np.array([[ax, 0, 0, bx], [0, ay, 0, by], [0, 0, 1, 0], [0, 0, 0, 1]])
        tags[34264] = (dtype, count, tuple(float(v) for v in (matrix @ grid).ravel()))
    return tags


def _compression(name_or_tag, stored: TiffLayout | None, dtype, channels) -> int:
    if name_or_tag is not None:
        key = str(name_or_tag).lower()
        if key not in COMPRESSIONS:
            raise ParameterError(
                f"compression {name_or_tag!r} is not understood; accepted: "
                + ", ".join(COMPRESSIONS)
            )
        tag = COMPRESSIONS[key]
    else:
        tag = stored.compression if stored is not None else 8
    if tag in _JPEG_TAGS:
        if dtype != np.uint8 or channels not in (1, 3):
            if name_or_tag is not None:
                raise ParameterError(
                    "compression 'jpeg' holds 8-bit grey or RGB; this result is "
                    f"{channels}-channel {dtype}: choose deflate, lzw or zstd"
                )
            return 8
        return 7
    from tifffile import TIFF  # noqa: PLC0415 - lazy: 0.1 s of imports only TIFF needs

    try:
        TIFF.COMPRESSORS[tag]
    except (KeyError, ValueError):  # a compression tifffile reads but cannot write
        return 8
    return tag


def _predictor(stored: TiffLayout | None, compression: int, dtype) -> int:
    if compression in (1, 7) or stored is None or stored.predictor not in (2, 3):
        return 1
    return 3 if np.dtype(dtype).kind == "f" else 2


def write_tiff_bands(
    stream,
    bands,
    *,
    shape: tuple[int, int, int],
    dtype,
    layout: str,
    stored: TiffLayout | None = None,
    compression: str | None = None,
    tile: int | None = None,
    mapping: PixelMapping | None = None,
    metadata: dict | None = None,
    threads: int = 1,
) -> None:
    """Write the rows ``bands`` yields as a TIFF of ``shape`` ``(H, W, C)`` to ``stream``.

    Parameters
    ----------
    stream : binary file object
        Seekable (tifffile patches offsets).
    bands : iterator of ndarray
        ``(rows, W, C)`` arrays of ``dtype`` in order, ``H`` rows in all.
    layout : str
        ``L``, ``LA``, ``RGB``, ``RGBA``, ``CMYK`` or ``''`` (min-is-black samples).
    stored : TiffLayout, optional
        The input's storage and tags (None: deflate strips, no tags but ``metadata``'s).
    compression : str, optional
        A key of :data:`COMPRESSIONS` instead of the input's.
    tile : int, optional
        Square tiles of this side (a multiple of 16) instead of the input's layout; 0
        for strips.
    mapping : PixelMapping, optional
        How the output grid lies on the input's; georeferencing and resolution follow it.
    metadata : dict, optional
        ``icc_profile`` and ``dpi`` (used when ``stored`` is None).
    threads : int
        Threads compressing strips or tiles (the bytes do not depend on it).
    """
    import tifffile  # noqa: PLC0415 - lazy: 0.1 s of imports only TIFF needs

    height, width, channels = shape
    dtype = np.dtype(dtype)
    tag = _compression(compression, stored, dtype, channels)
    predictor = _predictor(stored, tag, dtype)
    if tile is not None:
        tiles = (tile, tile) if tile else None
    else:
        tiles = stored.tile if stored is not None else None
    if tiles is None and tag == 7:
        tiles = (256, 256)  # tifffile writes JPEG by tiles
    raw = height * width * channels * dtype.itemsize
    bigtiff = raw > BIGTIFF_BYTES or bool(stored and stored.bigtiff)
    mapping = mapping or PixelMapping()
    options: dict[str, Any] = {
        "photometric": _PHOTOMETRIC.get(layout, "minisblack"),
        "planarconfig": "contig" if channels > 1 else None,
        "compression": tag if tag != 1 else None,
        "predictor": predictor if predictor > 1 else None,
        "metadata": None,
        "software": False,
        "maxworkers": max(1, threads),
    }
    if layout.endswith("A"):
        options["extrasamples"] = ["unassalpha"]
    extratags, icc, resolution = [], None, None
    if stored is not None:
        tags = adjusted_tags(stored.tags, mapping)
        for code, (kind, count, value) in sorted(tags.items()):
            if code == 270:
                options["description"] = value
            elif kind == 2:
                extratags.append((code, 2, None, value, True))
            else:
                extratags.append((code, kind, count, value, True))
        icc, resolution = stored.icc_profile, stored.resolution
        if resolution is not None:
            (rx, ry), unit = resolution
            resolution = ((rx / mapping.scale[1], ry / mapping.scale[0]), unit)
    elif metadata:
        icc = metadata.get("icc_profile")
        if metadata.get("dpi"):
            resolution = (tuple(float(v) for v in metadata["dpi"]), 2)
    if icc:
        options["iccprofile"] = bytes(icc)
    if resolution is not None:
        options["resolution"] = tuple(float(v) for v in resolution[0])
        options["resolutionunit"] = int(resolution[1])
    subifds = stored.subifds if stored is not None else {}
    options["extratags"] = extratags + placeholder_tags(subifds, bigtiff)
    if tiles:
        data = _tiles(bands, tiles, shape, dtype)
        options.update(tile=tiles, buffersize=8 << 20)
    else:
        row_bytes = width * channels * dtype.itemsize
        rows = stored.rowsperstrip if stored is not None and stored.rowsperstrip else 0
        rows = min(height, rows or max(1, STRIP_BYTES // row_bytes))
        data = _strips(bands, rows, tag, predictor, threads)
        options["rowsperstrip"] = rows
    data_shape = (height, width) if channels == 1 else (height, width, channels)
    try:
        handle = tifffile.FileHandle(stream, mode="w+b", name="output.tif")  # type: ignore[arg-type]  # a stream: mode unused
        with tifffile.TiffWriter(handle, bigtiff=bigtiff) as writer:
            writer.write(data, shape=data_shape, dtype=dtype, **options)
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise ImageError(f"cannot write the TIFF: {exc}") from None
    if subifds:
        append_ifds(stream, subifds)  # tifffile does not write EXIF and GPS directories


def _row_groups(bands, rows: int):
    """Regroup the bands' rows into arrays of ``rows`` rows (the last may be shorter),
    each filled in place as the rows arrive (no concatenated copies)."""
    block, have = None, 0
    for band in bands:
        while band.shape[0]:
            if block is None:
                block, have = np.empty((rows, *band.shape[1:]), band.dtype), 0
            take = min(rows - have, band.shape[0])
            block[have : have + take] = band[:take]
            band, have = band[take:], have + take
            if have == rows:
                yield block
                block = None
    if block is not None:
        yield block[:have]


def _tiles(bands, tiles, shape, dtype):
    """Tiles in TIFF order (left to right, top to bottom), edge tiles padded with zeros."""
    th, tw = tiles
    width, channels = shape[1], shape[2]
    for block in _row_groups(bands, th):
        for x in range(0, width, tw):
            piece = block[:, x : x + tw]
            if piece.shape[:2] != (th, tw):
                full = np.zeros((th, tw, channels), dtype)
                full[: piece.shape[0], : piece.shape[1]] = piece
                piece = full
            yield np.ascontiguousarray(piece if channels > 1 else piece[:, :, 0])


def _encode_strip(strip: np.ndarray, tag: int, predictor: int) -> bytes | np.ndarray:
    from tifffile import TIFF  # noqa: PLC0415 - lazy: 0.1 s of imports only TIFF needs

    strip = np.ascontiguousarray(strip)
    if tag == 1:
        return strip  # tifffile writes the array's memory itself: no bytes copy
    if predictor > 1:
        strip = TIFF.PREDICTORS[predictor](strip, axis=-2)
    if tag == 32773:
        return TIFF.COMPRESSORS[tag](strip, axis=-2)
    return TIFF.COMPRESSORS[tag](strip)


def _strips(bands, rows: int, tag: int, predictor: int, threads: int):
    """Encoded strips in order, ``threads`` at a time (a bounded queue of them)."""
    tasks = ((strip, tag, predictor) for strip in _row_groups(bands, rows))
    return ordered_map(_encode_strip, tasks, 1 if tag == 1 else threads, "convcli-tiff")
