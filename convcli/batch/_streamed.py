"""``apply`` for big images: rows flow from the reader through the kernels to the writer.

:func:`apply_by_bands` handles the files whose result can be written band by band:

- a single-image TIFF file read band by band (:mod:`convcli.images._tiff_stream`),
  written as TIFF (keeping its compression, tiling and tags) or PNG;
- a plain PNG file read band by band (:mod:`convcli.images.png._rows`), written as PNG
  (or as TIFF when ``--compression`` or ``--tile`` is given, as for whole images);
- any single-frame image read whole, written as PNG band by band (only the decoded
  input is whole, never the float working copy or the result).

The bands are those of the in-memory path, so the pixels are identical; the whole-frame
cases (stride, explicit or valid padding, circular padding, ``--output-map normalize``)
run as one band. Everything else returns None and goes the in-memory way
(:func:`convcli.batch._job.apply_file`).
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings

import numpy as np

from convcli.engine._strips import get_threads
from convcli.errors import ClippedWarning
from convcli.filtering._outputs import clipped_message, edge_clipping_kernel
from convcli.filtering._stream import filtered_bands, pixel_mapping, plan_bands
from convcli.images._fit import fit_metadata
from convcli.images._geotiff import GDAL_NODATA, nodata_text
from convcli.images._outputs import write_output
from convcli.images._pillow import check_pixels, default_pixel_limit, tiff_exif_of
from convcli.images._sources import describe, is_path
from convcli.images._tiff_sink import PixelMapping, write_tiff_bands
from convcli.images._tiff_stream import open_tiff_rows
from convcli.images.png._rows import open_png_rows
from convcli.images.png._stream import write_png_bands

_PNG_LAYOUTS = ("L", "LA", "RGB", "RGBA", "")
_ICC_SPACE = {"L": b"GRAY", "LA": b"GRAY", "RGB": b"RGB ", "RGBA": b"RGB "}


def band_source(source, job):
    """A band reader for ``source`` when it is a TIFF or PNG file read band by band, else
    None (the caller reads it whole)."""
    if not is_path(source):
        return None
    reader = open_tiff_rows(source, describe(source), job.max_pixels)
    return reader or open_png_rows(source, describe(source), job.max_pixels)


def apply_by_bands(
    source,
    target,
    job,
    fmt: str,
    *,
    reader=None,
    image=None,
    on_rows=None,
    band_map=None,
    mask=None,
):
    """Filter ``reader`` (TiffRows, PngRows) or ``image`` (one-frame ImageData) into ``target``.

    Returns a one-line description of the path taken, or None when this function does
    not handle the output (the caller then works in memory). ``on_rows(done, total)`` is
    called as output rows are written; ``band_map`` filters the bands elsewhere (see
    :func:`~convcli.filtering._stream.filtered_bands`); ``mask`` is None or ``'alpha'``
    (missing samples where alpha is 0). ``job.options.nodata`` marks missing samples and
    is written as the TIFF's GDAL_NODATA tag, as the in-memory path does.
    """
    name = f"'{describe(source)}'" if is_path(source) else describe(source)
    if reader is not None:
        height, width, channels = reader.height, reader.width, reader.channels
        layout, read_rows, metadata = reader.layout, reader.rows, reader.metadata
        kind = f"{reader.format} read by bands"
    else:
        frame = image.frames[0]
        height, width, channels = frame.shape
        layout, metadata = image.layout, image.metadata
        kind = f"{image.format} read whole"

        def read_rows(a, b):
            return frame[a:b]

    if fmt == "PNG" and layout not in _PNG_LAYOUTS:
        return None
    retiled = job.compression is not None or job.tile is not None
    stored = None if reader is None else reader.stored  # None: no TIFF layout to keep
    if stored is not None and job.options.nodata is not None:  # the value missing samples get
        tags = {**stored.tags, GDAL_NODATA: (2, None, nodata_text(job.options.nodata))}
        stored = dataclasses.replace(stored, tags=tags)
    if fmt not in ("TIFF", "PNG") or fmt == "TIFF" and stored is None and not retiled:
        return None
    opts = job.options
    plan = plan_bands(height, width, channels, job.kernels, opts)
    if plan.why_whole is not None and reader is not None and job.max_pixels is None:
        check_pixels(height * width, default_pixel_limit(), reader.name)  # it will be whole
    bands = filtered_bands(
        read_rows, height, plan, job.kernels, layout, opts, name, band_map=band_map, mask=mask
    )
    first, out_layout = next(bands)
    first = first if first.ndim == 3 else first[:, :, None]
    out_height = height if plan.why_whole is None else first.shape[0]
    shape = (out_height, first.shape[1], first.shape[2])
    if fmt == "PNG" and not (first.dtype in (np.uint8, np.uint16) and shape[2] <= 4):
        bands.close()
        return None
    if fmt == "PNG" and out_layout and out_layout not in _PNG_LAYOUTS:
        bands.close()
        return None

    counting = edge_clipping_kernel(job.kernels, opts, first.dtype) is not None
    black = [0, 0]  # zero samples, samples: for the clipping note, counted band by band

    def rows():
        done = 0
        for out, _ in itertools.chain([(first, out_layout)], bands):
            out = out if out.ndim == 3 else out[:, :, None]
            if counting:
                black[0] += int(np.count_nonzero(out == 0))
                black[1] += out.size
            yield out
            done += out.shape[0]
            if on_rows is not None:
                on_rows(done, out_height)

    scale, offset = pixel_mapping(job.kernels, opts)
    threads = get_threads()
    if fmt == "PNG" and reader is not None and reader.format == "TIFF" and "exif" not in metadata:
        exif = tiff_exif_of(source)  # a TIFF's tags as PNG's eXIf, as the in-memory path
        metadata = {**metadata, "exif": exif} if exif else metadata
    metadata = scaled_dpi(metadata, (height, width), shape)
    # what the output format cannot hold is dropped with a note, as write_image does
    metadata = fit_metadata(metadata, fmt, describe(target))
    if fmt == "TIFF":

        def encode(stream):
            write_tiff_bands(
                stream,
                rows(),
                shape=shape,
                dtype=first.dtype,
                layout=out_layout,
                stored=stored,
                metadata=metadata,
                compression=job.compression,
                tile=job.tile,
                mapping=PixelMapping(scale, offset),
                threads=threads,
            )

    else:
        icc = metadata.get("icc_profile")
        written = out_layout or {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[shape[2]]
        if icc and _ICC_SPACE[written] != bytes(icc[16:20]):
            del metadata["icc_profile"]  # a profile of another colour space (as write_image)
        level = 6 if job.compress_level is None else job.compress_level

        def encode(stream):
            write_png_bands(
                stream,
                rows(),
                shape=shape,
                dtype=first.dtype,
                metadata=metadata,
                level=level,
                threads=threads,
                name=describe(target),
            )

    try:
        write_output(target, encode)
    finally:
        bands.close()
    note = clipped_message(job.kernels, black[0] / black[1], name) if black[1] else None
    if note:
        warnings.warn(note, ClippedWarning, stacklevel=2)
    if plan.why_whole is not None:
        return f"{kind}, filtered whole ({plan.why_whole}), written as {fmt}"
    rows_per_band = plan.bands[0][1] - plan.bands[0][0]
    return (
        f"{kind}, streamed in {len(plan.bands)} bands of {rows_per_band} rows "
        f"(reach {plan.reach}), written as {fmt} by bands"
    )


def scaled_dpi(metadata: dict, before, after) -> dict:
    """Metadata with DPI scaled when a stride (or valid padding) changed the pixel count."""
    metadata = dict(metadata)
    dpi = metadata.get("dpi")
    if dpi and tuple(before[:2]) != tuple(after[:2]):
        metadata["dpi"] = (dpi[0] * after[1] / before[1], dpi[1] * after[0] / before[0])
    return metadata
