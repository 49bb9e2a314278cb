"""The parametric built-in kernels: small named constructions over one sampling engine.

Every kernel here is a correlation kernel as PyTorch applies it (not flipped), anchored
at index ``(k - 1) // 2``. The fixed kernels (Sobel, Prewitt, Scharr, Kirsch, sharpen,
emboss, outline, identity) ship as JSON files in the top-level ``kernels/`` folder.

=============  =====================================================================
name           weight
=============  =====================================================================
box            ``ones((size, size)) / size**2``
gaussian       ``exp(-r**2 / (2 sigma**2))`` at integer offsets, normalized to sum 1
               (the outer product of OpenCV's ``getGaussianKernel(size, sigma)``)
log            Laplacian of Gaussian, as MATLAB's ``fspecial('log')``:
               ``g (r**2 - 2 sigma**2) / sigma**4`` (``g`` the normalized Gaussian),
               minus its mean so it sums to 0
unsharp        ``(1 + amount) delta - amount gaussian(sigma)`` (sums to 1)
laplacian      ``[[0,1,0],[1,-4,1],[0,1,0]]``; ``diagonals=true``:
               ``[[1,1,1],[1,-8,1],[1,1,1]]``
motion-blur    a 1-pixel-wide antialiased line of ``length`` taps through the centre at
               ``angle`` degrees counter-clockwise from horizontal, normalized
=============  =====================================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from convcli.errors import KernelError
from convcli.kernels._checks import MAX_TAPS, check_side
from convcli.kernels._params import Param

_SIGMA = Param(float, 1.0, "standard deviation in pixels", minimum=0.01)
_SIZE = Param(
    int, None, "side in taps (odd)", positive=True, odd=True, default_text="2*ceil(3*sigma)+1"
)


def offsets(size: int) -> np.ndarray:
    """Tap offsets from the anchor ``(size - 1) // 2``, as float64.

    Examples
    --------
    >>> offsets(3).tolist(), offsets(4).tolist()
    ([-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0, 2.0])
    """
    return np.arange(size, dtype=np.float64) - (size - 1) // 2


def _gaussian_size(sigma: float, size: int | None, where: str) -> int:
    if size is None:
        if 3 * sigma > MAX_TAPS:
            raise KernelError(
                f"{where}: sigma={sigma:g} needs 2*ceil(3*sigma)+1 taps, over the limit of "
                f"{MAX_TAPS} taps per side; give a smaller sigma or an explicit size"
            )
        size = 2 * math.ceil(3 * sigma) + 1
    check_side(size, "size", where)
    return size


def gaussian_weight(sigma: float = 1.0, size: int | None = None, where: str = "gaussian"):
    """Normalized 2-D Gaussian: the outer product of two normalized 1-D Gaussians.

    Examples
    --------
    >>> w = gaussian_weight(1.0)
    >>> w.shape, round(float(w.sum()), 12), bool(w[3, 3] == w.max())
    ((7, 7), 1.0, True)
    """
    size = _gaussian_size(sigma, size, where)
    with np.errstate(under="ignore"):
        g = np.exp(-0.5 * (offsets(size) / sigma) ** 2)
    g /= g.sum()
    return np.outer(g, g)


def log_weight(sigma: float = 1.0, size: int | None = None, where: str = "log"):
    """Laplacian of Gaussian (MATLAB ``fspecial('log')``): negative centre, sums to 0.

    Examples
    --------
    >>> w = log_weight(1.0, 5)
    >>> bool(w[2, 2] < 0), abs(float(w.sum())) < 1e-12
    (True, True)
    """
    size = _gaussian_size(sigma, size, where)
    g = gaussian_weight(sigma, size, where)
    y, x = np.meshgrid(offsets(size), offsets(size), indexing="ij")
    h = g * (x * x + y * y - 2 * sigma**2) / sigma**4
    return h - h.mean()


def unsharp_weight(amount=1.0, sigma=1.0, size=None, where: str = "unsharp"):
    """Unsharp mask: ``(1 + amount) delta - amount gaussian``, sums to 1.

    Examples
    --------
    >>> w = unsharp_weight(1.0, 1.0, 3)
    >>> round(float(w.sum()), 12), bool(w[1, 1] > 1)
    (1.0, True)
    """
    w = -amount * gaussian_weight(sigma, size, where)
    centre = (w.shape[0] - 1) // 2
    w[centre, centre] += 1 + amount
    return w


def box_weight(size: int = 3, where: str = "box"):
    """Mean filter: ``ones((size, size)) / size**2``.

    Examples
    --------
    >>> box_weight(2).tolist()
    [[0.25, 0.25], [0.25, 0.25]]
    """
    check_side(size, "size", where)
    return np.full((size, size), 1.0 / (size * size))


def laplacian_weight(diagonals: bool = False, where: str = "laplacian"):
    """The 4-neighbour (or 8-neighbour) discrete Laplacian, negative centre.

    Examples
    --------
    >>> laplacian_weight().tolist()
    [[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]
    """
    if diagonals:
        w = np.ones((3, 3))
        w[1, 1] = -8.0
        return w
    return np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])


def motion_blur_weight(length: float = 9.0, angle: float = 0.0, where: str = "motion-blur"):
    """A line of ``length`` taps through the centre, ``angle`` degrees counter-clockwise.

    Each tap weighs ``max(0, 1 - d)``, ``d`` its distance to the segment of length
    ``length - 1`` centred on the anchor (an antialiased 1-pixel line), then the kernel
    is normalized to sum 1. Rows grow downwards, so 90 degrees is vertical.

    Examples
    --------
    >>> (motion_blur_weight(3, 0) * 3).round(12).tolist()
    [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    """
    half = (length - 1) / 2
    radius = math.ceil(half)
    check_side(2 * radius + 1, "size", where)
    theta = math.radians(angle)
    direction = np.array([-math.sin(theta), math.cos(theta)])  # (row, col)
    off = offsets(2 * radius + 1)
    y, x = np.meshgrid(off, off, indexing="ij")
    along = np.clip(y * direction[0] + x * direction[1], -half, half)
    distance = np.hypot(y - along * direction[0], x - along * direction[1])
    w = np.maximum(0.0, 1.0 - distance)
    return w / w.sum()


@dataclass(frozen=True)
class Parametric:
    """A parametric built-in: its construction, parameters and one-line description."""

    build: Callable[..., np.ndarray]
    params: dict[str, Param]
    description: str
    #: The natural output (``Kernel.output_map``): ``abs`` for zero-sum edge kernels.
    output_map: str | None = None


PARAMETRIC: dict[str, Parametric] = {
    "box": Parametric(
        box_weight,
        {"size": Param(int, 3, "side in taps", positive=True)},
        "mean (box) blur, normalized",
    ),
    "gaussian": Parametric(
        gaussian_weight,
        {"sigma": _SIGMA, "size": _SIZE},
        "Gaussian blur, normalized (OpenCV getGaussianKernel outer product)",
    ),
    "log": Parametric(
        log_weight,
        {"sigma": _SIGMA, "size": _SIZE},
        "Laplacian of Gaussian (MATLAB fspecial('log')), sums to 0",
        output_map="abs",
    ),
    "unsharp": Parametric(
        unsharp_weight,
        {
            "amount": Param(float, 1.0, "sharpening strength", minimum=0.0),
            "sigma": _SIGMA,
            "size": _SIZE,
        },
        "unsharp mask: (1+amount)*identity - amount*gaussian",
    ),
    "laplacian": Parametric(
        laplacian_weight,
        {"diagonals": Param(bool, False, "8-neighbour form")},
        "discrete Laplacian [[0,1,0],[1,-4,1],[0,1,0]] (diagonals=true: 8-neighbour)",
        output_map="abs",
    ),
    "motion-blur": Parametric(
        motion_blur_weight,
        {
            "length": Param(float, 9.0, "line length in taps", minimum=1.0),
            "angle": Param(float, 0.0, "degrees counter-clockwise from horizontal"),
        },
        "linear motion blur along a line through the centre, normalized",
    ),
}
