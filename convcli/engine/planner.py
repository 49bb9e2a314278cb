"""The planner: which method computes a conv2d call fastest (as ``choose_conv_method``).

:func:`choose_method` is a pure function of the weight (its shape and, for the rank, its
values) and the call's geometry. It estimates each method's cost per output sample, in
units of one in-place multiply-add pass over a strip, and returns the cheapest:

- ``direct``: one pass per tap and input channel, ``C_in/groups * kH * kW``;
- ``separable``: per-channel kernels of numerical rank r, ``r * (kH + kW)`` 1-D taps
  (plus the padding of the vertical pass);
- ``gemm``: an im2col copy per tap shared by the group's outputs, plus BLAS time;
- ``fft``: forward transforms of the inputs and one inverse per output, whatever the
  kernel's size, times the stride's waste (it computes every stride-1 sample).

The constants were measured with ``benchmarks/bench_engine.py --calibrate`` on 4096x4096
float32 images (2 cores).
"""

from __future__ import annotations

import numpy as np

from convcli.engine.conv import METHODS
from convcli.engine.fft import BAND_FFT_ROWS
from convcli.engine.separable import kernel_rank

#: Cost of one 1-D tap of the separable method, relative to a direct tap.
SEPARABLE_TAP = 1.1
#: Fixed cost of the separable method per rank term (padding the vertical pass).
SEPARABLE_TERM = 0.5
#: Cost of a forward or inverse FFT per sample, in direct taps.
FFT_TRANSFORM = 22.0
#: Cost of one complex multiply-add per sample in the frequency domain, in direct taps.
FFT_PRODUCT = 1.0
#: im2col copy per tap and input channel (shared by a group's outputs), in direct taps.
GEMM_COPY = 0.6
#: BLAS time per multiply-add of the GEMM, in direct taps.
GEMM_MAC = 0.04


def _rank_dtype(weight: np.ndarray) -> np.dtype:
    return weight.dtype if weight.dtype.kind == "f" else np.dtype(np.float32)


def method_costs(weight, geometry) -> dict[str, float]:
    """Estimated cost per output sample and output channel of every method that applies.

    Examples
    --------
    >>> import numpy as np
    >>> from convcli.engine import prepare
    >>> x = np.zeros((1, 1, 64, 64), np.float32)
    >>> w = np.ones((1, 1, 3, 3), np.float32)
    >>> geometry = prepare(x, w, padding="same")[3]
    >>> sorted(method_costs(w, geometry))
    ['direct', 'fft', 'separable']
    """
    w = np.asarray(weight)
    c_out, c_in_g, kh, kw = w.shape
    c_out_g = c_out // geometry.groups
    sh, sw = geometry.stride
    taps = kh * kw
    costs = {"direct": float(c_in_g * taps)}
    if c_out_g > 1:  # one output per group is a matrix-vector product: direct is as good
        costs["gemm"] = c_in_g * taps * (GEMM_COPY / c_out_g + GEMM_MAC)
    if c_in_g == 1:
        dtype = _rank_dtype(w)
        rank = max(max(kernel_rank(w[o, 0], dtype) for o in range(c_out)), 1)
        costs["separable"] = rank * (SEPARABLE_TAP * (kh + kw) + SEPARABLE_TERM)
    # Bands overlap by the kernel's extent: the FFT computes (band + halo) / band rows.
    eh = geometry.extent_hw[0]
    fft_rows = max(BAND_FFT_ROWS, 4 * (eh - 1))
    halo = fft_rows / (fft_rows - eh + 1)
    transforms = geometry.in_channels / c_out + 1.0
    costs["fft"] = (FFT_TRANSFORM * transforms + FFT_PRODUCT * c_in_g) * halo * sh * sw
    return costs


def choose_method(weight, geometry) -> str:
    """The fastest method for correlating with ``weight`` under ``geometry``.

    Parameters
    ----------
    weight : ndarray
        ``(C_out, C_in/groups, kH, kW)``, as given to :func:`convcli.conv2d`.
    geometry : ConvGeometry
        The call's shapes, steps and padding (from :func:`convcli.engine.prepare`).

    Returns
    -------
    str
        ``'direct'``, ``'separable'``, ``'fft'`` or ``'gemm'``.

    Examples
    --------
    >>> import numpy as np
    >>> from convcli.engine import prepare
    >>> x = np.zeros((1, 3, 256, 256), np.float32)
    >>> def plan(w, groups):
    ...     return choose_method(w, prepare(x, w, padding="same", groups=groups)[3])
    >>> rng = np.random.default_rng(0)
    >>> plan(rng.standard_normal((3, 1, 3, 3)), 3)      # small, full rank
    'direct'
    >>> g = np.outer(*2 * [np.hanning(15)])             # rank 1
    >>> plan(np.stack(3 * [g[None]]), 3)
    'separable'
    >>> plan(rng.standard_normal((3, 1, 31, 31)), 3)    # large, full rank
    'fft'
    >>> plan(rng.standard_normal((8, 3, 5, 5)), 1)      # cross-channel, 3 -> 8
    'gemm'
    """
    costs = method_costs(weight, geometry)
    return min(costs, key=lambda m: (costs[m], METHODS.index(m)))
