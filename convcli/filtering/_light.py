"""Where a frame's colour is filtered: encoded values, linear light, or lightness only.

:func:`enter` turns the colour planes of a frame (working floats in the output's grey
levels ``0..top``) into the planes the kernel chain filters, and :func:`leave` turns the
chain's result back. Both are pointwise, so bands of rows give the whole frame's result.

``linear=True`` (``--linear``)
    The colour planes are decoded with the exact sRGB curve (:mod:`convcli.filtering._colour`),
    filtered as linear light and encoded back. L images are sRGB-encoded grey. Alpha
    stays as it is (with ``--alpha premultiply`` colour is premultiplied in linear light,
    because the decoding happens first). 8- and 16-bit samples are decoded through a
    float64 table of every level (exact, and faster than the curve), never through an
    8-bit linear intermediate.

``channels='lightness'`` (``--channels lightness``)
    RGB is converted to CIE L*a*b* (D65) and only L* is filtered (in ``0..top`` for
    ``0..100``); a* and b* are kept (resampled on the output grid) and the result is
    converted back and clipped into the sRGB gamut (per channel, in linear light). With
    ``linear=True`` the filtered plane is the luminance Y (linear light) instead of L*.
    L images: their grey is the lightness (the same conversion, so an RGB grey image and
    its L version give the same result).

L*a*b* rather than YCbCr: L* is the CIE's perceptual lightness and a*, b* do not move
when it changes, so a sharpened edge keeps its hue and chroma; YCbCr's Y' is a weighted
sum of *encoded* values (not a lightness), and keeping CbCr while Y' changes shifts
saturation. libvips' ``sharpen`` also works on L*.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from convcli.choices import COLOUR_CHANNELS
from convcli.errors import ParameterError
from convcli.filtering._colour import (
    decode_table,
    encode_scaled,
    lab_to_linear_rgb,
    linear_rgb_to_lab,
    linear_to_srgb,
    lstar_from_y,
    srgb_to_linear,
    y_from_lstar,
)
from convcli.filtering._outputs import natural_output_map
from convcli.filtering._responses import kernel_hw, label, resample_like

#: What ``channels`` (``--channels``) accepts.
CHANNELS = COLOUR_CHANNELS

_COLOUR_PLANES = {"L": 1, "LA": 1, "RGB": 3, "RGBA": 3}


@dataclass
class Light:
    """What :func:`leave` needs to undo :func:`enter` for one frame (or band)."""

    linear: bool
    lightness: bool
    colour_planes: int  # planes decoded (the rest: alpha filtered as a channel)
    planes_in: int  # planes handed to the chain
    top: float
    ab: np.ndarray | None = None  # a*, b* of an RGB image in lightness mode


def _is_4d(kernel) -> bool:
    if kernel.members:
        return any(_is_4d(member) for member in kernel.members)
    return kernel.weight.ndim == 4


def check(opts, layout: str, kernels, name: str = "the image") -> None:
    """Refuse what linear light or lightness cannot do, naming the image and the fix.

    ``layout`` is the layout of the planes given to the chain (``RGBA`` when alpha is
    filtered as a channel).
    """
    lightness = opts.channels == "lightness"
    if not (opts.linear or lightness):
        return
    what = "--channels lightness" if lightness else "--linear"
    if layout not in _COLOUR_PLANES:
        kind = f"layout {layout}" if layout else "channels of no known colour layout"
        raise ParameterError(
            f"{what} needs an sRGB image (L, LA, RGB or RGBA) but {name} has {kind}; "
            f"leave out {what}"
        )
    if lightness:
        for kernel in kernels:
            if _is_4d(kernel):
                raise ParameterError(
                    f"--channels lightness filters one plane, but kernel {label(kernel)} is "
                    "4-D (it mixes channels); use --channels all"
                )
        output_map = opts.output_map or natural_output_map(kernels)
        if output_map != "clip":
            raise ParameterError(
                f"--channels lightness gives colour back, which --output-map "
                f"{output_map} cannot map (signed responses such as edges have no colour "
                "to keep); use --channels all, or --output-map clip"
            )


def _decode(colour: np.ndarray, top: float, sample_dtype, scale: float = 1.0) -> np.ndarray:
    """Linear light in ``0..scale`` from encoded planes in ``0..top``."""
    sample_dtype = np.dtype(sample_dtype)
    t = colour.dtype.type
    if sample_dtype in (np.uint8, np.uint16):
        src_top = float(np.iinfo(sample_dtype).max)
        levels = colour if src_top == top else np.rint(colour * (src_top / top))
        return _scaled_table(int(src_top) + 1, scale, colour.dtype)[levels.astype(sample_dtype)]
    linear = srgb_to_linear(colour * t(1 / top))
    if scale != 1.0:
        linear *= t(scale)
    return linear


@functools.lru_cache(maxsize=8)
def _scaled_table(levels: int, scale: float, dtype) -> np.ndarray:
    return (decode_table(levels) * scale).astype(dtype)


def enter(colour: np.ndarray, layout: str, opts, top: float, sample_dtype):
    """The planes to filter, and the :class:`Light` to give :func:`leave` (None: nothing to do).

    Parameters
    ----------
    colour : ndarray
        ``(C, H, W)`` working floats in ``0..top`` (alpha included when it is a channel).
    layout : str
        What those planes are (checked with :func:`check` first).
    opts : FilterOptions
    top : float
        Full scale of the working values.
    sample_dtype : dtype
        The image's sample type (8- and 16-bit samples are decoded through a table).
    """
    lightness = opts.channels == "lightness"
    if not (opts.linear or lightness):
        return colour, None
    n = _COLOUR_PLANES[layout]
    t = colour.dtype.type
    light = Light(opts.linear, lightness, n, colour.shape[0], top)
    if lightness:
        linear = _decode(colour[:n], top, sample_dtype)
        if n == 3:
            lab = linear_rgb_to_lab(linear)
            lstar, light.ab = lab[:1], lab[1:]
        else:
            lstar = lstar_from_y(linear)
        plane = y_from_lstar(lstar) * t(top) if opts.linear else lstar * t(top / 100)
        light.planes_in = colour.shape[0] - n + 1
        return np.concatenate([plane, colour[n:]]) if colour.shape[0] > n else plane, light
    linear = _decode(colour[:n], top, sample_dtype, scale=top)
    if colour.shape[0] > n:
        linear = np.concatenate([linear, colour[n:]])
    return linear, light


def leave(values: np.ndarray, light: Light | None, kernels, opts) -> np.ndarray:
    """Undo :func:`enter` on the chain's result ``values`` (``(C', H', W')``)."""
    if light is None:
        return values
    t = values.dtype.type
    top = light.top
    if not light.lightness:
        # a chain that changed the channel count: every plane is colour
        n = light.colour_planes if values.shape[0] == light.planes_in else values.shape[0]
        encoded = encode_scaled(values[:n], top)  # in place: values is the chain's own
        return np.concatenate([encoded, values[n:]]) if values.shape[0] > n else encoded
    plane, rest = values[:1], values[1:]
    if light.linear:
        lstar = lstar_from_y(np.maximum(plane * t(1 / top), t(0)))
    else:
        lstar = plane * t(100 / top)
    if light.colour_planes == 3:
        ab = light.ab
        if not (opts.padding == "same" and opts.stride == (1, 1)):
            for kernel in kernels:  # a*, b* on the output grid, as alpha is
                ab = resample_like(ab, kernel_hw(kernel), opts)
        linear = lab_to_linear_rgb(np.concatenate([lstar, ab]))
    else:
        linear = y_from_lstar(lstar)
    np.clip(linear, t(0), t(1), out=linear)  # into the gamut
    encoded = linear_to_srgb(linear)
    encoded *= t(top)
    return np.concatenate([encoded, rest]) if rest.shape[0] else encoded
