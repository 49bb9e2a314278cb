"""The planner: a pure function of the weight and the geometry, and the rank analysis
behind the separable method."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcli.engine import prepare
from convcli.engine._planner import choose_method, method_costs
from convcli.engine._separable import kernel_rank, low_rank_factors, rank_tolerance

RNG = np.random.default_rng(0)


def gaussian(size, sigma=None):
    sigma = sigma or 0.3 * ((size - 1) * 0.5 - 1) + 0.8  # OpenCV's default for a size
    g = np.exp(-0.5 * ((np.arange(size) - (size - 1) / 2) / sigma) ** 2)
    return np.outer(g, g) / g.sum() ** 2


def plan(weight, channels=3, hw=(512, 512), groups=None, **kwargs):
    weight = np.asarray(weight, dtype=np.float32)
    groups = channels if groups is None else groups
    x = np.zeros((1, channels, *hw), np.float32)
    kwargs.setdefault("padding", "same")
    geometry = prepare(x, weight, groups=groups, padding_mode="reflect", **kwargs)[3]
    return choose_method(weight, geometry)


def per_channel(k, channels=3):
    return np.stack([k] * channels)[:, None]


@pytest.mark.parametrize("size", [3, 5, 7, 9])
def test_small_and_medium_gaussians_are_separable(size):
    assert plan(per_channel(gaussian(size))) == "separable"


def test_large_gaussians_use_the_fft():
    # 62 one-dimensional taps cost more than a tile's transforms.
    assert plan(per_channel(gaussian(31))) == "fft"


def test_small_full_rank_kernels_are_direct():
    assert plan(per_channel(RNG.standard_normal((3, 3)))) == "direct"
    assert plan(per_channel(np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]]))) == "direct"
    assert plan(per_channel(np.ones((1, 1)))) == "direct"


def test_one_dimensional_kernels_are_separable():
    # A 1 x k kernel is one pass either way; the separable method's long strips and flat
    # runs written straight into the output make it the faster one (1x9 box, 2048x2048
    # RGB, one thread: 0.035 s against direct's 0.040 s), by a small margin.
    for kernel in (np.ones((1, 9)), np.ones((9, 1))):
        w = per_channel(kernel).astype(np.float32)
        costs = method_costs(
            w, prepare(np.zeros((1, 3, 512, 512), np.float32), w, padding="same", groups=3)[3]
        )
        assert costs["separable"] < costs["direct"] < 1.1 * costs["separable"]
        assert plan(per_channel(kernel)) == "separable"


def test_large_full_rank_kernels_use_the_fft():
    assert plan(per_channel(RNG.standard_normal((31, 31)))) == "fft"
    assert plan(per_channel(RNG.standard_normal((15, 15)))) == "fft"


def test_low_rank_sums_are_separable_where_they_pay():
    # Centre-surround: a 7x7 box minus twice a 3x3 box, rank 2: 2 x (7 + 7) one-dimensional
    # taps instead of 49.
    surround = np.ones((7, 7)) - 2 * np.pad(np.ones((3, 3)), 2)
    assert kernel_rank(surround) == 2
    assert plan(per_channel(surround)) == "separable"
    # A random 5x5 of rank 4 needs 4 x 10 one-dimensional taps: no gain over 25 taps.
    rank4 = RNG.standard_normal((5, 4)) @ RNG.standard_normal((4, 5))
    assert kernel_rank(rank4) == 4
    assert plan(per_channel(rank4)) != "separable"


def test_cross_channel_several_outputs_use_gemm():
    assert plan(RNG.standard_normal((8, 3, 5, 5)), groups=1) == "gemm"
    assert plan(RNG.standard_normal((16, 4, 3, 3)), channels=4, groups=1) == "gemm"


def test_cross_channel_single_output_is_not_gemm():
    # One output per group: im2col would be a matrix-vector product, no better than direct.
    assert plan(RNG.standard_normal((1, 3, 3, 3)), groups=1) == "direct"


def test_strides_make_the_fft_pay_for_samples_it_drops():
    k = per_channel(RNG.standard_normal((9, 9)))
    assert plan(k) == "fft"
    assert plan(k, padding=4, stride=3) == "direct"


def test_plan_is_a_pure_function_of_shapes_and_values():
    w = per_channel(gaussian(9)).astype(np.float32)
    before = w.copy()
    x = np.zeros((1, 3, 512, 512), np.float32)
    geometry = prepare(x, w, groups=3, padding="same")[3]
    assert {plan(w) for _ in range(3)} == {"separable"}
    np.testing.assert_array_equal(w, before)
    rank1 = method_costs(w, geometry)
    w[0, 0, 0, 0] += 1.0  # channel 0 is now of rank 2: one more pair of passes
    rank2 = method_costs(w, geometry)
    assert rank2["separable"] > rank1["separable"]
    assert rank2["fft"] == rank1["fft"]  # the FFT does not care what the values are


def test_costs_cover_the_methods_that_apply():
    x = np.zeros((1, 3, 64, 64), np.float32)
    w = np.ones((6, 1, 3, 3), np.float32)
    geometry = prepare(x, w, groups=3)[3]
    assert set(method_costs(w, geometry)) == {"direct", "separable", "fft", "gemm"}
    w = np.ones((3, 3, 3, 3), np.float32)
    geometry = prepare(x, w)[3]
    assert set(method_costs(w, geometry)) == {"direct", "fft", "gemm"}  # not per-channel


def test_fft_cost_does_not_grow_with_the_kernel_but_direct_does():
    x = np.zeros((1, 1, 4096, 4096), np.float32)  # not allocated: calloc'd pages
    costs = []
    for k in (9, 17, 33):
        w = RNG.standard_normal((1, 1, k, k)).astype(np.float32)
        costs.append(method_costs(w, prepare(x, w, padding="same")[3]))
    assert costs[0]["direct"] < costs[1]["direct"] < costs[2]["direct"]
    assert costs[2]["fft"] < 1.5 * costs[0]["fft"]


def test_fft_cost_counts_whole_tiles():
    """400 rows under a 13x13 kernel ('same': 412 padded) take two tiles of 212 rows (the
    outputs shared out evenly): 424 transformed rows for 400 outputs, against 17 tiles of
    253 rows for 4096; the planner's cost follows the tiles."""
    from convcli.engine._fft import tile_plan

    assert tile_plan(13, 400 + 12) == (2, 212) and tile_plan(13, 4096 + 12) == (17, 253)
    assert tile_plan(13, 258 + 12) == (2, 141)  # not one tile of 256 and one nearly empty
    g = np.exp(-0.5 * ((np.arange(13) - 6) / 2) ** 2)
    w = np.repeat((np.outer(g, g) / g.sum() ** 2)[None, None], 3, 0).astype(np.float32)
    tall = np.zeros((1, 3, 4096, 4096), np.float32)
    band = np.zeros((1, 3, 400, 4096), np.float32)
    tall_costs = method_costs(w, prepare(tall, w, padding="same", groups=3)[3])
    band_costs = method_costs(w, prepare(band, w, padding="same", groups=3)[3])
    assert band_costs["fft"] == pytest.approx(
        tall_costs["fft"] * (2 * 212 / 400) / (17 * 253 / 4096), rel=1e-9
    )


# --- rank and factors ------------------------------------------------------------------


def test_rank_by_hand():
    assert kernel_rank(np.outer([1, 2, 1], [-1, 0, 1])) == 1  # Sobel
    assert kernel_rank(np.ones((5, 5))) == 1
    assert kernel_rank(np.eye(4)) == 4
    assert kernel_rank(np.zeros((3, 3))) == 0
    assert kernel_rank(np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]])) == 2  # Laplacian


def test_rank_tolerance_is_relative_to_the_largest_singular_value():
    k = np.outer(np.arange(1.0, 8.0), np.arange(2.0, 9.0))
    tiny = np.zeros((7, 7))
    tiny[0, 6] = 1.0
    # Scaling the kernel scales the threshold: rank is scale-free.
    for scale in (1e-6, 1.0, 1e6):
        assert kernel_rank(scale * (k + 1e-9 * tiny), np.float32) == 1
        assert kernel_rank(scale * (k + 1e-9 * tiny), np.float64) == 2
    assert rank_tolerance((7, 7), np.float32) > rank_tolerance((7, 7), np.float64)


def test_rank_one_factors_are_exact_for_integer_kernels():
    u, v = low_rank_factors(np.outer([1, 2, 1], [-1, 0, 1]), np.float64)
    assert u.tolist() == [[0.5, 1.0, 0.5]] and v.tolist() == [[-2.0, 0.0, 2.0]]


@settings(max_examples=60)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_low_rank_factors_rebuild_the_kernel(kh, kw, rank, seed):
    rng = np.random.default_rng(seed)
    rank = min(rank, kh, kw)
    k = rng.standard_normal((kh, rank)) @ rng.standard_normal((rank, kw))
    u, v = low_rank_factors(k, np.float64)
    assert u.shape[0] == v.shape[0] == kernel_rank(k, np.float64) <= rank
    np.testing.assert_allclose(u.T @ v, k, rtol=1e-10, atol=1e-10 * np.abs(k).max())
