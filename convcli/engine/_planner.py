"""The planner: which method computes a conv2d call fastest (as ``choose_conv_method``).

:func:`choose_method` is a pure function of the weight (its shape and values) and the
call's geometry. It estimates each method's time per output sample and output channel,
in units of one NumPy pass over an image in memory (``np.multiply(x, c, out=y)``), and
returns the cheapest:

- ``direct``: the elementwise passes :func:`~convcli.engine._direct.accumulate` makes
  for the taps (taps sharing a weight magnitude share a multiply; weight 1 needs none;
  zeros are skipped), each over a cache-resident strip, plus copying strips in and out;
- ``separable``: per-channel kernels of numerical rank r, the passes of the r pairs of
  1-D factors, plus padding each vertical result;
- ``gemm``: an im2col copy per tap shared by the group's outputs, plus BLAS time;
- ``fft``: forward transforms of the inputs and one inverse per output, whatever the
  kernel's size, grown by the tiles' halo and by the stride (it computes every stride-1
  sample).

The constants are fitted to single-thread timings on a 2048x2048 RGB float32 image;
``python benchmarks/calibrate.py`` prints measured times beside these estimates.
"""

from __future__ import annotations

import functools

import numpy as np

from convcli.choices import METHODS
from convcli.engine._direct import count_passes, unit_scale
from convcli.engine._fft import tile_plan
from convcli.engine._separable import low_rank_factors, unit_factors

#: One elementwise pass over a cache-resident strip, relative to a pass in memory.
CACHED_PASS = 0.35
#: Copying strips in and results out (and the output's first touch), direct method.
DIRECT_FIXED = 3.5
#: The same for the separable method, whose passes run on slightly longer rows.
SEPARABLE_PASS = 0.36
SEPARABLE_FIXED = 2.5
#: Padding one vertical result of the separable method (a copy and the border columns).
SEPARABLE_TERM = 0.5
#: A forward or inverse FFT of a tile, per sample.
FFT_TRANSFORM = 5.8
#: One complex multiply-add per sample in the frequency domain.
FFT_PRODUCT = 2.0
#: The im2col copy per tap and input channel (shared by a group's outputs).
GEMM_COPY = 0.8
#: BLAS time per multiply-add of the GEMM.
GEMM_MAC = 0.08
#: Copying the GEMM's results out.
GEMM_FIXED = 1.5
#: The FFT must be this much faster to be chosen: its rounding error is larger (it
#: spreads over the whole tile), so a near tie goes to the spatial methods.
FFT_MARGIN = 1.1


def _rank_dtype(weight: np.ndarray) -> np.dtype:
    return weight.dtype if weight.dtype.kind == "f" else np.dtype(np.float32)


def method_costs(weight, geometry) -> dict[str, float]:
    """Estimated time per output sample and output channel of every method that applies,
    in passes over an image in memory.

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
    dtype = _rank_dtype(w)
    w = np.ascontiguousarray(w, dtype=dtype)
    return dict(_costs(w.tobytes(), w.shape, dtype.str, geometry))


@functools.lru_cache(maxsize=256)
def _costs(data: bytes, shape, dtype: str, geometry) -> tuple:
    """:func:`method_costs` of one weight (by value) and geometry, cached: pure, and the
    same kernel is planned again for every band, frame and file."""
    w = np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape)
    c_out, c_in_g, kh, kw = w.shape
    c_out_g = c_out // geometry.groups
    sh, sw = geometry.stride
    passes = np.mean([count_passes(unit_scale(w[o])[1].ravel()) for o in range(c_out)])
    costs = {"direct": CACHED_PASS * float(passes) + DIRECT_FIXED}
    if c_out_g > 1:  # one output per group is a matrix-vector product: direct is as good
        costs["gemm"] = c_in_g * kh * kw * (GEMM_COPY / c_out_g + GEMM_MAC) + GEMM_FIXED
    if c_in_g == 1 and kh * kw > 1:
        total = 0.0
        for o in range(c_out):
            _, us, vs = unit_factors(*low_rank_factors(w[o, 0], dtype), dtype)
            total += sum(
                SEPARABLE_PASS * (count_passes(u) + count_passes(v)) + SEPARABLE_TERM
                for u, v in zip(us, vs, strict=True)
            )
        costs["separable"] = float(total / c_out + SEPARABLE_FIXED)
    # Tiles overlap by the kernel's extent: the FFT computes (tiles x tile side) / output
    # samples per output sample, in each dimension (tile_plan).
    halo = 1.0
    for extent, padded in zip(geometry.extent_hw, geometry.padded_hw, strict=True):
        tiles, side = tile_plan(extent, padded)
        halo *= tiles * side / (padded - extent + 1)
    transforms = geometry.in_channels / c_out + 1.0
    costs["fft"] = float(
        (FFT_TRANSFORM * transforms + FFT_PRODUCT * c_in_g) * halo * sh * sw * FFT_MARGIN
    )
    return tuple(costs.items())


def choose_method(weight, geometry, *, allow_fft: bool = True) -> str:
    """The fastest method for correlating with ``weight`` under ``geometry``.

    Parameters
    ----------
    weight : ndarray
        ``(C_out, C_in/groups, kH, kW)``, as given to :func:`convcli.conv2d`.
    geometry : ConvGeometry
        The call's shapes, steps and padding (from :func:`convcli.engine.prepare`).
    allow_fft : bool
        False leaves the FFT out (``method='precise'``): its rounding error is relative to
        the image's largest values, not to each output sample, which matters where results
        are divided by small ones (un-premultiplying alpha).

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
    >>> g = np.outer(*2 * [np.hanning(9)])              # rank 1
    >>> plan(np.stack(3 * [g[None]]), 3)
    'separable'
    >>> plan(rng.standard_normal((3, 1, 31, 31)), 3)    # large, full rank
    'fft'
    >>> plan(rng.standard_normal((8, 3, 5, 5)), 1)      # cross-channel, 3 -> 8
    'gemm'
    """
    costs = method_costs(weight, geometry)
    if not allow_fft:
        costs.pop("fft", None)
    return min(costs, key=lambda m: (costs[m], METHODS.index(m)))
