"""Linear light and lightness: the sRGB curves, L*a*b*, and filter_image(linear=, channels=),
against references written here from the published formulas (float64, scalar loops)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import convcli.filtering._bands as rows
from convcli import filter_image
from convcli.errors import ParameterError
from convcli.filtering._colour import (
    D65_WHITE,
    decode_table,
    lab_to_linear_rgb,
    linear_rgb_to_lab,
    linear_to_srgb,
    srgb_to_linear,
)
from convcli.filtering._frame import FilterOptions, filter_frame
from convcli.kernels import load_kernel

RNG = np.random.default_rng(0)


# ---- independent references (IEC 61966-2-1 and CIE 15 as printed) --------------------


def ref_decode(v: float) -> float:
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def ref_encode(x: float) -> float:
    return 12.92 * x if x <= 0.0031308 else 1.055 * x ** (1 / 2.4) - 0.055


# the 4-decimal matrix printed in IEC 61966-2-1 and its white (row sums)
IEC_MATRIX = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)


def ref_lab(rgb8) -> tuple[float, float, float]:
    lin = [ref_decode(c / 255) for c in rgb8]
    xyz = IEC_MATRIX @ lin
    white = IEC_MATRIX.sum(axis=1)

    def f(t):
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29

    fx, fy, fz = (f(v / w) for v, w in zip(xyz, white, strict=True))
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def ref_gaussian(sigma: float) -> np.ndarray:
    radius = math.ceil(3 * sigma)
    g = np.array([math.exp(-(k * k) / (2 * sigma * sigma)) for k in range(-radius, radius + 1)])
    return g / g.sum()


def ref_blur(planes: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian correlation of (..., H, W) float64 planes, reflect padding."""
    g = ref_gaussian(sigma)
    r = len(g) // 2
    out = planes.astype(np.float64)
    for axis in (-2, -1):
        width = [(0, 0)] * out.ndim
        width[axis] = (r, r)
        padded = np.pad(out, width, mode="reflect")
        n = out.shape[axis]
        out = sum(g[k] * np.take(padded, range(k, k + n), axis=axis) for k in range(len(g)))
    return out


# ---- the curves ----------------------------------------------------------------------


def test_curves_at_the_breakpoints():
    assert srgb_to_linear(np.float64(0.04045)) == pytest.approx(0.04045 / 12.92, abs=1e-15)
    just_above = np.nextafter(0.04045, 1.0)
    assert srgb_to_linear(just_above) == pytest.approx(ref_decode(just_above), rel=1e-12)
    # the two pieces meet (to the standard's 4-5 significant digits)
    assert ((0.04045 + 0.055) / 1.055) ** 2.4 == pytest.approx(0.04045 / 12.92, rel=1e-4)
    assert linear_to_srgb(np.float64(0.0031308)) == pytest.approx(12.92 * 0.0031308, abs=1e-15)
    assert linear_to_srgb(np.array([0.0, 1.0])).tolist() == [0.0, 1.0]
    assert srgb_to_linear(np.array([0.0, 1.0])).tolist() == [0.0, 1.0]


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-13), (np.float32, 5e-7)])
def test_curves_match_the_formula(dtype, tol):
    v = np.linspace(0, 1, 2001)
    dec = srgb_to_linear(v.astype(dtype))
    enc = linear_to_srgb(v.astype(dtype))
    assert dec.dtype == dtype and enc.dtype == dtype
    np.testing.assert_allclose(dec, [ref_decode(x) for x in v], atol=tol, rtol=0)
    np.testing.assert_allclose(enc, [ref_encode(x) for x in v], atol=tol, rtol=0)


def test_curves_are_odd_and_continue_above_one():
    v = np.array([0.001, 0.2, 0.9, 1.5])
    np.testing.assert_array_equal(srgb_to_linear(-v), -srgb_to_linear(v))
    np.testing.assert_array_equal(linear_to_srgb(-v), -linear_to_srgb(v))
    assert linear_to_srgb(np.float64(1.5)) == pytest.approx(ref_encode(1.5))


@pytest.mark.parametrize("levels", [256, 65536])
def test_every_level_round_trips_in_float32(levels):
    top = levels - 1
    k = np.arange(levels)
    linear = srgb_to_linear((k / top).astype(np.float32))
    back = np.rint(linear_to_srgb(linear) * np.float32(top))
    np.testing.assert_array_equal(back, k)
    table = decode_table(levels)
    np.testing.assert_allclose(table[::7], linear[::7], rtol=1e-6)
    np.testing.assert_array_equal(np.rint(linear_to_srgb(table) * top), k)


# ---- L*a*b* --------------------------------------------------------------------------

# sRGB (8-bit) -> CIE L*a*b* D65 as published (Bruce Lindbloom's calculator, EasyRGB)
PUBLISHED_LAB = {
    (255, 255, 255): (100.0, 0.0, 0.0),
    (0, 0, 0): (0.0, 0.0, 0.0),
    (255, 0, 0): (53.2408, 80.0925, 67.2032),
    (0, 255, 0): (87.7347, -86.1827, 83.1793),
    (0, 0, 255): (32.2970, 79.1875, -107.8602),
    (255, 255, 0): (97.1393, -21.5537, 94.4780),
    (0, 255, 255): (91.1132, -48.0875, -14.1312),
    (255, 0, 255): (60.3242, 98.2343, -60.8249),
}


def test_d65_white():
    # CIE D65 (x, y) = (0.3127, 0.3290): X = x / y, Z = (1 - x - y) / y
    np.testing.assert_allclose(D65_WHITE, [0.3127 / 0.329, 1.0, 0.3583 / 0.329], rtol=1e-12)
    assert D65_WHITE == pytest.approx([0.95047, 1.0, 1.08883], abs=3e-4)  # ASTM E308


@pytest.mark.parametrize("rgb, lab", PUBLISHED_LAB.items())
def test_lab_of_named_colours(rgb, lab):
    ours = linear_rgb_to_lab(srgb_to_linear(np.array(rgb) / 255.0))
    assert ours == pytest.approx(lab, abs=0.03)  # published values use ASTM's white
    assert ours == pytest.approx(ref_lab(rgb), abs=0.02)  # the standard's 4-digit matrix
    back = linear_to_srgb(lab_to_linear_rgb(ours)) * 255
    np.testing.assert_allclose(back, rgb, atol=1e-9)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-9), (np.float32, 2e-4)])
def test_lab_round_trip(dtype, tol):
    rgb = RNG.random((3, 500)).astype(dtype)
    lab = linear_rgb_to_lab(rgb)
    assert lab.dtype == dtype
    np.testing.assert_allclose(lab_to_linear_rgb(lab), rgb, atol=tol)


# ---- filter_image(linear=True) -------------------------------------------------------


def two_colour(shape=(40, 48), dtype=np.uint8):
    top = np.iinfo(dtype).max
    image = np.empty((*shape, 3), dtype)
    image[:, : shape[1] // 2] = np.round(np.array([0.9, 0.1, 0.25]) * top)
    image[:, shape[1] // 2 :] = np.round(np.array([0.05, 0.75, 0.95]) * top)
    image[shape[0] // 2 :, :, 1] //= 3  # a horizontal edge too
    return image


def ref_linear_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    top = np.iinfo(image.dtype).max
    linear = np.vectorize(ref_decode)(np.moveaxis(image, 2, 0) / top)
    blurred = ref_blur(linear, sigma)
    encoded = np.vectorize(ref_encode)(np.clip(blurred, 0, None))
    return np.moveaxis(np.clip(np.rint(encoded * top), 0, top), 0, 2)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_linear_blur_of_two_colours_matches_float64(dtype):
    image = two_colour(dtype=dtype)
    ours = filter_image(image, "gaussian:sigma=2", linear=True)
    assert ours.dtype == dtype
    ref = ref_linear_blur(image, 2.0)
    difference = np.abs(ours.astype(np.int64) - ref)
    assert difference.max() <= 1
    assert np.mean(difference == 0) > 0.99  # off by one only where float32 meets a tie
    plain = filter_image(image, "gaussian:sigma=2")
    # the point of it: the edge between the colours is brighter in linear light
    assert ours[5, 22:26].astype(int).sum() > plain[5, 22:26].astype(int).sum()


def test_sixteen_bit_has_no_banding():
    ramp = np.tile(np.linspace(0, 65535, 4000).round().astype(np.uint16), (6, 1))[..., None]
    out = filter_image(ramp, "gaussian:sigma=1", linear=True)
    assert out.dtype == np.uint16
    # no 8-bit steps anywhere (an 8-bit linear intermediate would leave under 256 values)
    assert len(np.unique(out[3])) > 3900
    assert np.abs(out.astype(int) - ref_linear_blur(ramp, 1.0)).max() <= 1


def test_default_is_unchanged():
    image = RNG.integers(0, 256, (20, 20, 3), dtype=np.uint8)
    assert FilterOptions().linear is False and FilterOptions().channels == "all"
    np.testing.assert_array_equal(
        filter_image(image, "gaussian", linear=False, channels="all"),
        filter_image(image, "gaussian"),
    )


def test_grey_is_srgb_grey():
    grey = RNG.integers(0, 256, (30, 30), dtype=np.uint8)
    as_l = filter_image(grey, "gaussian:sigma=1.5", linear=True)
    as_rgb = filter_image(np.repeat(grey[:, :, None], 3, axis=2), "gaussian:sigma=1.5", linear=True)
    np.testing.assert_array_equal(as_rgb[:, :, 0], as_l)
    ref = ref_linear_blur(grey[:, :, None], 1.5)[:, :, 0]
    assert np.abs(as_l.astype(int) - ref).max() <= 1


def test_alpha_is_premultiplied_in_linear_light():
    image = np.zeros((16, 24, 4), np.uint8)
    image[:, :12] = [255, 0, 0, 255]  # opaque red
    image[:, 12:] = [0, 255, 0, 0]  # transparent "green" must not bleed in
    image[:, 8:12, 3] = 128
    out = filter_image(image, "gaussian:sigma=1.5", linear=True)
    top = 255.0
    lin = np.vectorize(ref_decode)(image[..., :3] / top)
    a = image[..., 3] / top
    pre = ref_blur(np.moveaxis(lin * a[..., None], 2, 0), 1.5)
    a_f = ref_blur(a, 1.5)
    straight = np.where(a_f > 0, pre / np.where(a_f > 0, a_f, 1), 0)
    colour = np.vectorize(ref_encode)(np.clip(straight, 0, 1)) * top
    ref = np.concatenate([np.moveaxis(colour, 0, 2), a_f[..., None] * top], axis=2)
    ref = np.rint(ref)
    ref[a_f * top < 0.5, :3] = 0  # where alpha rounds to 0, colour is 0
    assert np.abs(out.astype(int) - ref).max() <= 1
    assert out[:, 12:14, 1].max() == 0  # no green


# ---- filter_image(channels='lightness') ----------------------------------------------


def lab8(l_star, a, b):
    rgb = linear_to_srgb(np.clip(lab_to_linear_rgb(np.array([l_star, a, b], float)), 0, 1))
    return np.rint(rgb * 255).astype(np.uint8)


def test_lightness_keeps_the_colour():
    image = np.empty((24, 40, 3), np.uint8)
    image[:, :20] = lab8(50, 25, 10)  # a pink and a green of different lightness
    image[:, 20:] = lab8(65, -25, 10)
    in_lab = linear_rgb_to_lab(srgb_to_linear(np.moveaxis(image, 2, 0) / 255.0))
    out = filter_image(image, "gaussian:sigma=2", channels="lightness")
    lab = linear_rgb_to_lab(srgb_to_linear(np.moveaxis(out, 2, 0) / 255.0))
    # every pixel keeps its own a*, b* (to 8-bit rounding); L* is blurred across the edge
    assert np.abs(lab[1:] - in_lab[1:]).max() < 1.0
    assert lab[0].min() > 49 and lab[0].max() < 66
    assert np.any((lab[0] > 54) & (lab[0] < 61))
    # per-channel blurring mixes the colours: a* near the edge goes towards 0
    plain = filter_image(image, "gaussian:sigma=2")
    lab_plain = linear_rgb_to_lab(srgb_to_linear(np.moveaxis(plain, 2, 0) / 255.0))
    assert np.abs(lab_plain[1] - in_lab[1]).max() > 15


@pytest.mark.parametrize("linear", [False, True])
def test_lightness_matches_float64(linear):
    image = RNG.integers(30, 226, (24, 30, 3), dtype=np.uint8)
    out = filter_image(image, "gaussian:sigma=1", channels="lightness", linear=linear)
    labs = np.array([ref_lab(px) for px in image.reshape(-1, 3)]).reshape(24, 30, 3)
    l_star = labs[..., 0]

    def y_of(lightness):
        f = (lightness + 16) / 116
        return np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29))

    if linear:
        y = ref_blur(y_of(l_star), 1.0)
        l_new = np.where(y > (6 / 29) ** 3, 116 * np.cbrt(y) - 16, y * (29 / 3) ** 3)
    else:
        l_new = ref_blur(l_star, 1.0)
    fy = (l_new + 16) / 116
    f = np.stack([fy + labs[..., 1] / 500, fy, fy - labs[..., 2] / 200])
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29))
    xyz *= IEC_MATRIX.sum(axis=1)[:, None, None]
    lin = np.clip(np.einsum("ij,jhw->hwi", np.linalg.inv(IEC_MATRIX), xyz), 0, 1)
    ref = np.rint(np.vectorize(ref_encode)(lin) * 255)
    # the standard's 4-digit matrix against ours from the chromaticities: a level at most
    assert np.abs(out.astype(int) - ref).max() <= 1


def test_lightness_of_grey_rgb_equals_l():
    grey = RNG.integers(0, 256, (20, 20), dtype=np.uint8)
    for linear in (False, True):
        l_out = filter_image(grey, "unsharp:amount=2", channels="lightness", linear=linear)
        rgb = np.repeat(grey[:, :, None], 3, axis=2)
        rgb_out = filter_image(rgb, "unsharp:amount=2", channels="lightness", linear=linear)
        assert np.abs(rgb_out.astype(int) - l_out[:, :, None]).max() <= 1


def test_lightness_with_stride_and_alpha():
    image = RNG.integers(0, 256, (20, 22, 4), dtype=np.uint8)
    image[..., 3] = 255
    out = filter_image(image, "box:size=3", channels="lightness", stride=2)
    assert out.shape == (10, 11, 4)
    np.testing.assert_array_equal(out[..., 3], 255)
    # box of a flat colour is that colour
    flat = np.broadcast_to(np.array([200, 40, 90, 255], np.uint8), (8, 8, 4))
    out = filter_image(flat, "box:size=3", channels="lightness", stride=2)
    assert np.abs(out.astype(int) - flat[:4, :4]).max() <= 1


@pytest.mark.parametrize(
    "array, kwargs, message",
    [
        (
            np.zeros((4, 4, 3), np.uint8),
            dict(kernels=np.ones((3, 3, 1, 1)), channels="lightness"),
            "--channels lightness filters one plane, but kernel 'array' is 4-D (it mixes "
            "channels); use --channels all",
        ),
        (
            np.zeros((4, 4, 4), np.uint8),
            dict(kernels="box", linear=True, layout="CMYK"),
            "--linear needs an sRGB image (L, LA, RGB or RGBA) but the image has layout "
            "CMYK; leave out --linear",
        ),
        (
            np.zeros((6, 4, 5), np.uint8),
            dict(kernels="box", channels="lightness"),
            "--channels lightness needs an sRGB image (L, LA, RGB or RGBA) but the image "
            "has channels of no known colour layout; leave out --channels lightness",
        ),
        (
            np.zeros((4, 4, 3), np.uint8),
            dict(kernels="sobel", channels="lightness", output_map="abs"),
            "--channels lightness gives colour back, which --output-map abs cannot map",
        ),
        (
            np.zeros((4, 4, 3), np.uint8),
            dict(kernels="box", channels="hue"),
            "channels 'hue' is not understood; accepted: all, lightness",
        ),
        (
            np.zeros((4, 4, 3), np.uint8),
            dict(kernels="box", linear="yes"),
            "linear must be True or False, got 'yes'",
        ),
    ],
)
def test_refusals(array, kwargs, message):
    kwargs = dict(kwargs)
    kernels = kwargs.pop("kernels")
    with pytest.raises(ParameterError) as info:
        filter_image(array, kernels, **kwargs)
    assert str(info.value).startswith(message)


# ---- bands ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout, options",
    [
        ("RGB", dict(linear=True)),
        ("RGBA", dict(linear=True)),
        ("RGB", dict(channels="lightness")),
        ("RGBA", dict(channels="lightness", linear=True)),
        ("L", dict(channels="lightness")),
        ("RGB", dict(linear=True, channels="lightness")),
    ],
)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_bands_give_identical_bytes(monkeypatch, layout, options, dtype):
    monkeypatch.setattr(rows, "BAND_SAMPLES", 1)  # 32-row bands
    top = np.iinfo(dtype).max
    frame = RNG.integers(0, top + 1, (300, 37, len(layout)), dtype=dtype)
    chain = (
        load_kernel("gaussian:sigma=1"),
        load_kernel("unsharp:sigma=2,amount=1,threshold=0.02"),
    )
    opts = FilterOptions.from_kwargs(**options)
    whole, _ = filter_frame(frame, chain, layout, opts)
    banded, _ = rows.filter_frame_by_rows(frame, chain, layout, opts)
    assert banded.tobytes() == whole.tobytes()


@pytest.mark.parametrize("top", [1.0, 255.0, 65535.0])
def test_the_fast_encoder_matches_the_curve(top):
    from convcli.filtering._colour import encode_scaled

    x = np.concatenate([RNG.uniform(-0.2, 1.3, 5000), [0.0, 0.0031308, -0.0031308, 1.0]])
    values = (x * top).astype(np.float32)
    expected = np.array([math.copysign(ref_encode(abs(v)), v) for v in values / top]) * top
    np.testing.assert_allclose(
        encode_scaled(values.copy(), top), expected, rtol=1e-6, atol=top * 1e-7
    )


def test_depth_changes_and_float_input_decode_the_same_light():
    x16 = RNG.integers(0, 65536, (20, 24, 3), dtype=np.uint16)
    as16 = filter_image(x16, "gaussian:sigma=1", linear=True).astype(np.float64) / 65535
    as8 = filter_image(x16, "gaussian:sigma=1", linear=True, depth="8").astype(np.float64) / 255
    asf = filter_image(x16.astype(np.float32) / 65535, "gaussian:sigma=1", linear=True)
    assert np.abs(as8 - as16).max() <= 0.5 / 255 + 1e-6
    assert np.abs(asf - as16).max() <= 0.5 / 65535 + 1e-6
