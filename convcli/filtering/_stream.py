"""Filter an image that is never whole: bands of rows in from a reader, out in order.

:func:`filtered_bands` asks a reader for the rows of each band widened by the chain's
reach, filters the band with :func:`~convcli.filtering._frame.filter_frame` and yields
its output rows in order. The bands are those of
:func:`~convcli.filtering._bands.filter_frame_by_rows` (they depend on the image and the
kernels only), so the rows are bit for bit those of the in-memory path. The rows are read
in order on the consumer's thread; the bands are filtered one per thread (each band's
engine inline), a bounded number ahead of the consumer
(:func:`convcli.parallel.ordered_map`): memory holds a few bands, whatever the image size.

Whole-frame cases (see :func:`streams`) read the image whole and yield one band.
"""

from __future__ import annotations

from dataclasses import dataclass

from convcli.filtering._bands import _banded, band_rows, chain_reach
from convcli.filtering._frame import FilterOptions, filter_frame
from convcli.filtering._responses import kernel_hw
from convcli.parallel import get_threads, ordered_map


def streams(opts: FilterOptions) -> str | None:
    """None when ``opts`` let the image be filtered by bands, else why it must be whole.

    Examples
    --------
    >>> streams(FilterOptions()) is None
    True
    >>> streams(FilterOptions.from_kwargs(stride=2))
    'stride 2x2'
    """
    if _banded(opts):
        return None
    if opts.stride != (1, 1):
        return f"stride {opts.stride[0]}x{opts.stride[1]}"
    if opts.padding != "same":
        return f"padding {opts.padding}"
    if opts.padding_mode == "circular":
        return "circular padding"
    if opts.nan_policy == "raise":
        return "--nan-policy raise counts the missing samples of the whole image"
    return "output map normalize"


@dataclass
class BandPlan:
    """How :func:`filtered_bands` cuts an image: ``bands`` (r0, r1) ranges of output rows
    (one band for the whole frame), ``reach`` rows read above and below, and ``why_whole``
    (None when streamed)."""

    bands: list
    reach: int
    why_whole: str | None


def plan_bands(height: int, width: int, channels: int, kernels, opts: FilterOptions) -> BandPlan:
    """The bands :func:`filtered_bands` uses (those of ``filter_frame_by_rows``)."""
    reach = chain_reach(kernels, opts)
    step = band_rows(width, channels, reach)
    why = streams(opts)
    if why is None and height <= step + 2 * reach:
        why = f"{height} rows fit one band"
    if why is not None:
        return BandPlan([(0, height)], reach, why)
    return BandPlan([(r0, min(height, r0 + step)) for r0 in range(0, height, step)], reach, None)


def filtered_bands(
    read_rows,
    height: int,
    plan: BandPlan,
    kernels,
    layout,
    opts: FilterOptions,
    name: str,
    band_map=None,
    mask=None,
):
    """Yield ``(rows, layout)`` of the filtered image band by band, top to bottom.

    Parameters
    ----------
    read_rows : callable
        ``read_rows(r0, r1)`` gives input rows ``r0:r1`` as an ``(r1 - r0, W, C)`` array;
        called on the consumer's thread, bands top to bottom (consecutive calls overlap
        by twice the reach).
    height : int
        Input rows.
    plan : BandPlan
        From :func:`plan_bands`.
    kernels, layout, opts, name
        As :func:`~convcli.filtering._frame.filter_frame` takes them.
    band_map : callable, optional
        ``band_map(fn, tasks)`` yielding ``fn(*task)`` for every task in order, to filter
        the bands elsewhere (a Dask cluster); default: this process's threads.
    mask : None or 'alpha'
        As :func:`~convcli.filtering._frame.filter_frame` takes it (a mask array would
        have to be cut into bands: not taken here).

    Examples
    --------
    >>> import numpy as np
    >>> from convcli.kernels import load_kernel
    >>> import convcli.filtering._bands as rows
    >>> img = np.random.default_rng(0).integers(0, 256, (300, 40, 3), dtype=np.uint8)
    >>> chain, opts = (load_kernel("gaussian:sigma=2"),), FilterOptions()
    >>> rows.BAND_SAMPLES = 64 * 40 * 3  # force several bands
    >>> plan = plan_bands(300, 40, 3, chain, opts)
    >>> parts = [out for out, _ in filtered_bands(
    ...     lambda a, b: img[a:b], 300, plan, chain, "RGB", opts, "img")]
    >>> rows.BAND_SAMPLES = 1 << 21
    >>> len(parts) > 1, np.array_equal(np.concatenate(parts), filter_frame(img, chain, "RGB", opts)[0])
    (True, True)
    """
    reach = plan.reach

    def filtered(rows, band, a):
        out, out_layout = filter_frame(rows, kernels, layout, opts, name, mask=mask)
        return out[band[0] - a : band[1] - a], out_layout

    def read():  # in order, on the consumer's thread, as the pool asks for more
        for band in plan.bands:
            a = max(0, band[0] - reach)
            yield read_rows(a, min(height, band[1] + reach)), band, a

    if band_map is not None:
        yield from band_map(filtered, read())
        return
    if plan.why_whole is not None:
        yield filter_frame(read_rows(0, height), kernels, layout, opts, name, mask=mask)
        return

    # Several bands at once, one per thread (the engine inline in each): every step of
    # filter_frame runs on all the cores, not only the convolutions.
    threads = get_threads()
    yield from ordered_map(filtered, read(), threads, "convcli-band", ahead=threads)


def pixel_mapping(kernels, opts: FilterOptions) -> tuple[tuple[float, float], tuple[float, float]]:
    """``(scale, offset)`` per axis ``(y, x)``: output pixel ``i`` is centred on input
    position ``i * scale + offset`` after the whole chain (stride and padding of each
    kernel).

    Examples
    --------
    >>> from convcli.kernels import load_kernel
    >>> k = (load_kernel("box:size=5"),)
    >>> pixel_mapping(k, FilterOptions.from_kwargs(stride=2))
    ((2.0, 2.0), (0.0, 0.0))
    >>> pixel_mapping(k, FilterOptions.from_kwargs(padding="valid"))
    ((1.0, 1.0), (2.0, 2.0))
    """
    scale, offset = [1.0, 1.0], [0.0, 0.0]
    for kernel in kernels:
        size = kernel_hw(kernel)
        for axis in (0, 1):
            span = opts.dilation[axis] * (size[axis] - 1)
            if opts.padding == "same":
                before = span // 2
            elif opts.padding == "valid":
                before = 0
            else:
                assert not isinstance(opts.padding, str)
                before = opts.padding[axis]
            offset[axis] += scale[axis] * (span / 2 - before)
            scale[axis] *= opts.stride[axis]
    return (scale[0], scale[1]), (offset[0], offset[1])
