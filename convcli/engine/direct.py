"""The direct method: shift-and-accumulate over kernel taps.

For each tap ``(i, j)`` the strided, dilated view of the padded input that the tap sees is
multiplied by the tap's weights and added into the output. The loop runs over taps only;
every tap is one vectorized operation over the whole batch, all channels and all pixels.
"""

from __future__ import annotations

import numpy as np


def tap_view(xpad: np.ndarray, i: int, j: int, geometry) -> np.ndarray:
    """The ``(N, C, H_out, W_out)`` view of ``xpad`` that kernel tap ``(i, j)`` reads."""
    (sh, sw), (dh, dw), (ho, wo) = geometry.stride, geometry.dilation, geometry.out_hw
    r0, c0 = i * dh, j * dw
    return xpad[..., r0 : r0 + sh * (ho - 1) + 1 : sh, c0 : c0 + sw * (wo - 1) + 1 : sw]


def correlate_direct(xpad: np.ndarray, weight: np.ndarray, geometry) -> np.ndarray:
    """Correlate the padded input ``xpad`` with ``weight``; returns ``(N, C_out, Ho, Wo)``."""
    g = geometry.groups
    n = xpad.shape[0]
    c_out, c_in_g, kh, kw = weight.shape
    c_out_g = c_out // g
    ho, wo = geometry.out_hw
    wg = weight.reshape(g, c_out_g, c_in_g, kh, kw)
    out = np.zeros((n, g, c_out_g, ho, wo), dtype=xpad.dtype)
    for i in range(kh):
        for j in range(kw):
            xs = tap_view(xpad, i, j, geometry).reshape(n, g, c_in_g, ho, wo)
            tap = wg[:, :, :, i, j]  # (G, C_out/G, C_in/G)
            if c_in_g == 1:
                out += tap[None, :, :, 0, None, None] * xs
            else:
                prod = np.matmul(tap, xs.reshape(n, g, c_in_g, ho * wo))
                out += prod.reshape(n, g, c_out_g, ho, wo)
    return out.reshape(n, c_out, ho, wo)


def accumulate(dst: np.ndarray, terms, tmp: np.ndarray, first: bool = True) -> None:
    """``dst (+)= sum(weight * view for view, weight in terms)``, in place, in a fixed order.

    ``tmp`` is a preallocated buffer of ``dst``'s shape: one multiply and one add per term,
    no temporaries. With ``first`` the first term overwrites ``dst``.
    """
    for view, weight in terms:
        if first:
            np.multiply(view, weight, out=dst)
            first = False
        else:
            np.multiply(view, weight, out=tmp)
            np.add(dst, tmp, out=dst)


def strip_taps(buf: np.ndarray, kh: int, kw: int, rows: int, geometry, row_step=None,
               col_step=None):
    """``{(i, j): view}``: the ``(rows, W_out)`` view of strip ``buf`` that tap (i, j) reads."""
    (sh, sw), (dh, dw), wo = geometry.stride, geometry.dilation, geometry.out_hw[1]
    sh = sh if row_step is None else row_step
    sw = sw if col_step is None else col_step
    return {
        (i, j): buf[..., i * dh : i * dh + sh * (rows - 1) + 1 : sh,
                    j * dw : j * dw + sw * (wo - 1) + 1 : sw]
        for i in range(kh)
        for j in range(kw)
    }


def correlate_direct_strips(x: np.ndarray, weight: np.ndarray, bias, geometry) -> np.ndarray:
    """The direct method on cache-sized row strips, on the engine's threads.

    ``x`` is the unpadded ``(N, C_in, H, W)`` input in the working dtype. Each strip pads
    its own halo; every output sample sees the same operations in the same order whatever
    the strip height or thread count, so the result is bit-identical for all of them.
    """
    from convcli.engine.strips import padded_strip, row_ranges, run_tasks, scratch, strip_rows

    n = x.shape[0]
    c_out, c_in_g, kh, kw = weight.shape
    g = geometry.groups
    c_out_g = c_out // g
    ho, wo = geometry.out_hw
    sh, eh = geometry.stride[0], geometry.extent_hw[0]
    out = np.empty((n, c_out, ho, wo), dtype=x.dtype)
    row_bytes = (c_in_g * sh + 2) * geometry.padded_hw[1] * x.itemsize
    ranges = row_ranges(ho, strip_rows(ho, row_bytes, tasks_per_row=n))

    def task(item):
        b_, (r0, r1) = item
        rows = r1 - r0
        tmp = scratch("tmp", (rows, wo), x.dtype)
        for gi in range(g):
            strip = padded_strip(x[b_, gi * c_in_g : (gi + 1) * c_in_g],
                                 r0 * sh, (r1 - 1) * sh + eh, geometry)
            taps = strip_taps(strip, kh, kw, rows, geometry)
            for o in range(gi * c_out_g, (gi + 1) * c_out_g):
                dst = out[b_, o, r0:r1]
                terms = ((view[ci], weight[o, ci, i, j])
                         for ci in range(c_in_g) for (i, j), view in taps.items())
                accumulate(dst, terms, tmp)
                if bias is not None:
                    np.add(dst, bias[o], out=dst)

    run_tasks(task, [(b_, r) for b_ in range(n) for r in ranges])
    return out
