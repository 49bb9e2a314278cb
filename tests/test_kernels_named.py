"""Named and parametric kernels against hand-derived values, explicit formulas and OpenCV."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convcli
from convcli.errors import KernelError
from convcli.kernels import load_kernel

SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
PREWITT_X = [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]
SCHARR_X = [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]


def correlate_valid(image, weight):
    """Explicit-loop valid cross-correlation (what PyTorch's conv2d computes)."""
    kh, kw = weight.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            out[r, c] = np.sum(image[r : r + kh, c : c + kw] * weight)
    return out


def test_public_api_exports_load_kernel():
    assert convcli.load_kernel is load_kernel
    assert convcli.Kernel is load_kernel("box").__class__


@pytest.mark.parametrize(
    "name, matrix",
    [
        ("sobel-x", SOBEL_X),
        ("prewitt-x", PREWITT_X),
        ("scharr-x", SCHARR_X),
        ("identity", [[1]]),
        ("sharpen", [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
        ("emboss", [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
        ("outline", [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
        ("laplacian", [[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
        ("laplacian:diagonals=true", [[1, 1, 1], [1, -8, 1], [1, 1, 1]]),
        ("box", np.full((3, 3), 1 / 9)),
        ("box:size=2", np.full((2, 2), 0.25)),
    ],
)
def test_fixed_matrices(name, matrix):
    kernel = load_kernel(name)
    np.testing.assert_array_equal(kernel.weight, np.asarray(matrix, dtype=float))
    assert kernel.kind == "matrix" and kernel.bias is None and kernel.source == "builtin"
    assert kernel.description


@pytest.mark.parametrize("family", ["sobel", "prewitt", "scharr"])
def test_y_derivatives_are_transposes(family):
    x, y = load_kernel(f"{family}-x").weight, load_kernel(f"{family}-y").weight
    np.testing.assert_array_equal(y, x.T)


def test_sobel_x_is_positive_where_intensity_rises_to_the_right():
    ramp = np.tile(np.arange(8.0), (8, 1))  # brighter to the right
    response = correlate_valid(ramp, load_kernel("sobel-x").weight)
    np.testing.assert_allclose(response, 8.0)  # 4 * slope 2 (the +-1 columns are 2 apart)
    down = correlate_valid(ramp.T, load_kernel("sobel-y").weight)
    np.testing.assert_allclose(down, 8.0)


@pytest.mark.parametrize("family, ksize", [("sobel", 3), ("scharr", -1)])
def test_derivatives_match_opencv_sobel(family, ksize):
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(0)
    image = rng.random((12, 15))
    for axis, (dx, dy) in (("x", (1, 0)), ("y", (0, 1))):
        ours = correlate_valid(image, load_kernel(f"{family}-{axis}").weight)
        theirs = cv2.Sobel(image, cv2.CV_64F, dx, dy, ksize=ksize)[1:-1, 1:-1]
        np.testing.assert_allclose(ours, theirs, atol=1e-12)
        filtered = cv2.filter2D(image, cv2.CV_64F, load_kernel(f"{family}-{axis}").weight)
        np.testing.assert_allclose(filtered[1:-1, 1:-1], theirs, atol=1e-12)


def test_gaussian_hand_values():
    # sigma=1, size=3: 1-D samples exp(-1/2), 1, exp(-1/2), normalized.
    e = math.exp(-0.5)
    g = np.array([e, 1.0, e]) / (1 + 2 * e)
    np.testing.assert_allclose(load_kernel("gaussian:size=3").weight, np.outer(g, g), rtol=1e-15)
    default = load_kernel("gaussian")
    assert default.shape == (7, 7)  # 2*ceil(3*1)+1
    assert load_kernel("gaussian:sigma=2").shape == (13, 13)
    assert load_kernel("gaussian:sigma=0.5").shape == (5, 5)
    assert default.weight.sum() == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize(
    "sigma, size", [(0.3, 3), (0.8, 5), (1.0, None), (1.7, 9), (2.0, None), (5.0, 31), (0.5, 1)]
)
def test_gaussian_equals_opencv_outer_product(sigma, size):
    cv2 = pytest.importorskip("cv2")
    spec = f"gaussian:sigma={sigma}" + (f",size={size}" if size else "")
    kernel = load_kernel(spec)
    n = kernel.shape[0]
    g = cv2.getGaussianKernel(n, sigma, ktype=cv2.CV_64F)
    np.testing.assert_allclose(kernel.weight, g @ g.T, rtol=0, atol=1e-16)


def test_log_matches_matlab_fspecial_formula():
    sigma, size = 1.4, 9
    # MATLAB fspecial('log'), written out with explicit loops.
    half = (size - 1) / 2
    h = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            h[i, j] = math.exp(-((i - half) ** 2 + (j - half) ** 2) / (2 * sigma**2))
    h /= h.sum()
    h1 = np.zeros_like(h)
    for i in range(size):
        for j in range(size):
            r2 = (i - half) ** 2 + (j - half) ** 2
            h1[i, j] = h[i, j] * (r2 - 2 * sigma**2) / sigma**4
    expected = h1 - h1.sum() / size**2
    weight = load_kernel(f"log:sigma={sigma},size={size}").weight
    np.testing.assert_allclose(weight, expected, atol=1e-15)
    assert weight[4, 4] == weight.min() < 0
    assert abs(weight.sum()) < 1e-15


def test_unsharp_is_identity_plus_amount_times_detail():
    amount, sigma = 1.5, 0.8
    weight = load_kernel(f"unsharp:amount={amount},sigma={sigma}").weight
    gauss = load_kernel(f"gaussian:sigma={sigma}").weight
    delta = np.zeros_like(gauss)
    delta[delta.shape[0] // 2, delta.shape[1] // 2] = 1
    np.testing.assert_allclose(weight, delta + amount * (delta - gauss), atol=1e-15)
    assert weight.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(
        load_kernel("unsharp:amount=0,size=3").weight, [[0, 0, 0], [0, 1, 0], [0, 0, 0]], atol=1e-15
    )


def test_motion_blur_hand_values():
    np.testing.assert_allclose(
        load_kernel("motion-blur:length=5").weight, np.pad(np.full((1, 5), 0.2), ((2, 2), (0, 0)))
    )
    vertical = load_kernel("motion-blur:length=3,angle=90").weight
    np.testing.assert_allclose(
        vertical, np.pad(np.full((3, 1), 1 / 3), ((0, 0), (1, 1))), atol=1e-15
    )
    # Even length: the two end taps carry half weight.
    np.testing.assert_allclose(
        load_kernel("motion-blur:length=4").weight[2], [0.125, 0.25, 0.25, 0.25, 0.125]
    )


def test_motion_blur_45_degrees_runs_bottom_left_to_top_right():
    w = load_kernel("motion-blur:length=5,angle=45").weight
    assert w[0, 4] > 0 and w[4, 0] > 0 and w[0, 0] == 0 and w[4, 4] == 0
    np.testing.assert_allclose(w, w[::-1, ::-1])  # symmetric through the centre


@settings(max_examples=60)
@given(length=st.floats(1, 40), angle=st.floats(-720, 720))
def test_motion_blur_properties(length, angle):
    w = load_kernel(f"motion-blur:length={length!r},angle={angle!r}").weight
    assert w.shape[0] == w.shape[1] and w.shape[0] % 2 == 1
    assert w.min() >= 0 and w.sum() == pytest.approx(1.0)
    centre = w.shape[0] // 2
    assert w[centre, centre] == w.max()
    np.testing.assert_allclose(w, w[::-1, ::-1], atol=1e-12)


@settings(max_examples=60)
@given(sigma=st.floats(0.01, 20), size=st.one_of(st.none(), st.integers(0, 40)))
def test_gaussian_properties(sigma, size):
    spec = f"gaussian:sigma={sigma!r}" + ("" if size is None else f",size={2 * size + 1}")
    w = load_kernel(spec).weight
    assert w.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(w, w.T, atol=0)
    np.testing.assert_allclose(w, w[::-1, ::-1], atol=0)
    assert w[w.shape[0] // 2, w.shape[1] // 2] == w.max()


@pytest.mark.parametrize(
    "name, members, combine",
    [
        ("sobel", ("sobel-x", "sobel-y"), "magnitude"),
        ("prewitt", ("prewitt-x", "prewitt-y"), "magnitude"),
        ("scharr", ("scharr-x", "scharr-y"), "magnitude"),
    ],
)
def test_gradient_banks(name, members, combine):
    bank = load_kernel(name)
    assert bank.is_bank and bank.kind == "bank" and bank.combine == combine
    assert tuple(m.name for m in bank.members) == members
    for member, member_name in zip(bank.members, members, strict=True):
        np.testing.assert_array_equal(member.weight, load_kernel(member_name).weight)
    np.testing.assert_array_equal(bank.weight, bank.members[0].weight)


def test_kirsch_is_the_max_over_eight_rotations():
    bank = load_kernel("kirsch")
    assert bank.combine == "max" and len(bank.members) == 8
    north = np.array([[5, 5, 5], [-3, 0, -3], [-3, -3, -3]], float)
    np.testing.assert_array_equal(bank.members[0].weight, north)
    ring = [(0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0)]
    for k, member in enumerate(bank.members):
        # Member k is member 0 turned k steps of 45 degrees counter-clockwise.
        values = [north[ring[(j + k) % 8]] for j in range(8)]
        expected = np.zeros((3, 3))
        for (r, c), v in zip(ring, values, strict=True):
            expected[r, c] = v
        np.testing.assert_array_equal(member.weight, expected)
    np.testing.assert_array_equal(bank.members[2].weight, np.rot90(north))  # west


@pytest.mark.parametrize(
    "spec, message",
    [
        ("gaussian:sigma=-1", "kernel 'gaussian:sigma=-1': sigma must be at least 0.01, got -1"),
        ("gaussian:sigma=abc", "sigma must be a number, got 'abc'"),
        ("gaussian:sigma=nan", "sigma must be a number, got 'nan'"),
        ("gaussian:sigma=1e999", "sigma must be a finite number, got '1e999'"),
        ("gaussian:size=4", "size must be odd (the kernel needs a centre tap), got 4"),
        ("gaussian:size=0", "size must be greater than 0, got 0"),
        ("box:size=0", "kernel 'box:size=0': size must be greater than 0, got 0"),
        ("box:size=2.5", "size must be a whole number, got '2.5'"),
        (
            "gaussian:sgima=2",
            "unknown parameter 'sgima' (did you mean 'sigma' or 'sigma_y'?); gaussian accepts: "
            "sigma, sigma_y, theta, order_y, order_x, size",
        ),
        ("gaussian:sigma=1,sigma=2", "parameter 'sigma' is given twice"),
        ("gaussian:2", "expected key=value pairs separated by commas, got '2'"),
        ("laplacian:diagonals=maybe", "diagonals must be true or false, got 'maybe'"),
        ("sobel-x:size=5", "kernel 'sobel-x:size=5': sobel-x takes no parameters"),
        ("unsharp:amount=-1", "amount must be at least 0.0, got -1"),
        ("motion-blur:length=0.5", "length must be at least 1.0, got 0.5"),
    ],
)
def test_parameter_refusals(spec, message):
    with pytest.raises(KernelError, match=re.escape(message)):
        load_kernel(spec)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("box:size=100000000", "size 100000000 is over the limit of 1025 taps per side"),
        ("gaussian:sigma=1e9", "sigma=1e+09 needs 2*ceil(3*sigma)+1 taps, over the limit of 1025"),
        ("gaussian:sigma=1e308", "over the limit of 1025 taps per side"),
        ("gaussian:sigma=1,size=1027", "size 1027 is over the limit of 1025"),
        ("log:sigma=400", "over the limit of 1025 taps per side"),
        ("motion-blur:length=1e12", "size 1000000000001 is over the limit of 1025"),
        ("box:size=99999999999999999999999", "size 99999999999999999999999 is over the limit"),
    ],
)
def test_size_limit_is_checked_before_allocating(spec, message):
    # Allocating any of these would need terabytes: failing at all proves the check
    # comes first.
    with pytest.raises(KernelError, match=re.escape(message)):
        load_kernel(spec)


def test_largest_allowed_kernel_loads():
    assert load_kernel("box:size=1025").shape == (1025, 1025)


def test_unknown_name_suggests_close_matches():
    with pytest.raises(KernelError, match=r"^unknown kernel 'sobelx' \(did you mean 'sobel-x'"):
        load_kernel("sobelx")
    with pytest.raises(KernelError, match=r"unknown kernel 'zzzz'; run 'convcli kernels list'"):
        load_kernel("zzzz")
