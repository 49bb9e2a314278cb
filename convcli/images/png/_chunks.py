"""16-bit PNG, which Pillow reduces to 8 bits for RGB, RGBA and LA, and PNG chunk helpers.

imagecodecs (libpng) decodes the pixels; the ancillary chunks convcli keeps (ICC profile,
EXIF, DPI) are read by Pillow and written by :func:`metadata_chunks`. Every PNG convcli
writes is encoded by :mod:`convcli.images.png._codec`.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from convcli.errors import ImageError
from convcli.images import _cstderr as cstderr

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {0: "L", 2: "RGB", 4: "LA", 6: "RGBA"}
_EXIF_PREFIX = b"Exif\x00\x00"


def chunks(data: bytes | memoryview):
    """Yield ``(type, body)`` for every chunk of a PNG, stopping at IEND or the data's end.

    Examples
    --------
    >>> png = SIGNATURE + make_chunk(b"IHDR", bytes(13)) + make_chunk(b"IEND", b"")
    >>> [kind for kind, _ in chunks(png)]
    [b'IHDR', b'IEND']
    """
    offset = len(SIGNATURE)
    while offset + 8 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        yield kind, data[offset + 8 : offset + 8 + length]
        if kind == b"IEND":
            return
        offset += 12 + length


def check_crcs(data: bytes, name: str) -> None:
    """Refuse a PNG whose chunks fail their CRC check (Pillow does not check IDAT's).

    A chunk cut short by the end of the data is left for the decoder to report.

    Examples
    --------
    >>> png = bytearray(SIGNATURE + make_chunk(b"IHDR", bytes(13)))
    >>> check_crcs(bytes(png), "a.png")
    >>> png[20] ^= 1
    >>> check_crcs(bytes(png), "a.png")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    convcli.errors.ImageError: cannot read a.png: ... (PNG chunk IHDR at byte 8 fails its CRC...
    """
    view = memoryview(data)
    offset = len(SIGNATURE)
    while offset + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        end = offset + 8 + length
        if end + 4 > len(data):
            return
        kind = bytes(view[offset + 4 : offset + 8])
        if zlib.crc32(view[offset + 4 : end]) != struct.unpack_from(">I", data, end)[0]:
            raise ImageError(
                f"cannot read {name}: truncated or corrupt image data (PNG chunk "
                f"{_printable(kind)} at byte {offset} fails its CRC check); "
                "re-export or re-download it"
            )
        if kind == b"IEND":
            return
        offset = end + 4


def _printable(kind: bytes) -> str:
    r"""A chunk type for a message: its letters, other bytes as ``\xNN`` (a damaged file's
    type can hold a newline, which would break the one-line error).

    Examples
    --------
    >>> print(_printable(b"IDAT"), _printable(b"\n\rIH"))
    IDAT \x0a\x0dIH
    """
    return "".join(chr(b) if 33 <= b < 127 else f"\\x{b:02x}" for b in kind)


def make_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, body and CRC."""
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def wants_png16(data: bytes) -> bool:
    """True for a 16-bit PNG of a colour type Pillow would reduce (RGB, RGBA, LA), or a
    16-bit grey one with a transparent colour (tRNS), which Pillow reads without it."""
    if not data.startswith(SIGNATURE) or len(data) < 33 or data[12:16] != b"IHDR":
        return False
    depth, colour_type = data[24], data[25]
    if depth != 16 or colour_type not in _COLOUR_TYPES:
        return False
    return colour_type != 0 or any(kind == b"tRNS" for kind, _ in _ancillary(data))


def _ancillary(data: bytes):
    for kind, body in chunks(data):
        if kind in (b"IDAT", b"IEND"):
            return
        yield kind, body


def decode(data: bytes, name: str) -> tuple[np.ndarray, str, str]:
    """A 16-bit PNG's pixels as ``(H, W, C)`` uint16, its layout and its mode name."""
    layout = _COLOUR_TYPES[data[25]]
    found = dict(_ancillary(data))
    if b"acTL" in found:
        raise ImageError(
            f"cannot read {name}: 16-bit animated PNG is not supported; convert it to TIFF"
        )
    array = decode_pixels(data, name)
    array = array.reshape(array.shape[0], array.shape[1], -1).astype(np.uint16, copy=False)
    mode = f"{layout};16"
    key = found.get(b"tRNS")
    if array.shape[2] == len(layout) + 1:  # the decoder applied the transparent colour
        layout += "A"
    elif key is not None and layout in ("L", "RGB"):  # a transparent colour: make it alpha
        colour = np.frombuffer(key, ">u2")[: len(layout)]
        opaque = (array != colour).any(axis=2, keepdims=True)
        array = np.concatenate([array, np.where(opaque, 65535, 0).astype(np.uint16)], axis=2)
        layout += "A"
    return np.ascontiguousarray(array), layout, mode


def decode_pixels(data: bytes, name: str) -> np.ndarray:
    """A PNG's pixels decoded by imagecodecs (libpng): ``(H, W)`` or ``(H, W, C)``.

    libpng's warnings about data it tolerates (an over-long ancillary chunk, surplus
    image data) are printed on file descriptor 2: they are dropped when the pixels
    decode, and put into the error when they do not.
    """
    import imagecodecs  # noqa: PLC0415 - lazy: only 16-bit PNG decoding needs it

    try:
        with cstderr.captured() as printed:
            return imagecodecs.png_decode(data)
    except Exception as exc:  # imagecodecs raises its own PngError for corrupt data
        detail = "; ".join([str(exc), *printed])
        raise ImageError(
            f"cannot read {name}: truncated or corrupt image data ({detail}); "
            "re-export or re-download it"
        ) from None


def metadata_chunks(metadata: dict) -> list[bytes]:
    """The iCCP, pHYs and eXIf chunks of ImageData metadata, as Pillow writes them.

    Examples
    --------
    >>> [chunk[4:8] for chunk in metadata_chunks({"dpi": (72.0, 72.0), "exif": b"Exif\\0\\0MM"})]
    [b'pHYs', b'eXIf']
    """
    extra = []
    if metadata.get("icc_profile"):
        body = b"ICC Profile\x00\x00" + zlib.compress(bytes(metadata["icc_profile"]))
        extra.append(make_chunk(b"iCCP", body))
    if metadata.get("dpi"):
        ppm = [int(float(v) / 0.0254 + 0.5) for v in metadata["dpi"]]
        extra.append(make_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)))
    if metadata.get("exif"):
        exif = bytes(metadata["exif"])
        exif = exif[len(_EXIF_PREFIX) :] if exif.startswith(_EXIF_PREFIX) else exif
        extra.append(make_chunk(b"eXIf", exif))
    return extra
