"""The parametric built-in kernels: small named constructions over one sampling engine.

Every kernel here is a correlation kernel as PyTorch applies it (not flipped), anchored
at index ``(k - 1) // 2``. The fixed kernels (Sobel, Prewitt, Scharr, Kirsch, sharpen,
emboss, outline, identity) ship as JSON files in the top-level ``kernels/`` folder.

=============  =====================================================================
name           weight
=============  =====================================================================
box            ``ones((size, size)) / size**2``
gaussian       ``exp(-r**2 / (2 sigma**2))`` at integer offsets, normalized to sum 1
               (the outer product of OpenCV's ``getGaussianKernel(size, sigma)``);
               ``sigma_y``, ``theta`` and derivative orders: :mod:`._gaussians`
dog            ``gaussian(low_sigma) - gaussian(high_sigma)`` (scikit-image's DoG)
gabor          OpenCV's ``getGaborKernel`` with convcli's angle (:mod:`._gaussians`)
gabor-bank     ``orientations`` Gabor kernels at ``theta + k * 180 / orientations``
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

from convcli.kernels._checks import build_bank, build_kernel, check_side
from convcli.kernels._gaussians import (
    dog_weight,
    gabor_bank_weights,
    gabor_weight,
    gaussian_size,
    gaussian_weight,
    offsets,
)
from convcli.kernels._kernel import BANK_COMBINES, Kernel
from convcli.kernels._params import Param

_SIGMA = Param(float, 1.0, "standard deviation in pixels", minimum=0.01)
_SIZE = Param(
    int, None, "side in taps (odd)", positive=True, odd=True, default_text="2*ceil(3*sigma)+1"
)


def log_weight(sigma: float = 1.0, size: int | None = None, where: str = "log"):
    """Laplacian of Gaussian (MATLAB ``fspecial('log')``): negative centre, sums to 0.

    Examples
    --------
    >>> w = log_weight(1.0, 5)
    >>> bool(w[2, 2] < 0), abs(float(w.sum())) < 1e-12
    (True, True)
    """
    size = gaussian_size(sigma, size, where)
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


def gabor_bank(
    sigma=3.0,
    theta=0.0,
    wavelength=8.0,
    gamma=0.5,
    psi=0.0,
    size=None,
    orientations=4,
    combine="max",
    where: str = "gabor-bank",
) -> Kernel:
    """A bank of ``orientations`` Gabor kernels; each member is named by its own spec."""
    weights = gabor_bank_weights(sigma, theta, wavelength, gamma, psi, size, orientations, where)
    side = weights[0][1].shape[0]
    members = [
        build_kernel(
            f"gabor:sigma={sigma:g},theta={angle:g},wavelength={wavelength:g},"
            f"gamma={gamma:g},psi={psi:g},size={side}",
            weight,
            where=where,
        )
        for angle, weight in weights
    ]
    return build_bank("gabor-bank", members, combine, where=where)


@dataclass(frozen=True)
class Parametric:
    """A parametric built-in: its construction, parameters and one-line description.

    ``build`` returns a weight array, or a bank :class:`Kernel` (``gabor-bank``).
    """

    build: Callable[..., np.ndarray | Kernel]
    params: dict[str, Param]
    description: str


_GABOR = {
    "sigma": Param(float, 3.0, "envelope standard deviation along the wave", minimum=0.01),
    "theta": Param(float, 0.0, "wave direction, degrees counter-clockwise"),
    "wavelength": Param(float, 8.0, "wavelength in pixels", minimum=0.01),
    "gamma": Param(float, 0.5, "aspect ratio (envelope across / along)", minimum=0.01),
    "psi": Param(float, 0.0, "phase offset in degrees (0 even, 90 odd)"),
    "size": Param(
        int,
        None,
        "side in taps (odd)",
        positive=True,
        odd=True,
        default_text="2*ceil(3*sigma/min(gamma,1))+1",
    ),
}

PARAMETRIC: dict[str, Parametric] = {
    "box": Parametric(
        box_weight,
        {"size": Param(int, 3, "side in taps", positive=True)},
        "mean (box) blur, normalized",
    ),
    "gaussian": Parametric(
        gaussian_weight,
        {
            "sigma": Param(float, 1.0, "standard deviation in pixels", minimum=0.01),
            "sigma_y": Param(
                float,
                None,
                "standard deviation along y (sigma is along x)",
                minimum=0.01,
                default_text="sigma",
            ),
            "theta": Param(float, 0.0, "degrees counter-clockwise: the x axis turned"),
            "order_y": Param(int, 0, "derivative order along y (0, 1, 2)", minimum=0, maximum=2),
            "order_x": Param(int, 0, "derivative order along x (0, 1, 2)", minimum=0, maximum=2),
            "size": Param(
                int,
                None,
                "side in taps (odd)",
                positive=True,
                odd=True,
                default_text="2*ceil(3*max(sigma,sigma_y))+1",
            ),
        },
        "Gaussian blur (normalized), anisotropic, rotated, or its derivatives (as SciPy)",
    ),
    "dog": Parametric(
        dog_weight,
        {
            "low_sigma": Param(float, 1.0, "sigma of the positive Gaussian", minimum=0.01),
            "high_sigma": Param(
                float,
                None,
                "sigma of the subtracted Gaussian",
                minimum=0.01,
                default_text="1.6*low_sigma",
            ),
            "size": Param(
                int,
                None,
                "side in taps (odd)",
                positive=True,
                odd=True,
                default_text="2*ceil(3*high_sigma)+1",
            ),
        },
        "difference of Gaussians: gaussian(low_sigma) - gaussian(high_sigma), sums to 0",
    ),
    "log": Parametric(
        log_weight,
        {"sigma": _SIGMA, "size": _SIZE},
        "Laplacian of Gaussian (MATLAB fspecial('log')), sums to 0",
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
    ),
    "gabor": Parametric(
        gabor_weight,
        _GABOR,
        "Gabor: Gaussian envelope times a cosine wave (OpenCV getGaborKernel), not normalized",
    ),
    "gabor-bank": Parametric(
        gabor_bank,
        {
            **_GABOR,
            "orientations": Param(
                int, 4, "members, at theta + k*180/orientations", positive=True, maximum=64
            ),
            "combine": Param(str, "max", "how responses combine", choices=BANK_COMBINES),
        },
        "bank of Gabor kernels at evenly spaced orientations (combined by max)",
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
