"""Every engine method against the slow reference and against every other method; strips
and threads never change the direct and separable results (bit for bit)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import conv2d_reference, same_pads, source_index

import convcli
from convcli.engine import PADDING_MODES, prepare
from convcli.engine._padding import pad_spatial, source_indices
from convcli.engine._strips import (
    Border,
    engine_settings,
    get_threads,
    set_strip_rows,
    set_threads,
)
from convcli.errors import ParameterError

METHODS = ("direct", "separable", "fft", "gemm")
RNG = np.random.default_rng(0)


def _applies(method, weight, groups):
    return method != "separable" or weight.shape[1] == 1


@st.composite
def cases(draw, max_k=5):
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, max_k)), draw(st.integers(1, max_k))  # even sizes too
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    mode = draw(st.sampled_from(PADDING_MODES))
    same = draw(st.booleans())
    stride = (1, 1) if same else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    pad = "same" if same else (draw(st.integers(0, h + 1)), draw(st.integers(0, w + 1)))
    pads = same_pads((kh, kw), dilation) if same else (pad[0], pad[0], pad[1], pad[1])
    eh, ew = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    h, w = max(h, eh - pads[0] - pads[1]), max(w, ew - pads[2] - pads[3])
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rank = draw(st.sampled_from([1, 2, None]))  # low-rank kernels exercise separable sums
    weight = rng.standard_normal((c_out, c_in // groups, kh, kw))
    if rank is not None:
        cols = rng.standard_normal((c_out, c_in // groups, kh, rank))
        weight = cols @ rng.standard_normal((c_out, c_in // groups, rank, kw))
    return dict(
        x=rng.standard_normal((draw(st.integers(1, 2)), c_in, h, w)),
        weight=weight,
        bias=rng.standard_normal(c_out) if draw(st.booleans()) else None,
        stride=stride,
        padding=pad,
        pads=pads,
        dilation=dilation,
        groups=groups,
        mode=mode,
        strip_rows=draw(st.sampled_from([None, 1, 2, 5])),
        threads=draw(st.sampled_from([1, 2])),
    )


def _run(case, method, dtype=np.float64):
    with engine_settings(threads=case["threads"], strip_rows=case["strip_rows"]):
        return convcli.conv2d(
            case["x"].astype(dtype),
            case["weight"].astype(dtype),
            case["bias"],
            stride=case["stride"],
            padding=case["padding"],
            dilation=case["dilation"],
            groups=case["groups"],
            padding_mode=case["mode"],
            method=method,
        )


def _reference(case):
    return conv2d_reference(
        case["x"],
        case["weight"],
        case["bias"],
        case["stride"],
        case["pads"],
        case["dilation"],
        case["groups"],
        case["mode"],
    )


@settings(max_examples=60)
@given(cases(), st.sampled_from(METHODS))
def test_every_method_matches_reference_float64(case, method):
    if not _applies(method, case["weight"], case["groups"]):
        return
    got = _run(case, method)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _reference(case), rtol=1e-9, atol=1e-9)


@settings(max_examples=60)
@given(cases())
def test_every_method_agrees_with_every_other_float32(case):
    want = _reference(case)
    scale = max(1.0, float(np.abs(want).max()))
    results = {
        m: _run(case, m, np.float32)
        for m in ("auto", *METHODS)
        if _applies(m, case["weight"], case["groups"])
    }
    for method, got in results.items():
        assert got.dtype == np.float32, method
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * scale, err_msg=method)
    for a in results:
        for b in results:
            np.testing.assert_allclose(
                results[a], results[b], rtol=1e-4, atol=1e-4 * scale, err_msg=f"{a} vs {b}"
            )


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("method", METHODS)
def test_large_kernels_on_a_real_sized_strip_layout(mode, method):
    # Big enough for several strips and FFT bands, with a kernel wider than a strip.
    x = RNG.standard_normal((1, 2, 70, 45)).astype(np.float32)
    k = np.outer(np.hanning(17), np.hanning(13)) + 0.1 * np.outer(np.arange(17), np.ones(13))
    w = np.stack([k, 1 - 2 * k])[:, None].astype(np.float32)
    want = conv2d_reference(x, w, None, (1, 1), same_pads((17, 13)), (1, 1), 2, mode)
    with engine_settings(strip_rows=8):
        got = convcli.conv2d(x, w, padding="same", groups=2, padding_mode=mode, method=method)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_cross_channel_3_to_8_all_methods_agree():
    x = RNG.standard_normal((1, 3, 40, 33)).astype(np.float32)
    w = RNG.standard_normal((8, 3, 5, 5)).astype(np.float32)
    b = RNG.standard_normal(8).astype(np.float32)
    want = conv2d_reference(x, w, b, (1, 1), same_pads((5, 5)), (1, 1), 1, "reflect")
    for method in ("auto", "direct", "fft", "gemm"):
        got = convcli.conv2d(x, w, b, padding="same", padding_mode="reflect", method=method)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, err_msg=method)


# --- strips and threads: bit-identical --------------------------------------------------


@pytest.mark.parametrize("method", ["direct", "separable"])
@pytest.mark.parametrize("mode", PADDING_MODES)
def test_strip_height_and_threads_never_change_a_bit(method, mode):
    x = RNG.standard_normal((2, 3, 37, 29)).astype(np.float32)
    g = np.exp(-0.5 * (np.arange(7) - 3.0) ** 2 / 2.0)
    k = np.outer(g, g) + 0.3 * np.outer(np.sin(np.arange(7)), np.cos(np.arange(7)))  # rank 2
    w = np.stack([k, k.T, -k, 2 * k, k, k])[:, None].astype(np.float32)  # multiplier 2
    b = np.arange(6, dtype=np.float32)
    results = []
    for threads in (1, 2):
        for rows in (None, 1, 3, 8, 37):
            with engine_settings(threads=threads, strip_rows=rows):
                results.append(
                    convcli.conv2d(
                        x, w, b, padding="same", groups=3, padding_mode=mode, method=method
                    )
                )
    for got in results[1:]:
        assert np.array_equal(got, results[0])


@settings(max_examples=40)
@given(cases(max_k=4), st.sampled_from(["direct", "separable"]))
def test_bit_identical_for_any_strip_height_property(case, method):
    if not _applies(method, case["weight"], case["groups"]):
        return
    one = _run({**case, "threads": 1, "strip_rows": 1}, method, np.float32)
    other = _run(case, method, np.float32)
    assert np.array_equal(one, other)


@settings(max_examples=40)
@given(cases(max_k=4), st.sampled_from([None, 5, 37]))
def test_separable_layouts_and_chunks_give_the_same_bits(case, chunk):
    """The flat 'same' layout of the separable method (results written in place, border
    columns on the side) and the padded layout compute the same operations: same bits;
    and cutting flat runs into chunks (accumulate) changes no bit either."""
    from convcli.engine import _direct as direct
    from convcli.engine import _separable as separable

    if case["weight"].shape[1] != 1:
        return
    flat = _run(case, "separable", np.float32)
    saved = separable._flat_same_task, direct.CHUNK_SAMPLES
    try:
        separable._flat_same_task = separable._padded_task
        padded = _run(case, "separable", np.float32)
        if chunk is not None:
            separable._flat_same_task, direct.CHUNK_SAMPLES = saved[0], chunk
            np.testing.assert_array_equal(_run(case, "separable", np.float32), flat)
            np.testing.assert_array_equal(
                _run(case, "direct", np.float32),
                _run({**case, "strip_rows": 1}, "direct", np.float32),
            )
    finally:
        separable._flat_same_task, direct.CHUNK_SAMPLES = saved
    np.testing.assert_array_equal(flat, padded)


def test_flat_layout_border_columns_on_a_wide_strip(monkeypatch):
    """Chunked flat runs over several rows, every mode, a rank-2 kernel with bias: the
    border columns (computed on the side) and the interior match the reference."""
    from convcli.engine import _direct as direct

    monkeypatch.setattr(direct, "CHUNK_SAMPLES", 100)
    x = RNG.standard_normal((1, 2, 30, 41))
    w = RNG.standard_normal((2, 1, 5, 2)) @ RNG.standard_normal((2, 1, 2, 7))
    b = RNG.standard_normal(2)
    for mode in PADDING_MODES:
        got = convcli.conv2d(
            x,
            w,
            b,
            padding="same",
            dilation=(1, 2),
            groups=2,
            padding_mode=mode,
            method="separable",
        )
        want = conv2d_reference(
            x, w, b, pads=same_pads((5, 7), (1, 2)), dilation=(1, 2), groups=2, mode=mode
        )
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_threads_setting_and_environment(monkeypatch):
    set_threads(3)
    assert get_threads() == 3
    set_threads(None)
    monkeypatch.setenv("CONVCLI_THREADS", "2")
    assert get_threads() == 2
    monkeypatch.setenv("CONVCLI_THREADS", "0")
    with pytest.raises(ParameterError, match=r"CONVCLI_THREADS='0' is not a positive integer"):
        get_threads()
    monkeypatch.setenv("CONVCLI_THREADS", "many")
    with pytest.raises(ParameterError, match=r"CONVCLI_THREADS='many'"):
        get_threads()
    monkeypatch.delenv("CONVCLI_THREADS")
    assert get_threads() >= 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_threads_and_strip_rows_refuse_non_positive_ints(bad):
    with pytest.raises(ParameterError, match=r"threads must be a positive int"):
        set_threads(bad)
    with pytest.raises(ParameterError, match=r"strip rows must be a positive int"):
        set_strip_rows(bad)


# --- padding of strips --------------------------------------------------------------------


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("n", [1, 2, 5])
def test_source_indices_match_the_reference_definition(mode, n):
    positions = np.arange(-3 * n - 4, 4 * n + 5)
    got = source_indices(positions, n, mode)
    want = [source_index(int(p), n, mode) for p in positions]
    assert got.tolist() == [-1 if s is None else s for s in want]


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_padded_strip_equals_rows_of_the_whole_padded_image(mode):
    x = RNG.standard_normal((2, 6, 5))
    w = np.zeros((2, 1, 9, 13))
    geometry = prepare(x[None], w, padding=(8, 9), groups=2, padding_mode=mode)[3]
    whole = pad_spatial(x, geometry.pads, mode)
    for p0, p1 in [(0, 3), (2, 20), (7, 15), (15, 22), (0, 22)]:
        np.testing.assert_array_equal(Border(geometry).strip(x, p0, p1), whole[:, p0:p1])


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_padded_tile_equals_a_block_of_the_whole_padded_image(mode):
    """Border.tile (the FFT's tiles, and the separable method's border columns through
    Border.columns): inside the image a view, across any border the padded values."""
    x = RNG.standard_normal((2, 7, 6))
    w = np.zeros((2, 1, 9, 11))
    geometry = prepare(x[None], w, padding=(8, 9), groups=2, padding_mode=mode)[3]
    whole = pad_spatial(x, geometry.pads, mode)
    border = Border(geometry)
    hp, wp = whole.shape[-2:]
    for rows in [(0, 4), (3, 12), (8, 15), (12, hp), (0, hp), (9, 10)]:
        for cols in [(0, 3), (2, 15), (9, 14), (14, wp), (0, wp), (10, 11)]:
            np.testing.assert_array_equal(
                border.tile(x, rows, cols), whole[:, rows[0] : rows[1], cols[0] : cols[1]]
            )
        np.testing.assert_array_equal(
            border.columns(x, (rows[0] % wp, wp)),
            pad_spatial(x, (0, 0, *geometry.pads[2:]), mode)[:, :, rows[0] % wp : wp],
        )


# --- refusals -----------------------------------------------------------------------------


def test_unknown_method_is_refused_with_the_accepted_list():
    with pytest.raises(
        ParameterError,
        match=r"unknown method 'winograd'; accepted: auto, direct, separable, "
        r"fft, gemm",
    ):
        convcli.conv2d(np.zeros((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), method="winograd")


def test_separable_refuses_cross_channel_weights():
    with pytest.raises(
        ParameterError,
        match=r"method='separable' needs a per-channel weight \(C_in/groups = 1, "
        r"got 3\); use method='gemm'",
    ):
        convcli.conv2d(np.zeros((1, 3, 4, 4)), np.ones((2, 3, 3, 3)), method="separable")


def test_method_names_are_case_insensitive():
    x = RNG.standard_normal((1, 1, 6, 6))
    w = RNG.standard_normal((1, 1, 3, 3))
    np.testing.assert_array_equal(
        convcli.conv2d(x, w, method=" FFT "), convcli.conv2d(x, w, method="fft")
    )


# --- OpenCV, where installed ----------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("size", [3, 7, 31])
def test_matches_opencv_filter2d_reflect101(method, size):
    cv2 = pytest.importorskip("cv2")
    img = RNG.random((64, 80)).astype(np.float32)
    k = RNG.standard_normal((size, size)).astype(np.float32)
    want = cv2.filter2D(img, -1, k, borderType=cv2.BORDER_REFLECT_101)
    got = convcli.conv2d(
        img[None, None], k[None, None], padding="same", padding_mode="reflect", method=method
    )[0, 0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-4 * size)


def test_cli_reports_a_bad_thread_count_in_one_line(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from PIL import Image

    from convcli.cli import main

    if "apply" not in main.commands:
        pytest.skip("no 'apply' command yet")
    source = tmp_path / "in.png"
    Image.fromarray(RNG.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(source)
    monkeypatch.setenv("CONVCLI_THREADS", "zero")
    result = CliRunner().invoke(
        main, ["apply", "-k", "gaussian:sigma=2", str(source), str(tmp_path / "out.png")]
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "Error: CONVCLI_THREADS='zero' is not a positive integer; set it to e.g. 1 or 4, "
        "or unset it to use every core"
    )
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("method", METHODS)
def test_four_int_padding_is_top_bottom_left_right(mode, method):
    # Uneven padding without padding the image first (what F.pad + conv2d does in PyTorch).
    x = RNG.standard_normal((1, 2, 9, 11))
    w = RNG.standard_normal((2, 1, 4, 3))
    pads = (3, 0, 1, 4)
    got = convcli.conv2d(x, w, padding=pads, groups=2, padding_mode=mode, method=method)
    want = conv2d_reference(x, w, None, (1, 1), pads, (1, 1), 2, mode)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_four_int_padding_refuses_negative_values():
    with pytest.raises(ParameterError, match=r"padding \(left, right\) must be non-negative"):
        convcli.conv2d(np.zeros((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), padding=(1, 1, -1, 0))


def test_gemm_keeps_blas_on_one_thread_inside_and_restores_it_after_concurrent_calls():
    import threading

    threadpoolctl = pytest.importorskip("threadpoolctl")
    from convcli.engine._gemm import blas_single_threaded

    def blas_threads():
        return [
            i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"
        ]

    before = blas_threads()
    with blas_single_threaded():
        assert set(blas_threads()) <= {1}
    x = RNG.random((1, 3, 24, 24)).astype(np.float32)
    w = RNG.random((8, 3, 3, 3)).astype(np.float32)
    want = conv2d_reference(x, w)
    errors = []

    def work():
        for _ in range(20):
            got = convcli.conv2d(x, w, method="gemm")
            if not np.allclose(got, want, rtol=1e-4, atol=1e-4):
                errors.append("mismatch")

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert blas_threads() == before
