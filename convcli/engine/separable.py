"""The separable method: a kernel of (numerical) rank r as r pairs of 1-D passes.

A 2-D kernel ``K`` of rank 1 is the outer product ``u v^T`` of a column and a row, so
correlating with it is a vertical pass with ``u`` followed by a horizontal pass with ``v``:
``kh + kw`` multiply-adds per sample instead of ``kh * kw``. A kernel of rank r is the sum
of r such products (from its SVD); that pays while ``r * (kh + kw) < kh * kw``.

Per-channel kernels only (``C_in / groups == 1``); each output channel has its own factors.
"""

from __future__ import annotations

import numpy as np

from convcli.engine.direct import (
    accumulate,
    finish,
    flat_length,
    flat_rows,
    strip_plan,
)


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


def low_rank_factors(kernel2d: np.ndarray, dtype=np.float32):
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
    if len(us) == r and np.abs(residual).max() <= rank_tolerance(k.shape, dtype) * np.abs(
            k).max():
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
    return (np.dtype(dtype).type(scale), (u / a).astype(dtype),
            (v / b * (a * b / scale)).astype(dtype))


def correlate_separable_strips(x: np.ndarray, weight: np.ndarray, bias, geometry,
                               factors=None) -> np.ndarray:
    """The separable method on row strips, on the engine's threads.

    ``weight`` must be per-channel (``C_in / groups == 1``). ``factors`` is one
    ``(u, v)`` pair per output channel (default: :func:`low_rank_factors`). The vertical
    pass reads the image rows in place (only strips at the border copy their halo rows)
    and writes between the border columns of a padded buffer; the horizontal pass runs
    along its contiguous rows (flat, with stride 1) and the result is scaled into the
    output.
    Bit-identical for every strip height and thread count.
    """
    from convcli.engine.strips import Border, run_tasks, scratch

    n, c_in = x.shape[:2]
    c_out, _, kh, kw = weight.shape
    c_out_g = c_out // c_in
    if factors is None:
        factors = [low_rank_factors(weight[o, 0], x.dtype) for o in range(c_out)]
    factors = [unit_factors(u, v, x.dtype) for u, v in factors]
    ho, wo = geometry.out_hw
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    eh = geometry.extent_hw[0]
    width, left, wp = x.shape[-1], geometry.pads[2], geometry.padded_hw[1]
    flat = (sh, sw) == (1, 1)
    border = Border(geometry)
    batches, tasks = strip_plan(x, weight, geometry)

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
                htaps = [vert[:, :, j * dw : j * dw + sw * (wo - 1) + 1 : sw]
                         for j in range(kw)]
            tmp_col = scratch("tmp", col.shape, x.dtype)
            tmp_acc = scratch("tmp2", acc.shape, x.dtype)
            src = border.rows(x[b_, c0:c1], r0 * sh, (r1 - 1) * sh + eh)
            vtaps = [src[:, i * dh : i * dh + sh * (rows - 1) + 1 : sh] for i in range(kh)]
            for o in range(c0 * c_out_g, c0 * c_out_g + c_out_g):
                scale, us, vs = factors[o]
                for t, (u, v) in enumerate(zip(us, vs, strict=True)):
                    accumulate(col, zip(vtaps, u, strict=True), tmp_col)
                    border.fill_columns(vert)
                    accumulate(acc, zip(htaps, v, strict=True), tmp_acc, first=t == 0)
                finish(out[b_, o : o + nb, r0:r1],
                       flat_rows(whole, rows, geometry) if flat else acc,
                       None if bias is None else bias[o : o + nb, None, None], scale)

    out = np.empty((n, c_out, ho, wo), dtype=x.dtype)
    run_tasks(task, tasks)
    return out
