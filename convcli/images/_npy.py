"""NumPy ``.npy`` files: one frame, channels last, any channel count, values as they are."""

from __future__ import annotations

import io
import math
from tokenize import TokenError

import numpy as np

from convcli.errors import ImageError
from convcli.images._pillow import check_pixels

MAGIC = b"\x93NUMPY"
_KEPT = (np.uint8, np.uint16, np.int32, np.float32)


def _check_header(data: bytes, name: str, limit: int | None) -> None:
    """Refuse, from the header alone, an array over ``limit`` pixels or longer than ``data``
    holds: nothing is allocated for a header that claims 200000 x 200000."""
    fp = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fp)
        read = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }.get(version)
        if read is None:
            raise ValueError(f"unsupported .npy format version {version}")
        shape, _, dtype = read(fp)
    except (ValueError, OSError, EOFError, SyntaxError, TokenError) as exc:
        raise ImageError(f"cannot read {name}: truncated or corrupt .npy file ({exc})") from None
    if len(shape) >= 2:
        check_pixels(shape[0] * shape[1], limit, name)
    if not dtype.hasobject and math.prod(shape) * dtype.itemsize > len(data) - fp.tell():
        raise ImageError(
            f"cannot read {name}: truncated or corrupt .npy file (the header says {shape} "
            f"{dtype}, but only {len(data) - fp.tell()} bytes of data follow)"
        )


def decode(data: bytes, name: str, limit: int | None = None) -> np.ndarray:
    """An ``.npy`` file's array as ``(H, W, C)``: float64/float16 as float32.

    The header is checked first: an array of more than ``limit`` pixels (``H * W``), or
    one the file is too short to hold, is refused before any memory is allocated.

    Examples
    --------
    >>> import io, numpy as np
    >>> buffer = io.BytesIO()
    >>> np.save(buffer, np.ones((2, 3)))
    >>> decode(buffer.getvalue(), "x.npy").shape, decode(buffer.getvalue(), "x.npy").dtype
    ((2, 3, 1), dtype('float32'))
    """
    _check_header(data, name, limit)
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise ImageError(
                f"cannot read {name}: it holds Python objects, which convcli does not load "
                "(allow_pickle=False); save a numeric array"
            ) from None
        raise ImageError(f"cannot read {name}: truncated or corrupt .npy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise ImageError(f"cannot read {name}: truncated or corrupt .npy file ({exc})") from None
    if array.ndim not in (2, 3) or 0 in array.shape:
        raise ImageError(
            f"cannot read {name}: an image array must be (H, W) or (H, W, C), "
            f"not of shape {array.shape}"
        )
    array = array.astype(array.dtype.newbyteorder("="), copy=False)
    if array.dtype.kind == "f":
        array = array.astype(np.float32)
    elif not any(array.dtype == kind for kind in _KEPT):
        raise ImageError(
            f"cannot read {name}: arrays of {array.dtype} are not images convcli reads; "
            "save float, uint8, uint16 or int32"
        )
    return np.ascontiguousarray(array.reshape(array.shape[0], array.shape[1], -1))


def encode(frames: list[np.ndarray], name: str) -> bytes:
    """One frame as ``.npy``: ``(H, W)`` for one channel, else ``(H, W, C)``."""
    if len(frames) != 1:
        raise ImageError(
            f"cannot write {name}: .npy holds one frame, this image has {len(frames)}; "
            "write TIFF to keep them all"
        )
    array = frames[0][:, :, 0] if frames[0].shape[2] == 1 else frames[0]
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()
