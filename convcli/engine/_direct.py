"""The direct method: shift-and-accumulate over kernel taps, strip by strip.

For each tap ``(i, j)`` the strided, dilated view of a padded strip that the tap sees is
multiplied by the tap's weight and added into a preallocated accumulator
(:func:`accumulate`); the loop runs over taps only, each tap one NumPy call over the
strip's rows of every channel that shares the kernel. The helpers here (grouped taps,
unit-scaled weights, flat runs, the strip plan) are shared by the other strip methods.
"""

from __future__ import annotations

import numpy as np

from convcli.engine._strips import STRIP_BYTES, Border, row_ranges, run_tasks, scratch, strip_rows


def group_terms(terms) -> list[tuple[float, list, list]]:
    """Group ``(view, weight)`` terms by ``|weight|``, in order of first appearance.

    Returns ``[(multiplier, plus_views, minus_views), ...]`` so that the sum of the terms
    is ``sum(multiplier * (sum(plus) - sum(minus)))``. Zero weights are dropped.
    """
    groups: dict = {}
    for view, weight in terms:
        if weight == 0:
            continue
        key = abs(weight)
        if key not in groups:
            groups[key] = (weight, [], [])
        multiplier, plus, minus = groups[key]
        (plus if (weight > 0) == (multiplier > 0) else minus).append(view)
    return list(groups.values())


def _sum_views(out: np.ndarray, plus, minus) -> None:
    """``out = sum(plus) - sum(minus)``, one pass per view."""
    if len(plus) > 1:
        np.add(plus[0], plus[1], out=out)
        plus = plus[2:]
    elif minus:
        np.subtract(plus[0], minus[0], out=out)
        plus, minus = [], minus[1:]
    else:
        np.copyto(out, plus[0])
        plus = []
    for view in plus:
        np.add(out, view, out=out)
    for view in minus:
        np.subtract(out, view, out=out)


#: Samples per chunk of a flat :func:`accumulate`: all its passes run over one chunk while
#: the chunk is in the core's cache, then over the next (3x3 Gaussian, 4096x4096 RGB, one
#: thread: 0.125 s unchunked, 0.100 s in chunks of 196K samples).
CHUNK_SAMPLES = 3 << 16


def accumulate(
    dst: np.ndarray, terms, tmp: np.ndarray, first: bool = True, scale=None, bias=None
) -> None:
    """``dst (+)= sum(weight * view for view, weight in terms)``, in place, in a fixed order.

    ``tmp`` is a preallocated buffer of ``dst``'s shape: no temporaries. Taps sharing a
    weight's magnitude are summed (or subtracted) before one multiply, as symmetric
    kernels allow; weight 1 needs no multiply and taps of weight 0 are skipped. With
    ``first`` the result overwrites ``dst``. The operations depend on the weights only,
    never on where ``dst`` lies in the image, so strips and threads cannot change a bit.
    Long flat runs (``(channels, L)``, as the strip methods make with stride 1) are done
    in chunks of :data:`CHUNK_SAMPLES` samples, every pass on one chunk before the next:
    the same operations on every sample, in cache. With ``scale`` or ``bias`` (broadcast
    against ``dst``), the result is then finished in place as :func:`finish` does, chunk
    by chunk.

    Examples
    --------
    >>> import numpy as np
    >>> a, b = np.array([1.0, 2.0]), np.array([10.0, 20.0])
    >>> dst, tmp = np.empty(2), np.empty(2)
    >>> accumulate(dst, [(a, 0.5), (b, -0.5), (a, 0.0)], tmp); dst.tolist()
    [-4.5, -9.0]
    >>> accumulate(dst, [(a, 1.0), (b, 1.0)], tmp, first=False); dst.tolist()
    [6.5, 13.0]
    """
    groups = group_terms(terms)
    step = CHUNK_SAMPLES // max(1, dst.shape[0]) if dst.ndim == 2 else 0
    if step < 1 or dst.shape[-1] <= 2 * step:
        parts = [slice(None)]
    else:
        parts = [slice(a, a + step) for a in range(0, dst.shape[-1], step)]
    for part in parts:
        _accumulate(
            dst[..., part],
            [
                (m, [v[..., part] for v in plus], [v[..., part] for v in minus])
                for m, plus, minus in groups
            ],
            tmp[..., part],
            first,
        )
        if scale is not None or bias is not None:
            finish(dst[..., part], dst[..., part], bias, 1 if scale is None else scale)


def _accumulate(dst: np.ndarray, groups, tmp: np.ndarray, first: bool) -> None:
    """:func:`accumulate` of grouped terms (:func:`group_terms`), in one go."""
    for multiplier, plus, minus in groups:
        if multiplier == 1 and not first:
            for view in plus:
                np.add(dst, view, out=dst)
            for view in minus:
                np.subtract(dst, view, out=dst)
            continue
        if len(plus) == 1 and not minus and multiplier != 1:
            np.multiply(plus[0], multiplier, out=dst if first else tmp)
        else:
            _sum_views(dst if first else tmp, plus, minus)
            if multiplier != 1:
                np.multiply(dst if first else tmp, multiplier, out=dst if first else tmp)
        if not first:
            np.add(dst, tmp, out=dst)
        first = False
    if first:  # every weight was zero
        dst[...] = 0


def count_passes(weights) -> int:
    """Elementwise passes :func:`accumulate` makes for these tap weights (the planner's
    measure of the direct work).

    Examples
    --------
    >>> count_passes([1.0, 2.0, 1.0])   # (a + c) * 1 ... : add, then multiply-add
    3
    >>> count_passes([0.3, -0.5, 0.7])  # three distinct weights: 1 + 2 + 2
    5
    """
    total = 0
    for i, (multiplier, plus, minus) in enumerate(group_terms((None, w) for w in weights)):
        views = len(plus) + len(minus)
        if i == 0:
            total += max(views - 1, 0) + (multiplier != 1 or views == 1)
        else:
            total += views + (multiplier != 1)
    return max(total, 1)


def unit_scale(weights: np.ndarray):
    """``(scale, weights / scale)`` with the largest-magnitude weight scaled to exactly 1.

    Taps of weight 1 need no multiply; the scale is applied once, when the strip's result
    is written out (:func:`finish`).

    Examples
    --------
    >>> import numpy as np
    >>> scale, unit = unit_scale(np.array([0.25, -0.5, 0.25], np.float32))
    >>> float(scale), unit.tolist()
    (-0.5, [-0.5, 1.0, -0.5])
    """
    flat = weights.reshape(-1)
    scale = flat[np.argmax(np.abs(flat))] if flat.size else weights.dtype.type(1)
    if scale == 0:
        return weights.dtype.type(1), weights
    return scale, weights / scale


def strip_taps(buf: np.ndarray, kh: int, kw: int, rows: int, geometry) -> dict:
    """``{(i, j): view}``: what tap (i, j) reads from a padded strip ``buf (..., Rp, Wp)``.

    With stride 1 the views are flat: ``(..., L)`` runs of the contiguous strip, where
    ``L = rows * Wp - (extent_w - 1)``; the result of a flat run is laid out with row
    stride Wp (see :func:`flat_rows`). NumPy's contiguous loops run fastest on them.
    Otherwise they are the ``(..., rows, W_out)`` strided views.
    """
    (sh, sw), (dh, dw), wo = geometry.stride, geometry.dilation, geometry.out_hw[1]
    if (sh, sw) == (1, 1):
        wp = buf.shape[-1]
        flat = buf.reshape(*buf.shape[:-2], -1)
        length = flat_length(rows, geometry)
        return {
            (i, j): flat[..., i * dh * wp + j * dw : i * dh * wp + j * dw + length]
            for i in range(kh)
            for j in range(kw)
        }
    return {
        (i, j): buf[
            ...,
            i * dh : i * dh + sh * (rows - 1) + 1 : sh,
            j * dw : j * dw + sw * (wo - 1) + 1 : sw,
        ]
        for i in range(kh)
        for j in range(kw)
    }


def flat_length(rows: int, geometry) -> int:
    """Samples of a flat run covering ``rows`` output rows laid out with row stride Wp."""
    return rows * geometry.padded_hw[1] - (geometry.extent_hw[1] - 1)


def flat_rows(acc: np.ndarray, rows: int, geometry) -> np.ndarray:
    """The ``(rows, W_out)`` output inside a flat result ``acc`` (``rows * Wp`` samples,
    the first :func:`flat_length` computed) with row stride Wp."""
    return acc.reshape(*acc.shape[:-1], rows, geometry.padded_hw[1])[..., : geometry.out_hw[1]]


def finish(dst: np.ndarray, acc: np.ndarray, bias, scale=1) -> None:
    """``dst = scale * acc (+ bias)``: the strip's result into the output."""
    if scale != 1:
        np.multiply(acc, scale, out=dst)
        if bias is not None:
            np.add(dst, bias, out=dst)
    elif bias is None:
        np.copyto(dst, acc)
    else:
        np.add(acc, bias, out=dst)


def channel_batches(weight: np.ndarray, groups: int) -> list[tuple[int, int]]:
    """Group ranges ``(g0, g1)`` computed together, one NumPy call per tap for all.

    Consecutive groups with one input and one output channel each and equal weights (an
    RGB image under one kernel) form one batch; anything else is a batch of one group.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.ones((4, 1, 3, 3)); w[3] = 2
    >>> channel_batches(w, 4)
    [(0, 3), (3, 4)]
    """
    c_out, c_in_g = weight.shape[:2]
    if c_in_g != 1 or c_out != groups:
        return [(g, g + 1) for g in range(groups)]
    runs, start = [], 0
    for g in range(1, groups + 1):
        if g == groups or not np.array_equal(weight[g], weight[start]):
            runs.append((start, g))
            start = g
    return runs


def strip_plan(x: np.ndarray, weight: np.ndarray, geometry, budget: int | None = None):
    """``(batches, tasks)`` of a strip method: the channel batches
    (:func:`channel_batches`) and one ``(image, (r0, r1))`` task per strip of output rows,
    strips of about ``budget`` bytes of the widest batch's input rows (default
    :data:`~convcli.engine._strips.STRIP_BYTES`; see :func:`~convcli.engine._strips.strip_rows`).
    """

    n, ho = x.shape[0], geometry.out_hw[0]
    batches = channel_batches(weight, geometry.groups)
    widest = max(g1 - g0 for g0, g1 in batches) * weight.shape[1]
    row_bytes = widest * geometry.stride[0] * geometry.padded_hw[1] * x.itemsize
    rows = strip_rows(ho, row_bytes, tasks_per_row=n, budget=budget or STRIP_BYTES)
    return batches, [(b_, r) for b_ in range(n) for r in row_ranges(ho, rows)]


def correlate_direct_strips(x: np.ndarray, weight: np.ndarray, bias, geometry) -> np.ndarray:
    """The direct method on cache-sized row strips, on the engine's threads.

    ``x`` is the unpadded ``(N, C_in, H, W)`` input in the working dtype. Each strip pads
    its own halo; every output sample sees the same operations in the same order whatever
    the strip height or thread count, so the result is bit-identical for all of them.
    """

    n = x.shape[0]
    c_out, c_in_g, kh, kw = weight.shape
    g = geometry.groups
    c_out_g = c_out // g
    ho, wo = geometry.out_hw
    sh, eh = geometry.stride[0], geometry.extent_hw[0]
    wp = geometry.padded_hw[1]
    flat = geometry.stride == (1, 1)
    border = Border(geometry)
    scaled = [unit_scale(weight[o]) for o in range(c_out)]
    batches, tasks = strip_plan(x, weight, geometry)
    out = np.empty((n, c_out, ho, wo), dtype=x.dtype)

    def task(item):
        b_, (r0, r1) = item
        rows = r1 - r0
        for g0, g1 in batches:
            nb = g1 - g0
            shape = (nb, flat_length(rows, geometry)) if flat else (nb, rows, wo)
            tmp = scratch("tmp", shape, x.dtype)
            whole = scratch("acc", (nb, rows * wp) if flat else shape, x.dtype)
            acc = whole[:, : shape[1]] if flat else whole
            strip = border.strip(x[b_, g0 * c_in_g : g1 * c_in_g], r0 * sh, (r1 - 1) * sh + eh)
            taps = strip_taps(strip, kh, kw, rows, geometry)
            for o in range(g0 * c_out_g, g0 * c_out_g + c_out_g):
                scale, unit = scaled[o]
                terms = (
                    (view[ci : ci + nb], unit[ci, i, j])
                    for ci in range(c_in_g)
                    for (i, j), view in taps.items()
                )
                accumulate(acc, terms, tmp)
                finish(
                    out[b_, o : o + nb, r0:r1],
                    flat_rows(whole, rows, geometry) if flat else acc,
                    None if bias is None else bias[o : o + nb, None, None],
                    scale,
                )

    run_tasks(task, tasks)
    return out
