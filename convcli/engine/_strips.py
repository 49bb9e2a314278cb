"""Strips on every core: row strips with their halos, run on a thread pool.

The methods cut the output into horizontal strips of a few rows, sized so that one
strip's buffers stay in the core's cache, and run the strips on a pool of threads (NumPy
releases the GIL inside its loops). A strip reads the padded input rows it needs (its
halo) straight from the unpadded image: nothing is padded or copied whole.

Every output sample is computed by the same sequence of floating-point operations
whatever the strip height and thread count, so the direct and separable methods give
bit-identical results on any machine setting.

The thread count and the pool are :mod:`convcli.parallel`'s (``CONVCLI_THREADS``, else every
core); the batch layer runs ``workers x threads = cores``.
"""

from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import dataclass

import numpy as np

from convcli.engine._padding import source_indices
from convcli.errors import ParameterError
from convcli.parallel import configured_threads, get_threads, run_tasks, set_threads

__all__ = ["get_threads", "run_tasks", "set_threads"]  # re-exported for the methods

#: Bytes of one strip's input rows: large enough that each NumPy call outlasts the GIL
#: hand-over between threads, small enough that a strip's buffers stay in L2/L3.
STRIP_BYTES = 1024 * 1024
#: A strip smaller than this is not worth a thread hand-over (small images run inline).
MIN_STRIP_BYTES = 64 * 1024


@dataclass
class EngineConfig:
    """Process-wide engine settings (the thread count is :mod:`convcli.parallel`'s)."""

    strip_rows: int | None = None  # forced strip height; None: sized to the cache


_config = EngineConfig()
#: Per calling thread: reusable scratch buffers.
_local = threading.local()


def set_strip_rows(rows: int | None) -> None:
    """Force the strip height in output rows (``None``: sized to the cache, the default).

    For tests and experiments: results of the direct and separable methods do not depend
    on it.

    Examples
    --------
    >>> set_strip_rows(7); set_strip_rows(None)
    """
    if rows is not None and (not isinstance(rows, int) or isinstance(rows, bool) or rows < 1):
        raise ParameterError(f"strip rows must be a positive int, got {rows!r}")
    _config.strip_rows = rows


@contextlib.contextmanager
def engine_settings(threads: int | None = None, strip_rows: int | None = None):
    """Temporarily set the thread count and/or the strip height.

    Examples
    --------
    >>> with engine_settings(threads=1, strip_rows=3):
    ...     get_threads()
    1
    """
    saved_threads, saved_rows = configured_threads(), _config.strip_rows
    try:
        if threads is not None:
            set_threads(threads)
        if strip_rows is not None:
            set_strip_rows(strip_rows)
        yield
    finally:
        set_threads(saved_threads)
        _config.strip_rows = saved_rows


def strip_rows(
    out_rows: int, row_bytes: int, tasks_per_row: int = 1, budget: int = STRIP_BYTES
) -> int:
    """Output rows per strip: ``budget`` bytes of ``row_bytes`` rows, and enough strips
    to keep every thread busy (unless forced by :func:`set_strip_rows`)."""
    if _config.strip_rows is not None:
        return min(_config.strip_rows, out_rows)
    rows = max(1, budget // max(1, row_bytes))
    # At least ~4 strips per thread when the image allows it, for load balance, but not
    # strips so small that handing them to threads costs more than computing them.
    want = 4 * get_threads()
    if tasks_per_row * -(-out_rows // rows) < want:
        rows = max(1, min(rows, -(-out_rows * tasks_per_row // want)))
    rows = max(rows, -(-MIN_STRIP_BYTES // max(1, row_bytes)))
    return min(rows, out_rows)


def row_ranges(out_rows: int, rows: int) -> list[tuple[int, int]]:
    """``[(r0, r1), ...]`` covering ``range(out_rows)`` in strips of ``rows``."""
    return [(r, min(r + rows, out_rows)) for r in range(0, out_rows, rows)]


def scratch(name: str, shape, dtype) -> np.ndarray:
    """A per-thread reusable buffer of ``shape`` (uninitialized): no allocation per strip."""
    shape = tuple(int(s) for s in shape)
    size = math.prod(shape)
    dtype = np.dtype(dtype)
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    buf = buffers.get((name, dtype))
    if buf is None or buf.size < size:
        buf = buffers[(name, dtype)] = np.empty(max(size, 1), dtype=dtype)
    return buf[:size].reshape(shape)


class Border:
    """How one call's strips read the padded image without padding it whole.

    Built once per call from its geometry (the column indices of the border are computed
    here, not per strip); :meth:`rows` and :meth:`strip` give any band of padded rows.
    """

    def __init__(self, geometry):
        self.mode = geometry.padding_mode
        self.value = geometry.padding_value  # the constant border sample (0 for zeros)
        self.top, _, self.left, right = geometry.pads
        self.height, self.width = geometry.in_hw
        self.padded_width = geometry.padded_hw[1]
        self._columns = []  # (destination slice, source columns in the buffer or None)
        for cols, positions in (
            (slice(0, self.left), range(-self.left, 0)),
            (
                slice(self.left + self.width, self.padded_width),
                range(self.width, self.width + right),
            ),
        ):
            if len(positions):
                idx = None
                if self.mode != "zeros":
                    idx = source_indices(positions, self.width, self.mode) + self.left
                self._columns.append((cols, idx))

    def rows(self, x: np.ndarray, p0: int, p1: int, name: str = "rows") -> np.ndarray:
        """Rows ``p0:p1`` (padded coordinates) of ``x (..., H, W)``, columns not padded.

        A view of ``x`` when every row is inside the image, else a per-thread copy with the
        border rows filled as the padding mode says.
        """
        a, b = p0 - self.top, p1 - self.top
        if a >= 0 and b <= self.height:
            return x[..., a:b, :]
        idx = source_indices(np.arange(a, b), self.height, self.mode)
        out = scratch(name, (*x.shape[:-2], b - a, x.shape[-1]), x.dtype)
        # The rows inside the image form one run: copy it as a block, then the border rows.
        r0, r1 = _inside(a, b, self.height)
        out[..., r0:r1, :] = x[..., a + r0 : a + r1, :]
        for r in [*range(r0), *range(r1, b - a)]:
            if idx[r] < 0:
                out[..., r, :] = self.value
            else:
                out[..., r, :] = x[..., idx[r], :]
        return out

    def fill_columns(self, buf: np.ndarray, value: float | None = None) -> None:
        """Fill the border columns of ``buf (..., Wp)`` whose inner columns are set.

        ``value`` replaces the constant border sample (a separable pass fills the border
        columns of its vertical result with the vertical factor's sum times the value).
        """
        value = self.value if value is None else value
        for cols, idx in self._columns:
            if idx is None:
                buf[..., cols] = value
            else:
                buf[..., cols] = buf[..., idx]

    def columns(
        self, x: np.ndarray, cols: tuple[int, int], value: float | None = None
    ) -> np.ndarray:
        """Padded columns ``cols[0]:cols[1]`` of every row of ``x (..., W)``: a view inside
        the image, else a small copy with the border filled as the padding mode says
        (``value`` replaces the constant border sample, as in :meth:`fill_columns`)."""
        c, d = cols[0] - self.left, cols[1] - self.left
        if c >= 0 and d <= self.width:
            return x[..., c:d]
        ci = source_indices(np.arange(c, d), self.width, self.mode)
        out = x[..., np.maximum(ci, 0)]
        out[..., ci < 0] = self.value if value is None else value
        return out

    def tile(self, x: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
        """Padded rows ``rows[0]:rows[1]`` and columns ``cols[0]:cols[1]`` of ``x (..., H, W)``.

        A view of ``x`` when the tile lies inside the image, else a small copy with the
        border filled as the padding mode says (used by the FFT's tiles): the part inside
        the image copied as one block, the border rows and columns gathered by index.
        """
        a, b = rows[0] - self.top, rows[1] - self.top
        c, d = cols[0] - self.left, cols[1] - self.left
        if a >= 0 and b <= self.height and c >= 0 and d <= self.width:
            return x[..., a:b, c:d]
        ri = source_indices(np.arange(a, b), self.height, self.mode)
        ci = source_indices(np.arange(c, d), self.width, self.mode)
        out = np.empty((*x.shape[:-2], b - a, d - c), x.dtype)
        r0, r1 = _inside(a, b, self.height)
        c0, c1 = _inside(c, d, self.width)
        out[..., r0:r1, c0:c1] = x[..., a + r0 : a + r1, c + c0 : c + c1]
        edge_cols = np.r_[0:c0, c1 : d - c]
        if edge_cols.size and r1 > r0:
            part = x[..., a + r0 : a + r1, np.maximum(ci[edge_cols], 0)]
            part[..., ci[edge_cols] < 0] = self.value
            out[..., r0:r1, edge_cols] = part
        edge_rows = np.r_[0:r0, r1 : b - a]
        if edge_rows.size:
            part = x[..., np.maximum(ri[edge_rows], 0)[:, None], np.maximum(ci, 0)[None, :]]
            part[..., (ri[edge_rows] < 0)[:, None] | (ci < 0)[None, :]] = self.value
            out[..., edge_rows, :] = part
        return out

    def strip(self, x: np.ndarray, p0: int, p1: int, name: str = "strip") -> np.ndarray:
        """Rows ``p0:p1`` of the fully padded image of ``x (C, H, W)``: ``(C, p1-p0, Wp)``.

        A contiguous per-thread buffer.
        """
        buf = scratch(name, (x.shape[0], p1 - p0, self.padded_width), x.dtype)
        buf[:, :, self.left : self.left + self.width] = self.rows(x, p0, p1)
        self.fill_columns(buf)
        return buf


def _inside(a: int, b: int, n: int) -> tuple[int, int]:
    """The run ``[i0, i1)`` of ``range(b - a)`` whose positions ``a + i`` lie in ``[0, n)``."""
    i0 = min(max(0, -a), b - a)
    return i0, max(i0, min(b, n) - a)
