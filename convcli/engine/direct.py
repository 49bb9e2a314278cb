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
