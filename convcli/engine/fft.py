"""The FFT method: block-wise (overlap-save) correlation with ``scipy.fft``.

The output is cut into bands of rows; each band reads its padded input rows (with the
halo of ``extent - 1`` rows), takes a real 2-D FFT of a fast size
(:func:`scipy.fft.next_fast_len`), multiplies by the conjugate transform of the
(dilated) kernel and transforms back: the first rows and columns of the circular result
are the band's correlation, free of wrap-around. Cost per sample grows with the logarithm
of the block size, not with the kernel's area, so it wins for large non-separable
kernels. Computes in the input's precision (float32 stays float32/complex64).

Strides are served by computing the stride-1 result of the band and subsampling it.
"""

from __future__ import annotations

import numpy as np

#: Target FFT height of one band (the band's rows plus its halo), before rounding up.
BAND_FFT_ROWS = 256


def _band_rows(geometry) -> tuple[int, int]:
    """(stride-1 output rows per band, FFT height)."""
    import scipy.fft

    from convcli.engine.strips import get_threads

    eh = geometry.extent_hw[0]
    full_rows = geometry.padded_hw[0] - eh + 1
    # Enough bands for every thread, and a halo that is small next to the band.
    want = max(BAND_FFT_ROWS, 4 * (eh - 1))
    per_thread = -(-full_rows // get_threads()) + eh - 1
    fft_rows = scipy.fft.next_fast_len(min(want, per_thread, full_rows + eh - 1), real=True)
    return max(1, fft_rows - eh + 1), fft_rows


def correlate_fft(x: np.ndarray, weight: np.ndarray, bias, geometry) -> np.ndarray:
    """Correlate unpadded ``x (N, C_in, H, W)`` with ``weight`` by FFT, band by band."""
    import scipy.fft

    from convcli.engine.strips import Border, row_ranges, run_tasks

    n = x.shape[0]
    c_out, c_in_g, kh, kw = weight.shape
    g = geometry.groups
    c_out_g = c_out // g
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    (eh, ew), (hp, wp), (ho, wo) = geometry.extent_hw, geometry.padded_hw, geometry.out_hw
    band, fft_rows = _band_rows(geometry)
    fft_cols = scipy.fft.next_fast_len(wp, real=True)
    shape = (fft_rows, fft_cols)
    dilated = np.zeros((c_out, c_in_g, eh, ew), dtype=x.dtype)
    dilated[:, :, ::dh, ::dw] = weight
    # Correlation = multiplication by the conjugate spectrum of the kernel.
    spectrum = np.conj(scipy.fft.rfft2(dilated, s=shape))
    out = np.empty((n, c_out, ho, wo), dtype=x.dtype)
    border = Border(geometry)
    full_rows = hp - eh + 1
    wf = wp - ew + 1

    def task(item):
        b_, (q0, q1) = item  # stride-1 output rows of this band
        # The output rows (multiples of the stride) that fall in the band.
        o0, o1 = -(-q0 // sh), min(ho, -(-q1 // sh))
        if o0 >= o1:
            return
        for gi in range(g):
            strip = border.strip(x[b_, gi * c_in_g : (gi + 1) * c_in_g], q0, q1 + eh - 1,
                                 name="fft")
            spec = scipy.fft.rfft2(strip, s=shape, workers=1)
            for o in range(gi * c_out_g, (gi + 1) * c_out_g):
                prod = spec[0] * spectrum[o, 0]
                for ci in range(1, c_in_g):
                    prod += spec[ci] * spectrum[o, ci]
                res = scipy.fft.irfft2(prod, s=shape, workers=1)
                rows = res[o0 * sh - q0 : (o1 - 1) * sh - q0 + 1 : sh, : wf : sw][:, :wo]
                out[b_, o, o0:o1] = rows
                if bias is not None:
                    out[b_, o, o0:o1] += bias[o]

    tasks = [(b_, r) for b_ in range(n) for r in row_ranges(full_rows, band)]
    run_tasks(task, tasks)
    return out
