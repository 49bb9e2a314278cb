"""Filter a frame in bands of rows, so the float working copy never holds the whole image.

``convcli apply`` reads an 8- or 16-bit image, but filtering needs floats: 4x (8-bit) the
decoded size for every intermediate. :func:`filter_frame_by_rows` runs the whole chain of
:func:`convcli.filtering._frame.filter_frame` on one band of rows at a time, widened by the chain's
reach (the rows a kernel chain can see above and below). A band's interior edges are
padded wrongly, but that error travels at most ``reach`` rows inward through the chain,
and exactly those rows are discarded; at the image's real top and bottom the band edge is
the image edge, so the border mode is applied as on the whole image. The result is the
whole-frame result: bit for bit with the direct and separable methods, within float
rounding where the planner picks FFT for a band (the band size depends only on the image
and kernels, never on the machine, so output stays deterministic).

It applies to every pointwise step of the pipeline (banks, premultiplied alpha, clip /
abs / offset output maps). Whole-frame steps fall back to one band: stride > 1 or
explicit padding (output rows would not line up with input bands), ``circular`` padding
(the top border reads the bottom rows), and ``--output-map normalize`` (needs the
frame's global min and max).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from convcli.filtering._frame import FilterOptions, filter_frame
from convcli.parallel import run_tasks

#: Samples (rows x width x channels) in one band's float working copy.
BAND_SAMPLES = 1 << 21


def chain_reach(kernels, opts: FilterOptions) -> int:
    """Rows above or below a pixel that a chain of kernels can see (an upper bound).

    With ``'same'`` padding (the only banded one), a kernel spanning ``e`` rows (dilated)
    sees ``(e - 1) // 2`` rows above a pixel and ``e - 1 - (e - 1) // 2`` below: at most
    half its span, rounded up.

    Examples
    --------
    >>> from convcli.kernels import load_kernel
    >>> chain_reach((load_kernel("gaussian:sigma=2"),), FilterOptions())  # 13 rows
    6
    >>> chain_reach((load_kernel("box:size=4"),) * 2, FilterOptions.from_kwargs(dilation=3))
    10
    """

    def reach(kernel) -> int:
        if kernel.members:
            return max(reach(member) for member in kernel.members)
        return (opts.dilation[0] * (kernel.weight.shape[-2] - 1) + 1) // 2

    return sum(reach(kernel) for kernel in kernels)


def band_rows(width: int, channels: int, reach: int) -> int:
    """Output rows per band: about BAND_SAMPLES float samples (so memory does not grow with
    the width), at least 32 and four times the reach (the rows read twice stay few)."""
    return max(32, 4 * reach, BAND_SAMPLES // max(1, width * channels))


def _banded(opts: FilterOptions) -> bool:
    return (
        opts.padding == "same"
        and opts.stride == (1, 1)
        and opts.padding_mode != "circular"
        and opts.output_map != "normalize"
        and opts.nan_policy != "raise"  # its message counts the whole frame's missing samples
    )


def filter_frame_by_rows(
    frame, kernels, layout, opts: FilterOptions, name: str = "the image", mask=None
):
    """:func:`~convcli.filtering._frame.filter_frame` computed band by band; same arguments and result.

    Examples
    --------
    >>> import numpy as np
    >>> from convcli.kernels import load_kernel
    >>> img = np.random.default_rng(0).integers(0, 256, (300, 40, 3), dtype=np.uint8)
    >>> chain = (load_kernel("gaussian:sigma=2"), load_kernel("sobel"))
    >>> opts = FilterOptions()
    >>> import convcli.filtering._bands as rows
    >>> rows.BAND_SAMPLES = 64 * 40 * 3  # force several bands
    >>> banded, _ = filter_frame_by_rows(img, chain, "RGB", opts)
    >>> whole, _ = filter_frame(img, chain, "RGB", opts)
    >>> np.array_equal(banded, whole)
    True
    >>> rows.BAND_SAMPLES = 1 << 21
    """
    frame = np.asarray(frame)
    if frame.ndim not in (2, 3) or isinstance(mask, np.ndarray) and mask.shape != frame.shape[:2]:
        return filter_frame(frame, kernels, layout, opts, name, mask=mask)  # it says why not
    height = frame.shape[0]
    channels = frame.shape[2] if frame.ndim == 3 else 1
    reach = chain_reach(kernels, opts)
    step = band_rows(frame.shape[1], channels, reach)
    if not _banded(opts) or height <= step + 2 * reach:
        return filter_frame(frame, kernels, layout, opts, name, mask=mask)
    bands = [(r0, min(height, r0 + step)) for r0 in range(0, height, step)]

    def run(band_range):  # one band: its result rows and their layout
        r0, r1 = band_range
        a, b = max(0, r0 - reach), min(height, r1 + reach)
        band_mask = mask[a:b] if isinstance(mask, np.ndarray) else mask  # a band's own rows
        band, band_layout = filter_frame(frame[a:b], kernels, layout, opts, name, band_mask)
        return band[r0 - a : r1 - a], band_layout

    lock, result = threading.Lock(), dict[str, Any]()

    def fill(band_range):
        rows, band_layout = run(band_range)
        with lock:  # the first band done gives the result's dtype and channels
            if not result:
                result.update(
                    out=np.empty((height, *rows.shape[1:]), rows.dtype), layout=band_layout
                )
        result["out"][band_range[0] : band_range[1]] = rows

    run_tasks(fill, bands)  # bands in parallel; inside one, the engine runs inline
    return result["out"], result["layout"]
