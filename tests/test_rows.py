"""Band-by-band filtering (the CLI's bounded-memory path) equals whole-frame filtering."""

from __future__ import annotations

import numpy as np
import pytest

import convcli.filtering._bands as rows
from convcli.filtering._frame import FilterOptions, filter_frame
from convcli.kernels import load_kernel

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def small_bands(monkeypatch):
    # 64-row bands on these small frames: several bands, interior band edges everywhere
    monkeypatch.setattr(rows, "BAND_SAMPLES", 1)


@pytest.fixture
def no_fft(monkeypatch):
    """Plan without the FFT: the bands then give the whole frame's bits exactly (an FFT's
    rounding depends on the block it transforms, so a band may differ in the last bit)."""
    from convcli.engine import _planner as planner

    choose = planner.choose_method
    monkeypatch.setattr(
        planner, "choose_method", lambda w, g, allow_fft=True: choose(w, g, allow_fft=False)
    )


CHAINS = [
    ("gaussian:sigma=2",),
    ("box:size=4", "sharpen"),  # an even kernel: asymmetric 'same' padding
    ("sobel",),  # a bank
    ("gaussian:sigma=1.5", "kirsch", "box:size=5"),
]


@pytest.mark.parametrize("chain", CHAINS, ids=lambda c: "+".join(c))
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "symmetric"])
def test_bands_equal_whole_frame(chain, mode, no_fft):
    kernels = tuple(load_kernel(spec) for spec in chain)
    frame = RNG.integers(0, 256, (301, 23, 3), dtype=np.uint8)
    opts = FilterOptions.from_kwargs(padding_mode=mode, output_map="abs")
    banded, layout = rows.filter_frame_by_rows(frame, kernels, "RGB", opts)
    whole, whole_layout = filter_frame(frame, kernels, "RGB", opts)
    assert layout == whole_layout
    np.testing.assert_array_equal(banded, whole)


@pytest.mark.parametrize("alpha", ["premultiply", "preserve", "channel"])
def test_bands_with_alpha_and_16_bit(alpha, no_fft):
    kernels = (load_kernel("gaussian:sigma=2"), load_kernel("box:size=3"))
    frame = RNG.integers(0, 65536, (260, 17, 4), dtype=np.uint16)
    frame[:, :5, 3] = 0  # a transparent stripe
    opts = FilterOptions.from_kwargs(alpha=alpha, dilation=2)
    banded, _ = rows.filter_frame_by_rows(frame, kernels, "RGBA", opts)
    whole, _ = filter_frame(frame, kernels, "RGBA", opts)
    assert banded.dtype == np.uint16
    np.testing.assert_array_equal(banded, whole)


def test_bands_with_fft_within_one_level():
    kernels = (load_kernel("gaussian:sigma=1.5"), load_kernel("kirsch"), load_kernel("box:size=5"))
    frame = RNG.integers(0, 256, (301, 23, 3), dtype=np.uint8)
    opts = FilterOptions.from_kwargs(output_map="abs")
    banded, _ = rows.filter_frame_by_rows(frame, kernels, "RGB", opts)
    whole, _ = filter_frame(frame, kernels, "RGB", opts)
    diff = np.abs(banded.astype(int) - whole)
    assert diff.max() <= 1 and np.count_nonzero(diff) <= 0.001 * diff.size


@pytest.mark.parametrize(
    "options",
    [
        dict(padding_mode="circular"),
        dict(output_map="normalize"),
        dict(stride=2),
        dict(padding=3),
    ],
)
def test_whole_frame_steps_fall_back_to_one_band(options, monkeypatch):
    calls = []
    real = rows.filter_frame
    monkeypatch.setattr(rows, "filter_frame", lambda *a, **k: calls.append(1) or real(*a, **k))
    frame = RNG.integers(0, 256, (300, 9), dtype=np.uint8)
    rows.filter_frame_by_rows(
        frame, (load_kernel("box"),), "L", FilterOptions.from_kwargs(**options)
    )
    assert len(calls) == 1


def test_band_count_and_reach(monkeypatch):
    opts = FilterOptions.from_kwargs(dilation=(3, 1))
    kernels = (load_kernel("gaussian:sigma=1"), load_kernel("sobel"))
    # 'same' padding: half of each dilated span (7 rows -> 3 * 6, 3 rows -> 3 * 2) above
    # and below a pixel
    assert rows.chain_reach(kernels, opts) == 3 * 6 // 2 + 3 * 2 // 2
    assert rows.chain_reach((load_kernel("box:size=4"),), opts) == 5  # span 10: 4 up, 5 down
    assert rows.band_rows(4096, 3, 24) == 96  # the 32-row floor overridden by 4 x reach
    assert rows.band_rows(4096, 3, 2) == 32
    monkeypatch.setattr(rows, "BAND_SAMPLES", 1 << 21)
    assert rows.band_rows(16384, 3, 6) == 42  # 2**21 samples: memory does not grow with W


def test_bands_reach_exactly_far_enough(monkeypatch):
    """Even kernels see one row more on one side: bands with the exact reach still give
    the whole frame's bits (a reach one row short would not)."""
    frame = RNG.integers(0, 256, (300, 40, 3), dtype=np.uint8)
    opts = FilterOptions.from_kwargs(dilation=(3, 1))
    monkeypatch.setattr(rows, "BAND_SAMPLES", 40 * 40 * 3)
    real = rows.chain_reach
    for spec in ("box:size=4", "box:size=5"):
        chain = (load_kernel(spec), load_kernel("gaussian:sigma=1"))
        whole, _ = filter_frame(frame, chain, "RGB", opts)
        banded, _ = rows.filter_frame_by_rows(frame, chain, "RGB", opts)
        np.testing.assert_array_equal(banded, whole)
        monkeypatch.setattr(rows, "chain_reach", lambda *a: real(*a) - 1)
        short, _ = rows.filter_frame_by_rows(frame, chain, "RGB", opts)
        monkeypatch.setattr(rows, "chain_reach", real)
        assert not np.array_equal(short, whole)


@pytest.mark.parametrize("chain", [("gaussian:sigma=2",), ("random_fft",)])
def test_bands_identical_for_any_thread_count(chain):
    """Bands run in parallel: the result's bits do not depend on how many threads run
    them, with the FFT too (a band's blocks depend on the image, not on the threads)."""
    from convcli.engine._strips import engine_settings
    from convcli.kernels._kernel import Kernel

    if chain == ("random_fft",):  # large and full rank: the planner picks the FFT
        kernels = (Kernel("random", RNG.standard_normal((15, 15)) / 15),)
    else:
        kernels = tuple(load_kernel(spec) for spec in chain)
    frame = RNG.integers(0, 256, (700, 31, 3), dtype=np.uint8)
    opts = FilterOptions.from_kwargs(output_map="abs")
    results = []
    for threads in (1, 2, 3):
        with engine_settings(threads=threads):
            results.append(rows.filter_frame_by_rows(frame, kernels, "RGB", opts)[0])
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


def test_filter_image_gives_the_command_line_samples(monkeypatch, tmp_path):
    """filter_image filters by bands as `convcli apply` does: the same samples even for a
    kernel the planner gives to the FFT (whose rounding depends on the block it runs on)."""
    from convcli import filter_image
    from convcli.batch._job import ApplyJob, apply_file
    from convcli.images import ImageData, read_image, write_image
    from convcli.kernels._kernel import Kernel

    monkeypatch.setattr(rows, "BAND_SAMPLES", 64 * 90 * 3)
    image = np.random.default_rng(1).integers(0, 256, (400, 90, 3), dtype=np.uint8)
    kernel = Kernel("random", np.random.default_rng(7).standard_normal((15, 15)) / 15 + 1 / 225)
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    write_image(ImageData([image], "RGB", "PNG"), src)
    apply_file(str(src), str(dst), ApplyJob((kernel,), FilterOptions.from_kwargs(output_map="abs")))
    ours = filter_image(image, kernel, output_map="abs")
    np.testing.assert_array_equal(ours, read_image(dst).frames[0])
    whole, _ = filter_frame(image, (kernel,), None, FilterOptions.from_kwargs(output_map="abs"))
    assert not np.array_equal(whole, ours)  # the whole frame rounds one sample otherwise
