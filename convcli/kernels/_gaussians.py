"""Gaussian families: anisotropic, rotated and derivative Gaussians, DoG, Gabor and its bank.

Every weight here is a correlation weight as convcli applies it (anchor ``(k - 1) // 2``,
the centre for the odd sizes these kernels have). Angles are in degrees and turn
counter-clockwise as seen on screen (rows growing downward), as ``motion-blur``: a tap at
row offset ``dy`` and column offset ``dx`` has the coordinates

    ``a = dx cos(theta) - dy sin(theta)``  (along the kernel's own x axis)
    ``b = dx sin(theta) + dy cos(theta)``  (across it)

``gaussian`` with ``theta=0`` is separable, and its derivative orders are exactly the
weights SciPy's ``gaussian_filter(..., order=(order_y, order_x), radius=r)`` correlates
with: ``(-1)**n`` times the ``n``-th derivative of the sampled, normalized Gaussian (the
Hermite polynomial times it), so an image brightening along +x gives a positive
``order_x=1`` response.
"""

from __future__ import annotations

import math

import numpy as np

from convcli.errors import KernelError
from convcli.kernels._checks import MAX_TAPS, check_side


def offsets(size: int) -> np.ndarray:
    """Tap offsets from the anchor ``(size - 1) // 2``, as float64.

    Examples
    --------
    >>> offsets(3).tolist(), offsets(4).tolist()
    ([-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0, 2.0])
    """
    return np.arange(size, dtype=np.float64) - (size - 1) // 2


def gaussian_size(sigma: float, size: int | None, where: str) -> int:
    """``size``, or the default ``2*ceil(3*sigma)+1``, checked against the tap limit."""
    if size is None:
        if 3 * sigma > MAX_TAPS:
            raise KernelError(
                f"{where}: sigma={sigma:g} needs 2*ceil(3*sigma)+1 taps, over the limit of "
                f"{MAX_TAPS} taps per side; give a smaller sigma or an explicit size"
            )
        size = 2 * math.ceil(3 * sigma) + 1
    check_side(size, "size", where)
    return size


def gaussian_1d(sigma: float, size: int, order: int = 0) -> np.ndarray:
    """The correlation weights of a 1-D Gaussian (``order`` 0) or its derivative (1, 2).

    ``g`` is ``exp(-x**2 / (2 sigma**2))`` at the integer offsets, normalized to sum 1;
    order 1 is ``x / sigma**2 * g``, order 2 ``(x**2 / sigma**4 - 1 / sigma**2) * g``.

    Examples
    --------
    >>> (gaussian_1d(1.0, 3, 1) / gaussian_1d(1.0, 3, 0)).tolist()
    [-1.0, 0.0, 1.0]
    """
    x = offsets(size)
    with np.errstate(under="ignore"):
        g = np.exp(-0.5 / (sigma * sigma) * x**2)
    g /= g.sum()
    if order == 1:
        return x / sigma**2 * g
    if order == 2:
        return (x**2 / sigma**4 - 1 / sigma**2) * g
    return g


def _rotated(size: int, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)``: every tap's coordinates along and across the axis at ``theta`` degrees."""
    t = math.radians(theta)
    dy, dx = np.meshgrid(offsets(size), offsets(size), indexing="ij")
    return dx * math.cos(t) - dy * math.sin(t), dx * math.sin(t) + dy * math.cos(t)


def gaussian_weight(
    sigma: float = 1.0,
    size: int | None = None,
    where: str = "gaussian",
    *,
    sigma_y: float | None = None,
    theta: float = 0.0,
    order_y: int = 0,
    order_x: int = 0,
) -> np.ndarray:
    """A 2-D Gaussian: anisotropic (``sigma`` along x, ``sigma_y`` along y), rotated by
    ``theta`` degrees counter-clockwise, or a derivative of orders ``order_y``, ``order_x``.

    With ``theta=0`` it is ``outer(gaussian_1d(sigma_y, size, order_y), gaussian_1d(sigma,
    size, order_x))``; otherwise the rotated Gaussian sampled at pixel centres and
    normalized to sum 1 (orders 0 only). The default size is ``2*ceil(3*s)+1`` for the
    larger sigma ``s``.

    Examples
    --------
    >>> w = gaussian_weight(1.0)
    >>> w.shape, round(float(w.sum()), 12), bool(w[3, 3] == w.max())
    ((7, 7), 1.0, True)
    >>> gaussian_weight(1.0, 3, order_x=1).sum(axis=0).round(6).tolist()
    [-0.274069, 0.0, 0.274069]
    """
    sigma_y = sigma if sigma_y is None else sigma_y
    size = gaussian_size(max(sigma, sigma_y), size, where)
    for name, order in (("order_y", order_y), ("order_x", order_x)):
        if order not in (0, 1, 2):
            raise KernelError(f"{where}: {name} must be 0, 1 or 2, got {order}")
    if theta % 360 == 0:
        return np.outer(gaussian_1d(sigma_y, size, order_y), gaussian_1d(sigma, size, order_x))
    if order_y or order_x:
        raise KernelError(
            f"{where}: derivative orders need theta=0 (a rotated Gaussian has order 0 only); "
            "rotate the image instead, or use gabor for oriented band-pass filters"
        )
    a, b = _rotated(size, theta)
    with np.errstate(under="ignore"):
        w = np.exp(-0.5 * ((a / sigma) ** 2 + (b / sigma_y) ** 2))
    return w / w.sum()


def dog_weight(
    low_sigma: float = 1.0,
    high_sigma: float | None = None,
    size: int | None = None,
    where: str = "dog",
) -> np.ndarray:
    """Difference of Gaussians, scikit-image's ``difference_of_gaussians`` semantics:
    ``gaussian(low_sigma) - gaussian(high_sigma)`` on one grid (each normalized to sum 1
    on it, so the difference sums to 0); ``high_sigma`` defaults to ``1.6 * low_sigma``,
    the size to the ``gaussian`` default for ``high_sigma``.

    Examples
    --------
    >>> w = dog_weight(1.0)
    >>> w.shape, abs(float(w.sum())) < 1e-15, bool(w[5, 5] > 0)
    ((11, 11), True, True)
    """
    high = 1.6 * low_sigma if high_sigma is None else high_sigma
    if high < low_sigma:
        raise KernelError(
            f"{where}: high_sigma ({high:g}) must be at least low_sigma ({low_sigma:g}), as "
            "scikit-image requires (swap them to invert the result)"
        )
    size = gaussian_size(high, size, where)
    return gaussian_weight(low_sigma, size, where) - gaussian_weight(high, size, where)


def gabor_weight(
    sigma: float = 3.0,
    theta: float = 0.0,
    wavelength: float = 8.0,
    gamma: float = 0.5,
    psi: float = 0.0,
    size: int | None = None,
    where: str = "gabor",
) -> np.ndarray:
    """Gabor: ``exp(-(a**2 + gamma**2 b**2) / (2 sigma**2)) cos(2 pi a / wavelength - psi)``.

    ``theta`` (degrees, counter-clockwise on screen) turns the wave's direction ``a``;
    ``psi`` is the phase in degrees (0: even, symmetric; 90: odd, positive where ``a > 0``).
    Not normalized. It equals OpenCV's ``getGaborKernel((size, size), sigma,
    -radians(theta), wavelength, gamma, radians(psi), ktype=CV_64F)``: OpenCV's angle turns
    clockwise on screen, and it stores the kernel turned by 180 degrees, which the phase
    sign here absorbs. Default size ``2*ceil(3*sigma/min(gamma, 1))+1``.

    Examples
    --------
    >>> w = gabor_weight(2.0, 0.0, 4.0, 1.0, 0.0, 5)
    >>> w[2].round(4).tolist()
    [-0.6065, 0.0, 1.0, 0.0, -0.6065]
    """
    size = gaussian_size(sigma / min(gamma, 1.0), size, where)
    a, b = _rotated(size, theta)
    with np.errstate(under="ignore"):
        envelope = np.exp(-0.5 * (a * a + gamma * gamma * b * b) / (sigma * sigma))
    return envelope * np.cos(2 * math.pi * a / wavelength - math.radians(psi))


def gabor_bank_weights(
    sigma: float = 3.0,
    theta: float = 0.0,
    wavelength: float = 8.0,
    gamma: float = 0.5,
    psi: float = 0.0,
    size: int | None = None,
    orientations: int = 4,
    where: str = "gabor-bank",
) -> list[tuple[float, np.ndarray]]:
    """``(angle, weight)`` of ``orientations`` Gabor kernels at ``theta + k * 180 / N``.

    Examples
    --------
    >>> [angle for angle, _ in gabor_bank_weights(orientations=4)]
    [0.0, 45.0, 90.0, 135.0]
    """
    size = gaussian_size(sigma / min(gamma, 1.0), size, where)
    angles = [theta + k * 180.0 / orientations for k in range(orientations)]
    return [(t, gabor_weight(sigma, t, wavelength, gamma, psi, size, where)) for t in angles]
