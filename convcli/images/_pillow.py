"""Pillow's side of convcli's image I/O: decode to arrays, encode from arrays."""

from __future__ import annotations

import contextlib
import io
import logging
import struct
import threading
import warnings

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from convcli._budget import BudgetError, FrameBudget
from convcli.choices import FORMATS
from convcli.errors import ImageError
from convcli.images import _cstderr as cstderr
from convcli.images._gif import palette_frame

# Pillow logs some refusals (a TIFF's absurd samples per pixel) before raising; Python
# prints them to stderr when the application has not configured logging. The exception
# that follows becomes convcli's one-line error.
logging.getLogger("PIL").addHandler(logging.NullHandler())

#: What the refusal of an unknown file lists: PNG, JPEG, TIFF, BMP, WebP, GIF or .npy.
_SHOWN = {"WEBP": "WebP", "NPY": ".npy"}
_READABLE = ", ".join(_SHOWN.get(f, f) for f in list(FORMATS)[:-1])
_READABLE += " or " + _SHOWN.get(list(FORMATS)[-1], list(FORMATS)[-1])

# Pillow mode of a decoded frame -> the mode convcli keeps (before reading it into an array).
_KEPT = {
    "1": "L", "L": "L", "LA": "LA", "La": "LA", "PA": "RGBA",
    "RGB": "RGB", "RGBX": "RGB", "YCbCr": "RGB", "HSV": "RGB",
    "RGBA": "RGBA", "RGBa": "RGBA", "CMYK": "CMYK",
    "I;16": "I;16", "I;16L": "I;16", "I;16B": "I;16", "I;16N": "I;16",
    "I": "I", "F": "F",
}  # fmt: skip
_LAYOUT = {"I;16": "L", "I": "L", "F": "L"}
_DTYPE = {"I;16": np.uint16, "I": np.int32, "F": np.float32}
_COLOUR = ("L", "LA", "RGB", "RGBA")

_LIMIT_LOCK = threading.Lock()
# What Pillow's decoders raise on damaged data: Image.open's own list of "not this
# format" errors (a GIF cut inside a frame header raises IndexError or struct.error)
# plus the I/O ones.
_CORRUPT = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error)


@contextlib.contextmanager
def _pillow_limit(limit: int | None):
    """Pillow's decompression-bomb limit raised to ``limit`` (never lowered) meanwhile.

    Also silences Pillow's warnings: the size warning (convcli checks sizes itself) and
    the damage Pillow tolerates (a corrupt EXIF tag); what it cannot tolerate raises.
    """
    with _LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        if saved is not None and (limit is None or limit > saved):
            Image.MAX_IMAGE_PIXELS = limit
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                warnings.simplefilter("ignore", UserWarning)
                yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _bomb(name: str, limit: int | None) -> ImageError:
    return ImageError(
        f"cannot read {name}: it is larger than the limit of {limit} pixels "
        "(a guard against decompression bombs); if you trust the file, raise the limit "
        "with --max-pixels (max_pixels=)"
    )


_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"II+\x00": "TIFF",
    b"MM\x00+": "TIFF",
    b"BM": "BMP",
}


def _signature(data: bytes) -> str | None:
    """The format whose magic bytes ``data`` starts with, or None.

    Examples
    --------
    >>> _signature(b"GIF89a..."), _signature(b"RIFF....WEBPVP8 "), _signature(b"hi")
    ('GIF', 'WebP', None)
    """
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return next((kind for magic, kind in _SIGNATURES.items() if data.startswith(magic)), None)


def open_image(data: bytes, name: str, max_pixels: int | None) -> Image.Image:
    """Open ``data`` with Pillow, refusing images of more than ``max_pixels`` pixels.

    ``max_pixels=None`` keeps Pillow's decompression-bomb limit
    (``PIL.Image.MAX_IMAGE_PIXELS``); a larger ``max_pixels`` raises it for this call only.
    """
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    try:
        with _pillow_limit(limit):
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise _bomb(name, limit) from None
    except UnidentifiedImageError:
        kind = _signature(data)
        if kind:
            raise ImageError(
                f"cannot read {name}: it starts like a {kind} file but its header is truncated "
                "or corrupt; re-export or re-download it"
            ) from None
        raise ImageError(
            f"cannot read {name}: not an image convcli can read ({_READABLE})"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"cannot read {name}: corrupt or unsupported image ({exc})") from None
    check_pixels(image.size[0] * image.size[1], limit, name)
    _check_budget(data, image, limit, name)  # the frames the headers announce
    return image


def default_pixel_limit() -> int | None:
    """Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``), for whole images."""
    return Image.MAX_IMAGE_PIXELS


def check_pixels(pixels: int, limit: int | None, name: str) -> None:
    """Raise ImageError when an image of ``pixels`` pixels is over ``limit``."""
    if limit is not None and pixels > limit:
        raise ImageError(
            f"cannot read {name}: it has {pixels} pixels, more than the limit of {limit} "
            "(a guard against decompression bombs); if you trust the file, raise the limit "
            "with --max-pixels (max_pixels=)"
        )


def kept_mode(frame: Image.Image, name: str) -> str:
    """The mode convcli reads ``frame`` as: palette expanded, 1-bit as L, I;16* as I;16."""
    if frame.mode in ("P", "PA"):
        transparent = frame.mode == "PA" or "transparency" in frame.info
        assert frame.palette is not None  # a P or PA image has one
        transparent = transparent or frame.palette.mode == "RGBA"
        grey = _grey_palette(frame)
        return ("L" if grey else "RGB") + ("A" if transparent else "")
    mode = _KEPT.get(frame.mode)
    if frame.mode in ("L", "RGB") and "transparency" in frame.info:
        return frame.mode + "A"  # a transparent colour (PNG tRNS): make it alpha
    if mode is None:
        raise ImageError(
            f"cannot read {name}: Pillow mode {frame.mode} is not supported; "
            "convert it to RGB, L or CMYK first"
        )
    return mode


def _grey_palette(frame: Image.Image) -> bool:
    """True when every palette entry the frame uses is a grey (R = G = B)."""
    assert frame.palette is not None  # only asked of P and PA images
    palette = np.frombuffer(frame.palette.tobytes(), np.uint8)
    step = len(frame.palette.mode)
    entries = palette[: len(palette) // step * step].reshape(-1, step)
    used = np.unique(np.asarray(frame if frame.mode == "P" else frame.getchannel(0)))
    used = used[used < len(entries)]
    colours = entries[used, :3]
    return bool(len(colours)) and bool((colours == colours[:, :1]).all())


def common_mode(modes: list[str], name: str) -> str:
    """One mode that holds every frame's mode (GIF frames may differ: P, then RGBA)."""
    distinct = set(modes)
    if len(distinct) == 1:
        return modes[0]
    if distinct <= set(_COLOUR):
        colour = "RGB" if distinct & {"RGB", "RGBA"} else "L"
        return colour + ("A" if distinct & {"LA", "RGBA"} else "")
    raise ImageError(
        f"cannot read {name}: its frames have different kinds ({', '.join(sorted(distinct))}); "
        "convcli needs one kind for all frames"
    )


def to_array(frame: Image.Image, mode: str) -> np.ndarray:
    """``frame`` as an ``(H, W, C)`` array of the native dtype of ``mode``."""
    if mode in _DTYPE:
        array = np.asarray(frame).astype(_DTYPE[mode])  # I;16B arrives big-endian
    else:
        if frame.mode != mode:
            frame = frame.convert(mode)
        array = np.asarray(frame)
    if array.ndim == 2:
        array = array[:, :, None]
    return np.ascontiguousarray(array)


def _narrowed(frames, mode: str, first: str, fmt: str):
    """Undo the widening Pillow does to later frames: GIF frames after the first come as
    RGB(A) even when the palette is grey; animated WebP always comes as RGBA."""
    if fmt == "GIF" and first.startswith("L") and mode.startswith("RGB"):
        if all((f[:, :, 0:1] == f[:, :, 1:3]).all() for f in frames):
            frames = [np.ascontiguousarray(np.delete(f, (1, 2), axis=2)) for f in frames]
            mode = "L" + mode[3:]
    if fmt == "WEBP" and mode == "RGBA" and all((f[:, :, 3] == 255).all() for f in frames):
        frames = [np.ascontiguousarray(f[:, :, :3]) for f in frames]
        mode = "RGB"
    return frames, mode


def layout_of(mode: str) -> str:
    """The ImageData layout of a kept mode."""
    return _LAYOUT.get(mode, mode)


def read_frames(image: Image.Image, name: str, max_pixels: int | None = None):
    """Every frame of an opened Pillow image: ``(frames, layout, metadata)``.

    Every frame is held to ``max_pixels`` (as :func:`open_image`) before it is decoded.
    """

    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    images, durations = [], []
    budget = FrameBudget(limit)
    try:
        # libtiff prints its complaints to fd 2: they go into the error below instead
        with _pillow_limit(limit), cstderr.captured(image.format == "TIFF") as printed:
            for frame in ImageSequence.Iterator(image):
                check_pixels(frame.size[0] * frame.size[1], limit, name)
                _spend(budget, frame.size[0] * frame.size[1], name)
                frame.load()
                images.append(frame.copy())
                durations.append(frame.info.get("duration"))
    except Image.DecompressionBombError:
        raise _bomb(name, limit) from None
    except _CORRUPT as exc:
        detail = f"{exc}: {printed[0]}" if printed else exc
        raise ImageError(
            f"cannot read {name}: truncated or corrupt image data ({detail}); "
            "re-export or re-download it"
        ) from None
    modes = [kept_mode(frame, name) for frame in images]
    mode = common_mode(modes, name)
    frames = [to_array(frame, mode) for frame in images]
    if len(frames) > 1:
        frames, mode = _narrowed(frames, mode, modes[0], image.format or "")
    metadata = metadata_of(image)
    if len(images) > 1 or image.format in ("GIF", "WEBP") and durations[0] is not None:
        if all(d is not None for d in durations):
            metadata["durations"] = [int(d) for d in durations]
        if "loop" in image.info:
            metadata["loop"] = int(image.info["loop"])
    return frames, layout_of(mode), metadata


def _spend(budget: FrameBudget, pixels: int, name: str, count: int = 1) -> None:
    try:
        budget.add(pixels, 4, count)
    except BudgetError as exc:
        raise ImageError(f"cannot read {name}: {exc}") from None


def _check_budget(data: bytes, image: Image.Image, limit: int | None, name: str) -> None:
    """Refuse an image whose announced frames (GIF, APNG, TIFF pages, WebP) would cost more
    than the budget, from its headers alone, before any frame is decoded. Counted on a
    second opening, which leaves ``image`` at its first frame whatever counting does."""
    if image.format not in ("GIF", "PNG", "TIFF", "WEBP", "MPO"):
        return
    try:
        with _pillow_limit(limit), Image.open(io.BytesIO(data)) as probe:
            count = int(getattr(probe, "n_frames", 1))
    except _CORRUPT:
        return  # damaged: reading frame by frame reports it
    except Image.DecompressionBombError:
        return  # open_image has reported it
    if count > 1:
        _spend(FrameBudget(limit), image.size[0] * image.size[1], name, count)


# TIFF tags that describe the picture rather than its storage: kept as its "EXIF".
_TIFF_DESCRIPTIVE = (269, 270, 271, 272, 274, 285, 305, 306, 315, 316, 33432)
_EXIF_IFDS = (0x8769, 0x8825)  # Exif and GPS sub-directories


def metadata_of(image: Image.Image) -> dict:
    """ICC profile, EXIF (bytes, as Pillow gives them) and DPI of an opened image."""
    info = image.info
    metadata: dict[str, object] = {}
    for key in ("icc_profile", "exif"):
        if info.get(key):
            metadata[key] = bytes(info[key])
    if image.format == "TIFF":
        exif = _tiff_exif(image)
        if exif:
            metadata["exif"] = exif
    if "dpi" in info and (image.format != "TIFF" or 282 in getattr(image, "tag_v2", {})):
        metadata["dpi"] = tuple(float(v) for v in info["dpi"])
    return metadata


# Pillow reports dpi (1, 1) for a TIFF without resolution tags: only tag 282 counts.


def _tiff_exif(image: Image.Image) -> bytes | None:
    """A TIFF's descriptive tags (make, model, date, Exif and GPS directories) as EXIF."""
    source = image.getexif()
    kept = Image.Exif()
    for tag in _TIFF_DESCRIPTIVE:
        if tag in source:
            kept[tag] = source[tag]
    for tag in _EXIF_IFDS:
        if tag in source:
            kept[tag] = source.get_ifd(tag)
    return kept.tobytes() if len(kept) else None


def tiff_exif_of(path) -> bytes | None:
    """The EXIF :func:`metadata_of` gives for the TIFF file at ``path`` (its descriptive
    tags, Exif and GPS directories), from its header only (Pillow opens lazily); None when
    it has none or Pillow cannot open it."""
    try:
        with _pillow_limit(None), Image.open(path) as image:
            return _tiff_exif(image)
    except Exception:  # Pillow raises many kinds for what it cannot open: nothing to keep
        return None


def from_array(array: np.ndarray, layout: str) -> Image.Image:
    """A Pillow image of an ``(H, W, C)`` array whose dtype and layout Pillow can hold."""
    height, width, _ = array.shape
    kind = np.dtype(array.dtype)
    if kind == np.uint8:
        mode, raw = layout, array
    elif kind == np.uint16:
        mode, raw = "I;16", array.astype("<u2")
    elif kind == np.int32:
        mode, raw = "I", array.astype("=i4")
    else:
        mode, raw = "F", array.astype("=f4")
    if mode == "L" or layout == "L" and mode != "L":
        raw = raw[:, :, 0]
    return Image.frombytes(mode, (width, height), np.ascontiguousarray(raw).tobytes())


def save(image, stream, fmt: str, quality: int | None, compress_level: int | None = None) -> None:
    """Encode ``image`` (an ImageData Pillow can hold) as ``fmt`` into ``stream``."""

    if fmt == "GIF":
        pictures = [palette_frame(frame, image.layout) for frame in image.frames]
    else:
        pictures = [from_array(frame, image.layout) for frame in image.frames]
    options = _save_options(image, fmt, quality)
    if fmt == "PNG" and compress_level is not None:
        options["compress_level"] = compress_level
    if len(pictures) > 1:
        options.update(save_all=True, append_images=pictures[1:])
    if fmt == "GIF" and "transparency" in pictures[0].info:
        options.update(transparency=pictures[0].info["transparency"], disposal=2)
    pictures[0].save(stream, format=fmt, **options)


def _save_options(image, fmt: str, quality: int | None) -> dict:
    metadata = image.metadata
    options = {}
    if fmt in ("PNG", "JPEG", "TIFF", "WEBP") and metadata.get("icc_profile"):
        options["icc_profile"] = metadata["icc_profile"]
    if fmt in ("PNG", "JPEG", "TIFF", "WEBP") and metadata.get("exif"):
        options["exif"] = metadata["exif"]
    if fmt in ("PNG", "JPEG", "TIFF", "BMP") and metadata.get("dpi"):
        options["dpi"] = tuple(metadata["dpi"])
    if fmt == "JPEG":
        options["quality"] = 95 if quality is None else quality
    if fmt == "WEBP":
        if quality is None:  # lossless, keeping the colour under transparent pixels
            options.update(lossless=True, quality=100, exact=True)
        else:
            options["quality"] = quality
    if fmt == "TIFF" and not _has_exif_directories(metadata.get("exif")):
        # libtiff cannot write EXIF sub-directories: such files go uncompressed
        options["compression"] = "tiff_adobe_deflate"
    if len(image.frames) > 1 or fmt in ("GIF", "WEBP"):
        if "durations" in metadata:
            options["duration"] = list(metadata["durations"])
        if "loop" in metadata:
            options["loop"] = int(metadata["loop"])
    return options


def _has_exif_directories(exif: bytes | None) -> bool:
    if not exif:
        return False
    parsed = Image.Exif()
    parsed.load(exif)
    return any(tag in parsed for tag in _EXIF_IFDS)
