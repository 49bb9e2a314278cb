"""The response of one kernel to float channels: weights, banks and padding geometry.

Used by :mod:`convcli.filtering._frame`. Works on ``(C, H, W)`` float arrays and
:class:`~convcli.kernels._kernel.Kernel` values; knows nothing of files or alpha.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from convcli._messages import name_list
from convcli.engine import conv2d, pad_spatial, same_pads
from convcli.errors import ImageError, KernelError, ParameterError
from convcli.filtering._options import FilterOptions
from convcli.filtering._unsharp import sharpen_where
from convcli.kernels import Kernel
from convcli.kernels._unsharp import ThresholdedUnsharp


def label(kernel) -> str:
    """How messages name a kernel: its file when it came from one, else its name (quoted).

    Examples
    --------
    >>> from convcli.kernels._kernel import Kernel
    >>> label(Kernel("x", [[1.0]], source="k/x.npy")), label(Kernel("box", [[1.0]]))
    ("'k/x.npy'", "'box'")
    """
    if kernel.source not in ("builtin", "inline", "array", ""):
        return repr(str(kernel.source))
    return repr(kernel.name)


def affine(kernel, values: np.ndarray, unit: float = 1.0) -> np.ndarray:
    """``kernel.scale * values + kernel.offset * unit`` (the kernel's own output mapping), in
    place: ``values`` is a fresh float result of :func:`response`, which it returns.

    ``kernel.offset`` is in full scale (1.0 = full intensity, as PyTorch's ``ToTensor``);
    ``unit`` is what full intensity is in the working values (255 for an 8-bit result).
    """
    if kernel.scale != 1.0:
        np.multiply(values, values.dtype.type(kernel.scale), out=values)
    if kernel.offset != 0.0:
        np.add(values, values.dtype.type(kernel.offset * unit), out=values)
    return values


def kernel_hw(kernel) -> tuple[int, int]:
    """``(kH, kW)`` of a kernel (a bank's: its first member's)."""
    return tuple(kernel.weight.shape[-2:])


def weight_of(kernel, opts: FilterOptions) -> np.ndarray:
    """The weight to use: normalized to sum 1 when ``opts`` (or else the kernel) says so."""
    w = np.asarray(kernel.weight, dtype=np.float64)
    normalize = kernel.normalize if opts.normalize is None else opts.normalize
    if not normalize:
        return w
    # a 4-D layer: every output channel's filter separately
    sums = w.sum(axis=(-3, -2, -1), keepdims=True) if w.ndim == 4 else w.sum()
    if np.any(np.abs(sums) <= 1e-12 * np.abs(w).sum()):
        raise KernelError(
            f"kernel {label(kernel)} sums to 0 and cannot be normalized; leave out --normalize"
        )
    return w / sums


def chain_weights(kernels: Iterable[Kernel]) -> Iterator[np.ndarray]:
    """Every weight of a chain (bank members included) as a 4-D float32 array: what the
    engine may be asked to plan for (see :func:`convcli.engine.preload_fft`)."""
    for kernel in kernels:
        for member in kernel.members or (kernel,):
            w = np.asarray(member.weight, np.float32)
            yield w if w.ndim == 4 else w.reshape(1, 1, *w.shape[-2:])


def response(
    kernel, x: np.ndarray, opts: FilterOptions, precise: bool = False, unit: float = 1.0
) -> np.ndarray:
    """The linear response of ``kernel`` (a bank: its combined members) to ``x`` (C, H, W);
    ``precise``: see :func:`convolve`. ``unit``: full intensity in ``x``'s values (255 for
    an 8-bit result): a 4-D kernel's bias is in full scale, so it adds ``bias * unit``, and
    a thresholded unsharp's threshold is a fraction of it."""
    if isinstance(kernel, ThresholdedUnsharp):
        return _thresholded_unsharp(kernel, x, opts, unit)
    if kernel.is_bank:
        # one member at a time into a running result: memory for two responses, not N
        return combine(
            (affine(m, response(m, x, opts, unit=unit), unit) for m in kernel.members),
            kernel.combine,
            label(kernel),
        )
    w = weight_of(kernel, opts).astype(x.dtype)
    bias = None if kernel.bias is None else np.asarray(kernel.bias * unit, dtype=x.dtype)
    channels = x.shape[0]
    if w.ndim == 4:
        return convolve(x, w, bias, kernel.groups, opts, precise)
    if opts.channel_mode == "cross" and channels > 1:
        # weight.expand(C, C, kH, kW): every output channel is the kernel on the channel sum
        one = convolve(x.sum(axis=0, keepdims=True), w[None, None], None, 1, opts, precise)
        return np.repeat(one, channels, axis=0)
    return convolve(x, np.broadcast_to(w, (channels, 1, *w.shape)), None, channels, opts, precise)


def _thresholded_unsharp(kernel, x, opts: FilterOptions, top: float) -> np.ndarray:
    """The step of :mod:`convcli.filtering._unsharp` (``cross``: on the channel sum)."""
    if opts.channel_mode == "cross" and x.shape[0] > 1:
        one = _thresholded_unsharp(kernel, x.sum(axis=0, keepdims=True), opts, top)
        return np.repeat(one, x.shape[0], axis=0)
    w = np.broadcast_to(kernel.blur.astype(x.dtype), (x.shape[0], 1, *kernel.blur.shape))
    blurred = convolve(x, w, None, x.shape[0], opts, precise=True)
    centre = resample_like(x, kernel_hw(kernel), opts)
    return sharpen_where(centre, blurred, kernel.amount, kernel.threshold * top)


def check_range(
    kernels,
    x: np.ndarray,
    opts: FilterOptions,
    name: str = "the image",
    out_dtype=None,
    unit: float = 1.0,
    peak: float | None = None,
) -> None:
    """Refuse, before computing, a chain of kernels whose values could overflow ``x``'s float
    type (float32 for 8- and 16-bit images), instead of filling the result with infinities;
    and NaN or infinite samples (float images) when the output ``out_dtype`` is an integer
    type, which would turn them and every sample the kernels reach from them into 0 or the
    maximum without a word. A float output keeps them, as PyTorch does.

    The bound is the worst case: the largest magnitude in ``x`` times each kernel's sum of
    absolute weights (times the channel count in ``cross`` mode), plus its bias, then its
    own scale and offset, then ``opts.scale`` and ``opts.offset`` (bias and offsets are in
    full scale: times ``unit``, full intensity in ``x``'s values). ``peak``, when given, is
    that largest magnitude known beforehand (the range of an integer image's type): no
    pass over ``x``, and the same answer for every band of an image.

    Examples
    --------
    >>> import numpy as np
    >>> from convcli.kernels._kernel import Kernel
    >>> from convcli.filtering import FilterOptions
    >>> x = np.full((1, 4, 4), 255, np.float32)
    >>> check_range([Kernel("box", np.ones((3, 3)) / 9)], x, FilterOptions())
    >>> check_range([Kernel("huge", np.full((1, 2), 1e37))], x, FilterOptions())
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    convcli.errors.KernelError: kernel 'huge' could turn the values of the image (up to 255) ...
    """
    limit = float(np.finfo(x.dtype).max)
    if peak is None:
        peak = float(max(x.max(), -x.min())) if x.size else 0.0
    if not np.isfinite(peak):
        if out_dtype is not None and np.dtype(out_dtype).kind != "f":
            bits = 8 * np.dtype(out_dtype).itemsize
            raise ImageError(
                f"{name} has NaN or infinite samples, which "
                f"{'an' if bits == 8 else 'a'} {bits}-bit output cannot hold (they and every "
                "pixel the kernels reach from them would become 0 or the maximum); write "
                "floats with --depth 32f (TIFF or .npy), or replace them in the input first"
            )
        return  # a float output keeps them, as PyTorch does
    bound, channels = peak, x.shape[0]
    for kernel in kernels:
        bound = _bound(kernel, bound, channels, opts, limit, unit)
        if not bound <= limit:
            raise KernelError(
                f"kernel {label(kernel)} could turn the values of {name} (up to {peak:.3g}) "
                f"into more than {limit:.3g}, the range of {x.dtype} that convcli computes "
                "in; use smaller weights"
            )
        if kernel.weight.ndim == 4:
            channels = kernel.weight.shape[0]
    final = bound * abs(opts.scale) + abs(opts.offset) * unit
    if not final <= limit:
        raise ParameterError(
            f"scale {opts.scale:g} and offset {opts.offset:g} could turn the values of {name} "
            f"into more than {limit:.3g}, the range of {x.dtype} that convcli computes in; use "
            "a smaller --scale or --offset"
        )


def _bound(
    kernel, peak: float, channels: int, opts: FilterOptions, limit: float, unit: float = 1.0
) -> float:
    """The largest magnitude ``kernel`` can give from inputs of magnitude at most ``peak``."""
    if kernel.is_bank:
        bounds = [_bound(m, peak, channels, opts, limit, unit) for m in kernel.members]
        if kernel.combine == "magnitude":
            squares = max(bounds) ** 2 * len(bounds)  # summed before the square root
            bound = float(np.sqrt(squares)) if squares <= limit else float("inf")
        else:
            bound = sum(bounds) if kernel.combine == "sum" else max(bounds)
    else:
        w = np.abs(weight_of(kernel, opts))
        if w.max() > limit:
            return float("inf")
        if w.ndim == 4:
            bias = 0.0 if kernel.bias is None else float(np.max(np.abs(kernel.bias))) * unit
            bound = peak * float(w.sum(axis=(1, 2, 3)).max()) + bias
        else:
            cross = channels if opts.channel_mode == "cross" else 1
            bound = peak * cross * float(w.sum())
    return bound * abs(kernel.scale) + abs(kernel.offset) * unit


def combine(responses, how: str, name: str = "'bank'") -> np.ndarray:
    """Combine a bank's member responses pixel by pixel, streamed: each response (any
    iterable, e.g. a generator computing them one by one) is folded into a running
    result, so memory holds two responses however many members the bank has. The
    result is bit-identical to reducing the stacked responses along their first axis.

    Raises
    ------
    KernelError
        For an unknown ``how``, or members whose results differ in size.

    Examples
    --------
    >>> import numpy as np
    >>> combine([np.array([3.0, -1.0]), np.array([4.0, 2.0])], "magnitude")
    array([5.        , 2.23606798])
    >>> combine([np.array([3.0, -1.0]), np.array([4.0, 2.0])], "min")
    array([ 3., -1.])
    """
    folds = {
        "magnitude": lambda acc, r: np.add(acc, r * r, out=acc),
        "max": lambda acc, r: np.maximum(acc, r, out=acc),
        "min": lambda acc, r: np.minimum(acc, r, out=acc),
        "sum": lambda acc, r: np.add(acc, r, out=acc),
        "mean": lambda acc, r: np.add(acc, r, out=acc),
    }
    if how not in folds:
        raise KernelError(f"bank {name} has combine {how!r}; accepted: {', '.join(folds)}")
    total: np.ndarray | None = None
    count, shapes = 0, []
    for r in responses:
        r = np.asarray(r)
        shapes.append(r.shape)
        if total is None:
            total = r * r if how == "magnitude" else np.array(r, copy=True)
        elif r.shape != total.shape:
            continue  # reported below, with every member's size
        else:
            folds[how](total, r)
        count += 1
    if total is None:
        raise KernelError(f"bank {name} has no members")
    if len(set(shapes)) > 1:
        raise KernelError(
            f"the members of bank {name} give results of different sizes "
            f"({name_list(str(s[1:]) for s in shapes)}); use --padding same"
        )
    if how == "magnitude":
        return np.sqrt(total, out=total)
    if how == "mean":
        if total.dtype.kind == "f":
            return np.divide(total, count, out=total)
        return np.asarray(total / count)
    return total


def pads_for(size, opts: FilterOptions) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` padding for a kernel of ``size`` (kH, kW) under ``opts``.

    Examples
    --------
    >>> from convcli.filtering import FilterOptions
    >>> pads_for((3, 4), FilterOptions())
    (1, 1, 1, 2)
    >>> pads_for((3, 3), FilterOptions.from_kwargs(padding=(2, 0), stride=2))
    (2, 2, 0, 0)
    """
    if opts.padding == "valid":
        return (0, 0, 0, 0)
    if opts.padding == "same":  # with a stride too: the stride-1 result is sampled
        return same_pads(size, opts.dilation)
    assert not isinstance(opts.padding, str)  # normalised: 'same', 'valid' or a pair
    ph, pw = opts.padding
    return (ph, ph, pw, pw)


def convolve(x, w4, bias, groups, opts: FilterOptions, precise: bool = False) -> np.ndarray:
    """conv2d of ``x`` (C, H, W) with ``w4`` under ``opts``' padding, stride and dilation;
    ``precise`` keeps every sample's error relative to itself (no FFT)."""
    return conv2d(
        x,
        w4,
        bias,
        padding=pads_for(w4.shape[-2:], opts),
        padding_mode=opts.padding_mode,
        padding_value=opts.padding_value,
        stride=opts.stride,
        dilation=opts.dilation,
        groups=groups,
        method="precise" if precise else "auto",
        # "raise" was checked on the whole image by filter_frame
        nan_policy="omit" if opts.nan_policy == "omit" else "propagate",
    )


def resample_like(plane, size, opts: FilterOptions) -> np.ndarray:
    """``plane`` (1, H, W) on the output grid of a kernel of ``size`` (kH, kW): the sample under
    each output pixel's kernel anchor (index ``(k - 1) // 2``), padded as the image is.

    Examples
    --------
    >>> import numpy as np
    >>> from convcli.filtering import FilterOptions
    >>> a = np.arange(12.0).reshape(1, 3, 4)
    >>> resample_like(a, (3, 3), FilterOptions.from_kwargs(stride=2))
    array([[[ 0.,  2.],
            [ 8., 10.]]])
    """
    pads = pads_for(size, opts)
    padded = pad_spatial(plane, pads, opts.padding_mode, opts.padding_value)
    (sh, sw), (dh, dw) = opts.stride, opts.dilation
    kh, kw = size
    ho = (padded.shape[-2] - dh * (kh - 1) - 1) // sh + 1
    wo = (padded.shape[-1] - dw * (kw - 1) - 1) // sw + 1
    r0, c0 = dh * ((kh - 1) // 2), dw * ((kw - 1) // 2)
    return padded[..., r0 : r0 + sh * (ho - 1) + 1 : sh, c0 : c0 + sw * (wo - 1) + 1 : sw]
