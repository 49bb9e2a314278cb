"""The FFT method: block-wise (overlap-save) correlation with ``scipy.fft``.

The output is cut into tiles; each tile reads its padded input (with the halo of
``extent - 1`` rows and columns), takes a real 2-D FFT of a fast size
(:func:`scipy.fft.next_fast_len`, a few times the kernel's extent), multiplies by the
conjugate transform of the (dilated) kernel and transforms back: the first rows and
columns of the circular result are the tile's correlation, free of wrap-around. Cost
per sample grows with the logarithm of the tile size, not with the kernel's area, so it
wins for large non-separable kernels. Computes in the input's precision (float32 stays
float32 and complex64).

Strides are served by computing the stride-1 result of a tile and subsampling it.
"""

from __future__ import annotations

import importlib
import sys
import threading

import numpy as np

from convcli.engine._direct import channel_batches
from convcli.engine._strips import Border, row_ranges, run_tasks

#: Largest side of an FFT tile for kernels up to 65 wide; larger kernels get tiles of about
#: 4x their extent (256: 4096x4096 RGB, 13x13, 2 threads: 0.208 s, 192: 0.229 s).
TILE_FFT = 256


def tile_plan(extent: int, padded: int) -> tuple[int, int]:
    """``(tiles, side)`` along one dimension of ``padded`` samples and a kernel ``extent``.

    The fewest tiles of at most ``max(TILE_FFT, 4 * (extent - 1))`` samples that cover the
    stride-1 output, with their outputs shared out evenly: 400 padded rows under a 13x13
    kernel take two tiles of 206 rows, not a full 256-row tile and a nearly empty one. A
    pure function, for the planner's cost as well.

    Examples
    --------
    >>> tile_plan(13, 400), tile_plan(13, 4108), tile_plan(3, 50)
    ((2, 206), (17, 253), (1, 50))
    """
    longest = min(max(TILE_FFT, 4 * (extent - 1)), padded)
    full = padded - extent + 1  # stride-1 output samples
    tiles = -(-full // (longest - extent + 1))
    return tiles, -(-full // tiles) + extent - 1


def tile_shape(geometry) -> tuple[int, int]:
    """The FFT size ``(Fh, Fw)`` of one tile: fast sizes (:func:`scipy.fft.next_fast_len`)
    of :func:`tile_plan`'s sides, a few times the kernel's extent (so the halo is a small
    part of the tile), small enough to stay in the cache."""
    import scipy.fft  # noqa: PLC0415 - lazy: 0.2 s of imports that only the FFT needs

    return tuple(
        scipy.fft.next_fast_len(tile_plan(extent, padded)[1], real=True)
        for extent, padded in zip(geometry.extent_hw, geometry.padded_hw, strict=True)
    )


def fft_loaded() -> bool:
    """True when ``scipy.fft`` is imported already (or being imported)."""
    return "scipy.fft" in sys.modules or _loading.is_set()


def load_in_background() -> None:
    """Start importing ``scipy.fft`` on a thread (once): when a caller knows the FFT will be
    needed, its 0.2 s of imports overlap other work (decoding an image releases the GIL)
    instead of delaying the first transform."""
    if not fft_loaded():
        _loading.set()
        threading.Thread(
            target=importlib.import_module, args=("scipy.fft",), name="convcli-load-fft"
        ).start()


_loading = threading.Event()


def correlate_fft(x: np.ndarray, weight: np.ndarray, bias, geometry) -> np.ndarray:
    """Correlate unpadded ``x (N, C_in, H, W)`` with ``weight`` by FFT, tile by tile.

    Each task is a band of rows (on the engine's threads); inside it, tiles along the
    width are read (views of the image inside it, small padded copies at its border) and
    transformed one at a time, so each tile's transform stays in the cache and no band of
    the image is ever copied.
    """
    import scipy.fft  # noqa: PLC0415 - lazy: 0.2 s of imports that only the FFT needs

    n = x.shape[0]
    c_out, c_in_g, kh, kw = weight.shape
    g = geometry.groups
    c_out_g = c_out // g
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    (eh, ew), (hp, wp), (ho, wo) = geometry.extent_hw, geometry.padded_hw, geometry.out_hw
    shape = tile_shape(geometry)
    tile_h, tile_w = shape[0] - eh + 1, shape[1] - ew + 1  # stride-1 outputs per tile
    dilated = np.zeros((c_out, c_in_g, eh, ew), dtype=x.dtype)
    dilated[:, :, ::dh, ::dw] = weight
    # Correlation = multiplication by the conjugate spectrum of the kernel.
    spectrum = np.conj(scipy.fft.rfft2(dilated, s=shape))
    out = np.empty((n, c_out, ho, wo), dtype=x.dtype)
    border = Border(geometry)
    batches = channel_batches(weight, g)  # channels sharing a kernel: one transform call
    full_h, full_w = hp - eh + 1, wp - ew + 1  # stride-1 output size

    def task(item):
        b_, (q0, q1) = item  # stride-1 output rows of this band
        o0, o1 = -(-q0 // sh), min(ho, -(-q1 // sh))  # the strided output rows in it
        if o0 >= o1:
            return
        rows = slice(o0 * sh - q0, (o1 - 1) * sh - q0 + 1, sh)
        keep = (o1 - 1) * sh - q0 + 1  # rows of the inverse transform that are used
        for g0, g1 in batches:
            nb = g1 - g0
            image = x[b_, g0 * c_in_g : g1 * c_in_g]
            for t0 in range(0, full_w, tile_w):
                t1 = min(t0 + tile_w, full_w)
                c0, c1 = -(-t0 // sw), min(wo, -(-t1 // sw))
                if c0 >= c1:
                    continue
                cols = slice(c0 * sw - t0, (c1 - 1) * sw - t0 + 1, sw)
                # rfft2 in two steps (faster in pocketfft than its n-D path).
                tile = border.tile(image, (q0, q1 + eh - 1), (t0, t1 + ew - 1))
                spec = scipy.fft.rfft(tile, n=shape[1], axis=-1)
                spec = scipy.fft.fft(spec, n=shape[0], axis=-2, overwrite_x=True)
                spec = spec.reshape(nb, c_in_g, *spec.shape[1:])
                for o in range(g0 * c_out_g, g0 * c_out_g + c_out_g):
                    if c_in_g == 1 and c_out_g == 1:  # the spectrum is not needed again
                        prod = np.multiply(spec[:, 0], spectrum[o, 0], out=spec[:, 0])
                    else:
                        prod = spec[:, 0] * spectrum[o, 0]
                        for ci in range(1, c_in_g):
                            prod += spec[:, ci] * spectrum[o, ci]
                    # irfft2 in two steps, the last one only on the rows the tile keeps.
                    res = scipy.fft.ifft(prod, axis=-2, overwrite_x=True)
                    res = scipy.fft.irfft(res[:, :keep], n=shape[1], axis=-1)[:, rows, cols]
                    dst = out[b_, o : o + nb, o0:o1, c0:c1]
                    if bias is None:
                        dst[...] = res
                    else:
                        np.add(res, bias[o : o + nb, None, None], out=dst)

    tasks = [(b_, r) for b_ in range(n) for r in row_ranges(full_h, tile_h)]
    run_tasks(task, tasks)
    return out
