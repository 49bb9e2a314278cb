"""The separable method: a kernel of (numerical) rank r as r pairs of 1-D passes.

A 2-D kernel ``K`` of rank 1 is the outer product ``u v^T`` of a column and a row, so
correlating with it is a vertical pass with ``u`` followed by a horizontal pass with ``v``:
``kh + kw`` multiply-adds per sample instead of ``kh * kw``. A kernel of rank r is the sum
of r such products (from its SVD); that pays while ``r * (kh + kw) < kh * kw``.

Per-channel kernels only (``C_in / groups == 1``); each output channel has its own factors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convcli.engine._direct import (
    accumulate,
    finish,
    flat_length,
    flat_rows,
    strip_plan,
)
from convcli.engine._strips import Border, run_tasks, scratch

#: Input bytes per strip. Larger than the other methods' strips: the separable passes are
#: few and memory-bound, and on long strips the halo rows read twice and the per-call
#: overhead are a smaller part (3x3 Gaussian, 4096x4096 RGB, 2 threads: 1 MB strips
#: 0.10 s, 8 MB 0.077 s).
SEPARABLE_STRIP_BYTES = 8 * 1024 * 1024


def rank_tolerance(kernel_hw, dtype) -> float:
    """Singular values below this fraction of the largest one are treated as zero."""
    return 4.0 * float(np.finfo(np.dtype(dtype)).eps) * max(kernel_hw)


def kernel_rank(kernel2d: np.ndarray, dtype=np.float32) -> int:
    """Numerical rank of a 2-D kernel: singular values above a tolerance relative to the
    largest (see :func:`rank_tolerance`); 0 for an all-zero kernel.

    Examples
    --------
    >>> import numpy as np
    >>> kernel_rank(np.outer([1, 2, 1], [-1, 0, 1]))
    1
    >>> kernel_rank(np.eye(3))
    3
    """
    k = np.asarray(kernel2d, dtype=np.float64)
    s = np.linalg.svd(k, compute_uv=False)
    if s.size == 0 or s[0] == 0:
        return 0
    return int(np.count_nonzero(s > rank_tolerance(k.shape, dtype) * s[0]))


def low_rank_factors(
    kernel2d: np.ndarray, dtype: Any = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """``(u, v)`` with ``kernel2d ~= sum_t outer(u[t], v[t])``: shapes ``(r, kh)``, ``(r, kw)``.

    ``r`` is :func:`kernel_rank`. The factors come from cross approximation: take the
    largest remaining entry, its column (divided by it) and its row, subtract their
    product, repeat. Its factors are rows and columns of the kernel itself, so they are
    exact for integer kernels (Sobel: ``[1, 2, 1]`` and ``[-1, 0, 1]``; a box minus a
    box: two boxes) and keep the kernel's symmetries, which the direct passes exploit.
    When that does not reach the tolerance in r steps, the SVD's factors are used.

    Examples
    --------
    >>> import numpy as np
    >>> u, v = low_rank_factors(np.outer([1, 2, 1], [-1, 0, 1]))
    >>> u.tolist(), v.tolist()
    ([[0.5, 1.0, 0.5]], [[-2.0, 0.0, 2.0]])
    >>> u, v = low_rank_factors(np.ones((5, 5)) - 2 * np.pad(np.ones((3, 3)), 1))
    >>> (u + 0).tolist()
    [[1.0, 1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, 1.0, 0.0]]
    >>> (v + 0).tolist()
    [[1.0, 1.0, 1.0, 1.0, 1.0], [0.0, -2.0, -2.0, -2.0, 0.0]]
    """
    k = np.asarray(kernel2d, dtype=np.float64)
    r = kernel_rank(k, dtype)
    if r == 0:
        return np.zeros((1, k.shape[0]), dtype), np.zeros((1, k.shape[1]), dtype)
    residual = k.copy()
    us, vs = [], []
    for _ in range(r):
        i, j = np.unravel_index(np.argmax(np.abs(residual)), k.shape)
        if residual[i, j] == 0:
            break
        us.append(residual[:, j] / residual[i, j])
        vs.append(residual[i].copy())
        residual -= np.outer(us[-1], vs[-1])
    if len(us) == r and np.abs(residual).max() <= rank_tolerance(k.shape, dtype) * np.abs(k).max():
        return np.array(us).astype(dtype), np.array(vs).astype(dtype)
    uu, s, vt = np.linalg.svd(k)
    root = np.sqrt(s[:r])
    return (uu[:, :r] * root).T.astype(dtype), (vt[:r] * root[:, None]).astype(dtype)


def unit_factors(u: np.ndarray, v: np.ndarray, dtype):
    """``(scale, u', v')`` with ``sum outer(u, v) == scale * sum outer(u', v')`` where every
    ``u'[t]`` and ``v'[0]`` has its largest-magnitude entry exactly 1 (no multiply for
    that tap; a Gaussian's centre); the scale is applied once, on the way out.

    Examples
    --------
    >>> import numpy as np
    >>> scale, u, v = unit_factors(np.array([[1.0, 2.0, 1.0]]), np.array([[2.0, 4.0, 2.0]]),
    ...                            np.float32)
    >>> float(scale), u.tolist(), v.tolist()
    (8.0, [[0.5, 1.0, 0.5]], [[0.5, 1.0, 0.5]])
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    pick = np.take_along_axis
    a = pick(u, np.argmax(np.abs(u), axis=1)[:, None], axis=1)
    b = pick(v, np.argmax(np.abs(v), axis=1)[:, None], axis=1)
    if not (a[0, 0] and b[0, 0]):  # an all-zero kernel
        return np.dtype(dtype).type(1), u.astype(dtype), v.astype(dtype)
    scale = a[0, 0] * b[0, 0]
    return (
        np.dtype(dtype).type(scale),
        (u / a).astype(dtype),
        (v / b * (a * b / scale)).astype(dtype),
    )


def correlate_separable_strips(
    x: np.ndarray, weight: np.ndarray, bias, geometry, factors=None
) -> np.ndarray:
    """The separable method on row strips, on the engine's threads.

    ``weight`` must be per-channel (``C_in / groups == 1``). ``factors`` is one
    ``(u, v)`` pair per output channel (default: :func:`low_rank_factors`). The vertical
    pass reads the image rows in place (only strips at the top and bottom copy their halo
    rows). With stride 1 and the input's width (``'same'``), both passes run on flat rows
    (:func:`_flat_same_task`): the horizontal pass writes straight into the output, and
    only the few border columns are computed from a padded copy. Otherwise the vertical
    pass writes between the border columns of a padded buffer and the horizontal pass
    runs on it. Bit-identical for every strip height and thread count, and between the
    two layouts (the same operations on the same values).
    """

    c_out = weight.shape[0]
    if factors is None:
        factors = [low_rank_factors(weight[o, 0], x.dtype) for o in range(c_out)]
    factors = [unit_factors(u, v, x.dtype) for u, v in factors]
    batches, tasks = strip_plan(x, weight, geometry, budget=SEPARABLE_STRIP_BYTES)
    out = np.empty((x.shape[0], c_out, *geometry.out_hw), dtype=x.dtype)
    width = x.shape[-1]
    same = (
        geometry.stride == (1, 1)
        and geometry.out_hw[1] == width
        and width >= geometry.extent_hw[1] - 1
    )
    strip_task = _flat_same_task if same else _padded_task
    run_tasks(strip_task(x, out, factors, bias, geometry, batches, Border(geometry)), tasks)
    return out


def _flat_same_task(x, out, factors, bias, geometry, batches, border):
    """Strip task for stride 1 and ``W_out == W``: flat rows, results written in place.

    The vertical pass turns the strip's input rows (a view, or a copy at the top and
    bottom) into ``vert (nb, rows, W)``. The horizontal pass reads ``vert`` as one flat
    run per channel and writes (scaled, plus bias) straight into the output; a tap near a
    row's end reads the next row's start, so those outputs, the ``left`` first and
    ``right`` last columns of each row, are computed on the side from a small padded copy
    of ``vert``'s edge columns (:meth:`Border.columns`) and written last.
    """

    c_out_g = out.shape[1] // x.shape[1]
    kh, kw = geometry.kernel_hw
    dh, dw = geometry.dilation
    left, right = geometry.pads[2:]
    width, eh, ew = x.shape[-1], geometry.extent_hw[0], geometry.extent_hw[1]
    edges = [
        (cols, span)
        for cols, span in (
            (slice(0, left), (0, left + ew - 1)),
            (slice(width - right, width), (width - right, width + ew - 1)),
        )
        if cols.stop > cols.start
    ]

    def task(item):
        b_, (r0, r1) = item
        rows = r1 - r0
        run = rows * width - (ew - 1)  # flat outputs whose taps are all in vert
        for c0, c1 in batches:
            nb = c1 - c0
            vert = scratch("vert", (nb, rows, width), x.dtype)
            flat_vert = vert.reshape(nb, -1)
            src = border.rows(x[b_, c0:c1], r0, r1 - 1 + eh).reshape(nb, -1)
            vtaps = [src[:, i * dh * width : i * dh * width + rows * width] for i in range(kh)]
            htaps = [flat_vert[:, j * dw : j * dw + run] for j in range(kw)]
            tmp_vert = scratch("tmp", flat_vert.shape, x.dtype)
            tmp_run = scratch("tmp2", (nb, run), x.dtype)
            for o in range(c0 * c_out_g, c0 * c_out_g + c_out_g):
                scale, us, vs = factors[o]
                b = None if bias is None else bias[o : o + nb, None, None]
                dst = out[b_, o : o + nb, r0:r1]
                interior = dst.reshape(nb, -1)[:, left : left + run]
                sides = [np.empty_like(dst[..., cols]) for cols, _ in edges]
                for t, (u, v) in enumerate(zip(us, vs, strict=True)):
                    last = t == len(us) - 1
                    accumulate(flat_vert, zip(vtaps, u, strict=True), tmp_vert)
                    accumulate(
                        interior,
                        zip(htaps, v, strict=True),
                        tmp_run,
                        first=t == 0,
                        scale=scale if last else None,
                        bias=None if b is None or not last else b[:, 0],
                    )
                    for side, (cols, span) in zip(sides, edges, strict=True):
                        padded = border.columns(vert, span, border.value * float(np.sum(u)))
                        n = cols.stop - cols.start
                        taps = ((padded[..., j * dw : j * dw + n], vj) for j, vj in enumerate(v))
                        accumulate(side, taps, np.empty_like(side), first=t == 0)
                for side, (cols, _) in zip(sides, edges, strict=True):
                    finish(dst[..., cols], side, b, scale)

    return task


def _padded_task(x, out, factors, bias, geometry, batches, border):
    """Strip task for any stride and padding: the vertical pass writes between the border
    columns of a padded buffer, the horizontal pass reads it (flat with stride 1)."""

    c_out_g = out.shape[1] // x.shape[1]
    kh, kw = geometry.kernel_hw
    ho, wo = geometry.out_hw
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    eh = geometry.extent_hw[0]
    width, left, wp = x.shape[-1], geometry.pads[2], geometry.padded_hw[1]
    flat = (sh, sw) == (1, 1)

    def task(item):
        b_, (r0, r1) = item
        rows = r1 - r0
        for c0, c1 in batches:
            nb = c1 - c0
            vert = scratch("vert", (nb, rows, wp), x.dtype)  # vertical pass, padded
            col = vert[:, :, left : left + width]  # the vertical pass writes here
            if flat:
                length = flat_length(rows, geometry)
                whole = scratch("acc", (nb, rows * wp), x.dtype)
                acc = whole[:, :length]
                flat_vert = vert.reshape(nb, -1)
                htaps = [flat_vert[:, j * dw : j * dw + length] for j in range(kw)]
            else:
                acc = scratch("acc", (nb, rows, wo), x.dtype)
                htaps = [vert[:, :, j * dw : j * dw + sw * (wo - 1) + 1 : sw] for j in range(kw)]
            tmp_col = scratch("tmp", col.shape, x.dtype)
            tmp_acc = scratch("tmp2", acc.shape, x.dtype)
            src = border.rows(x[b_, c0:c1], r0 * sh, (r1 - 1) * sh + eh)
            vtaps = [src[:, i * dh : i * dh + sh * (rows - 1) + 1 : sh] for i in range(kh)]
            for o in range(c0 * c_out_g, c0 * c_out_g + c_out_g):
                scale, us, vs = factors[o]
                for t, (u, v) in enumerate(zip(us, vs, strict=True)):
                    accumulate(col, zip(vtaps, u, strict=True), tmp_col)
                    border.fill_columns(vert, border.value * float(np.sum(u)))
                    accumulate(acc, zip(htaps, v, strict=True), tmp_acc, first=t == 0)
                finish(
                    out[b_, o : o + nb, r0:r1],
                    flat_rows(whole, rows, geometry) if flat else acc,
                    None if bias is None else bias[o : o + nb, None, None],
                    scale,
                )

    return task
