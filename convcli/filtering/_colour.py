"""Colour maths on arrays: the sRGB transfer curves and linear sRGB <-> CIE L*a*b* (D65).

Arrays only (no images, no files). Every function keeps the float type it is given
(float32 in, float32 out), so 8- and 16-bit images are converted in float32 and never
pass through an 8-bit linear intermediate.

The sRGB curves are the exact piecewise functions of IEC 61966-2-1 (not a 2.2 gamma)::

    decode  v <= 0.04045:    v / 12.92          else ((v + 0.055) / 1.055) ** 2.4
    encode  l <= 0.0031308:  12.92 * l          else 1.055 * l ** (1 / 2.4) - 0.055

extended to negative values as odd functions (``f(-x) = -f(x)``, as scRGB and libvips
do) so the signed response of an edge kernel survives the round trip, and above 1 by
the power branch.

Lightness: CIE 1976 L*a*b* from linear sRGB, white D65. The linear sRGB -> XYZ matrix is
derived from the primaries and white chromaticities of IEC 61966-2-1 (R 0.64, 0.33;
G 0.30, 0.60; B 0.15, 0.06; D65 0.3127, 0.3290), so sRGB white is exactly
``L* = 100, a* = b* = 0`` and every grey has ``a* = b* = 0``.
"""

from __future__ import annotations

import functools

import numpy as np

#: Breakpoints of the piecewise sRGB curves (IEC 61966-2-1).
DECODE_BREAK = 0.04045
ENCODE_BREAK = 0.0031308

_PRIMARIES = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))
_D65_XY = (0.3127, 0.3290)


def _xyz_of(xy) -> np.ndarray:
    x, y = xy
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def _rgb_to_xyz_matrix() -> np.ndarray:
    columns = np.stack([_xyz_of(p) for p in _PRIMARIES], axis=1)
    scale = np.linalg.solve(columns, _xyz_of(_D65_XY))
    return columns * scale


#: Linear sRGB -> CIE XYZ (Y of white = 1), float64.
RGB_TO_XYZ = _rgb_to_xyz_matrix()
#: CIE XYZ -> linear sRGB.
XYZ_TO_RGB = np.linalg.inv(RGB_TO_XYZ)
#: The D65 white point ``(Xn, Yn, Zn)``: the XYZ of linear sRGB ``(1, 1, 1)``.
D65_WHITE = RGB_TO_XYZ.sum(axis=1)

_EPSILON = (6.0 / 29.0) ** 3  # CIE: below it, f(t) is the linear segment
_KAPPA = 1.0 / (3.0 * (6.0 / 29.0) ** 2)


def _float(values) -> np.ndarray:
    array = np.asarray(values)
    return array if array.dtype.kind == "f" else array.astype(np.float64)


def srgb_to_linear(values) -> np.ndarray:
    """Decode sRGB-encoded values (0..1 for black..white) to linear light.

    Parameters
    ----------
    values : array_like
        Encoded values; floats keep their type, anything else becomes float64.

    Returns
    -------
    ndarray
        Linear light, same shape and float type.

    Examples
    --------
    >>> srgb_to_linear([0.0, 0.04045, 0.5, 1.0]).round(6).tolist()
    [0.0, 0.003131, 0.214041, 1.0]
    """
    v = np.atleast_1d(_float(values))
    t = v.dtype.type
    a = np.abs(v)
    out = a + t(0.055)
    out /= t(1.055)
    np.power(out, t(2.4), out=out)
    small = a <= t(DECODE_BREAK)
    np.copyto(out, a * t(1 / 12.92), where=small)
    return np.copysign(out, v, out=out).reshape(np.shape(values))


def linear_to_srgb(values) -> np.ndarray:
    """Encode linear light (0..1) with the sRGB curve.

    Examples
    --------
    >>> linear_to_srgb([0.0, 0.0031308, 0.214041, 1.0]).round(6).tolist()
    [0.0, 0.04045, 0.5, 1.0]
    """
    v = np.atleast_1d(_float(values))
    t = v.dtype.type
    a = np.abs(v)
    out = np.power(a, t(1 / 2.4))
    out -= t(1)  # (p - 1) * 1.055 + 1: exactly 1 at 1
    out *= t(1.055)
    out += t(1)
    small = a <= t(ENCODE_BREAK)
    if small.any():
        np.copyto(out, a * t(12.92), where=small)
    return np.copysign(out, v, out=out).reshape(np.shape(values))


def encode_scaled(values: np.ndarray, top: float) -> np.ndarray:
    """``top * linear_to_srgb(values / top)``, computed in place in ``values`` (a float array
    the caller owns), which it returns: the fast path of the filtering pipeline.

    The scale is folded into the constants (``(x / top) ** (1/2.4) = x ** (1/2.4) *
    top ** (-1/2.4)``) and the linear segment (and negative values) fixed afterwards, so a
    frame takes four passes instead of nine; results agree with :func:`linear_to_srgb` to
    a few float ulps.

    Examples
    --------
    >>> import numpy as np
    >>> encode_scaled(np.array([0.0, 0.0031308 * 255, 0.214041 * 255, 255.0]), 255.0).round(3)
    array([  0.   ,  10.315, 127.5  , 255.   ])
    """
    t = values.dtype.type
    small = values <= t(ENCODE_BREAK * top)  # the linear segment, and negative values
    kept = values[small] if small.any() else None
    with np.errstate(invalid="ignore"):  # negative values: NaN here, replaced below
        np.power(values, t(1 / 2.4), out=values)
    values *= t(1.055 * top ** (1 - 1 / 2.4))
    values -= t(0.055 * top)
    if kept is not None:
        values[small] = linear_to_srgb(kept * t(1 / top)) * t(top)
    return values


@functools.lru_cache(maxsize=4)
def decode_table(levels: int) -> np.ndarray:
    """``srgb_to_linear(k / (levels - 1))`` for every level ``k``, in float64 (read-only).

    Examples
    --------
    >>> decode_table(256)[[0, 255]].tolist()
    [0.0, 1.0]
    """
    table = srgb_to_linear(np.arange(levels, dtype=np.float64) / (levels - 1))
    table.flags.writeable = False
    return table


def lstar_from_y(y) -> np.ndarray:
    """CIE L* (0..100) from relative luminance Y (0..1 for black..white).

    Examples
    --------
    >>> lstar_from_y([0.0, 0.18418651851244416, 1.0]).round(6).tolist()
    [0.0, 50.0, 100.0]
    """
    return 116.0 * _f(_float(y)) - 16.0


def y_from_lstar(lstar) -> np.ndarray:
    """Relative luminance Y from CIE L* (the inverse of :func:`lstar_from_y`).

    Examples
    --------
    >>> y_from_lstar([0.0, 100.0]).tolist()
    [0.0, 1.0]
    """
    lstar = _float(lstar)
    t = lstar.dtype.type
    return _f_inverse((lstar + t(16.0)) * t(1 / 116.0))


def _f(t_values: np.ndarray) -> np.ndarray:
    t = t_values.dtype.type
    # t ** (1/3) through np.power: several times faster than np.cbrt for float32
    root = np.power(np.maximum(t_values, t(_EPSILON)), t(1 / 3))
    return np.where(t_values > t(_EPSILON), root, t_values * t(_KAPPA) + t(4 / 29))


def _f_inverse(f_values: np.ndarray) -> np.ndarray:
    t = f_values.dtype.type
    return np.where(
        f_values > t(6 / 29), f_values * f_values * f_values, (f_values - t(4 / 29)) / t(_KAPPA)
    )


def _matrix(m: np.ndarray, planes: np.ndarray) -> np.ndarray:
    """``m @ planes`` over the first axis of ``planes`` (3, ...), in ``planes``' float type."""
    flat = planes.reshape(3, -1)
    return (m.astype(planes.dtype) @ flat).reshape(planes.shape)


def linear_rgb_to_lab(rgb) -> np.ndarray:
    """Linear sRGB planes ``(3, ...)`` to CIE L*a*b* planes ``(3, ...)`` (D65).

    Examples
    --------
    >>> import numpy as np
    >>> linear_rgb_to_lab(np.array([1.0, 0.0, 0.0])).round(2).tolist()
    [53.24, 80.09, 67.2]
    """
    rgb = _float(rgb)
    xyz = _matrix(RGB_TO_XYZ / D65_WHITE[:, None], rgb)
    fx, fy, fz = _f(xyz)
    t = rgb.dtype.type
    return np.stack([t(116) * fy - t(16), t(500) * (fx - fy), t(200) * (fy - fz)])


def lab_to_linear_rgb(lab) -> np.ndarray:
    """CIE L*a*b* planes ``(3, ...)`` (D65) to linear sRGB planes ``(3, ...)``, unclipped.

    Examples
    --------
    >>> import numpy as np
    >>> lab_to_linear_rgb(np.array([100.0, 0.0, 0.0])).round(12).tolist()
    [1.0, 1.0, 1.0]
    """
    lab = _float(lab)
    t = lab.dtype.type
    fy = (lab[0] + t(16)) * t(1 / 116)
    f = np.stack([fy + lab[1] * t(1 / 500), fy, fy - lab[2] * t(1 / 200)])
    xyz = _f_inverse(f)
    return _matrix(XYZ_TO_RGB * D65_WHITE[None, :], xyz)
