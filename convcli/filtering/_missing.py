"""Missing samples in an image: NaN, a no-data value, a mask, and how the output shows them.

Used by :func:`convcli.filtering._frame.filter_frame` when missing-data handling is asked
for (``nan_policy`` other than ``propagate``, a ``nodata`` value, or a mask):

1. :func:`find_missing`: the samples that are missing: NaN (float images), equal to
   ``nodata``, or where the mask is False (or alpha is 0 with ``mask='alpha'``);
2. they become NaN in the working floats, and every kernel runs with the engine's
   ``nan_policy`` (``omit``: normalized convolution fills them from their neighbours;
   ``propagate``: they spread over each kernel's reach, as in PyTorch);
3. :func:`output_missing`: the output samples that are missing: NaN after the chain (no
   valid neighbour), and with ``preserve_missing`` the input's missing samples themselves;
4. :func:`represent`: they are written as the input showed them: the no-data value when
   there is one, NaN in a float output, else an error naming ``--nodata``.
"""

from __future__ import annotations

import numpy as np

from convcli.errors import ImageError, KernelError, ParameterError
from convcli.filtering._responses import label, resample_like, weight_of


def active(opts, mask) -> bool:
    """True when ``opts`` or ``mask`` ask for missing-data handling."""
    return opts.nan_policy != "propagate" or opts.nodata is not None or mask is not None


def check_kernels(kernels, opts) -> None:
    """Refuse, under ``nan_policy='omit'``, a kernel (or a bank member) whose weights sum to
    zero: normalized convolution divides by the sum of the valid weights."""
    if opts.nan_policy != "omit":
        return
    for kernel in kernels:
        for member in kernel.members or (kernel,):
            w = weight_of(member, opts)
            pairs = w.reshape(-1, *w.shape[-2:]) if w.ndim == 4 else w[None]
            sums, absolute = pairs.sum(axis=(1, 2)), np.abs(pairs).sum(axis=(1, 2))
            if np.any((absolute > 0) & (np.abs(sums) <= 1e-6 * absolute)):
                what = f"kernel {label(kernel)}"
                if kernel.is_bank:
                    what += f" (a bank combined by {kernel.combine}: member {label(member)})"
                raise KernelError(
                    f"{what} has weights that sum to 0, which --nan-policy omit cannot use: "
                    "normalized convolution divides by the sum of the valid weights (no "
                    "normalized derivative is implemented); fill the holes first (e.g. "
                    "apply -k gaussian --nan-policy omit --fill-missing), or use "
                    "--nan-policy propagate"
                )


def find_missing(frame: np.ndarray, opts, mask, alpha_index: int | None) -> np.ndarray | None:
    """The missing samples of ``frame`` (H, W, C) as bool (C, H, W), or None when none is.

    ``mask`` is None, a bool ``(H, W)`` array (True = valid) or ``'alpha'`` (alpha 0 is
    missing; ``alpha_index`` is the alpha channel). Alpha itself is never missing.
    """
    h, w, channels = frame.shape
    missing = np.zeros((channels, h, w), bool)
    samples = np.moveaxis(frame, 2, 0)
    if frame.dtype.kind == "f":
        missing |= np.isnan(samples)
    if opts.nodata is not None and not np.isnan(opts.nodata):
        missing |= samples == opts.nodata
    if isinstance(mask, str):
        missing |= samples[alpha_index] == 0
    elif mask is not None:
        if mask.shape != (h, w):
            raise ParameterError(
                f"the mask is {mask.shape[1]}x{mask.shape[0]} but the image is {w}x{h}; "
                "give a mask of the image's size"
            )
        missing |= ~mask
    if alpha_index is not None:
        missing[alpha_index] = False
    return missing if missing.any() else None


def refuse(missing: np.ndarray, name: str) -> None:
    """``--nan-policy raise``: an error when ``missing`` has any sample, saying how many."""
    count = int(np.count_nonzero(missing))
    if count:
        raise ImageError(
            f"{name} has {count} missing sample{'s' * (count != 1)} (NaN, --nodata or "
            "--mask) and --nan-policy is raise; use --nan-policy omit to fill them from "
            "their neighbours, or propagate"
        )


def output_missing(result: np.ndarray, missing, kernels, opts) -> np.ndarray:
    """The output samples to write as missing: NaN in ``result`` (C', H', W'), and with
    ``opts.preserve_missing`` the input's ``missing`` (C, H, W) samples on the output grid
    (any channel's, when the chain changed the channel count)."""
    gone = np.isnan(result)
    if opts.preserve_missing and missing is not None:
        plane = missing
        for kernel in kernels:
            plane = resample_like(plane, tuple(kernel.weight.shape[-2:]), opts)
        if plane.shape[0] != result.shape[0]:
            plane = plane.any(axis=0, keepdims=True)
        gone |= plane
    return gone


def represent(
    out: np.ndarray, gone: np.ndarray, opts, out_dtype, name: str, by_alpha: bool = False
) -> None:
    """Write the missing output samples ``gone`` (C', H', W') of ``out`` (mapped, C', H',
    W') in place: the no-data value, NaN (float output), 0 when alpha (``by_alpha``, the
    mask) marks them, or an error saying what to add."""
    if not gone.any():
        return
    dtype = np.dtype(out_dtype)
    if opts.nodata is None and by_alpha:
        out[gone] = 0  # transparent: alpha says they are missing
    elif opts.nodata is not None:
        value = opts.nodata
        if dtype.kind != "f":
            info = np.iinfo(dtype)
            if np.isnan(value) or not (info.min <= value <= info.max) or value != int(value):
                raise ParameterError(
                    f"--nodata {value:g} cannot be written in the {8 * dtype.itemsize}-bit "
                    f"output of {name}; give a --nodata value from {info.min} to {info.max}, "
                    "or write floats with --depth 32f"
                )
        out[gone] = value
    elif dtype.kind == "f":
        out[gone] = np.nan
    else:
        count = int(np.count_nonzero(gone))
        raise ImageError(
            f"{count} output sample{'s' * (count != 1)} of {name} "
            f"{'are' if count != 1 else 'is'} missing and a {8 * dtype.itemsize}-bit output "
            "has no NaN; add --nodata V (the value written there), --fill-missing with "
            "--nan-policy omit, or write floats with --depth 32f"
        )
