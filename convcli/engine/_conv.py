"""``conv2d`` with PyTorch's semantics, in NumPy.

This module validates and normalizes the arguments (:func:`prepare`, the one place that
does) and runs a correlation method on the unpadded input; each method pads its own strips
or blocks. The methods live beside it (:mod:`~convcli.engine._direct`,
:mod:`~convcli.engine._separable`, :mod:`~convcli.engine._fft`, :mod:`~convcli.engine._gemm`);
choosing between them is the planner's job (:mod:`~convcli.engine._planner`).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from convcli.choices import METHODS
from convcli.engine import _missing
from convcli.engine._direct import correlate_direct_strips
from convcli.engine._fft import correlate_fft, fft_loaded, load_in_background
from convcli.engine._gemm import correlate_gemm
from convcli.engine._padding import check_fits, check_padding_value, normalize_padding_mode
from convcli.engine._planner import choose_method
from convcli.engine._separable import correlate_separable_strips
from convcli.errors import ConvcliError, ParameterError


@dataclass(frozen=True)
class ConvGeometry:
    """Everything about one conv2d call except the data: shapes, steps, pads, output size."""

    batch: int
    in_channels: int
    out_channels: int
    groups: int
    in_hw: tuple[int, int]
    kernel_hw: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, bottom, left, right
    padding_mode: str
    out_hw: tuple[int, int]
    method: str = "auto"
    padding_value: float = 0.0  # the border sample of padding_mode 'zeros' ('constant')

    @property
    def padded_hw(self) -> tuple[int, int]:
        top, bottom, left, right = self.pads
        return self.in_hw[0] + top + bottom, self.in_hw[1] + left + right

    @property
    def extent_hw(self) -> tuple[int, int]:
        """Height and width the dilated kernel spans."""
        (dh, dw), (kh, kw) = self.dilation, self.kernel_hw
        return dh * (kh - 1) + 1, dw * (kw - 1) + 1


def working_dtype(dtype: DTypeLike) -> np.dtype:
    """The float dtype convcli computes in for input of ``dtype``.

    float64 stays float64; float32 stays float32; every other real type (integers, bool,
    float16) computes in float32. Complex input is refused.
    """
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return np.dtype(np.float64)
    if dtype.kind in "biuf":
        return np.dtype(np.float32)
    raise ParameterError(
        f"input dtype {dtype} is not supported; give a real (integer or float) array"
    )


def int_pair(value: object, name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= ``minimum``, as a pair; ``name`` is used in the
    :class:`ParameterError` otherwise."""
    items = (value, value) if not isinstance(value, (tuple, list, np.ndarray)) else tuple(value)
    if len(items) != 2 or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items
    ):
        raise ParameterError(f"{name} must be an int or a pair of ints, got {value!r}")
    if any(v < minimum for v in items):
        what = "positive" if minimum == 1 else "non-negative"
        raise ParameterError(f"{name} must be {what}, got {value!r}")
    return int(items[0]), int(items[1])


def _finite(array: np.ndarray, dtype: DTypeLike, name: str) -> np.ndarray:
    """``array`` in ``dtype``, refusing NaN, infinity, and values ``dtype`` cannot hold."""
    with np.errstate(over="ignore", invalid="ignore"):
        cast = array.astype(dtype, copy=False)
    if not np.isfinite(cast).all():
        raise ParameterError(
            f"{name} holds NaN, infinity or values beyond the range of {np.dtype(dtype)} "
            "(the working dtype); give finite values"
        )
    return cast


def _check_method(method: object, c_in_g: int) -> str:
    key = method.strip().lower() if isinstance(method, str) else method
    if key not in METHODS:
        raise ParameterError(f"unknown method {method!r}; accepted: {', '.join(METHODS)}")
    if key == "separable" and c_in_g != 1:
        raise ParameterError(
            f"method='separable' needs a per-channel weight (C_in/groups = 1, got {c_in_g}); "
            "use method='gemm', 'direct' or 'auto' for cross-channel weights"
        )
    return key


def same_pads(kernel_hw: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` of ``padding='same'`` for a kernel and dilation.

    ``dilation * (k - 1)`` in total per axis; as PyTorch, an odd total puts the extra
    row/column at the bottom/right (the kernel's anchor is at index ``(k - 1) // 2``).

    >>> same_pads((3, 4), (1, 1))
    (1, 1, 1, 2)
    """
    (th, tw) = (d * (k - 1) for d, k in zip(dilation, kernel_hw, strict=True))
    return (th // 2, th - th // 2, tw // 2, tw - tw // 2)


def _resolve_padding(
    padding: object,
    kernel_hw: tuple[int, int],
    dilation: tuple[int, int],
    stride: tuple[int, int],
) -> tuple[int, int, int, int]:
    if isinstance(padding, str):
        key = padding.lower()
        if key == "valid":
            return (0, 0, 0, 0)
        if key == "same":
            if stride != (1, 1):
                raise ParameterError(
                    f"padding='same' needs stride 1 (got stride={stride}); "
                    "give padding as numbers to use a larger stride"
                )
            return same_pads(kernel_hw, dilation)
        raise ParameterError(
            f"padding {padding!r} is not understood; give an int, a pair of ints, 'same' or 'valid'"
        )
    if isinstance(padding, (tuple, list)) and len(padding) == 4:
        # (top, bottom, left, right), as F.pad's order for the last two axes reversed:
        # uneven padding without the caller padding the whole image first.
        top, bottom = int_pair(padding[:2], "padding (top, bottom)", 0)
        left, right = int_pair(padding[2:], "padding (left, right)", 0)
        return (top, bottom, left, right)
    ph, pw = int_pair(padding, "padding", 0)
    return (ph, ph, pw, pw)


def prepare(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: int | tuple[int, int] = 1,
    padding: str | int | tuple[int, ...] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
    method: str = "auto",
    padding_value: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, ConvGeometry, bool]:
    """Validate conv2d arguments and bring them to one form.

    Returns ``(x, w, b, geometry, unbatched)`` where ``x`` is 4-D ``(N, C, H, W)`` in the
    working dtype, ``w`` and ``b`` are cast to it, and ``unbatched`` says whether the
    caller gave a 3-D input (and so gets a 3-D result).
    """
    x = np.asarray(input)
    w = np.asarray(weight)
    if x.ndim not in (3, 4):
        raise ParameterError(
            f"input must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape {x.shape}"
        )
    if w.ndim != 4:
        raise ParameterError(
            f"weight must be 4-D (C_out, C_in/groups, kH, kW), got shape {w.shape}"
        )
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    dtype = working_dtype(x.dtype)
    x = x.astype(dtype, copy=False)
    if w.dtype.kind not in "biuf":
        raise ParameterError(f"weight dtype {w.dtype} is not supported; give a real array")
    w = _finite(w, dtype, "weight")

    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ParameterError(f"groups must be a positive int, got {groups!r}")
    groups = int(groups)
    n, c_in, h, wd = x.shape
    c_out, c_in_g, kh, kw = w.shape
    if c_in % groups or c_out % groups:
        raise ParameterError(
            f"groups={groups} must divide both the input channels ({c_in}) and the output "
            f"channels (weight.shape[0]={c_out})"
        )
    if c_in_g * groups != c_in:
        raise ParameterError(
            f"weight expects {c_in_g * groups} input channels (weight.shape[1]={c_in_g} x "
            f"groups={groups}) but input has {c_in}"
        )
    if kh < 1 or kw < 1:
        raise ParameterError(f"weight has an empty kernel (kH, kW) = ({kh}, {kw})")

    b = None
    if bias is not None:
        b = np.asarray(bias)
        if b.shape != (c_out,):
            raise ParameterError(
                f"bias must have shape ({c_out},) to match weight.shape[0], got {b.shape}"
            )
        if b.dtype.kind not in "biuf":
            raise ParameterError(f"bias dtype {b.dtype} is not supported; give a real array")
        b = _finite(b, dtype, "bias")

    stride = int_pair(stride, "stride", 1)
    dilation = int_pair(dilation, "dilation", 1)
    mode = normalize_padding_mode(padding_mode)
    value = check_padding_value(padding_value, mode)
    if not np.isfinite(dtype.type(value)):
        raise ParameterError(f"padding_value {padding_value!r} is beyond the range of {dtype}")
    method = _check_method(method, c_in_g)
    pads = _resolve_padding(padding, (kh, kw), dilation, stride)

    hp, wp = h + pads[0] + pads[1], wd + pads[2] + pads[3]
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if eh > hp or ew > wp:
        raise ParameterError(
            f"kernel spans {eh}x{ew} (size {kh}x{kw}, dilation {dilation}) but the padded "
            f"input is only {hp}x{wp} (input {h}x{wd}, padding {pads}); use a smaller kernel "
            "or more padding"
        )
    out_hw = ((hp - eh) // stride[0] + 1, (wp - ew) // stride[1] + 1)
    # what the call adds to the input it was given: the border samples twice (the strips'
    # copies and index arrays), and the result; the padded image is never made whole
    samples = 2 * n * c_in * (hp * wp - h * wd) + n * c_out * out_hw[0] * out_hw[1]
    check_fits(
        samples * dtype.itemsize,
        f"a {hp}x{wp} padded input (input {h}x{wd}, padding "
        f"{pads}) and a {out_hw[0]}x{out_hw[1]} result",
    )
    geometry = ConvGeometry(
        batch=n,
        in_channels=c_in,
        out_channels=c_out,
        groups=groups,
        in_hw=(h, wd),
        kernel_hw=(kh, kw),
        stride=stride,
        dilation=dilation,
        pads=pads,
        padding_mode=mode,
        out_hw=out_hw,
        method=method,
        padding_value=value,
    )
    return x, w, b, geometry, unbatched


def conv2d(
    input: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None = None,
    stride: int | tuple[int, int] = 1,
    padding: str | int | tuple[int, int] | tuple[int, int, int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
    method: str = "auto",
    *,
    padding_value: float = 0.0,
    nan_policy: str = "propagate",
    mask: ArrayLike | None = None,
) -> np.ndarray:
    """2-D cross-correlation with the semantics of PyTorch's ``nn.Conv2d`` / ``F.conv2d``.

    Parameters
    ----------
    input : ndarray
        ``(N, C_in, H, W)``, or unbatched ``(C_in, H, W)`` (the result is then unbatched).
    weight : ndarray
        ``(C_out, C_in / groups, kH, kW)``. Applied as cross-correlation (not flipped),
        as PyTorch does.
    bias : ndarray, optional
        ``(C_out,)``, added to every output pixel of its channel.
    stride, dilation : int or (int, int)
        Positive steps between output samples and between kernel taps.
    padding : int, (int, int), (int, int, int, int), 'same' or 'valid'
        Rows/columns added on each side; four ints are ``(top, bottom, left, right)``
        (uneven padding, which PyTorch needs ``F.pad`` for). ``'same'`` keeps the size
        (stride 1 only); when the total padding is odd the extra row/column goes at the
        bottom/right, as PyTorch.
    groups : int
        Split the channels into ``groups`` independent convolutions.
    padding_mode : str
        ``'zeros'``, ``'reflect'``, ``'replicate'``, ``'circular'`` (as ``nn.Conv2d``) or
        ``'symmetric'`` (edge sample repeated). Aliases: ``constant``, ``edge``,
        ``nearest``, ``wrap``. ``'mirror'`` is refused as ambiguous. Every mode works for
        padding larger than the input (repeated reflection or wrap).
        ``'constant'`` is ``'zeros'`` with the border value ``padding_value``.
    method : str
        ``'auto'`` (default: :func:`convcli.engine._planner.choose_method` picks the
        fastest), or force one: ``'direct'`` (shift-and-accumulate), ``'separable'``
        (1-D passes of the kernel's rank-r factors; per-channel weights only), ``'fft'``
        (block-wise FFT) or ``'gemm'`` (im2col + BLAS). All agree within the working
        dtype's rounding; direct and separable give the same bits for any thread count.
        ``'precise'`` is ``'auto'`` without the FFT, whose error is relative to the
        image's largest values rather than to each output sample.
    padding_value : float
        The border sample of ``padding_mode='constant'`` (``'zeros'``): default 0, as
        NumPy's ``constant_values`` and SciPy's ``cval``. A non-zero value with another
        mode is refused.
    nan_policy : {'propagate', 'omit', 'raise'}
        What a missing sample (NaN, or False in ``mask``) does. ``'propagate'`` (default):
        as PyTorch, NaN over every output whose window holds it, through any tap, with
        every method (the FFT included). ``'omit'``: normalized convolution, per
        (output, input) channel pair ``(sum_V w x) / (sum_V w) * (sum w)`` over the valid
        taps ``V`` (astropy's ``nan_treatment='interpolate'`` with
        ``normalize_kernel=False``); NaN where no weight is valid; infinite samples are
        left out too; a pair of weights summing to 0 is refused. ``'raise'``: refuse
        input with missing samples. See :mod:`convcli.engine._missing`.
    mask : array_like of bool, optional
        Broadcastable to ``input``; True = valid sample, False = missing (combined with
        NaN). Padded samples follow ``padding_mode`` (``'zeros'`` pads valid zeros).

    Returns
    -------
    ndarray
        ``(N, C_out, H_out, W_out)`` with ``H_out = floor((H + pad_top + pad_bottom -
        dilation*(kH-1) - 1) / stride) + 1`` (likewise ``W_out``). float64 input gives
        float64; float32 gives float32; integer, bool and float16 input compute in and
        return float32.

    Raises
    ------
    ParameterError
        (a ``ValueError``) for shapes that do not fit, bad steps or padding, an unknown
        padding mode or method, a weight or bias that is not finite in the working dtype,
        or padding/dilation whose padded input would not fit in this machine's memory
        (checked before anything is allocated); the message names the values and what
        to change. Also for ``nan_policy='raise'`` on missing samples (how many), and
        ``'omit'`` with weights summing to zero.

    Examples
    --------
    >>> import numpy as np
    >>> from convcli import conv2d
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    >>> w = np.ones((1, 1, 3, 3), dtype=np.float32)
    >>> conv2d(x, w)
    array([[[[45., 54.],
             [81., 90.]]]], dtype=float32)
    >>> conv2d(x, w, padding="same", padding_mode="replicate").shape
    (1, 1, 4, 4)
    """
    policy = _missing.check_nan_policy(nan_policy)
    x, w, b, geometry, unbatched = prepare(
        input, weight, bias, stride, padding, dilation, groups, padding_mode, method, padding_value
    )
    if mask is not None:
        mask = _missing.mask_4d(mask, np.shape(input), unbatched)
    out = _missing.conv_missing(x, w, b, geometry, policy, mask, run_method)
    if out is None:
        out = run_method(x, w, b, geometry)
    return out[0] if unbatched else out


def run_method(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geometry: ConvGeometry
) -> np.ndarray:
    """Run ``geometry.method`` (or the planner's choice for ``'auto'``) on prepared arrays."""

    method = geometry.method
    if method in ("auto", "precise"):
        method = choose_method(w, geometry, allow_fft=method == "auto")
    if method == "separable":
        return correlate_separable_strips(x, w, b, geometry)
    if method == "fft":
        return correlate_fft(x, w, b, geometry)
    if method == "gemm":
        return correlate_gemm(x, w, b, geometry)

    return correlate_direct_strips(x, w, b, geometry)


def preload_fft(weights: Iterable[np.ndarray]) -> None:
    """Start loading ``scipy.fft`` in the background when the planner would choose the FFT
    for one of ``weights`` (4-D) on an image of a typical size (256 x 1024, ``same``).

    A guess made before the image is read, so that the imports overlap the decoding; it
    never fails: a weight the planner cannot plan for is skipped.
    """
    if fft_loaded():
        return
    with np.errstate(all="ignore"):  # a weight beyond float32 is refused later, clearly
        for w in weights:
            x = np.broadcast_to(np.float32(0), (1, w.shape[1], 256, 1024))
            try:
                planned = choose_method(w, prepare(x, w, padding="same")[3])
            except ConvcliError:
                continue
            if planned == "fft":
                load_in_background()
                return
