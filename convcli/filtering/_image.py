"""``filter_image``: the public entry point that filters one image array with a chain.

It resolves the options (:class:`~convcli.filtering._options.FilterOptions`), the layout and
the kernels, and filters by bands of rows as ``convcli apply`` does
(:func:`~convcli.filtering._bands.filter_frame_by_rows`, bit for bit the whole frame's
result wherever each band's work does not depend on its extent), so the library and the
command line give the same samples. The steps themselves are
:func:`~convcli.filtering._frame.filter_frame`'s.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike

from convcli.errors import ClippedWarning, ParameterError
from convcli.filtering._bands import filter_frame_by_rows
from convcli.filtering._frame import KernelsLike, as_kernels
from convcli.filtering._options import FilterOptions
from convcli.filtering._outputs import check_not_channels_first, clipped_note


def filter_image(
    array: ArrayLike,
    kernels: KernelsLike,
    *,
    layout: str | None = None,
    mask: np.ndarray | str | None = None,
    padding_mode: str = "reflect",
    padding: str | int | tuple[int, int] = "same",
    stride: int | tuple[int, int] = 1,
    dilation: int | tuple[int, int] = 1,
    normalize: bool | None = None,
    channel_mode: str = "per-channel",
    alpha: str | None = None,
    output_map: str | None = None,
    scale: float = 1.0,
    offset: float = 0.0,
    depth: str | None = None,
    padding_value: float = 0.0,
    convolve: bool = False,
    nan_policy: str = "propagate",
    nodata: float | None = None,
    preserve_missing: bool = True,
    linear: bool = False,
    channels: str = "all",
) -> np.ndarray:
    """Filter one image with a chain of kernels: the in-memory core of ``convcli apply``.

    Parameters
    ----------
    array : ndarray
        ``(H, W)`` or ``(H, W, C)``: uint8, uint16, int32 or float samples (floats are in
        0..1 for full intensity).
    kernels : Kernel, ndarray, str or sequence of them
        Applied in order, in floating point, with one rounding at the end. An array is a
        2-D ``(kH, kW)`` per-channel kernel or a 4-D ``(C_out, C_in/groups, kH, kW)``
        layer; a string is a kernel spec (:func:`convcli.load_kernel`).
    layout : str, optional
        What the channels mean (``L``, ``LA``, ``RGB``, ``RGBA``, ``CMYK`` or ``''`` for
        arbitrary channels); a final ``A`` marks alpha. Default: from the channel count
        (1 ``L``, 2 ``LA``, 3 ``RGB``, 4 ``RGBA``, else ``''``): pass ``layout='CMYK'``
        for CMYK. ``'CHW'``: ``array`` is channels first ``(C, H, W)`` as in PyTorch
        (channel meaning from the count), and so is the result. Without a layout, a
        ``(C, H, W)``-looking array (first axis 1 to 4, last axis longer) is refused.
    mask : ndarray of bool or 'alpha', optional
        ``(H, W)``, True = valid sample (False: missing, as NaN and ``nodata``); ``'alpha'``:
        the alpha channel's zeros are the missing samples (alpha is kept as it is).
    padding_mode, padding, stride, dilation, normalize, channel_mode, alpha, output_map
        The options of :class:`FilterOptions`, same names and meanings (validated and
        normalised by :meth:`FilterOptions.from_kwargs`).
    scale, offset, depth, padding_value, convolve, nan_policy, nodata, preserve_missing
        Likewise. ``offset``, kernel offsets and a layer's bias are in full scale (1.0 =
        full intensity at every depth, as ``ToTensor``).
    linear, channels
        Likewise: the colour options.

    Returns
    -------
    ndarray
        ``(H', W', C')`` in the output dtype (``(H', W')`` for a 2-D single-channel input
        giving one channel). Integer results are rounded half to even and clipped.

    Raises
    ------
    ParameterError
        For an unknown or invalid option, or a layout that does not fit the channels.
    KernelError
        For a kernel that does not fit the image (4-D channel counts) or cannot be
        normalized.

    Examples
    --------
    >>> import numpy as np
    >>> from convcli import filter_image
    >>> img = np.zeros((5, 5), np.uint8); img[2, 2] = 90
    >>> filter_image(img, np.ones((3, 3)) / 9)
    array([[ 0,  0,  0,  0,  0],
           [ 0, 10, 10, 10,  0],
           [ 0, 10, 10, 10,  0],
           [ 0, 10, 10, 10,  0],
           [ 0,  0,  0,  0,  0]], dtype=uint8)
    >>> edge = np.array([[-1.0, 0.0, 1.0]])
    >>> ramp = np.tile(np.array([100, 90, 80, 70], np.uint8), (2, 1))
    >>> filter_image(ramp, edge, output_map="abs", padding_mode="replicate")
    array([[10, 20, 20, 10],
           [10, 20, 20, 10]], dtype=uint8)
    >>> filter_image(ramp, edge, output_map="offset", stride=2)
    array([[128, 108]], dtype=uint8)
    """
    opts = FilterOptions.from_kwargs(
        padding_mode=padding_mode,
        padding=padding,
        stride=stride,
        dilation=dilation,
        normalize=normalize,
        channel_mode=channel_mode,
        alpha=alpha,
        output_map=output_map,
        scale=scale,
        offset=offset,
        depth=depth,
        padding_value=padding_value,
        convolve=convolve,
        nan_policy=nan_policy,
        nodata=nodata,
        preserve_missing=preserve_missing,
        linear=linear,
        channels=channels,
    )
    array = np.asarray(array)
    chw = layout is not None and layout.upper() == "CHW"
    if chw:
        if array.ndim != 3:
            raise ParameterError(f"layout='CHW' needs a (C, H, W) array, got shape {array.shape}")
        array, layout = np.moveaxis(array, 0, -1), None
    elif layout is None:
        check_not_channels_first(array.shape)
    chain = as_kernels(kernels)
    out, _ = filter_frame_by_rows(array, chain, layout, opts, mask=mask)  # as `apply` does
    note = clipped_note(chain, out, opts, "the result")
    if note:
        warnings.warn(note, ClippedWarning, stacklevel=2)
    if chw:
        return np.ascontiguousarray(np.moveaxis(out if out.ndim == 3 else out[..., None], -1, 0))
    return out
