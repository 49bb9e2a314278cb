"""Missing data for one file: the mask file, the GeoTIFF no-data value, the tags written.

Used by :func:`convcli.batch._job.apply_file`; the filtering itself is
:mod:`convcli.filtering._missing`.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from convcli.errors import ImageError, ParameterError
from convcli.filtering._stream import pixel_mapping
from convcli.images import read_image
from convcli.images._tiff_sink import PixelMapping, adjusted_tags

log = logging.getLogger("convcli")


def missing_data(image, job, options, name: str, say: bool = True):
    """``(options, mask)`` for filtering ``image``: the TIFF's ``GDAL_NODATA`` value as
    ``nodata`` unless one was given (said on the ``convcli`` logger, shown by ``--debug``,
    unless ``say`` is false: said already), and the mask of ``job.mask`` (a bool ``(H, W)``
    array, ``'alpha'`` or None)."""
    nodata = image.metadata.get("nodata")
    if nodata is not None and options.nodata is None:
        options = dataclasses.replace(options, nodata=float(nodata))
        if say:
            log.info("%s: GDAL_NODATA tag %g: samples equal to it are missing", name, nodata)
    if job.mask is None or job.mask == "alpha":
        return options, job.mask
    return options, read_mask(job.mask, image, name)


def read_mask(path, image, name: str) -> np.ndarray:
    """The greyscale image at ``path`` as a bool mask (non-zero = valid) of ``image``'s size."""
    mask_image = read_image(path)
    frame = mask_image.frames[0]
    if frame.shape[2] != 1:
        raise ImageError(
            f"the mask '{path}' has {frame.shape[2]} channels ({mask_image.layout or 'arbitrary'}); "
            "give a greyscale image (non-zero = valid sample), or --mask alpha for the "
            "input's alpha"
        )
    height, width = image.frames[0].shape[:2]
    if frame.shape[:2] != (height, width):
        raise ParameterError(
            f"the mask '{path}' is {frame.shape[1]}x{frame.shape[0]} but {name} is "
            f"{width}x{height}; give a mask of the image's size"
        )
    return frame[:, :, 0] != 0


def geo_metadata(metadata: dict, options, kernels) -> dict:
    """``metadata`` with the no-data value written (when there is one) and the GeoTIFF
    georeferencing moved to the output grid (stride, padding) exactly as the band path
    moves it (:func:`convcli.images._tiff_sink.adjusted_tags`): every output pixel keeps
    its place on the ground."""
    metadata = dict(metadata)
    if options.nodata is not None:
        metadata["nodata"] = options.nodata
    if metadata.get("geotiff"):
        scale, offset = pixel_mapping(kernels, options)
        tags = {code: (dtype, count, value) for code, dtype, count, value in metadata["geotiff"]}
        moved = adjusted_tags(tags, PixelMapping(scale, offset))
        metadata["geotiff"] = [(code, *moved[code]) for code, *_ in metadata["geotiff"]]
    return metadata
