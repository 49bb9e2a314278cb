"""Missing samples in ``conv2d``: NaN, masks, and normalized convolution.

``nan_policy`` (SciPy's names) says what a missing sample (NaN, or False in ``mask``) does:

- ``propagate``: PyTorch's behaviour, whatever the method. The missing samples are set to 0,
  any method runs (the FFT included), and then every output whose window holds a missing
  sample, through any tap (zero weights included, as ``0 * NaN`` is NaN), is set to NaN.
  The footprint is a convolution of the missing-sample indicator with a kernel of ones: an
  exact count, so it is the same for every method.
- ``omit``: normalized convolution, per (output, input) channel pair with weights ``w``:
  ``(sum_V w x) / (sum_V w) * (sum w)``, ``V`` the valid taps. The denominator is
  ``sum w - (missing (*) w)``: one more convolution, of the indicator, shared by the pairs
  that share a weight when the channels share their missing samples. Padded samples follow
  the padding mode (``zeros`` pads valid zeros, as PyTorch). Where the denominator is
  small (relative to ``sum |w|``, or to ``sum w`` after an FFT, whose error is relative to
  the largest values) the output is recomputed exactly from its taps in float64; NaN
  where it is zero within :data:`DENOMINATOR_RTOL` of ``sum |w|``.
- ``raise``: refuse input with missing samples, saying how many.

Infinite samples: ``propagate`` keeps them as data (the planner then avoids the FFT, which
would spread them over whole tiles); ``omit`` leaves them out like NaN.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from convcli.choices import NAN_POLICIES
from convcli.engine._padding import source_indices
from convcli.engine._planner import choose_method
from convcli.engine._strips import run_tasks
from convcli.errors import ParameterError

#: A pair whose weights sum to at most this times their absolute sum cannot be normalized.
ZERO_SUM_RTOL = 1e-6
#: Outputs whose valid weights sum to at most this times ``sum |w|`` are NaN (``omit``).
DENOMINATOR_RTOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}
#: Outputs recomputed exactly: valid weights below this times ``sum |w|`` (any method) ...
REFINE_ABS = 1e-3
#: ... or, after the FFT, below this times ``|sum w|`` (its error would double or more).
REFINE_FFT = 0.5
#: Taps gathered at a time when recomputing outputs exactly.
_GATHER_CHUNK = 1 << 20


def check_nan_policy(policy) -> str:
    """``policy`` normalized, or a :class:`ParameterError` listing the accepted ones."""
    key = policy.strip().lower() if isinstance(policy, str) else policy
    if key not in NAN_POLICIES:
        raise ParameterError(f"unknown nan_policy {policy!r}; accepted: {', '.join(NAN_POLICIES)}")
    return key


def mask_4d(mask, input_shape: tuple[int, ...], unbatched: bool) -> np.ndarray:
    """``mask`` (True = valid) as a 4-D boolean array broadcastable to the 4-D input.

    Its batch and channel axes stay 1 where the mask gave 1 (a mask shared by the channels
    is convolved once); H and W are the input's.
    """
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise ParameterError(
            f"mask must be a boolean array (True = valid sample), got dtype {m.dtype}; "
            "give e.g. image != nodata"
        )
    try:
        np.broadcast_shapes(m.shape, tuple(input_shape))
        if m.ndim > len(input_shape):
            raise ValueError
    except ValueError:
        raise ParameterError(
            f"mask of shape {m.shape} cannot be broadcast to the input's shape "
            f"{tuple(input_shape)}; give (H, W), (C, H, W) or the input's shape"
        ) from None
    ndim = len(input_shape)
    m = m.reshape((1,) * (ndim - m.ndim) + m.shape)
    if unbatched:
        m = m[None]
    h, w = input_shape[-2:]
    return np.broadcast_to(m, (*m.shape[:2], h, w))


def _shared_channels(missing: np.ndarray) -> np.ndarray:
    """``missing`` with one channel when all its channels are equal (shared denominators)."""
    if missing.shape[1] > 1 and all(
        np.array_equal(missing[:, 0], missing[:, c]) for c in range(1, missing.shape[1])
    ):
        return missing[:, :1]
    return missing


def missing_samples(x: np.ndarray, mask, policy: str):
    """The missing-sample indicator ``(N or 1, C or 1, H, W)`` (bool), or None when none is.

    NaN samples are missing (and infinite ones under ``omit``), as are the samples where
    ``mask`` (already :func:`mask_4d`) is False.
    """
    if policy == "omit":
        bad = np.isfinite(x)
        np.logical_not(bad, out=bad)
    else:
        bad = np.isnan(x)
    any_bad = bool(bad.any())
    masked = None if mask is None else ~mask
    if masked is not None and not masked.any():
        masked = None
    if not any_bad and masked is None:
        return None
    if not any_bad:
        return masked
    if masked is not None:
        bad |= masked
    return _shared_channels(bad)


def refuse_missing(x: np.ndarray, mask) -> None:
    """``nan_policy='raise'``: a :class:`ParameterError` when ``x`` or ``mask`` has missing
    samples, saying how many."""
    nans = int(np.count_nonzero(np.isnan(x)))
    masked = 0 if mask is None else int(np.count_nonzero(~np.broadcast_to(mask, x.shape)))
    refuse_counts(nans, masked)


def refuse_counts(nans: int, masked: int) -> None:
    """The :class:`ParameterError` of ``nan_policy='raise'`` for ``nans`` NaN samples and
    ``masked`` samples the mask marks missing (nothing when both are 0)."""
    if not nans and not masked:
        return
    what = f"{nans} NaN sample{'s' * (nans != 1)}"
    if masked:
        what += f" and the mask marks {masked} sample{'s' * (masked != 1)} missing"
    raise ParameterError(
        f"the input holds {what} (nan_policy='raise'); use nan_policy='omit' to fill them "
        "from their neighbours (normalized convolution) or 'propagate' to let them spread"
    )


def _run(run, x, w, geometry, **changes):
    """``run`` (the engine's ``run_method``, given by :mod:`~convcli.engine._conv`, which
    imports this module) on ``geometry`` with ``changes``, without a bias."""
    return run(x, w, None, dataclasses.replace(geometry, **changes))


def _resolved(w, geometry, allow_fft: bool) -> str:
    if geometry.method not in ("auto", "precise"):
        return geometry.method
    return choose_method(w, geometry, allow_fft=allow_fft and geometry.method == "auto")


def footprint(missing: np.ndarray, geometry, run) -> np.ndarray:
    """Outputs whose window holds a missing sample, through any tap: bool
    ``(N or 1, C_out or 1, H_out, W_out)``, as PyTorch spreads NaN."""
    n_m, c_m = missing.shape[:2]
    kh, kw = geometry.kernel_hw
    groups = 1 if c_m == 1 else geometry.groups
    ones = np.ones((groups, c_m // groups, kh, kw), np.float32)
    counts = _run(
        run,
        missing.astype(np.float32),
        ones,
        geometry,
        batch=n_m,
        in_channels=c_m,
        out_channels=groups,
        groups=groups,
        method="precise",
    )
    hit = counts > 0.5
    if groups > 1:  # every output channel of a group sees all its input channels
        hit = np.repeat(hit, geometry.out_channels // groups, axis=1)
    return hit


def propagate(x, w, b, geometry, missing, run) -> np.ndarray:
    """``nan_policy='propagate'`` with missing samples: PyTorch's NaN footprint exactly."""
    filled = np.where(missing, x.dtype.type(0), x)
    if geometry.method == "auto" and not np.isfinite(filled).all():
        geometry = dataclasses.replace(geometry, method="precise")  # infinities: no FFT
    out = run(filled, w, b, geometry)
    out[np.broadcast_to(footprint(missing, geometry, run), out.shape)] = np.nan
    return out


def _pairs(w: np.ndarray, groups: int) -> np.ndarray:
    """The (output, input) channel pairs of ``w`` as depthwise filters ``(C_in * C_out/g, 1,
    kH, kW)``: pair ``i * (C_out/g) + k`` is input channel ``i`` under output channel
    ``(i // (C_in/g)) * (C_out/g) + k``, so a conv with ``groups=C_in`` computes them all."""
    c_out, c_in_g = w.shape[:2]
    c_out_g = c_out // groups
    # w (G, c_out_g, c_in_g, kh, kw) -> (G, c_in_g, c_out_g, kh, kw)
    per_group = w.reshape(groups, c_out_g, c_in_g, *w.shape[2:]).transpose(0, 2, 1, 3, 4)
    return np.ascontiguousarray(per_group.reshape(groups * c_in_g * c_out_g, 1, *w.shape[2:]))


def check_normalizable(w: np.ndarray, groups: int) -> None:
    """Refuse weights with an (output, input) pair whose weights sum to zero (``omit``)."""
    pairs = _pairs(np.asarray(w, np.float64), groups)[:, 0]
    sums, absolute = pairs.sum(axis=(1, 2)), np.abs(pairs).sum(axis=(1, 2))
    bad = np.flatnonzero((absolute > 0) & (np.abs(sums) <= ZERO_SUM_RTOL * absolute))
    if not bad.size:
        return
    c_out, c_in_g = w.shape[:2]
    c_out_g = c_out // groups
    if pairs.shape[0] == 1:
        where = "the kernel's weights"
    else:
        i, k = divmod(int(bad[0]), c_out_g)
        o = (i // c_in_g) * c_out_g + k
        where = (
            f"the weights of output channel {o} for input channel {i % c_in_g} "
            "(normalized per (output, input) channel pair)"
        )
    raise ParameterError(
        f"{where} sum to 0 (sum {sums[bad[0]]:.3g}, sum of |w| {absolute[bad[0]]:.3g}): "
        "nan_policy='omit' divides by the sum of the valid weights, which a zero-sum "
        "kernel (edge, Laplacian) does not have; fill the missing samples first, or use "
        "nan_policy='propagate'"
    )


def omit(x, w, b, geometry, missing, run) -> np.ndarray:
    """``nan_policy='omit'``: normalized convolution per (output, input) channel pair."""
    check_normalizable(w, geometry.groups)
    c_in, c_out, groups = geometry.in_channels, geometry.out_channels, geometry.groups
    c_in_g, c_out_g = c_in // groups, c_out // groups
    pairs = _pairs(w, groups)
    p_count = pairs.shape[0]
    pair_geometry = {"in_channels": c_in, "out_channels": p_count, "groups": c_in}
    filled = np.where(missing, x.dtype.type(0), x)
    method = _resolved(pairs, dataclasses.replace(geometry, **pair_geometry), allow_fft=True)
    num = _run(run, filled, pairs, geometry, method=method, **pair_geometry)

    # the denominators: one per distinct (missing channel, weight)
    n_m, c_m = missing.shape[:2]
    if c_m == 1:
        unique, index = np.unique(pairs.reshape(p_count, -1), axis=0, return_inverse=True)
        den_w = unique.reshape(-1, 1, *pairs.shape[2:])
        den_geometry = {"in_channels": 1, "out_channels": den_w.shape[0], "groups": 1}
    else:
        den_w, index = pairs, np.arange(p_count)
        den_geometry = pair_geometry
    index = np.asarray(index).ravel()
    # The valid samples, padded by the padding mode; zeros padding adds valid zeros.
    valid = np.empty(missing.shape, x.dtype)
    np.logical_not(missing, out=valid)
    den_geometry["batch"] = n_m
    if geometry.padding_mode == "zeros" and any(geometry.pads):
        top, bottom, left, right = geometry.pads
        valid = np.pad(valid, [(0, 0), (0, 0), (top, bottom), (left, right)], constant_values=1)
        den_geometry.update(pads=(0, 0, 0, 0), in_hw=valid.shape[2:])
    den_method = _resolved(den_w, dataclasses.replace(geometry, **den_geometry), True)
    den = _run(run, valid, den_w, geometry, method=den_method, **den_geometry)
    del valid
    w64 = den_w[:, 0].astype(np.float64)
    sums = w64.sum(axis=(1, 2))
    absolute = np.abs(w64).sum(axis=(1, 2))
    shape = (1, -1, 1, 1)
    # where the denominator may be inexact enough to matter: recomputed from the taps
    limit = REFINE_ABS * absolute
    if "fft" in (method, den_method):
        limit = np.maximum(limit, REFINE_FFT * np.abs(sums))
    refine = np.empty(den.shape, bool)
    _ratios(den, refine, sums, absolute, limit, w64, den_method != "fft")
    ratio = den
    flagged = refine.any()
    out = num
    same = ratio.shape[1] == 1 or np.array_equal(index, np.arange(p_count))

    def scale(rows):  # out *= ratio, a band of rows at a time (in the cache)
        band = slice(*rows)
        r = ratio[:, :, band]
        out[:, :, band] *= r if same else r[:, index]

    run_tasks(scale, _row_bands(out.shape))
    if flagged:
        _refine(out, filled, missing, pairs, index, refine, sums, absolute, geometry)
    if c_in_g > 1:  # sum each output's pairs: (N, G, c_in_g, c_out_g, H, W) over c_in_g
        n, _, ho, wo = out.shape
        out = out.reshape(n, groups, c_in_g, c_out_g, ho, wo).sum(axis=2)
        out = out.reshape(n, c_out, ho, wo)
    if b is not None:
        out += b.reshape(shape)
    return out


def _row_bands(shape) -> list[tuple[int, int]]:
    """Bands of output rows of about 256 K samples: elementwise work stays in the cache."""
    per_row = max(1, int(np.prod(shape)) // max(shape[-2], 1))
    rows = max(1, (1 << 18) // per_row)
    return [(r, min(shape[-2], r + rows)) for r in range(0, shape[-2], rows)]


def _ratios(den, refine, sums, absolute, limit, w64, spatial: bool) -> None:
    """``den`` (N or 1, U, H, W) -> ``sum w / den`` in place, band by band; ``refine`` gets
    the outputs to recompute exactly (their ratio set to 1). NaN where no tap is valid:
    after the spatial methods, which sum exact zeros there, ``den == 0``; after the FFT,
    a non-negative kernel's sum below half its least positive weight (when that is far
    above the rounding). 1 exactly where no weight is lost (within 8 ulps of ``sum |w|``),
    so that hole-free regions are the ordinary result, bit for bit, in every band."""
    dtype = den.dtype
    shape = (1, -1, 1, 1)
    total = sums.astype(dtype).reshape(shape)
    small = limit.astype(dtype).reshape(shape)
    eps = float(np.finfo(dtype).eps)
    snap = (8 * eps * absolute / np.maximum(np.abs(sums), 1e-300)).astype(dtype).reshape(shape)
    # spatial: never used (den == 0 there); FFT: the no-valid-tap bound per weight
    empty = _empty_threshold(w64, absolute, dtype).astype(dtype).reshape(shape)
    zero_pairs = absolute == 0

    def band(rows):
        part = slice(*rows)
        d, flags = den[:, :, part], refine[:, :, part]
        np.less(np.abs(d), small, out=flags)
        nothing = d == 0 if spatial else d < empty
        np.logical_and(flags, ~nothing, out=flags)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(total, d, out=d)
        np.copyto(d, 1, where=np.abs(d - 1) <= snap)
        np.copyto(d, np.nan, where=nothing)
        np.copyto(d, 1, where=flags)  # recomputed by _refine
        d[:, zero_pairs] = 0  # an all-zero pair contributes nothing, holes or not

    run_tasks(band, _row_bands(den.shape))


def _empty_threshold(w64: np.ndarray, absolute: np.ndarray, dtype) -> np.ndarray:
    """Per distinct weight ``(U, kH, kW)``: a denominator below this means no valid tap (half
    the least positive weight of a non-negative kernel, when above 1e-4 of its sum in
    float32, 1e-10 in float64, far above any method's rounding); -inf where it cannot tell."""
    positive = np.where(w64 > 0, w64, np.inf).min(axis=(1, 2)) / 2
    floor = (1e-4 if np.dtype(dtype) == np.float32 else 1e-10) * absolute
    usable = (w64 >= 0).all(axis=(1, 2)) & (positive > floor) & np.isfinite(positive)
    return np.where(usable, positive, -np.inf)


def _refine(out, filled, missing, pairs, index, refine, sums, absolute, geometry):
    """Recompute, exactly (float64, tap by tap), the pair outputs flagged in ``refine``
    ``(N or 1, U, H_out, W_out)`` (``U`` distinct denominators, ``index`` maps pairs to
    them); NaN where the valid weights sum to zero within :data:`DENOMINATOR_RTOL`."""
    kh, kw = geometry.kernel_hw
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    top, _, left, _ = geometry.pads
    h, wd = geometry.in_hw
    c_out_g_pairs = pairs.shape[0] // geometry.in_channels
    rtol = DENOMINATOR_RTOL.get(filled.dtype, 1e-6)
    n_all = out.shape[0]
    for p in range(pairs.shape[0]):
        u = int(index[p])
        flags = refine[:, u]
        if not flags.any():
            continue
        if flags.shape[0] != n_all:
            flags = np.broadcast_to(flags, (n_all, *flags.shape[1:]))
        channel = p // c_out_g_pairs
        m_channel = channel if missing.shape[1] > 1 else 0
        weight = pairs[p, 0].astype(np.float64)
        ns, ys, xs = np.nonzero(flags)
        per_chunk = max(1, _GATHER_CHUNK // (kh * kw))
        for start in range(0, ns.size, per_chunk):
            sl = slice(start, start + per_chunk)
            n_, y_, x_ = ns[sl], ys[sl], xs[sl]
            rows = source_indices(
                y_[:, None] * sh + np.arange(kh)[None] * dh - top, h, geometry.padding_mode
            )
            cols = source_indices(
                x_[:, None] * sw + np.arange(kw)[None] * dw - left, wd, geometry.padding_mode
            )
            r, c = rows[:, :, None], cols[:, None, :]
            inside = (r >= 0) & (c >= 0)  # zeros padding: valid zeros
            rr, cc = np.maximum(r, 0), np.maximum(c, 0)
            nn = n_[:, None, None]
            values = np.where(inside, filled[nn, channel, rr, cc], 0).astype(np.float64)
            m_n = nn if missing.shape[0] > 1 else 0
            lost = np.where(inside, missing[m_n, m_channel, rr, cc], False)
            valid_w = np.where(lost, 0.0, weight[None])
            den = valid_w.sum(axis=(1, 2))
            num = (values * valid_w).sum(axis=(1, 2))
            with np.errstate(divide="ignore", invalid="ignore"):
                value = num / den * sums[u]
            value[np.abs(den) <= rtol * absolute[u]] = np.nan
            out[n_, p, y_, x_] = value


def conv_missing(x, w, b, geometry, policy: str, mask, run) -> np.ndarray | None:
    """conv2d of prepared arrays under ``policy`` with ``mask`` (:func:`mask_4d` or None),
    ``run`` being the engine's ``run_method``; None when there is nothing missing (the
    caller runs the ordinary method)."""
    if policy == "raise":
        refuse_missing(x, mask)
        return None
    if policy == "omit":
        check_normalizable(w, geometry.groups)  # whether or not this input has holes
    if mask is None:
        # One pass, no allocation: a finite sum means no NaN and no infinity (a sum that
        # overflows is only a false alarm, settled by the exact check below).
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.add.reduce(x, axis=None)):
                return None
    missing = missing_samples(x, mask, policy)
    if missing is None:
        if policy == "propagate" and geometry.method == "auto" and not np.isfinite(x).all():
            return run(x, w, b, dataclasses.replace(geometry, method="precise"))
        return None
    if policy == "omit":
        return omit(x, w, b, geometry, missing, run)
    return propagate(x, w, b, geometry, missing, run)
