"""``conv2d`` on chunked Dask arrays, for images larger than memory or spread over a cluster.

:func:`conv2d` has the signature and the semantics of :func:`convcli.conv2d` and returns a
lazy ``dask.array``. How it works:

1. The arguments are validated by :func:`convcli.engine._conv.prepare` on a zero-memory
   stand-in of the input's shape, so the errors are exactly the in-memory ones.
2. The global borders are padded in the real padding mode, by concatenating slices of the
   input (forward, reversed or repeated) that follow :func:`numpy.pad`'s index pattern, so
   padding larger than the image works as in memory. Dask's own ``boundary`` names are not
   used: its ``'reflect'`` is convcli's ``symmetric`` (edge repeated) and it has no
   ``reflect`` (edge not repeated).
3. The padded array is rechunked along H and W so that every chunk starts on a multiple of
   the stride and is at least the kernel's halo, and the channels are one chunk.
4. ``map_overlap`` gives each block the ``extent - 1`` rows/columns after it (the halo) and
   runs the in-memory ``conv2d`` with ``padding=0`` on it: each block yields exactly the
   outputs whose windows start inside it, so no trimming or recomputation is needed.

Needs the ``dask`` extra: ``pip install "convcli[dask]"``.
"""

from __future__ import annotations

import numpy as np

from convcli.engine import _missing
from convcli.engine._conv import conv2d as _conv2d_memory
from convcli.engine._conv import prepare
from convcli.engine._padding import source_indices
from convcli.errors import MissingDependencyError, ParameterError
from convcli.parallel import threads_in_this_thread

try:
    import dask.array as da
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise MissingDependencyError(
        f"convcli.engine.dask needs Dask, which is not installed ({exc}); "
        'install it with: pip install "convcli[dask]"',
        name="dask",
    ) from exc

__all__ = ["conv2d"]


def conv2d(
    array,
    weight,
    bias=None,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    padding_mode="zeros",
    method="auto",
    *,
    padding_value=0.0,
    nan_policy="propagate",
    mask=None,
):
    """:func:`convcli.conv2d` on a chunked ``dask.array``, returning a ``dask.array``.

    Parameters
    ----------
    array : dask.array.Array or array_like
        ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``, chunked in any way (a NumPy
        array is wrapped with :func:`dask.array.asarray`). The batch axis keeps its chunks;
        the channel axis is brought to one chunk.
    weight, bias, stride, padding, dilation, groups, padding_mode, method, padding_value
        As :func:`convcli.conv2d` (PyTorch semantics, every padding mode at the global
        borders, ``'same'`` with the odd extra row/column at the bottom/right). ``method``
        is used for every block (``'auto'``: the planner's choice for the call).
    nan_policy, mask
        As :func:`convcli.conv2d`; ``mask`` may be a NumPy or Dask array (padded and
        chunked with the input). ``'raise'`` counts the NaN samples when the graph is
        built (one pass over the input).

    Returns
    -------
    dask.array.Array
        Lazy; ``(N, C_out, H_out, W_out)`` (or unbatched), the working dtype of
        :func:`convcli.conv2d`, and values equal to it within the working dtype's rounding
        (the same bits for the direct and separable methods).

    Raises
    ------
    ParameterError
        The same errors, with the same messages, as :func:`convcli.conv2d`, raised when
        the graph is built (before anything is computed); also for an array whose shape is
        not known (NaN chunk sizes).

    Examples
    --------
    >>> import numpy as np
    >>> import dask.array as da
    >>> import convcli
    >>> from convcli.engine.dask import conv2d
    >>> x = np.arange(64, dtype=np.float64).reshape(1, 1, 8, 8)
    >>> w = np.ones((1, 1, 3, 3)) / 9
    >>> y = conv2d(da.from_array(x, chunks=(1, 1, 3, 5)), w, padding=1,
    ...            padding_mode="reflect")
    >>> y.shape, y.dtype
    ((1, 1, 8, 8), dtype('float64'))
    >>> np.allclose(y.compute(), convcli.conv2d(x, w, padding=1, padding_mode="reflect"))
    True
    """
    x = array if isinstance(array, da.Array) else da.asarray(array)
    if any(np.isnan(size) for size in x.shape):
        raise ParameterError(
            f"the dask array's shape {x.shape} has unknown sizes; call "
            "array.compute_chunk_sizes() before convcli.engine.dask.conv2d"
        )
    policy = _missing.check_nan_policy(nan_policy)
    _, w, b, geometry, unbatched = prepare(
        _stand_in(x),
        weight,
        bias,
        stride,
        padding,
        dilation,
        groups,
        padding_mode,
        method,
        padding_value,
    )
    lost = None
    if mask is not None:  # True where missing: the zeros padding adds valid samples
        m = mask if isinstance(mask, da.Array) else da.asarray(mask)
        _missing.mask_4d(
            _stand_in(m, keep_dtype=True), x.shape, unbatched
        )  # validates shape, dtype
        lost = ~da.broadcast_to(m, x.shape)
    if unbatched:
        x = x[None]
        lost = None if lost is None else lost[None]
    if policy == "raise":
        count = int(da.isnan(x).sum().compute()) if x.dtype.kind == "f" else 0
        masked = 0 if lost is None else int(lost.sum().compute())
        _missing.refuse_counts(count, masked)
    x = x.astype(w.dtype).rechunk({1: -1})
    top, bottom, left, right = geometry.pads
    (eh, ew), (sh, sw), (ho, wo) = geometry.extent_hw, geometry.stride, geometry.out_hw
    # Only the rows/columns the last output window reaches are needed.
    need_h, need_w = (ho - 1) * sh + eh, (wo - 1) * sw + ew
    # Block boundaries follow the input's (shifted by the padding before it).
    h_chunks = _plan_chunks(x.chunks[2], top, need_h, eh, sh)
    w_chunks = _plan_chunks(x.chunks[3], left, need_w, ew, sw)
    mode, value = geometry.padding_mode, geometry.padding_value
    x = _pad_axis(x, 2, top, bottom, mode, value)[:, :, :need_h]
    x = _pad_axis(x, 3, left, right, mode, value)[:, :, :, :need_w]
    x = x.rechunk({2: h_chunks, 3: w_chunks})
    arrays, depth = [x], {0: 0, 1: 0, 2: (0, eh - 1), 3: (0, ew - 1)}
    if lost is not None:
        lost = lost.rechunk({0: x.chunks[0], 1: -1})
        lost = _pad_axis(lost, 2, top, bottom, geometry.padding_mode)[:, :, :need_h]
        lost = _pad_axis(lost, 3, left, right, geometry.padding_mode)[:, :, :, :need_w]
        arrays.append(lost.rechunk(x.chunks))
    out_chunks = (
        x.chunks[0],
        (geometry.out_channels,),
        _out_chunks(h_chunks, ho, sh),
        _out_chunks(w_chunks, wo, sw),
    )
    out = da.map_overlap(
        _conv_block,
        *arrays,
        depth=[depth] * len(arrays),
        boundary="none",
        trim=False,
        allow_rechunk=False,
        chunks=out_chunks,
        dtype=w.dtype,
        meta=np.empty((0, 0, 0, 0), dtype=w.dtype),
        weight=w,
        bias=b,
        stride=geometry.stride,
        dilation=geometry.dilation,
        groups=geometry.groups,
        method=geometry.method,
        nan_policy="propagate" if policy == "raise" else policy,
    )
    return out[0] if unbatched else out


def _conv_block(block, *lost, weight, bias, stride, dilation, groups, method, nan_policy):
    """The in-memory conv2d, without padding, of one block plus the halo after it, on one
    engine thread: Dask already runs a block per core. ``lost``: the block of the padded
    missing-sample mask, if any."""

    with threads_in_this_thread(1):
        return _conv2d_memory(
            block,
            weight,
            bias,
            stride=stride,
            padding=0,
            dilation=dilation,
            groups=groups,
            method=method,
            nan_policy=nan_policy,
            mask=~lost[0] if lost else None,
        )


def _stand_in(x, keep_dtype: bool = False) -> np.ndarray:
    """A zero-memory array with ``x``'s shape that :func:`prepare` validates without copying.

    A real input dtype is replaced by its working dtype, so ``prepare`` does not cast (which
    would allocate the full array); another dtype is kept, so ``prepare`` refuses it with
    its own message.
    """
    if keep_dtype:
        return np.broadcast_to(np.zeros((), dtype=x.dtype), x.shape)
    dtype = np.dtype(x.dtype)
    if dtype.kind in "biuf":
        dtype = np.float64 if dtype == np.float64 else np.float32
    return np.broadcast_to(np.zeros((), dtype=dtype), x.shape)


def _pad_axis(x, axis: int, before: int, after: int, mode: str, value: float = 0.0):
    """Pad ``x`` along ``axis`` in convcli padding ``mode``, for any padding size.

    The padded samples read the input samples the engine's :func:`source_indices` names
    (the in-memory padding's meaning); they are built from runs of those indices: forward
    slices, reversed slices, and one sample repeated; ``zeros`` fills ``value``.
    """
    if not (before or after):
        return x
    n = x.shape[axis]
    if mode == "zeros":
        head = [_full_along(x, axis, before, value)]
        tail = [_full_along(x, axis, after, value)]
    else:
        head = _take_runs(x, axis, source_indices(range(-before, 0), n, mode))
        tail = _take_runs(x, axis, source_indices(range(n, n + after), n, mode))
    pieces = [p for p in [*head, x, *tail] if p.shape[axis]]
    return da.concatenate(pieces, axis=axis)


def _full_along(x, axis: int, length: int, value: float):
    shape = x.shape[:axis] + (length,) + x.shape[axis + 1 :]
    chunks = x.chunks[:axis] + ((length,),) + x.chunks[axis + 1 :]
    return da.full(shape, value, dtype=x.dtype, chunks=chunks)


def _take_runs(x, axis: int, index: np.ndarray) -> list:
    """Slices of ``x`` along ``axis`` that, concatenated, are ``x`` taken at ``index``."""
    pieces = []
    i = 0
    while i < len(index):
        start, j = int(index[i]), i + 1
        step = int(index[j] - index[i]) if j < len(index) else 1
        if step not in (-1, 0, 1):
            step = 1
        while j < len(index) and index[j] - index[j - 1] == step:
            j += 1
        length = j - i
        where = [slice(None)] * x.ndim
        if step == 1:
            where[axis] = slice(start, start + length)
            pieces.append(x[tuple(where)])
        elif step == -1:
            where[axis] = slice(start - length + 1, start + 1)
            pieces.append(da.flip(x[tuple(where)], axis=axis))
        else:
            where[axis] = slice(start, start + 1)
            pieces.append(da.repeat(x[tuple(where)], length, axis=axis))
        i = j
    return pieces


def _plan_chunks(chunks, before: int, length: int, extent: int, stride: int) -> tuple:
    """Chunk sizes along one padded axis of ``length`` for a kernel ``extent`` and ``stride``.

    The input's chunk boundaries (``chunks``, shifted by the padding ``before``; the padding
    joins the first and last chunks) are kept where possible, moved down to a multiple of the
    stride (so each block's first output sample starts at the block's first row). Chunks
    are merged until each is at least the halo ``extent - 1`` (map_overlap takes the halo
    from the next chunk only) and the last is at least ``extent`` (it holds at least one
    whole window).
    """
    least = max(extent - 1, stride, 1)
    bounds = [0]
    for b in np.cumsum(chunks)[:-1]:
        b = (before + int(b)) // stride * stride
        if b - bounds[-1] >= least and b < length:
            bounds.append(b)
    while len(bounds) > 1 and length - bounds[-1] < extent:
        bounds.pop()
    return tuple(np.diff(bounds + [length]).tolist())


def _out_chunks(chunks, out_len: int, stride: int) -> tuple[int, ...]:
    """Output samples per block: those whose windows start in the block (all of the rest
    for the last block)."""
    sizes = [c // stride for c in chunks[:-1]]
    return tuple(sizes + [out_len - sum(sizes)])
