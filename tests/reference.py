"""An obviously-correct, slow conv2d: explicit loops over every output sample.

The independent reference the engine is tested against. Padding is built sample by sample
from the definition of each mode (index arithmetic), not with numpy.pad, so the engine's
padding is checked too.
"""

from __future__ import annotations

import numpy as np


def source_index(i: int, n: int, mode: str) -> int | None:
    """The input index that padded position ``i`` (may be < 0 or >= n) reads, or None for 0."""
    if 0 <= i < n:
        return i
    if mode == "zeros":
        return None
    if mode == "replicate":
        return min(max(i, 0), n - 1)
    if mode == "circular":
        return i % n
    if mode == "reflect":  # cb|abcd|cb: period 2n-2, edge not repeated
        if n == 1:
            return 0
        period = 2 * n - 2
        i = i % period
        return i if i < n else period - i
    if mode == "symmetric":  # ba|abcd|dc: period 2n, edge repeated
        period = 2 * n
        i = i % period
        return i if i < n else period - 1 - i
    raise ValueError(mode)


def conv2d_reference(
    x, w, b=None, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1, mode="zeros"
):
    """conv2d of 4-D float64 ``x`` with explicit loops; ``pads`` = (top, bottom, left, right)."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    n, c_in, h, wd = x.shape
    c_out, c_in_g, kh, kw = w.shape
    top, bottom, left, right = pads
    sh, sw = stride
    dh, dw = dilation
    ho = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + left + right - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c_out, ho, wo))
    c_out_g = c_out // groups
    for b_ in range(n):
        for o in range(c_out):
            g = o // c_out_g
            for y in range(ho):
                for xx in range(wo):
                    acc = 0.0 if b is None else float(b[o])
                    for ci in range(c_in_g):
                        c = g * c_in_g + ci
                        for i in range(kh):
                            r = source_index(y * sh + i * dh - top, h, mode)
                            if r is None:
                                continue
                            for j in range(kw):
                                s = source_index(xx * sw + j * dw - left, wd, mode)
                                if s is None:
                                    continue
                                acc += w[o, ci, i, j] * x[b_, c, r, s]
                    out[b_, o, y, xx] = acc
    return out


def same_pads(kernel_hw, dilation=(1, 1)):
    """PyTorch's 'same' padding: total d*(k-1), the odd one at the bottom/right."""
    pads = []
    for k, d in zip(kernel_hw, dilation, strict=True):
        total = d * (k - 1)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


def conv2d_missing_reference(
    x,
    w,
    b=None,
    stride=(1, 1),
    pads=(0, 0, 0, 0),
    dilation=(1, 1),
    groups=1,
    mode="zeros",
    valid=None,
    policy="omit",
    rtol=1e-6,
):
    """conv2d with missing samples, explicit loops: ``(out, scale)``.

    ``valid`` (bool, x's shape; default: not NaN) marks the valid samples; padded zeros
    are valid. ``policy='propagate'``: NaN wherever a tap (any weight) reads a missing
    sample, else the ordinary sum. ``policy='omit'``: for each (output, input) channel
    pair ``sum_V w x / sum_V w * sum w`` (skipped when all its weights are 0; NaN when
    ``|sum_V w| <= rtol * sum |w|``), summed over the pairs, plus the bias. ``scale`` is
    the size rounding errors are relative to: ``sum over pairs of |sum w| / |sum_V w| *
    sum |w| * max |x|``.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    valid = ~np.isnan(x) if valid is None else np.asarray(valid) & ~np.isnan(x)
    n, c_in, h, wd = x.shape
    c_out, c_in_g, kh, kw = w.shape
    top, bottom, left, right = pads
    sh, sw = stride
    dh, dw = dilation
    ho = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + left + right - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c_out, ho, wo))
    scale = np.zeros((n, c_out, ho, wo))
    peak = float(np.max(np.abs(np.where(valid, x, 0)), initial=0.0))
    c_out_g = c_out // groups
    for b_ in range(n):
        for o in range(c_out):
            g = o // c_out_g
            for y in range(ho):
                for xx in range(wo):
                    total = 0.0 if b is None else float(b[o])
                    size = 0.0
                    for ci in range(c_in_g):
                        c = g * c_in_g + ci
                        num = den = 0.0
                        seen_missing = False
                        for i in range(kh):
                            r = source_index(y * sh + i * dh - top, h, mode)
                            for j in range(kw):
                                s = source_index(xx * sw + j * dw - left, wd, mode)
                                if r is None or s is None:
                                    den += w[o, ci, i, j]  # a padded zero: valid
                                    continue
                                if valid[b_, c, r, s]:
                                    num += w[o, ci, i, j] * x[b_, c, r, s]
                                    den += w[o, ci, i, j]
                                else:
                                    seen_missing = True
                        full, absolute = w[o, ci].sum(), np.abs(w[o, ci]).sum()
                        if policy == "propagate":
                            total = np.nan if seen_missing else total + num
                            size += absolute * peak
                        elif absolute > 0:
                            if abs(den) <= rtol * absolute:
                                total = np.nan
                            else:
                                total += num / den * full
                                size += abs(full) / abs(den) * absolute * peak
                    out[b_, o, y, xx] = total
                    scale[b_, o, y, xx] = size
    return out, scale
