"""TIFF that Pillow cannot hold (16-bit or float colour, many samples): pixels by tifffile.

Pillow reads and writes 8-bit L/LA/RGB/RGBA/CMYK and single-channel 16-bit, int32 and float
TIFF, keeping EXIF. Everything else goes through tifffile (with imagecodecs for LZW, JPEG
and other compressions), which keeps every sample at its depth, the ICC profile and DPI.
"""

from __future__ import annotations

import io
import logging

import numpy as np

from convcli.errors import ImageError
from convcli.images._geotiff import extratags, has_geo_tags, read_geo
from convcli.images._pillow import check_pixels

# tifffile logs what it finds wrong in a damaged file, which Python prints to stderr when
# the application has not configured logging; convcli reports such a file as one error.
logging.getLogger("tifffile").addHandler(logging.NullHandler())

_PILLOW_MODES = {(8, 1), (8, 2), (8, 3), (8, 4), (1, 1), (16, 1), (32, 1)}
_ICC, _XRES, _YRES, _UNIT = 34675, 282, 283, 296


def is_tiff(data: bytes) -> bool:
    """True when ``data`` starts like a TIFF (or BigTIFF) file."""
    return data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def wants_tifffile(data: bytes) -> bool:
    """True for a TIFF whose samples Pillow would reduce or cannot read."""
    import tifffile  # noqa: PLC0415 - lazy: 0.1 s of imports that only TIFF files need

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages.first
            if has_geo_tags(page.tags):  # Pillow would drop them
                return True
            kind = (page.bitspersample, page.samplesperpixel)
            if int(page.photometric) == 0 and kind[0] > 8:  # Pillow ignores min-is-white
                return True
            return kind not in _PILLOW_MODES or page.planarconfig == 2 and kind[1] > 1
    except Exception:  # let Pillow try, and report
        return False


def _layout(page, channels: int) -> str:
    photometric = int(page.photometric)
    extra = tuple(int(v) for v in page.extrasamples)
    alpha = extra[:1] in ((1,), (2,))
    if photometric in (0, 1):  # min-is-white, min-is-black
        colour = "L"
    elif photometric == 2:
        colour = "RGB"
    elif photometric == 5 and channels == 4:
        return "CMYK"
    else:
        return ""
    layout = colour + ("A" if alpha else "")
    return layout if len(layout) == channels else ""


def _as_frame(page, name: str) -> np.ndarray:
    array = page.asarray()
    axes = page.axes
    if "S" in axes and axes.index("S") < axes.index("Y"):  # planar: samples first
        array = np.moveaxis(array, axes.index("S"), -1)
    array = array.reshape(page.imagelength, page.imagewidth, -1)
    if array.dtype.kind == "f":
        return array.astype(np.float32)
    if array.dtype in (np.uint8, np.uint16, np.int32):
        return array.astype(array.dtype.newbyteorder("="))
    if array.dtype in (np.int8, np.int16):
        return array.astype(np.int32)
    raise ImageError(
        f"cannot read {name}: TIFF samples of type {array.dtype} are not supported; "
        "convcli reads 8- and 16-bit unsigned, 32-bit integer and float samples"
    )


def _unpremultiply(frame: np.ndarray) -> np.ndarray:
    """Straight colour from associated (premultiplied) alpha; 0 where alpha is 0."""
    top = np.iinfo(frame.dtype).max if frame.dtype.kind in "ui" else 1.0
    colour = frame[:, :, :-1].astype(np.float64)
    alpha = frame[:, :, -1:].astype(np.float64)
    straight = np.divide(colour * top, alpha, out=np.zeros_like(colour), where=alpha > 0)
    if frame.dtype.kind in "ui":
        straight = np.clip(np.rint(straight), 0, top)
    return np.concatenate([straight.astype(frame.dtype), frame[:, :, -1:]], axis=2)


def _metadata(page) -> dict:
    metadata: dict[str, object] = {}
    tags = page.tags
    if _ICC in tags:
        metadata["icc_profile"] = bytes(tags[_ICC].value)
    if _XRES in tags and _YRES in tags:
        per_cm = _UNIT in tags and int(tags[_UNIT].value) == 3
        dpi = []
        for code in (_XRES, _YRES):
            numerator, denominator = tags[code].value
            value = numerator / denominator if denominator else 0.0
            dpi.append(value * 2.54 if per_cm else value)
        if _UNIT not in tags or int(tags[_UNIT].value) != 1:
            metadata["dpi"] = tuple(dpi)
    metadata.update(read_geo(tags))
    return metadata


def decode(data: bytes, name: str, limit: int | None):
    """Every full-resolution page: ``(frames, layout, mode, metadata)``."""
    import tifffile  # noqa: PLC0415 - lazy: 0.1 s of imports that only TIFF files need

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            pages = [page for page in tif.pages if not int(page.subfiletype) & 1]
            for page in pages:
                check_pixels(page.imagelength * page.imagewidth, limit, name)
            frames = [_as_frame(page, name) for page in pages]
            first = pages[0]
            layout = _layout(first, frames[0].shape[2])
            metadata = _metadata(first)
            miniswhite = int(first.photometric) == 0
            associated = tuple(int(v) for v in first.extrasamples)[:1] == (1,)
    except ImageError:
        raise
    except Exception as exc:  # tifffile and imagecodecs raise many kinds for bad data
        raise ImageError(
            f"cannot read {name}: truncated or corrupt TIFF ({exc}); re-export or re-download it"
        ) from None
    if any(frame.shape != frames[0].shape or frame.dtype != frames[0].dtype for frame in frames):
        raise ImageError(
            f"cannot read {name}: its pages differ in size or sample type; "
            "convcli needs one kind for all frames"
        )
    if associated and layout.endswith("A"):
        frames = [_unpremultiply(frame) for frame in frames]
    if miniswhite and frames[0].dtype.kind == "u":
        top = np.iinfo(frames[0].dtype).max
        frames = [np.concatenate([top - f[:, :, :1], f[:, :, 1:]], axis=2) for f in frames]
    depth = {np.uint8: "", np.uint16: ";16", np.int32: ";32", np.float32: ";32F"}
    mode = (layout or f"{frames[0].shape[2]}ch") + depth[frames[0].dtype.type]
    return frames, layout, mode, metadata


def pillow_holds(frames: list[np.ndarray], layout: str, metadata: dict | None = None) -> bool:
    """True when Pillow can write these frames (and ``metadata``: GeoTIFF tags and a no-data
    value need tifffile) as TIFF without losing anything."""
    if metadata and (metadata.get("geotiff") or metadata.get("nodata") is not None):
        return False
    dtype = frames[0].dtype
    if dtype == np.uint8:
        return layout in ("L", "LA", "RGB", "RGBA", "CMYK")
    return layout == "L" or not layout and frames[0].shape[2] == 1


def encode(frames: list[np.ndarray], layout: str, metadata: dict) -> bytes:
    """A TIFF of every frame (one page each), deflate-compressed, with ICC and DPI."""
    import tifffile  # noqa: PLC0415 - lazy: 0.1 s of imports that only TIFF files need

    photometric = {"L": "minisblack", "LA": "minisblack", "RGB": "rgb", "RGBA": "rgb"}
    photometric["CMYK"] = "separated"
    options: dict[str, object] = {
        "photometric": photometric.get(layout, "minisblack"),
        "planarconfig": "contig" if frames[0].shape[2] > 1 else None,
        "compression": "zlib",
        "metadata": None,  # no tifffile JSON description
    }
    if layout.endswith("A"):
        options["extrasamples"] = ["unassalpha"]
    if metadata.get("icc_profile"):
        options["iccprofile"] = bytes(metadata["icc_profile"])
    if metadata.get("dpi"):
        options["resolution"] = tuple(float(v) for v in metadata["dpi"])
        options["resolutionunit"] = "INCH"
    if extratags(metadata):
        options["extratags"] = extratags(metadata)
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as writer:
        for frame in frames:
            data = frame[:, :, 0] if frame.shape[2] == 1 else frame
            writer.write(np.ascontiguousarray(data), **options)
    return buffer.getvalue()
