"""ImageMagick kernel strings: ``'3x3: 0,-1,0,-1,5,-1,0,-1,0'``, ``'3: ...'``, ``'1,2,1,...'``.

``WxH`` is width x height, values row by row, separated by commas and/or spaces; ``W:``
is a square kernel; an optional origin ``WxH+X+Y`` moves the anchor (convcli pads the
kernel with zeros so that tap lands on PyTorch's anchor ``(k - 1) // 2``). The old form,
a bare comma-separated list, is a square kernel. ImageMagick's ``nan`` ("not part of the
neighbourhood") and its rotation flags (``@``, ``<``, ``>``) are refused.
"""

from __future__ import annotations

import math
import re

import numpy as np

from convcli.errors import KernelError
from convcli.kernels._arrays import format_number
from convcli.kernels._checks import build_kernel, check_side, parse_number
from convcli.kernels._kernel import Kernel

GEOMETRY = re.compile(
    r"\s*(?P<w>\d+)(?:x(?P<h>\d+))?(?P<origin>[+-]\d+[+-]\d+)?(?P<flags>[@<>!^%]*)\s*:(?P<values>.*)",
    re.DOTALL,
)
OLD_STYLE = re.compile(r"[\s\d.eE+,-]*,[\s\d.eE+,-]*")
_SEPARATORS = re.compile(r"[\s,]+")


def is_imagemagick(spec: str) -> bool:
    """True when ``spec`` has ImageMagick kernel syntax (``WxH:``, ``W:``, or ``1,2,...``).

    Examples
    --------
    >>> is_imagemagick("3x3: 0,1,0,1,-4,1,0,1,0"), is_imagemagick("gaussian:sigma=2")
    (True, False)
    """
    return bool(GEOMETRY.match(spec) or OLD_STYLE.fullmatch(spec))


def anchor_padding(n: int, origin: int) -> tuple[int, int]:
    """Zeros to add (before, after) so index ``origin`` of ``n`` taps becomes the anchor.

    The anchor of ``k`` taps is ``(k - 1) // 2`` (PyTorch); the padding is the least.

    Examples
    --------
    >>> anchor_padding(3, 1), anchor_padding(3, 0), anchor_padding(3, 2)
    ((0, 0), (1, 0), (0, 2))
    """
    centre = (n - 1) // 2
    if origin < centre:
        return n - 2 - 2 * origin, 0
    if origin > centre:
        return 0, 2 * origin + 1 - n
    return 0, 0


def parse_imagemagick(spec: str, where: str) -> Kernel:
    """A kernel from an ImageMagick kernel string.

    Examples
    --------
    >>> parse_imagemagick("2x1: 1, 3", "test").weight.tolist()
    [[1.0, 3.0]]
    >>> parse_imagemagick("3x1+0+0: 1 2 3", "test").weight.tolist()
    [[0.0, 1.0, 2.0, 3.0]]
    """
    match = GEOMETRY.match(spec)
    if match is None:
        tokens = [t for t in _SEPARATORS.split(spec.strip()) if t]
        side = math.isqrt(len(tokens))
        if side * side != len(tokens):
            raise KernelError(
                f"{where}: {len(tokens)} values are not a square kernel; give the size "
                "as 'WxH: values' (width x height)"
            )
        width = height = side
        origin = None
    else:
        width = int(match["w"])
        height = int(match["h"]) if match["h"] else width
        if match["flags"]:
            raise KernelError(
                f"{where}: ImageMagick flags {match['flags']!r} (rotations, scaling) are not "
                "supported; accepted: 'WxH: values', 'WxH+X+Y: values', 'W: values'"
            )
        origin = match["origin"]
        tokens = [t for t in _SEPARATORS.split(match["values"].strip()) if t]
    if width < 1 or height < 1:
        raise KernelError(f"{where}: width and height must be at least 1")
    check_side(max(width, height), "kernel side", where)
    if len(tokens) != width * height:
        raise KernelError(
            f"{where}: {width}x{height} (width x height) needs {width * height} values, "
            f"got {len(tokens)}"
        )
    for i, token in enumerate(tokens):
        if token.lower() in ("nan", "-"):
            raise KernelError(
                f"{where}: value {i + 1} is {token!r}; convcli has no 'not in the "
                "neighbourhood' taps: write 0"
            )
    values = [parse_number(t, where, f"value {i + 1}") for i, t in enumerate(tokens)]
    weight = np.array(values).reshape(height, width)
    if origin:
        x, y = (int(v) for v in re.findall(r"[+-]\d+", origin))
        if not (0 <= x < width and 0 <= y < height):
            raise KernelError(f"{where}: origin +{x}+{y} is outside the {width}x{height} kernel")
        pads = (anchor_padding(height, y), anchor_padding(width, x))
        check_side(max(height + sum(pads[0]), width + sum(pads[1])), "padded side", where)
        weight = np.pad(weight, pads)
    return build_kernel("inline", weight, where=where, source="inline")


def to_imagemagick(kernel: Kernel) -> str:
    """The ImageMagick string for a 2-D kernel; values read back exactly.

    Examples
    --------
    >>> to_imagemagick(Kernel("k", [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]))
    '3x3: 0,-1,0,-1,5,-1,0,-1,0'
    """
    if kernel.is_bank or not kernel.is_depthwise:
        raise KernelError(
            f"kernel {kernel.name!r}: an ImageMagick kernel string holds one 2-D kernel"
        )
    height, width = kernel.shape
    return f"{width}x{height}: " + ",".join(format_number(v) for v in kernel.weight.ravel())
