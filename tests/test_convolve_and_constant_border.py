"""True convolution (--convolve, Kernel.flipped) and the constant border value
(padding_mode='constant', padding_value / -m constant --pad-value), against SciPy and
explicit padding."""

from __future__ import annotations

import re

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy import ndimage

import convcli
from convcli.cli import main
from convcli.engine import dask as dask_conv
from convcli.errors import ParameterError
from convcli.filtering import FilterOptions, filter_image
from convcli.kernels import Kernel, load_kernel

RNG = np.random.default_rng(0)

#: convcli padding mode -> scipy.ndimage mode
SCIPY_MODES = {
    "zeros": "constant",
    "reflect": "mirror",
    "replicate": "nearest",
    "symmetric": "reflect",
    "circular": "wrap",
}


def test_flipped_turns_by_180_degrees():
    k = Kernel("k", np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    assert k.flipped().weight.tolist() == [[6, 5, 4], [3, 2, 1]]
    assert k.flipped().flipped() == k
    layer = Kernel("l", np.arange(8.0).reshape(2, 1, 2, 2), bias=[1.0, 2.0])
    assert layer.flipped().weight[1, 0].tolist() == [[7, 6], [5, 4]]
    assert layer.flipped().bias.tolist() == [1, 2]
    bank = load_kernel("sobel").flipped()
    assert bank.members[0].weight.tolist() == [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
    assert bank.weight.tolist() == bank.members[0].weight.tolist()


@pytest.mark.parametrize("shape", [(3, 3), (4, 4), (2, 5), (6, 3), (1, 4)])
@pytest.mark.parametrize("mode", list(SCIPY_MODES))
def test_convolve_equals_scipy_convolve_for_every_size(shape, mode):
    """Odd and even sizes alike: convcli flips and anchors at (k-1)//2, SciPy's convolve
    anchors the flipped kernel at (k-1)//2 too (it shifts the origin for even sizes)."""
    img = RNG.random((23, 19))
    w = RNG.standard_normal(shape)
    got = filter_image(img, w, padding_mode=mode, convolve=True, depth="32f", output_map="offset")
    want = ndimage.convolve(img, w, mode=SCIPY_MODES[mode])
    np.testing.assert_allclose(got - 0.5, want, atol=3e-6)


@pytest.mark.parametrize("shape", [(3, 3), (4, 4), (2, 5)])
def test_correlation_equals_scipy_correlate_with_the_pytorch_anchor(shape):
    """The default: correlation anchored at (k-1)//2, SciPy's origin -1 for even sizes."""
    img = RNG.random((20, 21))
    w = RNG.standard_normal(shape)
    got = filter_image(img, w, padding_mode="zeros", depth="32f", output_map="offset")
    origin = [-1 if n % 2 == 0 else 0 for n in shape]
    want = ndimage.correlate(img, w, mode="constant", origin=origin)
    np.testing.assert_allclose(got - 0.5, want, atol=3e-6)


def test_convolve_differs_from_correlate_for_a_non_symmetric_kernel():
    img = RNG.random((16, 16))
    w = np.array([[0.0, 0.0, 1.0]])
    a = filter_image(img, w, depth="32f", convolve=True)
    b = filter_image(img, w, depth="32f")
    np.testing.assert_allclose(a[:, 1:-1], img[:, :-2], atol=1e-7)  # convolution: shift right
    np.testing.assert_allclose(b[:, 1:-1], img[:, 2:], atol=1e-7)


def write_png(path, array):
    Image.fromarray(array).save(path)


def test_cli_convolve_equals_scipy(tmp_path):
    img = RNG.integers(0, 256, (30, 40), dtype=np.uint8)
    write_png(tmp_path / "in.png", img)
    w = [[1, 2, 0, -1], [0, 3, 1, 0], [2, 0, 0, 1], [0, 1, 0, 0]]
    spec = str(w).replace(" ", "")
    result = CliRunner().invoke(
        main,
        [
            "apply",
            "-k",
            spec,
            "--convolve",
            "-m",
            "symmetric",
            "--output-map",
            "offset",
            str(tmp_path / "in.png"),
            str(tmp_path / "out.npy"),
        ],
    )
    assert result.exit_code == 0, result.output
    got = np.load(tmp_path / "out.npy").astype(np.float64)
    want = ndimage.convolve(img / 255.0, np.array(w, float), mode="reflect")
    np.testing.assert_allclose(got - 0.5, want, atol=3e-6)


def test_preview_accepts_convolve(tmp_path):
    write_png(tmp_path / "in.png", RNG.integers(0, 256, (20, 20, 3), dtype=np.uint8))
    result = CliRunner().invoke(
        main,
        [
            "preview",
            "-k",
            "sobel-x",
            "--convolve",
            str(tmp_path / "in.png"),
            str(tmp_path / "s.png"),
        ],
    )
    assert result.exit_code == 0, result.output


# -- the constant border value ----------------------------------------------------------


@pytest.mark.parametrize("method", ["direct", "separable", "fft", "gemm"])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_constant_value_equals_explicit_padding(method, stride):
    x = RNG.random((2, 2, 23, 19))
    w = RNG.random((4, 1, 4, 5))  # rank 4: several separable passes
    pads = (2, 3, 1, 4)  # top, bottom, left, right
    got = convcli.conv2d(
        x,
        w,
        padding=pads,
        groups=2,
        stride=stride,
        padding_mode="constant",
        padding_value=0.7,
        method=method,
    )
    padded = np.pad(x, ((0, 0), (0, 0), (2, 3), (1, 4)), constant_values=0.7)
    want = convcli.conv2d(padded, w, groups=2, stride=stride, method="direct")
    np.testing.assert_allclose(got, want, atol=1e-12)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    value=st.floats(-5, 5),
    method=st.sampled_from(["auto", "direct", "separable", "fft", "gemm"]),
)
def test_conv2d_constant_value_property(h, w, kh, kw, value, method):
    rng = np.random.default_rng(h * 100 + w)
    x = rng.random((1, 1, h, w))
    k = rng.standard_normal((1, 1, kh, kw))
    got = convcli.conv2d(
        x, k, padding="same", padding_mode="constant", padding_value=value, method=method
    )
    top, left = (kh - 1) // 2, (kw - 1) // 2
    padded = np.pad(
        x, ((0, 0), (0, 0), (top, kh - 1 - top), (left, kw - 1 - left)), constant_values=value
    )
    want = np.zeros((1, 1, h, w))
    for i in range(h):  # the slow, obvious correlation
        for j in range(w):
            want[0, 0, i, j] = np.sum(padded[0, 0, i : i + kh, j : j + kw] * k[0, 0])
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_dask_conv2d_constant_value():
    da = pytest.importorskip("dask.array")
    x = RNG.random((1, 2, 30, 26))
    w = RNG.random((2, 2, 3, 4))
    lazy = dask_conv.conv2d(
        da.from_array(x, chunks=(1, 2, 7, 9)),
        w,
        padding=(2, 3),
        padding_mode="constant",
        padding_value=-1.5,
    )
    want = convcli.conv2d(x, w, padding=(2, 3), padding_mode="constant", padding_value=-1.5)
    np.testing.assert_allclose(lazy.compute(), want, atol=1e-12)


def test_constant_without_value_is_zeros():
    x = RNG.random((1, 1, 8, 8))
    w = RNG.random((1, 1, 3, 3))
    a = convcli.conv2d(x, w, padding=1, padding_mode="constant")
    b = convcli.conv2d(x, w, padding=1, padding_mode="zeros")
    assert np.array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"padding_mode": "reflect", "padding_value": 1.0},
            "padding_value 1.0 applies to padding_mode 'constant' (alias 'zeros') only, "
            "not 'reflect'",
        ),
        ({"padding_mode": "constant", "padding_value": float("nan")}, "must be a finite"),
        ({"padding_mode": "constant", "padding_value": "white"}, "must be a number"),
    ],
)
def test_conv2d_refuses_bad_values(kwargs, message):
    with pytest.raises(ParameterError, match=re.escape(message)):
        convcli.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), padding=1, **kwargs)


def test_filter_options_refuse_a_value_without_constant():
    with pytest.raises(ParameterError, match="applies to padding_mode 'constant'"):
        FilterOptions.from_kwargs(padding_value=3)
    assert FilterOptions.from_kwargs(padding_mode="constant", padding_value=3).padding_value == 3


@pytest.mark.parametrize(
    ("dtype", "value", "depth"),
    [(np.uint8, 255, None), (np.uint16, 65535, "8"), (np.uint8, 100, "32f")],
)
def test_filter_image_value_is_in_the_input_grey_levels(dtype, value, depth):
    top = np.iinfo(dtype).max
    img = RNG.integers(0, top + 1, (12, 15)).astype(dtype)
    box = np.ones((3, 3)) / 9
    got = filter_image(img, box, padding_mode="constant", padding_value=value, depth="32f")
    want = ndimage.correlate(img / top, box, mode="constant", cval=value / top)
    np.testing.assert_allclose(got, want, atol=2e-7)
    if depth == "8":  # white border on a 16-bit image is white in the 8-bit output
        out = filter_image(
            np.zeros((5, 5), dtype), box, padding_mode="constant", padding_value=value, depth="8"
        )
        assert (
            out[0, 0] == round(5 / 9 * 255) and out[0, 2] == round(3 / 9 * 255) and out[2, 2] == 0
        )


def test_opaque_rgba_with_a_constant_border_equals_rgb():
    rgb = RNG.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    rgba = np.dstack([rgb, np.full((10, 12), 255, np.uint8)])
    options = {"padding_mode": "constant", "padding_value": 200}
    a = filter_image(rgba, load_kernel("box:size=5"), **options)
    b = filter_image(rgb, load_kernel("box:size=5"), **options)
    assert np.array_equal(a[..., :3], b) and (a[..., 3] == 255).all()


def test_cli_pad_value(tmp_path):
    img = RNG.integers(0, 256, (20, 24), dtype=np.uint8)
    write_png(tmp_path / "in.png", img)
    args = ["apply", "-k", "box:size=5", "-m", "constant", "--pad-value", "255"]
    result = CliRunner().invoke(main, [*args, str(tmp_path / "in.png"), str(tmp_path / "o.npy")])
    assert result.exit_code == 0, result.output
    want = ndimage.correlate(img / 255.0, np.ones((5, 5)) / 25, mode="constant", cval=1.0)
    np.testing.assert_allclose(np.load(tmp_path / "o.npy"), want, atol=3e-7)


def test_cli_pad_value_needs_constant(tmp_path):
    write_png(tmp_path / "in.png", np.zeros((4, 4), np.uint8))
    result = CliRunner().invoke(
        main,
        [
            "apply",
            "-k",
            "box",
            "--pad-value",
            "255",
            str(tmp_path / "in.png"),
            str(tmp_path / "o.png"),
        ],
    )
    assert result.exit_code == 2
    assert (
        "Error: --pad-value 255 applies to --padding-mode constant only, not 'reflect'; "
        "add -m constant or drop --pad-value" in result.stderr
    )
    assert not (tmp_path / "o.png").exists()


def test_preserved_alpha_is_opaque_in_a_constant_border():
    rgba = np.dstack([RNG.integers(0, 256, (6, 7, 3)), np.full((6, 7), 90)]).astype(np.uint8)
    out = filter_image(
        rgba,
        load_kernel("sobel-x"),
        padding=3,
        padding_mode="constant",
        padding_value=40,
        alpha="preserve",
        output_map="abs",
    )
    assert out.shape == (10, 11, 4)
    assert (out[0, :, 3] == 255).all() and (out[5, 5, 3] == 90)
    assert (out[0, 2:-2, :3] == 0).all()  # sobel-x of a flat border is 0
