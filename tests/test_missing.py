"""Missing samples in the engine: ``nan_policy`` and ``mask`` of ``conv2d`` (and the
dask-array ``conv2d``) against the slow loop reference, PyTorch and astropy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import conv2d_missing_reference, conv2d_reference, same_pads

import convcli
from convcli.engine import PADDING_MODES
from convcli.errors import ParameterError

METHODS = ("direct", "separable", "fft", "gemm", "auto")
RTOL = {np.float32: 2e-5, np.float64: 1e-11}


def holes(rng, shape, kind):
    """A missing-sample pattern: random, random plus whole rows and columns, or a block
    touching the border."""
    n, c, h, w = shape
    lost = rng.random(shape) < rng.choice([0.05, 0.2, 0.5])
    if kind == "rows":
        lost[:, :, rng.integers(0, h)] = True
        lost[..., rng.integers(0, w)] = True
    elif kind == "border":
        lost[..., : rng.integers(1, h + 1), : rng.integers(1, w + 1)] = True
    elif kind == "shared":  # the same holes in every channel
        lost[:] = lost[:1, :1]
    return lost


@st.composite
def cases(draw):
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    mode = draw(st.sampled_from(PADDING_MODES))
    same = draw(st.booleans())
    stride = (1, 1) if same else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    pad = "same" if same else (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    pads = same_pads((kh, kw), dilation) if same else (pad[0], pad[0], pad[1], pad[1])
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    h, w = max(h, eh - pads[0] - pads[1]), max(w, ew - pads[2] - pads[3])
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (draw(st.integers(1, 2)), c_in, h, w)
    positive = draw(st.booleans())
    weight = rng.random((c_out, c_in // groups, kh, kw)) + 0.05
    if not positive:  # mixed signs, sums kept away from zero
        weight = rng.standard_normal(weight.shape)
        weight[..., 0, 0] += 3 * np.sign(weight.sum(axis=(2, 3)) + 1e-9)
    x = rng.standard_normal(shape) * 10 + 3
    lost = holes(rng, shape, draw(st.sampled_from(["random", "rows", "border", "shared"])))
    use_mask = draw(st.booleans())
    if use_mask:  # half the holes as NaN, half as the mask
        split = rng.random(shape) < 0.5
        x[lost & split] = np.nan
        mask = ~(lost & ~split)
    else:
        x[lost] = np.nan
        mask = None
    return dict(
        x=x,
        weight=weight,
        bias=rng.standard_normal(c_out) if draw(st.booleans()) else None,
        stride=stride,
        padding=pad,
        pads=pads,
        dilation=dilation,
        groups=groups,
        mode=mode,
        mask=mask,
        method=draw(st.sampled_from(METHODS)),
        dtype=draw(st.sampled_from([np.float32, np.float64])),
    )


def _conv(case, policy, **changes):
    case = {**case, **changes}
    method = case["method"]
    if method == "separable" and case["weight"].shape[1] != 1:
        method = "gemm"
    return convcli.conv2d(
        case["x"].astype(case["dtype"]),
        case["weight"].astype(case["dtype"]),
        case["bias"],
        stride=case["stride"],
        padding=case["padding"],
        dilation=case["dilation"],
        groups=case["groups"],
        padding_mode=case["mode"],
        method=method,
        nan_policy=policy,
        mask=case["mask"],
    )


def _reference(case, policy):
    dtype = case["dtype"]
    return conv2d_missing_reference(
        case["x"].astype(dtype),
        case["weight"].astype(dtype),
        case["bias"],
        case["stride"],
        case["pads"],
        case["dilation"],
        case["groups"],
        case["mode"],
        valid=case["mask"],
        policy=policy,
    )


def _check(got, want, scale, dtype):
    assert got.dtype == dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    error = np.abs(got[ok] - want[ok])
    assert (error <= RTOL[dtype] * (scale[ok] + 1)).all(), error.max()


@settings(max_examples=150)
@given(cases())
def test_omit_matches_the_loop_reference(case):
    got = _conv(case, "omit")
    want, scale = _reference(case, "omit")
    _check(got, want, scale, case["dtype"])


@settings(max_examples=150)
@given(cases())
def test_propagate_matches_the_loop_reference(case):
    got = _conv(case, "propagate")
    want, scale = _reference(case, "propagate")
    _check(got, want, scale, case["dtype"])


@settings(max_examples=40)
@given(cases())
def test_all_valid_omit_is_propagate(case):
    x = np.nan_to_num(case["x"], nan=1.5)
    case = {**case, "x": x, "mask": None}
    omitted, propagated = _conv(case, "omit"), _conv(case, "propagate")
    if case["weight"].shape[1] == 1:  # per-channel: the same method on the same data
        np.testing.assert_array_equal(omitted, propagated)
    else:
        want, scale = _reference(case, "propagate")
        _check(omitted, want, scale, case["dtype"])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_constant_image_with_holes_stays_constant(method, mode, dtype):
    rng = np.random.default_rng(1)
    x = np.full((1, 1, 40, 37), 7.25, dtype)
    x[rng.random(x.shape) < 0.3] = np.nan
    x[0, 0, 5] = np.nan  # a whole row
    x[0, 0, :, -3:] = np.nan  # the right border
    w = rng.random((1, 1, 7, 5)) - 0.2  # mixed signs, positive sum
    out = convcli.conv2d(x, w, padding="same", padding_mode=mode, method=method, nan_policy="omit")
    if mode == "zeros":  # padded zeros are valid zeros: only the inside stays constant
        out = out[..., 3:-3, 2:-2]
    filled = ~np.isnan(out)
    assert filled.mean() > 0.95
    np.testing.assert_allclose(
        out[filled], 7.25 * w.sum(), rtol=1e-4 if dtype == np.float32 else 1e-12
    )


def test_propagate_has_pytorchs_nan_footprint_with_every_method():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 2, 64, 64)).astype(np.float32)
    x[0, 0, 10, 10] = x[0, 1, 0, 30] = x[0, 0, 63, 0] = np.nan
    hann = np.outer(np.hanning(9), np.hanning(9))  # zero weights at its edges
    weights = [
        rng.standard_normal((2, 1, 31, 31)),  # the planner's FFT case
        np.stack([hann[None]] * 2),
        np.array([[[[0, 1, 0], [1, 1, 1], [0, 1, 0]]]] * 2, float),
    ]
    for w in weights:
        w = w.astype(np.float32)
        want = torch.nn.functional.conv2d(
            torch.from_numpy(x), torch.from_numpy(w), padding="same", groups=2
        ).numpy()
        for method in METHODS:
            got = convcli.conv2d(x, w, padding="same", groups=2, method=method)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=method)
            ok = ~np.isnan(want)
            np.testing.assert_allclose(got[ok], want[ok], atol=3e-4, err_msg=method)


def test_auto_does_not_spread_nan_over_the_whole_image():
    # the case: one NaN in a 64x64 image under a 31x31 kernel (the FFT's size)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 1, 64, 64))
    x[0, 0, 20, 20] = np.nan
    w = rng.standard_normal((1, 1, 31, 31))
    out = convcli.conv2d(x, w, padding="same", method="fft")
    assert np.isnan(out).sum() == 31 * 31
    want = conv2d_reference(np.nan_to_num(x), w, pads=(15, 15, 15, 15))
    np.testing.assert_allclose(out[~np.isnan(out)], want[~np.isnan(out)], atol=1e-9)


def test_infinity_propagates_without_the_fft():
    x = np.zeros((1, 1, 40, 40))
    x[0, 0, 20, 20] = np.inf
    w = np.ones((1, 1, 31, 31))
    out = convcli.conv2d(x, w, padding="same")
    assert np.isinf(out).sum() == 31 * 31 and not np.isnan(out).any()


@pytest.mark.parametrize("method", ["fft", "direct", "auto"])
def test_small_denominators_are_exact(method):
    # a bright image with a large hole: outputs at its edge see only the kernel's tail,
    # where an FFT's error (relative to the largest values) would be magnified
    rng = np.random.default_rng(4)
    x = 1000 + rng.standard_normal((1, 1, 60, 60))
    x[0, 0, 10:50, 10:50] = np.nan
    g = np.exp(-0.5 * (np.arange(-12, 13) / 3.0) ** 2)
    w = (np.outer(g, g) + 0.01 * rng.random((25, 25)))[None, None].astype(np.float32)
    got = convcli.conv2d(x.astype(np.float32), w, padding="same", method=method, nan_policy="omit")
    want, _ = conv2d_missing_reference(x.astype(np.float32), w, pads=(12, 12, 12, 12))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=2e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "mode, boundary", [("zeros", "fill"), ("replicate", "extend"), ("circular", "wrap")]
)
@pytest.mark.parametrize("method", METHODS)
def test_omit_agrees_with_astropy(dtype, mode, boundary, method):
    convolution = pytest.importorskip("astropy.convolution")
    rng = np.random.default_rng(5)
    x = 100 + 20 * rng.standard_normal((57, 43))
    x[rng.random(x.shape) < 0.08] = np.nan
    x[7] = np.nan
    x[:, :4] = np.nan
    x[30:36, 20:28] = np.nan
    for w in (rng.random((5, 7)), rng.random((3, 3)) - 0.3, rng.random((15, 15))):
        if method == "separable" and w.shape == (3, 3):
            continue  # full rank: separable is still exact, just slower; keep it short
        with warnings.catch_warnings():  # "NaN values detected post convolution": expected
            warnings.simplefilter("ignore")
            want = convolution.convolve(
                x,
                w[::-1, ::-1],  # a true convolution: the kernel turned by 180 degrees
                boundary=boundary,
                fill_value=0.0,
                nan_treatment="interpolate",
                normalize_kernel=False,
            )
        got = convcli.conv2d(
            x.astype(dtype)[None, None],
            w.astype(dtype)[None, None],
            padding="same",
            padding_mode=mode,
            method=method,
            nan_policy="omit",
        )[0, 0]
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        tol = 2e-5 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 100)


def test_the_mask_shared_by_channels_and_nan_combine():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 20, 30))
    mask = rng.random((20, 30)) > 0.2
    x[1, 2, 5, 5] = np.nan
    w = rng.random((3, 1, 3, 3))
    got = convcli.conv2d(x, w, padding=1, groups=3, nan_policy="omit", mask=mask)
    valid = np.broadcast_to(mask, x.shape)
    want, _ = conv2d_missing_reference(x, w, pads=(1, 1, 1, 1), groups=3, valid=valid)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # unbatched input with a (C, H, W) mask
    got = convcli.conv2d(x[0], w, padding=1, groups=3, nan_policy="propagate", mask=valid[0])
    want, _ = conv2d_missing_reference(
        x[:1], w, pads=(1, 1, 1, 1), groups=3, valid=valid[:1], policy="propagate"
    )
    np.testing.assert_allclose(got, want[0], rtol=1e-12, atol=1e-12)


def test_integer_input_with_a_mask():
    x = np.arange(25, dtype=np.uint8).reshape(1, 1, 5, 5)
    mask = x != 12
    got = convcli.conv2d(x, np.ones((1, 1, 3, 3)), padding=1, nan_policy="omit", mask=mask)
    assert got.dtype == np.float32
    # the centre's window without the centre: (sum of 6..18 except 12) / 8 * 9
    assert got[0, 0, 2, 2] == pytest.approx((6 + 7 + 8 + 11 + 13 + 16 + 17 + 18) / 8 * 9)


def test_no_valid_tap_is_nan():
    x = np.ones((1, 1, 9, 9))
    x[0, 0, 2:7, 2:7] = np.nan
    out = convcli.conv2d(x, np.ones((1, 1, 3, 3)), padding=1, nan_policy="omit")
    assert np.isnan(out[0, 0, 3:6, 3:6]).all() and np.isnan(out).sum() == 9
    # valid taps whose weights cancel: NaN too
    w = np.array([[[[1.0, 0.0, -1.0], [0.0, 5.0, 0.0], [0.0, 0.0, 0.0]]]])
    x = np.ones((1, 1, 3, 3))
    x[0, 0, 1, 1] = np.nan
    out = convcli.conv2d(x, w, nan_policy="omit")
    assert np.isnan(out).all()


def test_raise_names_the_count():
    x = np.ones((1, 1, 5, 5))
    x[0, 0, 1, :3] = np.nan
    with pytest.raises(ParameterError) as info:
        convcli.conv2d(x, np.ones((1, 1, 3, 3)), nan_policy="raise")
    assert str(info.value) == (
        "the input holds 3 NaN samples (nan_policy='raise'); use nan_policy='omit' to fill "
        "them from their neighbours (normalized convolution) or 'propagate' to let them spread"
    )
    mask = np.ones((5, 5), bool)
    mask[0, 0] = False
    x[0, 0, 1, 1:3] = 0
    with pytest.raises(ParameterError, match="1 NaN sample and the mask marks 1 sample missing"):
        convcli.conv2d(x, np.ones((1, 1, 3, 3)), nan_policy="raise", mask=mask)
    x[0, 0, 1, 0] = 0
    assert convcli.conv2d(x, np.ones((1, 1, 3, 3)), nan_policy="raise").shape == (1, 1, 3, 3)


def test_zero_sum_kernels_are_refused_under_omit():
    sobel = np.array([[[[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]]])
    x = np.ones((1, 1, 5, 5))  # no hole: refused all the same
    with pytest.raises(ParameterError) as info:
        convcli.conv2d(x, sobel, nan_policy="omit")
    assert str(info.value) == (
        "the kernel's weights sum to 0 (sum 0, sum of |w| 8): nan_policy='omit' divides by "
        "the sum of the valid weights, which a zero-sum kernel (edge, Laplacian) does not "
        "have; fill the missing samples first, or use nan_policy='propagate'"
    )
    cross = np.ones((2, 2, 3, 3))
    cross[1, 1] = sobel[0, 0]
    with pytest.raises(ParameterError, match=r"^the weights of output channel 1 for input "):
        convcli.conv2d(np.ones((1, 2, 5, 5)), cross, nan_policy="omit")
    cross[1, 1] = 0  # an all-zero pair contributes nothing: accepted
    out = convcli.conv2d(np.ones((1, 2, 5, 5)), cross, nan_policy="omit")
    np.testing.assert_allclose(out[0, :, 0, 0], [18, 9])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"nan_policy": "ignore"}, "unknown nan_policy 'ignore'; accepted: propagate, omit, raise"),
        ({"mask": np.ones((5, 5))}, "mask must be a boolean array (True = valid sample), got "),
        ({"mask": np.ones((4, 5), bool)}, "mask of shape (4, 5) cannot be broadcast to the "),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ParameterError) as info:
        convcli.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), **kwargs)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("policy", ["propagate", "omit"])
def test_dask_equals_memory(policy):
    da = pytest.importorskip("dask.array")
    from convcli.engine.dask import conv2d as dask_conv2d

    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 37, 41))
    x[rng.random(x.shape) < 0.1] = np.nan
    mask = rng.random((37, 41)) > 0.1
    w = rng.random((3, 1, 5, 5))
    for mode in PADDING_MODES:
        kwargs = dict(padding=2, groups=3, padding_mode=mode, nan_policy=policy, mask=mask)
        want = convcli.conv2d(x, w, **kwargs)
        got = dask_conv2d(da.from_array(x, chunks=(1, 1, 10, 12)), w, **kwargs).compute()
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    with pytest.raises(ParameterError, match="holds [0-9]+ NaN samples"):
        dask_conv2d(da.from_array(x, chunks=10), w, groups=3, nan_policy="raise")


@pytest.mark.parametrize("method", ["direct", "separable", "fft", "gemm", "auto"])
def test_omit_with_a_constant_border_treats_the_border_as_valid_samples(method):
    """A constant border value (issue 15) and missing samples (issue 14) together: the
    padded samples are valid samples of that value, exactly as if the image were padded
    with np.pad first and filtered with 'valid' padding."""
    rng = np.random.default_rng(3)
    x = rng.random((1, 1, 12, 13))
    x[0, 0, 3, 4] = x[0, 0, 0, 0] = np.nan
    w = rng.random((1, 1, 3, 3))
    got = convcli.conv2d(
        x,
        w,
        padding=1,
        padding_mode="constant",
        padding_value=0.5,
        nan_policy="omit",
        method=method,
    )
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=0.5)
    want = convcli.conv2d(padded, w, padding=0, nan_policy="omit", method="direct")
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert not np.isnan(got).any()
