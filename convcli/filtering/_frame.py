"""The in-memory core of ``convcli apply``: an image array through a chain of kernels.

:func:`filter_frame` takes an ``(H, W)`` or ``(H, W, C)`` image of any supported dtype and
returns the filtered image in the output dtype. Steps:

1. samples -> float, in the output's grey levels (:mod:`convcli.filtering._levels`);
2. alpha: ``premultiply`` (colour times alpha is filtered together with alpha, then divided
   back), ``preserve`` (colour is filtered, alpha resampled on the output grid unchanged) or
   ``channel`` (alpha is an ordinary channel);
3. each kernel in order, in floating point: a 2-D kernel per channel (depthwise) or, with
   ``channel_mode='cross'``, expanded across channels as ``weight.expand(C, C, kH, kW)``; a
   4-D kernel as given; a bank applies every member and combines the responses; then the
   kernel's own ``scale * response + offset``;
4. ``scale * x + offset``, the output map, one rounding (half to even), clip, cast.

With ``linear=True`` or ``channels='lightness'`` the colour is decoded to linear light or
L*a*b* after step 1 and encoded back before step 4 (:mod:`convcli.filtering._light`).

Geometry: ``padding='same'`` (the default) pads ``dilation * (k - 1)`` in total per axis,
the extra row/column at the bottom/right as PyTorch; with a stride the output is the
stride-1 result sampled every ``stride`` pixels: ``ceil(H / stride)`` rows. Every kernel
of a chain uses the same padding, stride and dilation.

File handling (reading, writing, frames, metadata) is in :mod:`convcli.batch._job`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from convcli.errors import KernelError, ParameterError
from convcli.filtering import _light, _missing
from convcli.filtering._levels import (
    map_output,
    max_value,
    output_dtype,
    to_working,
    working_float,
)
from convcli.filtering._options import FilterOptions
from convcli.filtering._outputs import (
    is_matrix,
    natural_output_map,
)
from convcli.filtering._responses import (
    affine,
    check_range,
    kernel_hw,
    label,
    resample_like,
    response,
    weight_of,
)
from convcli.images._data import LAYOUT_BY_CHANNELS  # layout guessed from the channel count
from convcli.kernels import load_kernel
from convcli.kernels._kernel import Kernel

#: What :func:`filter_image` accepts as kernels: one, or a sequence (a chain).
KernelsLike = Kernel | str | np.ndarray | Sequence[Any]


def as_kernels(kernels: KernelsLike) -> tuple[Kernel, ...]:
    """A Kernel, a weight array, a spec string or a sequence of them, as a tuple of Kernels.

    A nested list of numbers (``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``) is one kernel, as an
    array would be; a list of kernels, arrays or specs is a chain.
    """
    if isinstance(kernels, (Kernel, str, np.ndarray)) or is_matrix(kernels):
        kernels = [kernels]
    result = []
    for item in kernels:
        if isinstance(item, str):
            item = load_kernel(item)
        elif isinstance(item, np.ndarray) or is_matrix(item):
            item = Kernel(name="array", weight=np.asarray(item, dtype=np.float64), source="array")
        if not isinstance(item, Kernel):
            raise ParameterError(
                f"kernel {item!r} is not usable; give a Kernel, a 2-D or 4-D array or a spec"
            )
        result.append(item)
    if not result:
        raise ParameterError("no kernel given; give at least one kernel")
    return tuple(result)


def default_alpha(kernels: Sequence[Kernel], opts: FilterOptions) -> str:
    """The alpha mode used when none is given (see :class:`FilterOptions`)."""
    if any(k.weight.ndim == 4 for k in kernels):
        return "channel"
    if all(_premultiply_problem(k, opts) is None for k in kernels):
        return "premultiply"
    return "preserve"


def _premultiply_problem(kernel: Kernel, opts: FilterOptions) -> str | None:
    """Why ``kernel`` cannot filter premultiplied colour, or None when it can."""
    if kernel.is_bank:
        return f"kernel {label(kernel)} is a bank (members combined by {kernel.combine})"
    if kernel.weight.ndim != 2:
        return f"kernel {label(kernel)} is 4-D (it mixes channels as given)"
    w = weight_of(kernel, opts)
    if not w.sum() > 1e-9 * np.abs(w).sum():
        return f"the weights of kernel {label(kernel)} sum to {w.sum():g} (alpha would vanish)"
    return None


def filter_frame(
    array: ArrayLike,
    kernels: Sequence[Kernel],
    layout: str | None,
    opts: FilterOptions,
    name: str = "the image",
    mask: np.ndarray | str | None = None,
) -> tuple[np.ndarray, str]:
    """Filter one frame; returns ``(result, layout of the result)``.

    ``kernels`` is a tuple of :class:`~convcli.kernels._kernel.Kernel`, ``opts`` a
    :class:`FilterOptions`, ``name`` how error messages call the image, ``mask`` as
    :func:`filter_image`'s.
    """
    frame = np.asarray(array)
    squeeze = frame.ndim == 2
    if squeeze:
        frame = frame[:, :, None]
    if frame.ndim != 3 or frame.shape[2] < 1:
        raise ParameterError(
            f"{name} must be (H, W) or (H, W, C) with C >= 1, got shape {np.shape(array)}"
        )
    channels = frame.shape[2]
    layout = LAYOUT_BY_CHANNELS.get(channels, "") if layout is None else layout
    if layout and len(layout) != channels:
        raise ParameterError(
            f"layout {layout!r} names {len(layout)} channels but {name} has {channels}"
        )
    out_dtype = output_dtype(frame.dtype, opts.depth)
    top = max_value(out_dtype)
    if opts.convolve:
        kernels = tuple(kernel.flipped() for kernel in kernels)
    if opts.padding_value:  # from the input's grey levels to the working ones (as to_working)
        ratio = top / max_value(frame.dtype)
        opts = replace(opts, padding_value=opts.padding_value * ratio)
    x = to_working(np.moveaxis(frame, 2, 0), out_dtype, working_float(frame.dtype, out_dtype))
    handle_missing = _missing.active(opts, mask)
    missing = None
    if handle_missing:
        if isinstance(mask, str) and not layout.endswith("A"):
            raise ParameterError(f"--mask alpha needs an image with alpha but {name} has none")
        alpha_index = channels - 1 if layout.endswith("A") else None
        missing = _missing.find_missing(frame, opts, mask, alpha_index)
        if opts.nan_policy == "raise" and missing is not None:
            _missing.refuse(missing, name)
        _missing.check_kernels(kernels, opts)
        if missing is not None:
            x[missing] = 0  # for the range check; NaN below
    peak = None
    if frame.dtype.kind in "ui":  # known from the type: no pass, the same for every band
        info = np.iinfo(frame.dtype)
        peak = max(-float(info.min), float(info.max)) * top / max_value(frame.dtype)
    check_range(kernels, x, opts, name, out_dtype, unit=top, peak=peak)
    if missing is not None:
        x[missing] = np.nan

    alpha_mode = "channel"
    if layout.endswith("A"):
        alpha_mode = opts.alpha or default_alpha(kernels, opts)
        if handle_missing and (isinstance(mask, str) or alpha_mode == "premultiply"):
            if opts.alpha not in (None, "preserve"):
                raise ParameterError(
                    f"--alpha {opts.alpha} cannot be used with missing samples (--nodata, "
                    "--mask, --nan-policy); use --alpha preserve"
                )
            alpha_mode = "preserve"  # colour*alpha would mix the holes into alpha
    if alpha_mode == "premultiply":
        for kernel in kernels:
            problem = _premultiply_problem(kernel, opts)
            if problem:
                raise ParameterError(
                    f"--alpha premultiply needs blur-like 2-D kernels but {problem}; "
                    "use --alpha preserve or --alpha channel"
                )
    split = alpha_mode != "channel"
    colour, alpha = (x[:-1], x[-1:]) if split else (x, None)
    colour_layout = layout[:-1] if split else layout
    _light.check(opts, colour_layout, kernels, name)
    colour, light = _light.enter(colour, colour_layout, opts, top, frame.dtype)

    for kernel in kernels:
        if alpha_mode == "premultiply":
            assert alpha is not None  # premultiply is only chosen with alpha
            colour, alpha = _premultiplied_step(kernel, colour, alpha, opts, top)
        else:
            colour = _check_channels(kernel, colour, colour_layout, name, split, layout)
            filtered = response(kernel, colour, opts, unit=top)
            if alpha is not None:
                # a constant border is opaque
                opaque = replace(opts, padding_value=top) if opts.padding_value else opts
                alpha = resample_like(alpha, kernel_hw(kernel), opaque)
            colour = affine(kernel, filtered, top)
    colour = _light.leave(colour, light, kernels, opts)
    gone = None
    if handle_missing:
        kept = None if missing is None else (missing[:-1] if split else missing)
        gone = _missing.output_missing(colour, kept, kernels, opts)
    output_map = opts.output_map or natural_output_map(kernels)
    out = map_output(colour, out_dtype, output_map, opts.scale, opts.offset * top, overwrite=True)
    if gone is not None:
        _missing.represent(out, gone, opts, out_dtype, name, isinstance(mask, str))
    out_layout = _result_layout(colour_layout, frame.shape[2] - split, out.shape[0])
    if alpha is not None:
        alpha_out = map_output(alpha, out_dtype)
        gone = alpha_out[0] <= 0
        if alpha_mode == "premultiply":
            out[:, gone] = 0  # where alpha becomes 0, colour is 0
        out = np.concatenate([out, alpha_out])
        out_layout = out_layout + "A" if out_layout in ("L", "RGB") else ""
    out = channels_last(out)
    if squeeze and out.shape[2] == 1:
        out = out[:, :, 0]
    return out, out_layout


def channels_last(planes: np.ndarray) -> np.ndarray:
    """``(C, H, W)`` planes as a C-contiguous ``(H, W, C)`` array, copied one channel at a
    time (twice as fast as NumPy's transposing copy of ``moveaxis``).

    Examples
    --------
    >>> channels_last(np.arange(8).reshape(2, 2, 2))[0].tolist()
    [[0, 4], [1, 5]]
    """
    out = np.empty((*planes.shape[1:], planes.shape[0]), planes.dtype)
    for c, plane in enumerate(planes):
        out[..., c] = plane
    return out


def _result_layout(base: str, n_in: int, n_out: int) -> str:
    if n_out == n_in:
        return base
    return LAYOUT_BY_CHANNELS.get(n_out, "")


def _check_channels(
    kernel: Kernel,
    colour: np.ndarray,
    colour_layout: str,
    name: str,
    split: bool,
    layout: str,
) -> np.ndarray:
    """Refuse a 4-D kernel whose C_in does not match the channels it is given."""
    if kernel.weight.ndim != 4:
        return colour
    c_in = kernel.weight.shape[1] * kernel.groups
    have = colour.shape[0]
    if c_in != have:
        what = f"{have} ({colour_layout})" if colour_layout else f"{have}"
        hint = "use a kernel with matching input channels"
        if layout.endswith("A") and not split and c_in == have - 1:
            hint = "use --alpha preserve to filter only the colour channels"
        elif split and c_in == have + 1:
            hint = "use --alpha channel to filter alpha as an ordinary channel"
        raise KernelError(
            f"kernel {label(kernel)} expects {c_in} input channels but {name} has {what}; {hint}"
        )
    return colour


def _premultiplied_step(
    kernel: Kernel, colour: np.ndarray, alpha: np.ndarray, opts: FilterOptions, top: float
) -> tuple[np.ndarray, np.ndarray]:
    """One kernel on premultiplied colour and alpha, then back to straight colour.

    The division by the filtered alpha magnifies errors where alpha is small, so the
    convolutions use a method whose error is relative to each sample (no FFT).
    """
    stacked = np.concatenate([colour * (alpha / top), alpha])
    if opts.padding_value:
        # a constant border is opaque: colour the value, alpha full
        opaque = replace(opts, padding_value=top)
        colour_f = response(kernel, stacked[:-1], opts, precise=True, unit=top)
        alpha_f = response(kernel, stacked[-1:], opaque, precise=True, unit=top)
    elif opts.channel_mode == "cross":
        colour_f = response(kernel, stacked[:-1], opts, precise=True, unit=top)
        alpha_f = response(kernel, stacked[-1:], opts, precise=True, unit=top)
    else:
        filtered = response(kernel, stacked, opts, precise=True, unit=top)
        colour_f, alpha_f = filtered[:-1], filtered[-1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        straight = np.where(alpha_f > 0, colour_f * top / alpha_f, 0.0).astype(colour_f.dtype)
    return affine(kernel, straight, top), alpha_f
