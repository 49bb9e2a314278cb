"""Gaussian families (anisotropic, rotated, derivatives), DoG, Gabor, Gabor banks and the
rotated banks (compass:, rot90:), each against an independent reference."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import ndimage

from convcli.cli import main
from convcli.errors import KernelError
from convcli.filtering import filter_image
from convcli.kernels import ENV_VAR, load_file, load_kernel, save_kernel


@pytest.fixture(autouse=True)
def _no_user_path(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def scipy_weights(sigma_y, sigma_x, order_y, order_x, radius):
    """The correlation weights gaussian_filter applies: its impulse response turned 180
    degrees (correlating with w gives out[i] = w[c - i] around an impulse at c)."""
    n = 2 * radius + 1
    impulse = np.zeros((n, n))
    impulse[radius, radius] = 1.0
    out = ndimage.gaussian_filter(
        impulse, (sigma_y, sigma_x), order=(order_y, order_x), radius=radius, mode="constant"
    )
    return out[::-1, ::-1]


@pytest.mark.parametrize("order_y", [0, 1, 2])
@pytest.mark.parametrize("order_x", [0, 1, 2])
@pytest.mark.parametrize(("sigma_x", "sigma_y", "radius"), [(1.0, 1.0, 3), (1.7, 0.6, 5)])
def test_gaussian_orders_equal_scipy(order_y, order_x, sigma_x, sigma_y, radius):
    spec = (
        f"gaussian:sigma={sigma_x},sigma_y={sigma_y},order_y={order_y},order_x={order_x},"
        f"size={2 * radius + 1}"
    )
    want = scipy_weights(sigma_y, sigma_x, order_y, order_x, radius)
    np.testing.assert_allclose(load_kernel(spec).weight, want, rtol=0, atol=1e-12)


def test_gaussian_derivative_sign_follows_the_image():
    """A ramp brightening to the right (and downward) gives a positive first derivative."""
    ramp = np.tile(np.arange(20, dtype=np.float64) / 20, (20, 1))
    dx = filter_image(ramp, load_kernel("gaussian:sigma=1,order_x=1"), depth="32f")
    dy = filter_image(ramp.T.copy(), load_kernel("gaussian:sigma=1,order_y=1"), depth="32f")
    assert dx[5:15, 5:15].min() > 0.04 and dy[5:15, 5:15].min() > 0.04


def test_gaussian_isotropic_default_unchanged():
    x = np.arange(7) - 3.0
    g = np.exp(-(x**2) / 2)
    np.testing.assert_allclose(load_kernel("gaussian").weight, np.outer(g, g) / g.sum() ** 2)


def analytic_rotated(sigma_x, sigma_y, theta_deg, size):
    """exp of the quadratic form of a covariance turned by theta (counter-clockwise on
    screen: the x axis (1, 0) goes to (cos t, -sin t) in (column, row) coordinates)."""
    t = math.radians(theta_deg)
    rot = np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])  # (col, row)
    cov = rot @ np.diag([sigma_x**2, sigma_y**2]) @ rot.T
    inv = np.linalg.inv(cov)
    r = size // 2
    w = np.empty((size, size))
    for i in range(size):
        for j in range(size):
            v = np.array([j - r, i - r], dtype=float)
            w[i, j] = math.exp(-0.5 * v @ inv @ v)
    return w / w.sum()


@pytest.mark.parametrize("theta", [30.0, 90.0, -45.0, 200.0])
def test_rotated_gaussian_equals_the_analytic_formula(theta):
    got = load_kernel(f"gaussian:sigma=2.5,sigma_y=1,theta={theta},size=13").weight
    np.testing.assert_allclose(got, analytic_rotated(2.5, 1.0, theta, 13), atol=1e-15)
    assert abs(got.sum() - 1) < 1e-12


def test_rotated_gaussian_turns_counter_clockwise_on_screen():
    w = load_kernel("gaussian:sigma=3,sigma_y=0.8,theta=45,size=9").weight
    c = 4
    # 45 degrees counter-clockwise on screen: long axis from bottom-left to top-right
    assert w[c - 3, c + 3] > 100 * w[c + 3, c + 3]
    vertical = load_kernel("gaussian:sigma=3,sigma_y=1,theta=90,size=9").weight
    np.testing.assert_allclose(
        vertical, load_kernel("gaussian:sigma=1,sigma_y=3,size=9").weight, atol=1e-16
    )


def test_gaussian_default_size_follows_the_larger_sigma():
    assert load_kernel("gaussian:sigma=1,sigma_y=2").shape == (13, 13)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gaussian:theta=10,order_x=1", "derivative orders need theta=0"),
        ("gaussian:order_x=3", "order_x must be at most 2, got 3"),
        ("gaussian:order_y=-1", "order_y must be at least 0, got -1"),
        ("dog:low_sigma=2,high_sigma=1", "high_sigma (1) must be at least low_sigma (2)"),
        ("gabor:gamma=0", "gamma must be at least 0.01, got 0"),
        ("gabor:size=4", "size must be odd"),
        ("gabor-bank:orientations=0", "orientations must be greater than 0, got 0"),
        ("gabor-bank:combine=avg", "combine must be one of magnitude, max, min, sum, mean"),
    ],
)
def test_parameter_refusals(spec, message):
    with pytest.raises(KernelError, match=re.escape(message)):
        load_kernel(spec)


def test_dog_equals_difference_of_scipy_gaussians():
    low, high, r = 1.3, 2.9, 9
    want = scipy_weights(low, low, 0, 0, r) - scipy_weights(high, high, 0, 0, r)
    got = load_kernel(f"dog:low_sigma={low},high_sigma={high},size={2 * r + 1}").weight
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_dog_defaults_as_scikit_image():
    k = load_kernel("dog:low_sigma=2")
    assert k.shape == (2 * math.ceil(3 * 3.2) + 1,) * 2  # high_sigma = 1.6 * 2
    want = (
        load_kernel("gaussian:sigma=2,size=21").weight
        - load_kernel("gaussian:sigma=3.2,size=21").weight
    )
    np.testing.assert_allclose(k.weight, want, atol=1e-15)
    assert abs(k.weight.sum()) < 1e-15


def test_dog_filters_like_scikit_image():
    skimage_filters = pytest.importorskip("skimage.filters")
    img = np.random.default_rng(0).random((60, 70))
    want = skimage_filters.difference_of_gaussians(img, 1.0, 2.0, mode="reflect", truncate=5.0)
    kernel = load_kernel("dog:low_sigma=1,high_sigma=2,size=21")
    # SciPy's 'reflect' is convcli's 'symmetric'; 'offset' adds 0.5 so nothing is clipped
    got = filter_image(img, kernel, depth="32f", padding_mode="symmetric", output_map="offset")
    # scikit-image normalizes each Gaussian over its own support (truncate * sigma)
    np.testing.assert_allclose(got - 0.5, want, atol=2e-5)


GABOR_CASES = [
    (2.5, 30.0, 7.0, 0.5, 0.0, 15),
    (3.0, -70.0, 9.0, 1.3, 90.0, 21),
    (1.5, 123.0, 4.0, 2.0, 200.0, 9),
    (4.0, 0.0, 10.0, 0.5, 45.0, 31),
]


@pytest.mark.parametrize(("sigma", "theta", "wavelength", "gamma", "psi", "size"), GABOR_CASES)
def test_gabor_equals_opencv(sigma, theta, wavelength, gamma, psi, size):
    cv2 = pytest.importorskip("cv2")
    want = cv2.getGaborKernel(
        (size, size),
        sigma,
        -math.radians(theta),
        wavelength,
        gamma,
        math.radians(psi),
        ktype=cv2.CV_64F,
    )
    spec = (
        f"gabor:sigma={sigma},theta={theta},wavelength={wavelength},gamma={gamma},"
        f"psi={psi},size={size}"
    )
    np.testing.assert_allclose(load_kernel(spec).weight, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("sigma", "theta", "wavelength", "gamma", "psi", "size"), GABOR_CASES)
def test_gabor_equals_its_formula(sigma, theta, wavelength, gamma, psi, size):
    r = size // 2
    t = math.radians(theta)
    want = np.empty((size, size))
    for row in range(size):
        for col in range(size):
            dy, dx = row - r, col - r
            along = dx * math.cos(t) - dy * math.sin(t)  # counter-clockwise on screen
            across = dx * math.sin(t) + dy * math.cos(t)
            envelope = math.exp(-(along**2 + gamma**2 * across**2) / (2 * sigma**2))
            want[row, col] = envelope * math.cos(
                2 * math.pi * along / wavelength - math.radians(psi)
            )
    spec = (
        f"gabor:sigma={sigma},theta={theta},wavelength={wavelength},gamma={gamma},"
        f"psi={psi},size={size}"
    )
    np.testing.assert_allclose(load_kernel(spec).weight, want, atol=1e-12)


def test_gabor_theta_90_is_the_transpose():
    w0 = load_kernel("gabor:theta=0,size=15").weight
    w90 = load_kernel("gabor:theta=90,size=15").weight
    np.testing.assert_allclose(w90, w0.T, atol=1e-15)


def test_gabor_bank_members_and_combine():
    bank = load_kernel("gabor-bank:sigma=2,wavelength=5,orientations=3,combine=magnitude,size=11")
    assert bank.is_bank and bank.combine == "magnitude" and len(bank.members) == 3
    for member, angle in zip(bank.members, (0, 60, 120), strict=True):
        single = load_kernel(f"gabor:sigma=2,wavelength=5,theta={angle},size=11")
        np.testing.assert_allclose(member.weight, single.weight, atol=1e-15)
        assert load_kernel(member.name).weight.tolist() == member.weight.tolist()
    img = np.random.default_rng(1).random((30, 30))
    got = filter_image(img, bank, depth="32f", output_map="abs")
    responses = [filter_image(img, m, depth="32f", output_map="abs") for m in bank.members]
    want = np.sqrt(sum(r.astype(np.float64) ** 2 for r in responses))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-5)
    assert load_kernel("gabor-bank").combine == "max"


COUNTER_CLOCKWISE_45 = [[2.0, 3.0, 6.0], [1.0, 5.0, 9.0], [4.0, 7.0, 8.0]]


def test_compass_turns_the_ring_one_place_counter_clockwise():
    bank = load_kernel("compass:[[1,2,3],[4,5,6],[7,8,9]]")
    assert bank.combine == "max" and len(bank.members) == 8
    assert bank.members[0].weight.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert bank.members[1].weight.tolist() == COUNTER_CLOCKWISE_45
    assert bank.members[2].weight.tolist() == [[3, 6, 9], [2, 5, 8], [1, 4, 7]]  # 90 degrees
    assert bank.members[4].weight.tolist() == [[9, 8, 7], [6, 5, 4], [3, 2, 1]]  # 180
    assert [m.name.rsplit("@", 1)[1] for m in bank.members] == [str(45 * k) for k in range(8)]


def test_compass_of_kirsch_north_is_the_shipped_kirsch_bank():
    bank = load_kernel("compass:[[5,5,5],[-3,0,-3],[-3,-3,-3]]")
    shipped = load_kernel("kirsch")
    for mine, theirs in zip(bank.members, shipped.members, strict=True):
        assert mine.weight.tolist() == theirs.weight.tolist()


def test_rot90_bank():
    bank = load_kernel("rot90:[[1,2],[3,4]]")
    assert [m.weight.tolist() for m in bank.members] == [
        [[1, 2], [3, 4]],
        [[2, 4], [1, 3]],
        [[4, 3], [2, 1]],
        [[3, 1], [4, 2]],
    ]
    sobel = load_kernel("rot90:sobel-x")
    assert sobel.members[1].weight.tolist() == [[1, 2, 1], [0, 0, 0], [-1, -2, -1]]
    nested = load_kernel("rot90:gaussian:sigma=1,order_x=1,size=5")
    np.testing.assert_allclose(
        nested.members[1].weight,
        load_kernel("gaussian:sigma=1,order_y=1,size=5").weight * -1,
        atol=1e-16,
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("compass:box:size=5", "compass needs a 3x3 kernel"),
        ("rot90:[[1,2,3],[4,5,6]]", "rot90 needs a square kernel, got 2x3"),
        ("rot90:sobel", "'sobel' is a bank; rot90 turns a single kernel"),
        ("compass:", "give the kernel to turn, e.g. 'compass:sobel-x'"),
        ("compass:compass:sobel-x", "'compass:sobel-x' is a bank"),
    ],
)
def test_rotation_refusals(spec, message):
    with pytest.raises(KernelError, match=re.escape(message)):
        load_kernel(spec)


NEW_SPECS = [
    "gaussian:sigma=1.5,sigma_y=0.7,theta=30",
    "gaussian:order_x=2",
    "dog:low_sigma=1",
    "gabor",
    "gabor-bank:orientations=3,size=15",
    "compass:sobel-x",
    "rot90:[[1,0],[0,-1]]",
]


@pytest.mark.parametrize("spec", NEW_SPECS)
def test_every_new_kernel_renders_as_png(spec, tmp_path):
    from PIL import Image

    target = tmp_path / "k.png"
    result = CliRunner().invoke(main, ["kernels", "show", spec, "--png", str(target)])
    assert result.exit_code == 0, result.output
    with Image.open(target) as image:
        assert image.size[0] > 8 and image.size[1] > 8


@pytest.mark.parametrize("spec", NEW_SPECS)
def test_every_new_kernel_round_trips_through_every_format(spec, tmp_path):
    kernel = load_kernel(spec)
    suffixes = (".json",) if kernel.is_bank else (".json", ".npy", ".npz", ".mat", ".safetensors")
    for suffix in suffixes:
        path = tmp_path / f"k{suffix}"
        save_kernel(kernel, path)
        back = load_kernel(f"{path}:weight") if suffix == ".safetensors" else load_file(path)
        if kernel.is_bank:
            assert [m.weight.tolist() for m in back.members] == [
                m.weight.tolist() for m in kernel.members
            ]
            assert back.combine == kernel.combine
        else:
            np.testing.assert_allclose(back.weight, kernel.weight, rtol=1e-15, atol=0)


def test_list_shows_the_new_parameters():
    result = CliRunner().invoke(main, ["kernels", "list", "--json"])
    import json

    entries = {e["name"]: e for e in json.loads(result.stdout)}
    assert list(entries["gaussian"]["parameters"]) == [
        "sigma",
        "sigma_y",
        "theta",
        "order_y",
        "order_x",
        "size",
    ]
    assert entries["dog"]["parameters"]["high_sigma"]["default"] == "1.6*low_sigma"
    assert entries["gabor-bank"]["kind"] == "parametric"
    assert entries["gabor-bank"]["parameters"]["combine"]["default"] == "max"
    assert entries["gabor"]["shape"] == [37, 37]


@pytest.mark.parametrize(("sigma", "radius"), [(1.0, 4), (1.7, 5)])
def test_log_is_scipy_gaussian_laplace_minus_its_mean(sigma, radius):
    """Same sign (negative centre) and scale as gaussian_laplace; convcli subtracts the mean
    so the truncated kernel sums to exactly 0."""
    n = 2 * radius + 1
    impulse = np.zeros((n, n))
    impulse[radius, radius] = 1.0
    laplace = ndimage.gaussian_laplace(impulse, sigma, radius=radius, mode="constant")[::-1, ::-1]
    got = load_kernel(f"log:sigma={sigma},size={n}").weight
    np.testing.assert_allclose(got, laplace - laplace.mean(), atol=1e-12)
    assert got[radius, radius] < 0
