"""``write_image``: :class:`ImageData` to a file or stream, in the format asked for."""

from __future__ import annotations

import os
from typing import BinaryIO, Union

import numpy as np

from convcli.errors import ImageError, ParameterError
from convcli.images import _npy as npy
from convcli.images import _pillow as pillow_io
from convcli.images import _tiff as tiff
from convcli.images._data import FORMATS, LAYOUT_BY_CHANNELS, ImageData, format_for
from convcli.images._sources import describe, is_path, write_atomic
from convcli.images.png import _codec as png_fast

#: A path or a writable binary stream.
Destination = Union[str, "os.PathLike[str]", BinaryIO]

_ACCEPTED = ", ".join(FORMATS)
_DEPTH_NAME = {
    np.dtype(np.uint8): "8-bit",
    np.dtype(np.uint16): "16-bit",
    np.dtype(np.int32): "32-bit integer",
    np.dtype(np.float32): "32-bit float",
}

# format -> (dtypes it holds, layouts it holds, converted layouts, can hold several frames)
_CAN = {
    "PNG": ((np.uint8, np.uint16), ("L", "LA", "RGB", "RGBA"), {"CMYK": "RGB"}, True),
    "JPEG": ((np.uint8,), ("L", "RGB", "CMYK"), {}, False),
    "BMP": ((np.uint8,), ("L", "RGB"), {"CMYK": "RGB"}, False),
    "WEBP": ((np.uint8,), ("RGB", "RGBA"), {"L": "RGB", "LA": "RGBA", "CMYK": "RGB"}, True),
    "GIF": ((np.uint8,), ("L", "LA", "RGB", "RGBA"), {"CMYK": "RGB"}, True),
}
_ICC_SPACE = {"L": b"GRAY", "LA": b"GRAY", "RGB": b"RGB ", "RGBA": b"RGB ", "CMYK": b"CMYK"}


def resolve_format(format: str | None, dest: Destination, image: ImageData) -> str:
    """The format to write: ``format``, else ``dest``'s extension, else ``image.format``.

    Examples
    --------
    >>> import numpy as np
    >>> image = ImageData([np.zeros((1, 1, 1), np.uint8)], "L", "PNG")
    >>> resolve_format("jpg", "out", image), resolve_format(None, "a.tif", image)
    ('JPEG', 'TIFF')
    >>> resolve_format(None, "-", image)
    'PNG'
    """
    name = describe(dest)
    if format is not None:
        key = str(format).strip().lstrip(".")
        if key.upper() in FORMATS:
            return key.upper()
        found = format_for("x." + key)
        if found is None:
            raise ImageError(
                f"cannot write {name}: unknown image format {format!r}; convcli writes {_ACCEPTED}"
            )
        return found
    target = dest if is_path(dest) else getattr(dest, "name", None)
    if isinstance(target, (str, os.PathLike)):
        extension = os.path.splitext(os.fspath(target))[1]
        if extension and not os.fspath(target).startswith("<"):
            found = format_for(target)
            if found is None:
                raise ImageError(
                    f"cannot write {name}: unknown image format for extension {extension!r}; "
                    f"use one of {_ACCEPTED} (e.g. .png, .jpg, .tif, .npy) or give the format"
                )
            return found
    if image.format in FORMATS:
        return image.format
    raise ImageError(f"cannot write {name}: give the format, one of {_ACCEPTED}")


def _check_frames(image: ImageData, name: str) -> None:
    if not image.frames:
        raise ImageError(f"cannot write {name}: the image has no frames")
    first = image.frames[0]
    for frame in image.frames:
        if frame.ndim != 3 or frame.shape != first.shape or frame.dtype != first.dtype:
            raise ImageError(
                f"cannot write {name}: frames must all be (H, W, C) arrays of one shape and "
                f"dtype; got {frame.shape} {frame.dtype} beside {first.shape} {first.dtype}"
            )
    if np.dtype(first.dtype) not in _DEPTH_NAME:
        raise ImageError(
            f"cannot write {name}: samples of type {first.dtype} are not supported; "
            "use uint8, uint16, int32 or float32"
        )
    if image.layout and len(image.layout) != first.shape[2]:
        raise ImageError(
            f"cannot write {name}: layout {image.layout} needs {len(image.layout)} channels, "
            f"the frames have {first.shape[2]}"
        )


def _plan(image: ImageData, fmt: str, name: str) -> tuple[str, str | None]:
    """The layout to write in and the layout to convert to first (or None)."""
    channels = image.channels
    layout = image.layout or LAYOUT_BY_CHANNELS.get(channels, "")
    depth = np.dtype(image.frames[0].dtype)
    if fmt in ("TIFF", "NPY"):
        return image.layout, None
    dtypes, layouts, converted, multi = _CAN[fmt]
    if layout not in layouts and layout not in converted:
        holds = "1 to 4 channels" if fmt in ("PNG", "GIF") else "/".join(layouts) + " images"
        raise ImageError(
            f"cannot write {name}: {fmt} holds {holds}; this image has {channels} "
            f"({layout or 'arbitrary channels'}): write .npy or TIFF, which hold any number"
            if not layout or channels > 4
            else f"cannot write {name}: {fmt} cannot hold an alpha channel ({layout}); "
            "write PNG, TIFF, WebP or GIF to keep it, or drop the alpha"
        )
    if depth not in [np.dtype(d) for d in dtypes]:
        keep = "PNG or TIFF" if depth == np.uint16 else "TIFF or .npy"
        reduce = "8 or 16" if np.uint16 in dtypes else "8"
        raise ImageError(
            f"cannot write {name}: {fmt} cannot hold {_DEPTH_NAME[depth]} samples; "
            f"write {keep} to keep them, or reduce the depth (--depth {reduce})"
        )
    if fmt == "PNG" and depth == np.uint16 and len(image.frames) > 1:
        raise ImageError(
            f"cannot write {name}: 16-bit animated PNG is not supported; "
            "write TIFF to keep all frames at 16 bits"
        )
    if not multi and len(image.frames) > 1:
        raise ImageError(
            f"cannot write {name}: {fmt} holds one frame, this image has {len(image.frames)}; "
            "write GIF, WebP, PNG or TIFF to keep them all"
        )
    if layout in converted:
        return converted[layout], layout
    return layout, None


def cmyk_to_rgb(array: np.ndarray) -> np.ndarray:
    """Naive CMYK to RGB without a profile: ``R = (max - C) * (max - K) / max``, rounded.

    Examples
    --------
    >>> import numpy as np
    >>> cmyk_to_rgb(np.array([[[0, 255, 255, 0], [0, 0, 0, 128]]], np.uint8)).tolist()
    [[[255, 0, 0], [127, 127, 127]]]
    """
    top = float(np.iinfo(array.dtype).max)
    ink = array.astype(np.float64)
    rgb = (top - ink[:, :, :3]) * (top - ink[:, :, 3:4]) / top
    return np.rint(rgb).astype(array.dtype)


def _convert(array: np.ndarray, source: str, target: str) -> np.ndarray:
    if source == "CMYK":
        return cmyk_to_rgb(array)
    if source == "L":  # to RGB
        return np.repeat(array, 3, axis=2)
    return np.concatenate([np.repeat(array[:, :, :1], 3, axis=2), array[:, :, 1:]], axis=2)


def _check_quality(quality: int | None) -> None:
    if quality is None:
        return
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)):
        raise ParameterError(f"quality must be an integer from 1 to 100, got {quality!r}")
    if not 1 <= quality <= 100:
        raise ParameterError(f"quality must be from 1 to 100, got {quality}")


def write_image(
    image: ImageData,
    dest: Destination,
    *,
    format: str | None = None,
    quality: int | None = None,
    compress_level: int | None = None,
) -> None:
    """Write ``image`` to a path or binary stream, atomically for a path.

    Parameters
    ----------
    image : ImageData
        The frames' dtype decides the depth: uint8 -> 8-bit, uint16 -> 16-bit, int32 and
        float32 -> 32-bit (TIFF, .npy).
    dest : str, os.PathLike or binary file object
        For a path, the image is written to a temporary file in the same directory and
        renamed into place; on any failure (Ctrl-C included) the temporary is removed and
        nothing appears under ``dest``.
    format : str, optional
        ``PNG``, ``JPEG``, ``TIFF``, ``BMP``, ``WEBP``, ``GIF`` or ``NPY`` (or an
        extension). Default: ``dest``'s extension, else ``image.format``.
    quality : int, optional
        1 to 100, for JPEG (default 95) and WebP (default: lossless).
    compress_level : int, optional
        0 to 9, PNG's deflate level (default 6, as Pillow, libpng and libvips): 4-5 write
        about twice as fast and files about 5% larger, 9 over ten times slower and about
        9% smaller.

    Raises
    ------
    ImageError
        Naming ``dest``: an unknown format, or one that cannot hold the image's channels,
        depth or frame count (saying which formats can); the file cannot be written.
    ParameterError
        ``quality`` or ``compress_level`` out of range.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> rgb = np.zeros((4, 4, 3), np.uint16)
    >>> write_image(ImageData([rgb], "RGB", "PNG"), io.BytesIO(), format="JPEG")
    Traceback (most recent call last):
    ...
    convcli.errors.ImageError: cannot write the stream: JPEG cannot hold 16-bit samples; \
write PNG or TIFF to keep them, or reduce the depth (--depth 8)
    """
    name = describe(dest)
    _check_quality(quality)
    if compress_level is not None and compress_level not in range(10):
        raise ParameterError(f"compress_level must be from 0 to 9, got {compress_level!r}")
    fmt = resolve_format(format, dest, image)
    _check_frames(image, name)
    layout, source = _plan(image, fmt, name)
    frames = image.frames
    metadata = dict(image.metadata)
    if source is not None:
        frames = [_convert(frame, source, layout) for frame in frames]
    icc = metadata.get("icc_profile")
    if icc and _ICC_SPACE.get(layout) not in (None, bytes(icc[16:20])):
        del metadata["icc_profile"]  # a CMYK profile cannot describe the RGB it became
    converted = ImageData(frames, layout, fmt, image.mode, metadata)

    def encode(stream: BinaryIO) -> None:

        if fmt == "NPY":
            stream.write(npy.encode(frames, name))
        elif fmt == "TIFF" and not tiff.pillow_holds(frames, layout, metadata):
            stream.write(tiff.encode(frames, layout, metadata))
        elif fmt == "PNG" and len(frames) == 1:  # animated PNG stays with Pillow
            level = 6 if compress_level is None else compress_level
            png_fast.write(stream, frames[0], metadata, level=level, name=name)
        else:
            pillow_io.save(converted, stream, fmt, quality, compress_level)

    write_atomic(dest, encode)
