"""filter_image against independent references: SciPy, the slow loop conv, hand values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import conv2d_reference
from scipy import ndimage

from convcli import filter_image
from convcli.errors import KernelError, ParameterError
from convcli.filtering._frame import FilterOptions, filter_frame
from convcli.kernels._kernel import Kernel

RNG = np.random.default_rng(0)
SCIPY_MODE = {
    "zeros": "constant",
    "replicate": "nearest",
    "reflect": "mirror",
    "symmetric": "reflect",
    "circular": "wrap",
}


def scipy_same(plane, weight, mode):
    """'same' correlation anchored at (k - 1) // 2 as PyTorch (SciPy anchors at k // 2)."""
    origin = [(k - 1) // 2 - k // 2 for k in weight.shape]
    return ndimage.correlate(
        plane.astype(np.float64),
        weight.astype(np.float64),
        mode=SCIPY_MODE[mode],
        cval=0.0,
        origin=origin,
    )


def documented_rounding(values, top):
    return np.clip(np.rint(values), 0, top)


@settings(max_examples=60)
@given(
    h=st.integers(3, 12),
    w=st.integers(3, 12),
    c=st.sampled_from([1, 3]),
    kh=st.integers(1, 5),
    kw=st.integers(1, 5),
    mode=st.sampled_from(list(SCIPY_MODE)),
    stride=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_per_channel_matches_scipy(h, w, c, kh, kw, mode, stride, seed):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
    weight = rng.standard_normal((kh, kw))
    got = filter_image(img, weight, padding_mode=mode, stride=stride)
    want = np.stack([scipy_same(img[..., i], weight, mode) for i in range(c)], axis=-1)
    want = documented_rounding(want[::stride, ::stride], 255)
    assert got.shape == (-(-h // stride), -(-w // stride), c)  # ceil(H / stride)
    assert np.abs(got.astype(int) - want).max() <= 1  # float32 vs float64 at a .5 tie


def test_strided_same_is_stride_one_sampled():
    img = RNG.integers(0, 65536, (11, 8, 3), dtype=np.uint16)
    k = RNG.random((4, 3))
    full = filter_image(img, k, output_map="normalize")
    for s in (2, 3):
        strided = filter_image(img, k, stride=s, output_map="clip")
        assert np.array_equal(strided, filter_image(img, k)[::s, ::s])
    assert full.dtype == np.uint16


def test_dilation_and_explicit_padding_against_loop_reference():
    img = RNG.random((9, 10)).astype(np.float32)
    k = RNG.standard_normal((3, 2))
    got = filter_image(
        img, k, padding=(2, 1), stride=(2, 1), dilation=(2, 3), padding_mode="circular"
    )
    want = conv2d_reference(
        img[None, None],
        k[None, None],
        stride=(2, 1),
        pads=(2, 2, 1, 1),
        dilation=(2, 3),
        mode="circular",
    )[0, 0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    valid = filter_image(img, k, padding="valid")
    assert valid.shape == (7, 9)


def test_cross_mode_is_expanded_weight():
    img = RNG.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    k = RNG.random((3, 3)) / 9
    got = filter_image(img, k, channel_mode="cross", padding_mode="replicate")
    x = np.moveaxis(img, 2, 0)[None].astype(np.float64)
    weight = np.broadcast_to(k, (3, 3, 3, 3))  # weight.expand(C, C, kH, kW)
    want = conv2d_reference(x, weight, pads=(1, 1, 1, 1), mode="replicate")[0]
    want = documented_rounding(np.moveaxis(want, 0, 2), 255)
    assert np.abs(got.astype(int) - want).max() <= 1
    assert np.array_equal(got[..., 0], got[..., 2])


def test_four_d_kernel_with_bias_and_layouts():
    img = RNG.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    weight = RNG.standard_normal((1, 3, 3, 3)) / 4
    bias = np.array([100.0])  # grey levels; the kernel's bias is in full scale (0..1)
    k = Kernel("gray3", weight, bias=bias / 255)
    out, layout = filter_frame(img, (k,), "RGB", FilterOptions())
    x = np.moveaxis(img, 2, 0)[None].astype(np.float64)
    want = conv2d_reference(x, weight, bias, pads=(1, 1, 1, 1), mode="reflect")[0, 0]
    assert layout == "L" and out.shape == (5, 6, 1)
    assert np.abs(out[..., 0].astype(int) - documented_rounding(want, 255)).max() <= 1
    for c_out, expected in ((3, "RGB"), (4, "RGBA"), (5, "")):
        k = Kernel("k", np.ones((c_out, 3, 1, 1)) / 3)
        assert filter_frame(img, (k,), "RGB", FilterOptions())[1] == expected
    grouped = Kernel("g", np.ones((3, 1, 1, 1)) * 2, groups=3)
    assert np.array_equal(filter_image(img // 4, grouped), (img // 4) * 2)


def test_four_d_channel_mismatch_says_why():
    rgba = np.zeros((4, 4, 4), np.uint8)
    k = Kernel("x.npy", np.ones((3, 3, 1, 1)))
    with pytest.raises(
        KernelError,
        match=r"^kernel 'x.npy' expects 3 input channels but "
        r"the image has 4 \(RGBA\); use --alpha preserve to filter only the "
        r"colour channels$",
    ):
        filter_image(rgba, k)
    # with alpha preserved the colour channels fit and alpha is kept
    out = filter_image(rgba, k, alpha="preserve")
    assert out.shape == (4, 4, 4)
    with pytest.raises(
        KernelError,
        match=r"expects 4 input channels but the image has 3 "
        r"\(RGB\); use --alpha channel",
    ):
        filter_image(rgba, Kernel("k4", np.ones((3, 4, 1, 1))), alpha="preserve")


@pytest.mark.parametrize(
    "how,fn",
    [
        ("magnitude", lambda a, b: np.hypot(a, b)),
        ("max", np.maximum),
        ("min", np.minimum),
        ("sum", np.add),
        ("mean", lambda a, b: (a + b) / 2),
    ],
)
def test_banks_combine_members(how, fn):
    img = RNG.integers(0, 256, (8, 8), dtype=np.uint8)
    gx = np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    members = (Kernel("gx", gx), Kernel("gy", gx.T, scale=0.5))
    bank = Kernel("bank", gx, members=members, combine=how)
    got = filter_image(img, bank, output_map="abs", padding_mode="symmetric")
    a = scipy_same(img, gx, "symmetric")
    b = 0.5 * scipy_same(img, gx.T, "symmetric")
    want = documented_rounding(np.abs(fn(a, b)), 255)
    assert np.abs(got.astype(int) - want).max() <= 1


def test_normalize_default_override_and_refusal():
    img = np.full((4, 4), 10, np.uint8)
    k = Kernel("ones", np.ones((3, 3)), normalize=True)
    assert (filter_image(img, k) == 10).all()
    assert (filter_image(img, k, normalize=False) == 90).all()
    assert (filter_image(img, Kernel("o", np.ones((3, 3))), normalize=True) == 10).all()
    with pytest.raises(KernelError, match=r"kernel 'zs' sums to 0 and cannot be normalized"):
        filter_image(img, Kernel("zs", np.array([[1.0, -1.0]])), normalize=True)


def test_chain_rounds_once_and_applies_kernel_affine():
    img = np.full((3, 3), 1, np.uint8)
    halve, double = np.array([[0.5]]), np.array([[2.0]])
    assert (filter_image(img, [halve, double]) == 1).all()  # rounding twice would give 0
    # offsets are in full scale (1.0 = 255 at 8 bits)
    k = Kernel("k", np.array([[1.0]]), scale=3.0, offset=5.0 / 255)
    assert (filter_image(img, k, scale=2.0, offset=-1.0 / 255) == 2 * (3 * 1 + 5) - 1).all()


def test_depth_changes_are_exact():
    img8 = np.array([[0, 1, 128, 255]], np.uint8)
    ident = np.array([[1.0]])
    assert filter_image(img8, ident, depth="16").tolist() == [[0, 257, 32896, 65535]]
    f = filter_image(img8, ident, depth="32f")
    assert f.dtype == np.float32 and np.allclose(f, img8 / 255)
    img16 = np.array([[0, 257, 32896, 65535, 128]], np.uint16)
    assert filter_image(img16, ident, depth="8").tolist() == [[0, 1, 128, 255, 0]]
    assert filter_image(img16, ident).dtype == np.uint16


def test_float_output_is_not_clipped_and_int32_keeps_range():
    img = np.array([[0.0, 1.0, 0.0]], np.float32)
    out = filter_image(img, np.array([[-1.0, 0.0, 1.0]]), padding_mode="zeros")
    assert out.tolist() == [[1.0, 0.0, -1.0]] and out.dtype == np.float32
    big = np.array([[2**31 - 2, 3]], np.int32)
    assert filter_image(big, np.array([[1.0]])).tolist() == [[2**31 - 2, 3]]


def test_output_maps_on_an_edge_filter():
    ramp = np.tile(np.array([0, 10, 20, 60], np.uint8), (2, 1))
    k = np.array([[-1.0, 0.0, 1.0]])
    # replicate: responses 10, 20, 50, 40
    assert filter_image(ramp, -k, padding_mode="replicate").tolist()[0] == [0, 0, 0, 0]
    assert filter_image(ramp, -k, padding_mode="replicate", output_map="abs").tolist()[0] == [
        10,
        20,
        50,
        40,
    ]
    assert filter_image(ramp, -k, padding_mode="replicate", output_map="offset").tolist()[0] == [
        118,
        108,
        78,
        88,
    ]
    assert filter_image(ramp, k, padding_mode="replicate", output_map="normalize").tolist()[0] == [
        0,
        64,
        255,
        191,
    ]
    flat = np.full((3, 3), 7, np.uint8)
    assert (filter_image(flat, k, output_map="normalize") == 0).all()  # constant -> 0


def test_round_half_to_even():
    img = np.array([[1, 3, 5]], np.uint8)
    assert filter_image(img, np.array([[0.5]])).tolist() == [[0, 2, 2]]


# --- alpha ----------------------------------------------------------------------------


def disc_rgba(size=21, radius=6):
    yy, xx = np.mgrid[:size, :size] - size // 2
    inside = (yy**2 + xx**2) <= radius**2
    img = np.zeros((size, size, 4), np.uint8)
    img[inside] = (255, 40, 0, 255)
    return img


def test_premultiply_blur_has_no_dark_fringe():
    img = disc_rgba()
    box = np.ones((5, 5)) / 25
    out = filter_image(img, box)
    alpha = out[..., 3]
    soft = (alpha > 0) & (alpha < 255)
    assert soft.sum() > 40  # a real soft edge
    # colour stays the disc's colour wherever anything is left: no darkening
    assert np.abs(out[alpha > 0][:, :3].astype(int) - [255, 40, 0]).max() <= 1
    assert (out[alpha == 0][:, :3] == 0).all()  # where alpha is 0, colour is 0
    np.testing.assert_allclose(
        alpha, documented_rounding(scipy_same(img[..., 3], box, "reflect"), 255), atol=1
    )
    # filtering alpha as a channel darkens the edge: the fringe premultiply avoids
    naive = filter_image(img, box, alpha="channel")
    assert naive[soft][:, 0].min() < 200


def test_preserve_keeps_alpha_and_filters_colour():
    img = RNG.integers(0, 256, (7, 9, 4), dtype=np.uint8)
    k = RNG.random((3, 3))
    out = filter_image(img, k, alpha="preserve")
    assert np.array_equal(out[..., 3], img[..., 3])
    assert np.array_equal(out[..., :3], filter_image(img[..., :3], k))
    strided = filter_image(img, k, alpha="preserve", stride=2)
    assert np.array_equal(strided[..., 3], img[::2, ::2, 3])


def test_channel_mode_treats_alpha_as_a_channel():
    img = RNG.integers(0, 256, (6, 6, 2), dtype=np.uint8)
    k = RNG.random((3, 3)) / 4
    out = filter_image(img, k, alpha="channel")
    for c in range(2):
        assert np.array_equal(out[..., c], filter_image(img[..., c], k))


def test_alpha_defaults_and_premultiply_refusals():
    img = disc_rgba()
    sobel = Kernel("sobel-x", np.array([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]))
    # a zero-sum kernel cannot premultiply: the default preserves alpha
    assert np.array_equal(filter_image(img, sobel)[..., 3], img[..., 3])
    with pytest.raises(
        ParameterError,
        match=r"^--alpha premultiply needs blur-like 2-D kernels "
        r"but the weights of kernel 'sobel-x' sum to 0 \(alpha would vanish\); "
        r"use --alpha preserve or --alpha channel$",
    ):
        filter_image(img, sobel, alpha="premultiply")
    k4 = Kernel("l.npy", np.ones((4, 4, 1, 1)) / 4)
    assert filter_image(img, k4).shape == (21, 21, 4)  # 4-D: alpha is a channel by default


def test_premultiply_in_cross_mode_and_cmyk_layout():
    img = disc_rgba()
    out = filter_image(img, np.ones((3, 3)) / 9, channel_mode="cross")
    opaque = out[..., 3] == 255
    assert (out[opaque][:, 0] == 255).all()  # 255 + 40 + 0, clipped
    cmyk = RNG.integers(0, 256, (5, 5, 4), dtype=np.uint8)
    got, layout = filter_frame(cmyk, (Kernel("b", np.ones((3, 3)) / 9),), "CMYK", FilterOptions())
    assert layout == "CMYK"
    assert np.array_equal(got[..., 3], filter_image(cmyk[..., 3], np.ones((3, 3)) / 9))


# --- options and errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    "options,message",
    [
        ({"stride": 0}, r"^stride must be positive, got 0$"),
        ({"padding": "full"}, r"^padding 'full' is not understood; accepted: same, valid$"),
        ({"alpha": "straight"}, r"accepted: premultiply, preserve, channel$"),
        ({"output_map": "wrap"}, r"accepted: clip, abs, normalize, offset$"),
        ({"depth": "12"}, r"^depth '12' is not understood; accepted: 8, 16, 32f$"),
        ({"padding_mode": "mirror"}, r"'mirror' is ambiguous"),
        ({"scale": float("nan")}, r"^scale must be a finite number"),
    ],
)
def test_invalid_options_name_the_value(options, message):
    with pytest.raises(ParameterError, match=message):
        filter_image(np.zeros((3, 3), np.uint8), np.ones((1, 1)), **options)


def test_an_unknown_option_is_refused_by_name():
    with pytest.raises(TypeError, match="unexpected keyword argument 'sigma'"):
        filter_image(np.zeros((3, 3), np.uint8), np.ones((1, 1)), sigma=2)
    with pytest.raises(ParameterError, match=r"^unknown filter option\(s\) sigma; accepted: "):
        FilterOptions.from_kwargs(sigma=2)


def test_shape_and_layout_errors():
    with pytest.raises(ParameterError, match=r"must be \(H, W\) or \(H, W, C\)"):
        filter_image(np.zeros(5), np.ones((1, 1)))
    with pytest.raises(
        ParameterError,
        match=r"^layout 'RGB' names 3 channels but the image "
        r"has 4$",
    ):
        filter_image(np.zeros((2, 2, 4)), np.ones((1, 1)), layout="RGB")
    with pytest.raises(KernelError, match=r"^kernel 'array': weight has 3 dimensions"):
        filter_image(np.zeros((2, 2)), np.ones((1, 1, 1)))
    with pytest.raises(ParameterError, match=r"no kernel given"):
        filter_image(np.zeros((2, 2)), [])


def test_deterministic():
    img = RNG.integers(0, 256, (16, 16, 4), dtype=np.uint8)
    k = RNG.random((5, 5))
    a = filter_image(img, [k, k.T], normalize=True)
    b = filter_image(img.copy(), [k, k.T], normalize=True)
    assert a.tobytes() == b.tobytes()


def test_spec_strings_use_the_registry():
    img = RNG.integers(0, 256, (9, 9, 3), dtype=np.uint8)
    from convcli.kernels import load_kernel

    assert np.array_equal(filter_image(img, "box"), filter_image(img, load_kernel("box")))


def test_pytorch_agrees_when_installed():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    img = RNG.integers(0, 256, (13, 10, 3), dtype=np.uint8)
    x = torch.from_numpy(np.moveaxis(img, 2, 0)[None].astype(np.float64))
    # a 4-D layer with bias, stride 2 and PyTorch's 'same' padding split (extra at the end);
    # the bias is in full scale, as the layer sees ToTensor() input (x / 255)
    weight, bias = RNG.standard_normal((3, 3, 4, 3)) / 6, RNG.standard_normal(3) / 12
    got = filter_image(img, Kernel("layer", weight, bias=bias), stride=2)
    padded = F.pad(x / 255, (1, 1, 1, 2), mode="reflect")  # (left, right, top, bottom)
    want = F.conv2d(padded, torch.from_numpy(weight), torch.from_numpy(bias), stride=2)
    want = np.clip(np.rint(np.moveaxis(want[0].numpy(), 0, 2) * 255), 0, 255)
    assert got.shape == (7, 5, 3) and np.abs(got.astype(int) - want).max() <= 1
    # cross mode is weight.expand(C, C, kH, kW)
    k = RNG.random((3, 3)) / 9
    got = filter_image(img, k, channel_mode="cross", padding_mode="circular", output_map="clip")
    w = torch.from_numpy(k)[None, None].expand(3, 3, 3, 3)
    want = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="circular"), w)
    want = np.clip(np.rint(np.moveaxis(want[0].numpy(), 0, 2)), 0, 255)
    assert np.abs(got.astype(int) - want).max() <= 1


# --- properties -----------------------------------------------------------------------


@settings(max_examples=80)
@given(
    values=st.lists(
        st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=20
    ),
    dtype=st.sampled_from([np.uint8, np.uint16, np.int32]),
    how=st.sampled_from(["clip", "abs", "normalize", "offset"]),
)
def test_map_output_always_lands_in_range(values, dtype, how):
    from convcli.filtering._levels import map_output, max_value

    finite = np.nan_to_num(np.array(values, np.float64), nan=0.0)
    with np.errstate(invalid="ignore", over="ignore"):
        out = map_output(np.array(values, np.float32), dtype, how)
    assert out.dtype == dtype and out.shape == (len(values),)
    assert out.min() >= 0 and out.max() <= max_value(dtype)
    if how == "clip" and np.isfinite(finite).all():
        assert np.array_equal(out, np.clip(np.rint(finite), 0, max_value(dtype)).astype(dtype))


@settings(max_examples=60)
@given(
    shape=st.tuples(st.integers(1, 6), st.integers(1, 6), st.sampled_from([1, 2, 3, 4])),
    dtype=st.sampled_from([np.uint8, np.uint16, np.int32, np.float32]),
    alpha=st.sampled_from([None, "premultiply", "preserve", "channel"]),
    mode=st.sampled_from(list(SCIPY_MODE)),
    seed=st.integers(0, 2**32 - 1),
)
def test_identity_kernel_returns_the_input(shape, dtype, alpha, mode, seed):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        img = rng.random(shape, dtype=np.float32)
    else:
        img = rng.integers(0, min(np.iinfo(dtype).max, 2**20), shape, dtype=dtype)
    out = filter_image(img, np.ones((1, 1)), alpha=alpha, padding_mode=mode)
    assert out.dtype == img.dtype
    if alpha in (None, "premultiply") and shape[2] in (2, 4):
        # premultiplied and back: colour kept where visible, 0 where alpha is 0
        visible = img[..., -1] > 0
        assert np.array_equal(out[..., -1], img[..., -1])
        assert (out[~visible][..., :-1] == 0).all()
        np.testing.assert_allclose(out[visible], img[visible], rtol=1e-6)
        return
    assert np.array_equal(out, img)
