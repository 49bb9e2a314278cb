"""conv2d against the slow reference, SciPy, and (when installed) PyTorch itself."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reference import conv2d_reference, same_pads

import convcli
from convcli.engine import PADDING_MODES
from convcli.errors import ConvcliError, ParameterError

RNG = np.random.default_rng(0)


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    mode = draw(st.sampled_from(PADDING_MODES))
    same = draw(st.booleans())
    stride = (1, 1) if same else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    # Paddings up to twice the image size: beyond what PyTorch allows for reflect.
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    pad = "same" if same else (draw(st.integers(0, 2 * h)), draw(st.integers(0, 2 * w)))
    pads = same_pads((kh, kw), dilation) if same else (pad[0], pad[0], pad[1], pad[1])
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if eh > h + pads[0] + pads[1] or ew > w + pads[2] + pads[3]:
        # Too small for the kernel: grow the image instead of discarding the example.
        h, w = max(h, eh), max(w, ew)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(1, 2))
    x = rng.standard_normal((n, c_in, h, w))
    weight = rng.standard_normal((c_out, c_in // groups, kh, kw))
    bias = rng.standard_normal(c_out) if draw(st.booleans()) else None
    return dict(
        x=x,
        weight=weight,
        bias=bias,
        stride=stride,
        padding=pad,
        pads=pads,
        dilation=dilation,
        groups=groups,
        mode=mode,
    )


@given(conv_cases())
def test_matches_reference_float64(case):
    got = convcli.conv2d(
        case["x"],
        case["weight"],
        case["bias"],
        stride=case["stride"],
        padding=case["padding"],
        dilation=case["dilation"],
        groups=case["groups"],
        padding_mode=case["mode"],
    )
    want = conv2d_reference(
        case["x"],
        case["weight"],
        case["bias"],
        case["stride"],
        case["pads"],
        case["dilation"],
        case["groups"],
        case["mode"],
    )
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@given(conv_cases())
def test_float32_stays_float32_within_tolerance(case):
    x32 = case["x"].astype(np.float32)
    got = convcli.conv2d(
        x32,
        case["weight"].astype(np.float32),
        case["bias"],
        stride=case["stride"],
        padding=case["padding"],
        dilation=case["dilation"],
        groups=case["groups"],
        padding_mode=case["mode"],
    )
    want = conv2d_reference(
        x32,
        case["weight"].astype(np.float32),
        case["bias"],
        case["stride"],
        case["pads"],
        case["dilation"],
        case["groups"],
        case["mode"],
    )
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


# --- hand-derived values ---------------------------------------------------------------


def test_hand_derived_valid_and_stride():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])  # x[i,j] - x[i+1,j+1] = -5 everywhere
    assert convcli.conv2d(x, w).tolist() == [[[[-5.0] * 3] * 3]]
    w = np.ones((1, 1, 1, 1))
    assert convcli.conv2d(x, w, stride=2).tolist() == [[[[0.0, 2.0], [8.0, 10.0]]]]
    assert convcli.conv2d(x, w, stride=(1, 3)).tolist() == [
        [[[0.0, 3.0], [4.0, 7.0], [8.0, 11.0], [12.0, 15.0]]]
    ]


@pytest.mark.parametrize(
    "mode, row",
    [
        # a 1x5 "pick the leftmost tap" kernel on abcd = 1 2 3 4 with padding 2: the
        # output is the padded row shifted, so it shows the two left border samples.
        ("zeros", [0, 0, 1, 2]),
        ("replicate", [1, 1, 1, 2]),
        ("reflect", [3, 2, 1, 2]),
        ("symmetric", [2, 1, 1, 2]),
        ("circular", [3, 4, 1, 2]),
    ],
)
def test_border_modes_by_hand(mode, row):
    x = np.array([[[[1.0, 2.0, 3.0, 4.0]]]])
    w = np.array([[[[1.0, 0, 0, 0, 0]]]])
    got = convcli.conv2d(x, w, padding=(0, 2), padding_mode=mode)
    assert got[0, 0, 0].tolist() == row


def test_reflect_padding_larger_than_image_repeats():
    x = np.array([[[[1.0, 2.0, 3.0]]]])
    w = np.ones((1, 1, 1, 1))
    got = convcli.conv2d(x, w, padding=(0, 5), padding_mode="reflect")[0, 0, 0]
    # reflect continues with period 2n-2 = 4: 2 1 2 3 2 | 1 2 3 | 2 1 2 3 2
    assert got.tolist() == [2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2]


def test_same_even_kernel_extra_padding_bottom_right():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.zeros((1, 1, 2, 2))
    w[0, 0, 0, 0] = 1.0  # anchor at (k-1)//2 = 0: output equals input
    got = convcli.conv2d(x, w, padding="same")
    np.testing.assert_array_equal(got, x)
    w = np.zeros((1, 1, 4, 4))
    w[0, 0, 1, 1] = 1.0  # k=4: anchor at index 1, pads (1, 2)
    np.testing.assert_array_equal(convcli.conv2d(x, w, padding="same"), x)


def test_unbatched_input_gives_unbatched_output():
    x = RNG.standard_normal((2, 5, 6))
    w = RNG.standard_normal((3, 2, 3, 3))
    got = convcli.conv2d(x, w, padding=1)
    assert got.shape == (3, 5, 6)
    np.testing.assert_allclose(got, convcli.conv2d(x[None], w, padding=1)[0])


@pytest.mark.parametrize(
    "dtype, expected",
    [
        (np.float64, np.float64),
        (np.float32, np.float32),
        (np.float16, np.float32),
        (np.uint8, np.float32),
        (np.uint16, np.float32),
        (np.int32, np.float32),
        (np.int64, np.float32),
        (np.bool_, np.float32),
    ],
)
def test_working_dtype(dtype, expected):
    x = np.ones((1, 1, 3, 3), dtype=dtype)
    assert convcli.working_dtype(dtype) == expected
    assert convcli.conv2d(x, np.ones((1, 1, 1, 1))).dtype == expected


# --- SciPy cross-check -----------------------------------------------------------------

SCIPY_MODE = {
    "zeros": "constant",
    "replicate": "nearest",
    "reflect": "mirror",
    "symmetric": "reflect",
    "circular": "wrap",
}


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("ksize", [(3, 3), (5, 3), (1, 7)])
def test_matches_scipy_correlate(mode, ksize):
    ndimage = pytest.importorskip("scipy.ndimage")
    img = RNG.standard_normal((20, 17))
    k = RNG.standard_normal(ksize)
    got = convcli.conv2d(img[None, None], k[None, None], padding="same", padding_mode=mode)
    want = ndimage.correlate(img, k, mode=SCIPY_MODE[mode])
    np.testing.assert_allclose(got[0, 0], want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_even_kernel_matches_scipy_with_origin(mode):
    # SciPy anchors an even kernel at k//2; origin=-1 moves it to (k-1)//2 as PyTorch.
    ndimage = pytest.importorskip("scipy.ndimage")
    img = RNG.standard_normal((11, 12))
    k = RNG.standard_normal((4, 2))
    got = convcli.conv2d(img[None, None], k[None, None], padding="same", padding_mode=mode)
    want = ndimage.correlate(img, k, mode=SCIPY_MODE[mode], origin=-1)
    np.testing.assert_allclose(got[0, 0], want, rtol=1e-10, atol=1e-10)


# --- PyTorch itself, where installed -----------------------------------------------------


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@given(conv_cases())
def test_matches_pytorch_where_it_computes(case):
    torch = pytest.importorskip("torch")
    mode = case["mode"]
    if mode == "symmetric":
        return  # PyTorch has no symmetric mode
    pads = case["pads"]
    h, w = case["x"].shape[-2:]
    if mode in ("reflect", "circular") and (max(pads[:2]) >= h or max(pads[2:]) >= w):
        return  # PyTorch refuses these; the reference test covers them
    conv = torch.nn.Conv2d(
        case["x"].shape[1],
        case["weight"].shape[0],
        case["weight"].shape[2:],
        stride=case["stride"],
        padding=case["padding"],
        dilation=case["dilation"],
        groups=case["groups"],
        bias=case["bias"] is not None,
        padding_mode=mode,
    ).double()
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(case["weight"]))
        if case["bias"] is not None:
            conv.bias.copy_(torch.from_numpy(case["bias"]))
        want = conv(torch.from_numpy(case["x"])).numpy()
    got = convcli.conv2d(
        case["x"],
        case["weight"],
        case["bias"],
        stride=case["stride"],
        padding=case["padding"],
        dilation=case["dilation"],
        groups=case["groups"],
        padding_mode=mode,
    )
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


# --- refusals ----------------------------------------------------------------------------

X = np.zeros((1, 4, 8, 8))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(input=X, weight=np.zeros((3, 1, 3, 3)), groups=3),
            r"groups=3 must divide both the input channels \(4\)",
        ),
        (
            dict(input=np.zeros((1, 4, 8, 8)), weight=np.zeros((6, 1, 3, 3)), groups=2),
            r"weight expects 2 input channels \(weight.shape\[1\]=1 x groups=2\) but input has 4",
        ),
        (
            dict(input=np.zeros((1, 4, 8, 8)), weight=np.zeros((3, 1, 3, 3)), groups=1),
            r"weight expects 1 input channels \(weight.shape\[1\]=1 x groups=1\) but input has 4",
        ),
        (
            dict(input=X, weight=np.zeros((1, 4, 3, 3)), padding="same", stride=2),
            r"padding='same' needs stride 1",
        ),
        (
            dict(input=X, weight=np.zeros((1, 4, 9, 3))),
            r"kernel spans 9x3 .* padded input is only 8x8",
        ),
        (
            dict(input=X, weight=np.zeros((1, 4, 3, 3)), dilation=4),
            r"kernel spans 9x9 \(size 3x3, dilation \(4, 4\)\)",
        ),
        (dict(input=X, weight=np.zeros((1, 4, 3, 3)), stride=0), r"stride must be positive"),
        (dict(input=X, weight=np.zeros((1, 4, 3, 3)), stride=(1, -1)), r"stride must be positive"),
        (dict(input=X, weight=np.zeros((1, 4, 3, 3)), dilation=0), r"dilation must be positive"),
        (dict(input=X, weight=np.zeros((1, 4, 3, 3)), padding=-1), r"padding must be non-negative"),
        (
            dict(input=X, weight=np.zeros((1, 4, 3, 3)), padding=1.5),
            r"padding must be an int or a pair of ints",
        ),
        (
            dict(input=X, weight=np.zeros((1, 4, 3, 3)), padding="full"),
            r"padding 'full' is not understood; give an int, a pair of ints, 'same' or 'valid'",
        ),
        (
            dict(input=X, weight=np.zeros((1, 4, 3, 3)), stride=(1, 2, 3)),
            r"stride must be an int or a pair of ints",
        ),
        (
            dict(input=np.zeros((8, 8)), weight=np.zeros((1, 1, 3, 3))),
            r"input must be 4-D \(N, C, H, W\) or 3-D \(C, H, W\), got shape \(8, 8\)",
        ),
        (
            dict(input=X, weight=np.zeros((3, 3))),
            r"weight must be 4-D \(C_out, C_in/groups, kH, kW\), got shape \(3, 3\)",
        ),
        (
            dict(input=X, weight=np.zeros((2, 4, 3, 3)), bias=np.zeros(3)),
            r"bias must have shape \(2,\) to match weight.shape\[0\], got \(3,\)",
        ),
        (dict(input=X, weight=np.zeros((1, 4, 3, 3)), groups=0), r"groups must be a positive int"),
        (
            dict(input=X.astype(complex), weight=np.zeros((1, 4, 3, 3))),
            r"input dtype complex128 is not supported",
        ),
        (
            dict(input=X, weight=np.zeros((1, 4, 3, 3)), padding_mode="bogus"),
            r"unknown padding_mode 'bogus'; accepted: zeros, reflect, replicate, circular, "
            r"symmetric \(aliases: constant, edge, .*\)",
        ),
        (
            dict(input=X, weight=np.zeros((1, 4, 3, 3)), padding_mode="mirror"),
            r"'mirror' is ambiguous: .*Choose 'reflect' or 'symmetric'",
        ),
    ],
)
def test_refusals(kwargs, message):
    with pytest.raises(ValueError, match=message) as info:
        convcli.conv2d(**kwargs)
    assert isinstance(info.value, ParameterError)
    assert isinstance(info.value, ConvcliError)


@pytest.mark.parametrize(
    "alias, mode",
    [
        ("constant", "zeros"),
        ("edge", "replicate"),
        ("nearest", "replicate"),
        ("wrap", "circular"),
        ("REFLECT", "reflect"),
    ],
)
def test_aliases_equal_their_mode(alias, mode):
    x = RNG.standard_normal((1, 1, 6, 5))
    w = RNG.standard_normal((1, 1, 3, 3))
    np.testing.assert_array_equal(
        convcli.conv2d(x, w, padding=2, padding_mode=alias),
        convcli.conv2d(x, w, padding=2, padding_mode=mode),
    )


def test_precise_method_never_plans_the_fft():
    from convcli.engine import _planner as planner
    from convcli.engine import prepare

    x = RNG.standard_normal((1, 3, 200, 200)).astype(np.float32)
    w = RNG.standard_normal((3, 1, 31, 31)).astype(np.float32)  # large, full rank
    geometry = prepare(x, w, padding="same", groups=3)[3]
    assert planner.choose_method(w, geometry) == "fft"
    assert planner.choose_method(w, geometry, allow_fft=False) != "fft"
    got = convcli.conv2d(x, w, padding="same", groups=3, method="precise")
    want = convcli.conv2d(x, w, padding="same", groups=3, method="direct")
    np.testing.assert_array_equal(got, want)
