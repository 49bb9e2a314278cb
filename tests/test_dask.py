"""convcli.engine.dask.conv2d on chunked dask arrays against the in-memory conv2d and the slow loop."""

from __future__ import annotations

import re

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from reference import conv2d_reference, same_pads  # noqa: E402
from test_conv2d import conv_cases  # noqa: E402

import convcli  # noqa: E402
from convcli.engine import PADDING_MODES  # noqa: E402
from convcli.engine.dask import conv2d  # noqa: E402
from convcli.errors import ParameterError  # noqa: E402

# float64 tolerance: blocks may take another method (FFT, GEMM) than the whole array would.
TOL = 1e-10

# Chunkings of a (2, 4, 11, 13) input: both spatial axes split, irregularly, and into
# chunks smaller than the kernels' halo; the channels split too.
CHUNKINGS = [
    (1, 4, 4, 5),
    (2, 1, (3, 3, 5), (6, 1, 6)),
    (1, 2, 1, 2),
    (2, 4, 11, 13),
]

# (kernel size, stride, padding, dilation, groups, bias?)
CASES = [
    ((3, 3), 1, "same", 1, 1, True),
    ((2, 4), 1, "same", 1, 2, False),  # even kernel: the extra row/column at the bottom/right
    ((4, 3), (2, 3), 2, 1, 4, True),  # depthwise, stride
    ((3, 2), 2, (3, 1), (2, 3), 2, True),  # dilation and stride together
    ((5, 5), 1, 0, 1, 1, False),
    ((1, 1), 3, "valid", 1, 1, True),
]


def _data(shape=(2, 4, 11, 13), ksize=(3, 3), groups=1, c_out=4, dtype=np.float64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((c_out, shape[-3] // groups, *ksize)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    return x, w, b


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("chunks", CHUNKINGS, ids=str)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_equals_in_memory_conv2d(mode, chunks, case):
    ksize, stride, padding, dilation, groups, with_bias = case
    x, w, b = _data(ksize=ksize, groups=groups)
    b = b if with_bias else None
    want = convcli.conv2d(x, w, b, stride, padding, dilation, groups, mode)
    got = conv2d(da.from_array(x, chunks=chunks), w, b, stride, padding, dilation, groups, mode)
    assert isinstance(got, da.Array)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got.compute(scheduler="sync"), want, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_global_borders_against_slow_reference(mode):
    # A different reference than the engine: explicit loops with index arithmetic.
    x, w, b = _data(shape=(1, 2, 9, 10), ksize=(3, 4), c_out=3)
    pads = same_pads((3, 4), (2, 1))
    got = conv2d(
        da.from_array(x, chunks=(1, 1, 2, 3)),
        w,
        b,
        padding="same",
        dilation=(2, 1),
        padding_mode=mode,
    ).compute(scheduler="sync")
    want = conv2d_reference(x, w, b, (1, 1), pads, (2, 1), 1, mode)
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_padding_larger_than_the_image(mode):
    x, w, b = _data(shape=(1, 2, 3, 2), ksize=(3, 2), c_out=2)
    got = conv2d(
        da.from_array(x, chunks=(1, 1, 1, 1)),
        w,
        b,
        stride=(2, 1),
        padding=(7, 5),
        padding_mode=mode,
    )
    want = conv2d_reference(x, w, b, (2, 1), (7, 7, 5, 5), (1, 1), 1, mode)
    assert got.shape == want.shape == (1, 2, 8, 11)
    np.testing.assert_allclose(got.compute(scheduler="sync"), want, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_single_pixel_axis(mode):
    x, w, _ = _data(shape=(1, 1, 1, 6), ksize=(3, 3), c_out=1)
    got = conv2d(da.from_array(x, chunks=(1, 1, 1, 2)), w, padding=1, padding_mode=mode)
    want = conv2d_reference(x, w, None, (1, 1), (1, 1, 1, 1), (1, 1), 1, mode)
    np.testing.assert_allclose(got.compute(scheduler="sync"), want, rtol=TOL, atol=TOL)


@pytest.mark.parametrize(
    "alias, mode",
    [("constant", "zeros"), ("edge", "replicate"), ("nearest", "replicate"), ("wrap", "circular")],
)
def test_aliases(alias, mode):
    x, w, _ = _data(ksize=(3, 3))
    xd = da.from_array(x, chunks=(1, 4, 5, 5))
    got = conv2d(xd, w, padding=2, padding_mode=alias).compute(scheduler="sync")
    want = convcli.conv2d(x, w, padding=2, padding_mode=mode)
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)


def test_blocks_really_split_and_halo_smaller_chunks_are_merged():
    x, w, _ = _data(shape=(1, 1, 40, 40), ksize=(5, 5), c_out=1)
    got = conv2d(
        da.from_array(x, chunks=(1, 1, 2, 10)),
        w,
        padding="same",
        dilation=2,
        padding_mode="reflect",
    )
    # Extent 9: blocks of >= 8 rows; the 10-column chunks stay as they are.
    assert got.numblocks[2] > 1 and got.numblocks[3] == 4
    assert min(got.chunks[2][:-1]) >= 8
    np.testing.assert_allclose(
        got.compute(scheduler="sync"),
        convcli.conv2d(x, w, padding="same", dilation=2, padding_mode="reflect"),
        rtol=TOL,
        atol=TOL,
    )


def test_stride_keeps_chunk_alignment():
    x, w, _ = _data(shape=(1, 1, 30, 30), ksize=(3, 3), c_out=1)
    got = conv2d(da.from_array(x, chunks=(1, 1, 7, 10)), w, stride=3, padding=1)
    # Rows: input boundaries 7, 14, 21, 28 are 8, 15, 22, 29 after the padding, moved down
    # to multiples of 3: blocks [0, 6), [6, 15), [15, 21), [21, 27), [27, 30) of the 30
    # padded rows the 10 windows use. Each block gives the outputs whose windows start in
    # it. Columns: 10, 20 -> 11, 21 -> 9, 21: blocks of 9, 12, 9 columns.
    assert got.chunks[2] == (2, 3, 2, 2, 1) and got.chunks[3] == (3, 4, 3)
    np.testing.assert_allclose(
        got.compute(scheduler="sync"), convcli.conv2d(x, w, stride=3, padding=1), rtol=TOL, atol=TOL
    )


def test_unbatched_input_gives_unbatched_output():
    x, w, b = _data(shape=(3, 8, 9), ksize=(3, 3), groups=3, c_out=6)
    got = conv2d(
        da.from_array(x, chunks=(1, 3, 4)), w, b, padding="same", groups=3, padding_mode="circular"
    )
    want = convcli.conv2d(x, w, b, padding="same", groups=3, padding_mode="circular")
    assert got.shape == want.shape == (6, 8, 9)
    np.testing.assert_allclose(got.compute(scheduler="sync"), want, rtol=TOL, atol=TOL)


@pytest.mark.parametrize(
    "dtype, working",
    [
        (np.uint8, np.float32),
        (np.int16, np.float32),
        (np.float32, np.float32),
        (np.float64, np.float64),
        (np.bool_, np.float32),
    ],
)
def test_dtypes_as_in_memory(dtype, working):
    rng = np.random.default_rng(0)
    x = (rng.random((1, 2, 9, 9)) * 100).astype(dtype)
    w = rng.standard_normal((2, 2, 3, 3)).astype(np.float32)
    got = conv2d(da.from_array(x, chunks=(1, 1, 4, 4)), w, padding=1, padding_mode="symmetric")
    assert got.dtype == working
    np.testing.assert_allclose(
        got.compute(scheduler="sync"),
        convcli.conv2d(x, w, padding=1, padding_mode="symmetric"),
        rtol=1e-5,
        atol=1e-4,
    )


@pytest.mark.parametrize("method", ["direct", "separable", "fft", "gemm"])
@pytest.mark.parametrize("mode", ["reflect", "zeros"])
def test_every_method(method, mode):
    groups = 4 if method == "separable" else 2  # separable needs per-channel weights
    x, w, b = _data(ksize=(5, 4), groups=groups)
    options = dict(padding="same", padding_mode=mode, groups=groups, method=method)
    got = conv2d(da.from_array(x, chunks=(1, 4, 4, 6)), w, b, **options)
    want = convcli.conv2d(x, w, b, **options)
    got = got.compute(scheduler="sync")
    if method in ("direct", "separable"):  # the same operations per sample: the same bits
        assert got.tobytes() == want.tobytes()
    else:
        np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)


def test_numpy_input_is_accepted():
    x, w, _ = _data(ksize=(3, 3))
    got = conv2d(x, w, padding=1, padding_mode="reflect")
    assert isinstance(got, da.Array)
    np.testing.assert_allclose(
        got.compute(scheduler="sync"),
        convcli.conv2d(x, w, padding=1, padding_mode="reflect"),
        rtol=TOL,
        atol=TOL,
    )


def test_deterministic_across_schedulers():
    x, w, b = _data(ksize=(3, 3))
    y = conv2d(da.from_array(x, chunks=(1, 2, 4, 5)), w, b, padding=2, padding_mode="reflect")
    sync = y.compute(scheduler="sync")
    assert sync.tobytes() == y.compute(scheduler="threads").tobytes()
    assert sync.tobytes() == y.compute(scheduler="sync").tobytes()


def test_building_the_graph_computes_nothing():
    def boom():
        raise AssertionError("the input was computed while building the graph")

    lazy = da.from_delayed(dask.delayed(boom)(), shape=(1, 1, 50, 50), dtype=np.uint16)
    y = conv2d(lazy, np.ones((1, 1, 3, 3)), padding="same", padding_mode="reflect")
    assert y.shape == (1, 1, 50, 50) and y.dtype == np.float32
    with pytest.raises(AssertionError, match="was computed"):
        y.compute(scheduler="sync")


BAD_CALLS = [
    dict(shape=(4, 11, 13, 1, 1)),
    dict(shape=(4, 11)),
    dict(weight_shape=(4, 3, 3)),
    dict(groups=3),
    dict(groups=0),
    dict(weight_shape=(4, 3, 3, 3)),
    dict(bias=np.ones(3)),
    dict(stride=0),
    dict(stride=(1, 2, 3)),
    dict(dilation=-1),
    dict(padding="same", stride=2),
    dict(padding="full"),
    dict(padding=-1),
    dict(padding_mode="mirror"),
    dict(padding_mode="bogus"),
    dict(weight_shape=(4, 4, 20, 3)),
    dict(dtype=np.complex128),
    dict(weight_shape=(4, 4, 0, 3)),
    dict(method="bogus"),
    dict(method="separable"),  # cross-channel weight
]


@pytest.mark.parametrize("bad", BAD_CALLS, ids=lambda d: ",".join(sorted(d)))
def test_errors_identical_to_in_memory(bad):
    bad = dict(bad)
    shape = bad.pop("shape", (2, 4, 11, 13))
    dtype = bad.pop("dtype", np.float64)
    x = np.zeros(shape, dtype=dtype)
    w = np.ones(bad.pop("weight_shape", (4, 4, 3, 3)))
    with pytest.raises(ParameterError) as memory:
        convcli.conv2d(x, w, **bad)
    with pytest.raises(ParameterError, match=re.escape(str(memory.value)) + "$"):
        conv2d(da.from_array(x, chunks=2), w, **bad)


def test_unknown_chunk_sizes_refused():
    x = da.arange(100.0).reshape(1, 1, 10, 10)
    rows = x[:, :, x[0, 0, :, 0] > 30]
    with pytest.raises(ParameterError, match=r"unknown sizes; call array\.compute_chunk_sizes"):
        conv2d(rows, np.ones((1, 1, 3, 3)))


def test_dask_boundary_names_are_not_convcli_names():
    # Why convcli.engine.dask pads itself: dask's 'reflect' repeats the edge sample (convcli's
    # 'symmetric'), 'periodic' is 'circular' and 'nearest' is 'replicate'.
    x = da.from_array(np.arange(6.0), chunks=3)
    for boundary, np_mode in [("reflect", "symmetric"), ("periodic", "wrap"), ("nearest", "edge")]:
        got = x.map_overlap(lambda a: a, depth=2, boundary=boundary, trim=False)
        padded = got.compute(scheduler="sync")
        want = np.pad(np.arange(6.0), 2, mode=np_mode)
        np.testing.assert_array_equal(padded[:2], want[:2])
        np.testing.assert_array_equal(padded[-2:], want[-2:])


@settings(max_examples=60)
@given(conv_cases(), st.data())
def test_property_equals_in_memory(case, data):
    # The engine's own generator of valid conv2d calls, with a random chunking on top.
    chunks = tuple(
        data.draw(st.integers(1, size), label=f"chunk{axis}")
        for axis, size in enumerate(case["x"].shape)
    )
    args = (
        case["weight"],
        case["bias"],
        case["stride"],
        case["padding"],
        case["dilation"],
        case["groups"],
        case["mode"],
    )
    want = convcli.conv2d(case["x"], *args)
    got = conv2d(da.from_array(case["x"], chunks=chunks), *args)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.compute(scheduler="sync"), want, rtol=TOL, atol=TOL)


def test_blocks_run_on_one_engine_thread_without_touching_other_threads(monkeypatch):
    import threading

    from convcli import parallel
    from convcli.engine import _strips as strips

    seen = []
    real = parallel.get_threads

    def spy():
        seen.append(real())
        return seen[-1]

    monkeypatch.setattr(strips, "get_threads", spy)
    monkeypatch.setattr(parallel, "get_threads", spy)  # run_tasks asks it for every call
    x = da.from_array(
        np.random.default_rng(0).random((1, 2, 64, 64), dtype=np.float32), chunks=(1, 2, 32, 32)
    )
    w = np.ones((2, 1, 3, 3), np.float32)
    conv2d(x, w, padding="same", groups=2).compute(scheduler="threads")
    assert seen and set(seen) == {1}
    # the override is per thread: another thread still sees the process-wide setting
    with parallel.threads_in_this_thread(1):
        other = []
        t = threading.Thread(target=lambda: other.append(real()))
        t.start()
        t.join()
    assert other == [real()]
