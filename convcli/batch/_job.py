"""One input image to one output image: what ``convcli apply`` does per file.

:class:`ApplyJob` holds the resolved kernels and every option; it is a small frozen,
picklable value, so a batch layer can send it to worker processes and call
``job(source, target)`` per file. :func:`apply_file` reads the image, filters every frame
with :func:`convcli.filtering._frame.filter_frame`, and writes the result atomically, keeping the
metadata (ICC profile, EXIF, DPI, frame durations, loop count).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass, field

from convcli._notes import note as say_note
from convcli.batch._dask_bands import dask_band_map
from convcli.batch._missing import geo_metadata, missing_data
from convcli.batch._streamed import apply_by_bands, band_source, scaled_dpi
from convcli.engine import preload_fft
from convcli.errors import ClippedWarning, ParameterError
from convcli.filtering import FilterOptions, chain_weights
from convcli.filtering._bands import filter_frame_by_rows
from convcli.filtering._outputs import clipped_note
from convcli.images import ImageData, read_image, write_image
from convcli.images._profile import check_srgb
from convcli.images._sources import describe
from convcli.images._write import resolve_format


@dataclass(frozen=True)
class ApplyJob:
    """Everything needed to filter one file into another, given the file names.

    Attributes
    ----------
    kernels : tuple of Kernel
        Applied in order (see :func:`convcli.filter_image`).
    options : FilterOptions
        Padding, stride, alpha, output mapping, depth ...
    format : str or None
        Output format; None: from the output's extension, else the input's format.
    quality : int or None
        JPEG/WebP quality, 1 to 100.
    in_place : bool
        Allow the output to be the input file (it is replaced atomically).
    max_pixels : int or None
        Refuse larger images (None: Pillow's decompression-bomb limit).
    compress_level : int or None
        PNG zlib level 0-9 (None: 6).
    mask : str or None
        A greyscale image file of the input's size (non-zero = valid sample), or
        ``'alpha'`` (alpha 0 = missing); see :mod:`convcli.filtering._missing`.
    compression : str or None
        TIFF compression (a key of ``convcli.images._tiff_sink.COMPRESSIONS``); None
        keeps the input TIFF's (deflate for other inputs).
    tile : int or None
        TIFF tiles of this side (a multiple of 16), 0 for strips; None keeps the input's.
    scheduler : str or None
        A Dask scheduler (``local``, ``local:N``, ``tcp://host:port``) on which the bands
        of an image read or written by bands are filtered (``apply --scheduler`` with one
        INPUT); None: this process's threads.
    """

    kernels: tuple
    options: FilterOptions = field(default_factory=FilterOptions)
    format: str | None = None
    quality: int | None = None
    in_place: bool = False
    max_pixels: int | None = None
    compress_level: int | None = None
    mask: str | None = None
    compression: str | None = None
    tile: int | None = None
    scheduler: str | None = None

    def __call__(self, source, target, on_rows=None) -> str:
        """:func:`apply_file`; returns the description of the path taken. Its notes
        (:class:`~convcli._notes.ConvcliNote`, :class:`ClippedWarning`) are warnings, which
        the command line and its worker processes print as ``convcli: note:`` lines."""
        return apply_file(source, target, self, on_rows=on_rows)


def _is_path(target) -> bool:
    return isinstance(target, (str, bytes, os.PathLike))


def same_file(source, target) -> bool:
    """True when both are paths naming the same file (after links, or the same inode)."""
    if not (_is_path(source) and _is_path(target)):
        return False
    if os.path.realpath(source) == os.path.realpath(target):
        return True
    try:
        return os.path.samefile(source, target)
    except OSError:  # the output does not exist yet
        return False


def apply_file(source, target, job: ApplyJob, *, on_rows=None) -> str:
    """Filter the image at ``source`` into ``target`` (paths or binary file objects).

    Parameters
    ----------
    source, target : str, os.PathLike or binary file object
        ``target`` is written atomically: a temporary file in its directory renamed into
        place, so an interrupted run leaves no partial file under the final name.
    job : ApplyJob
        With ``job.scheduler``, the bands are filtered on that Dask scheduler (an image
        that is not filtered by bands then runs here, with a note saying so).
    on_rows : callable, optional
        ``on_rows(done, total)`` as output rows are written (when the image streams).

    Returns
    -------
    str
        Which path ran: streamed by bands (a single-image TIFF or a PNG file, or a PNG
        output) or in memory, and why.

    Raises
    ------
    ParameterError
        ``target`` is ``source`` and ``job.in_place`` is not set.
    ImageError, KernelError
        From reading, filtering or writing, naming the file.

    Warns
    -----
    ClippedWarning
        No output map was given and a zero-sum kernel's result is mostly black.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from convcli.images import ImageData, read_image, write_image
    >>> from convcli.kernels._kernel import Kernel
    >>> src, dst = io.BytesIO(), io.BytesIO()
    >>> write_image(ImageData([np.full((4, 4, 1), 200, np.uint8)], "L", "PNG"), src)
    >>> _ = src.seek(0)
    >>> apply_file(src, dst, ApplyJob((Kernel("half", np.array([[0.5]])),)))
    'PNG read whole, filtered whole (4 rows fit one band), written as PNG'
    >>> int(read_image(io.BytesIO(dst.getvalue())).frames[0][0, 0, 0])
    100
    """
    if job.scheduler is None:
        return _apply_file(source, target, job, on_rows, None)
    with dask_band_map(job.scheduler) as band_map:
        return _apply_file(source, target, job, on_rows, band_map)


def _apply_file(source, target, job: ApplyJob, on_rows, band_map) -> str:
    """:func:`apply_file`, the bands filtered by ``band_map`` (None: this process)."""

    if same_file(source, target) and not job.in_place:
        raise ParameterError(
            f"OUTPUT '{describe(target)}' is the INPUT file; give another output name, "
            "or --in-place to replace the input"
        )
    preload_fft(chain_weights(job.kernels))
    name = f"'{describe(source)}'" if _is_path(source) else describe(source)
    # a TIFF or PNG file read band by band (None: read whole); a mask file is read whole
    reader = band_source(source, job) if job.mask in (None, "alpha") else None
    said = reader is not None  # the no-data value is said there, once
    if reader is not None:
        with reader:
            # a GDAL_NODATA tag marks missing samples, band by band as in memory
            options, mask = missing_data(reader, job, job.options, name)
            needs_srgb(reader.metadata, options, name)
            fmt = resolve_format(job.format, target, reader)
            banded = dataclasses.replace(job, options=options)
            path = apply_by_bands(
                source,
                target,
                banded,
                fmt,
                reader=reader,
                on_rows=on_rows,
                band_map=band_map,
                mask=mask,
            )
            if path is not None:
                return path
    image = read_image(source, max_pixels=job.max_pixels)
    fmt = resolve_format(job.format, target, image)
    needs_srgb(image.metadata, job.options, name)
    streamable = not _missing_data_asked(job) and "nodata" not in image.metadata
    if len(image.frames) == 1 and streamable:  # written band by band when the format allows
        path = apply_by_bands(
            source, target, job, fmt, image=image, on_rows=on_rows, band_map=band_map
        )
        if path is not None:
            return path
    if band_map is not None:
        say_note(
            f"--scheduler: {name} is filtered in this process ({image.format} read whole, "
            f"written as {fmt}): only images read or written by bands are filtered on the "
            "cluster"
        )
    options = job.options
    if fmt == "NPY" and options.depth is None:
        options = dataclasses.replace(options, depth="32f")  # the float result itself
    options, mask = missing_data(image, job, options, name, say=not said)
    frames, layout = [], image.layout
    for frame in image.frames:
        out, layout = filter_frame_by_rows(frame, job.kernels, image.layout, options, name, mask)
        frames.append(out)
    note = clipped_note(job.kernels, frames[0], options, name)
    if note:
        warnings.warn(note, ClippedWarning, stacklevel=2)
    metadata = scaled_dpi(image.metadata, image.frames[0].shape, frames[0].shape)
    metadata = geo_metadata(metadata, options, job.kernels)
    same_kind = layout == image.layout and frames[0].dtype == image.frames[0].dtype
    mode = image.mode if same_kind else layout
    result = ImageData(frames, layout, fmt, mode, metadata)
    write_image(result, target, format=fmt, quality=job.quality, compress_level=job.compress_level)
    return (
        f"{image.format} read whole, filtered in memory ({len(frames)} frame(s)), written as {fmt}"
    )


def _missing_data_asked(job: ApplyJob) -> bool:
    """True when the job's options ask for missing-data handling (a mask, a nodata value,
    a NaN policy other than propagate): that path works on the whole image."""
    opts = job.options
    return job.mask is not None or opts.nodata is not None or opts.nan_policy != "propagate"


def needs_srgb(metadata: dict, options: FilterOptions, name: str) -> None:
    """Refuse ``--linear`` / ``--channels lightness`` on an image whose ICC profile is not
    sRGB (:func:`convcli.images._profile.check_srgb`)."""
    if options.linear or options.channels == "lightness":
        what = "--linear" if options.linear else "--channels lightness"
        check_srgb(metadata, name, what)
