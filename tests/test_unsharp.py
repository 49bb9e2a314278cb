"""The thresholded unsharp mask (``unsharp:...,threshold=T``) against a direct NumPy formula."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from convcli import filter_image
from convcli.errors import KernelError
from convcli.kernels import list_kernels, load_kernel
from convcli.kernels._kernel import Kernel
from convcli.kernels._unsharp import ThresholdedUnsharp

RNG = np.random.default_rng(0)


def gaussian_1d(sigma: float) -> np.ndarray:
    radius = math.ceil(3 * sigma)
    g = np.exp(-(np.arange(-radius, radius + 1) ** 2) / (2 * sigma**2))
    return g / g.sum()


def blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian of (H, W, C) float64, reflect padding, as two explicit 1-D passes."""
    g = gaussian_1d(sigma)
    r = len(g) // 2
    p = np.pad(x, ((r, r), (0, 0), (0, 0)), mode="reflect")
    x = sum(g[k] * p[k : k + x.shape[0]] for k in range(len(g)))
    p = np.pad(x, ((0, 0), (r, r), (0, 0)), mode="reflect")
    return sum(g[k] * p[:, k : k + x.shape[1]] for k in range(len(g)))


def formula(x: np.ndarray, sigma: float, amount: float, threshold: float):
    """out = x + amount (x - g) where |x - g| >= threshold, x elsewhere (float64), and the
    pixels where the decision is within 1e-3 levels of the threshold."""
    g = blur(x, sigma)
    d = x - g
    out = np.where(np.abs(d) >= threshold, x + amount * d, x)
    return out, np.abs(np.abs(d) - threshold) < 1e-3


def photo(shape=(60, 70, 3)) -> np.ndarray:
    smooth = blur(RNG.random(shape) * 255, 3.0)
    edges = np.where(np.add.outer(np.arange(shape[0]), np.arange(shape[1])) % 23 < 11, 60, 0)
    noisy = smooth + edges[..., None] + RNG.normal(0, 3, shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("sigma, amount, threshold", [(2, 1, 0.02), (1, 2.5, 0.05), (1.5, 0.7, 0)])
def test_equals_the_formula(sigma, amount, threshold):
    x = photo()
    ours = filter_image(x, f"unsharp:sigma={sigma},amount={amount},threshold={threshold}")
    ref, tie = formula(x.astype(np.float64), sigma, amount, threshold * 255)
    ref = np.clip(np.rint(ref), 0, 255)
    difference = np.abs(ours.astype(int) - ref)[~tie]
    assert difference.max() <= 1
    assert np.mean(difference == 0) > 0.999


def test_sixteen_bit_and_float():
    x = (photo().astype(np.uint16) * 257) + RNG.integers(0, 200, (60, 70, 3)).astype(np.uint16)
    ours = filter_image(x, "unsharp:sigma=2,amount=1,threshold=0.01")
    assert ours.dtype == np.uint16
    ref, tie = formula(x.astype(np.float64), 2, 1, 0.01 * 65535)
    assert np.abs(ours.astype(int) - np.clip(np.rint(ref), 0, 65535))[~tie].max() <= 1
    f = x.astype(np.float32) / 65535
    ours_f = filter_image(f, "unsharp:sigma=2,amount=1,threshold=0.01")
    ref_f, tie = formula(f.astype(np.float64), 2, 1, 0.01)
    assert np.abs(ours_f - ref_f)[~tie].max() < 1e-5


def test_threshold_zero_is_the_linear_kernel():
    x = photo()
    linear = filter_image(x, "unsharp:sigma=1.5,amount=1.2")
    step = filter_image(x, "unsharp:sigma=1.5,amount=1.2,threshold=0")
    assert np.abs(linear.astype(int) - step).max() <= 1


def test_a_high_threshold_leaves_the_image():
    x = photo()
    np.testing.assert_array_equal(filter_image(x, "unsharp:amount=3,threshold=1.1"), x)


def test_in_a_chain_without_rounding_between():
    x = photo()
    ours = filter_image(x, ["gaussian:sigma=1", "unsharp:sigma=2,amount=1,threshold=0.02"])
    first = blur(x.astype(np.float64), 1.0)
    ref, tie = formula(first, 2, 1, 0.02 * 255)
    assert np.abs(ours.astype(int) - np.clip(np.rint(ref), 0, 255))[~tie].max() <= 1


def test_stride_samples_the_formula():
    x = photo()
    ours = filter_image(x, "unsharp:sigma=1,amount=1,threshold=0.03", stride=2)
    ref, tie = formula(x.astype(np.float64), 1, 1, 0.03 * 255)
    ref = np.clip(np.rint(ref), 0, 255)[::2, ::2]
    assert ours.shape == ref.shape
    assert np.abs(ours.astype(int) - ref)[~tie[::2, ::2]].max() <= 1


def test_cross_mode_uses_the_channel_sum():
    x = photo()
    ours = filter_image(
        x.astype(np.float32) / 255, "unsharp:sigma=1,threshold=0.05", channel_mode="cross"
    )
    total = x.astype(np.float64).sum(axis=2, keepdims=True) / 255
    ref, tie = formula(total, 1, 1, 0.05)
    assert np.abs(ours - ref)[np.repeat(~tie, 3, axis=2)].max() < 1e-5


def test_alpha_is_premultiplied():
    x = np.concatenate([photo(), np.full((60, 70, 1), 255, np.uint8)], axis=2)
    ours = filter_image(x, "unsharp:sigma=2,threshold=0.02")
    ref, tie = formula(x[..., :3].astype(np.float64), 2, 1, 0.02 * 255)
    assert np.abs(ours[..., :3].astype(int) - np.clip(np.rint(ref), 0, 255))[~tie].max() <= 1
    np.testing.assert_array_equal(ours[..., 3], 255)


def test_the_kernel_value():
    plain = load_kernel("unsharp:sigma=2,amount=1")
    assert type(plain) is Kernel
    step = load_kernel("unsharp:sigma=2,amount=1,threshold=0.02")
    assert isinstance(step, ThresholdedUnsharp)
    np.testing.assert_array_equal(step.weight, plain.weight)  # reach, bounds: the same
    np.testing.assert_allclose(step.blur, np.outer(gaussian_1d(2), gaussian_1d(2)))
    assert step == pickle.loads(pickle.dumps(step))
    assert step != load_kernel("unsharp:sigma=2,amount=1,threshold=0.03")
    assert hash(step) == hash(load_kernel("unsharp:sigma=2,amount=1,threshold=0.02"))
    entry = {e.name: e for e in list_kernels()}["unsharp"]
    assert entry.parameters["threshold"]["default"] == "none (linear kernel)"


def test_negative_threshold_is_refused():
    with pytest.raises(KernelError) as info:
        load_kernel("unsharp:threshold=-0.1")
    assert str(info.value) == (
        "kernel 'unsharp:threshold=-0.1': threshold must be at least 0.0, got -0.1"
    )
