"""Missing data through ``filter_image`` and ``convcli apply``: --nan-policy, --nodata (and
a GeoTIFF's GDAL_NODATA tag), --mask FILE|alpha, --preserve-missing/--fill-missing."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from reference import conv2d_missing_reference, same_pads

from convcli import filter_image
from convcli.cli import main
from convcli.filtering._bands import filter_frame_by_rows
from convcli.filtering._frame import as_kernels, filter_frame
from convcli.filtering._options import FilterOptions
from convcli.images import ImageData, read_image, write_image
from convcli.kernels import load_kernel

RNG = np.random.default_rng(0)
GEO_TAGS = [
    (33550, 12, 3, (30.0, 30.0, 0.0), True),  # ModelPixelScale
    (33922, 12, 6, (0.0, 0.0, 0.0, 500000.0, 4000000.0, 0.0), True),  # ModelTiepoint
    (34735, 3, 8, (1, 1, 0, 1, 1024, 0, 1, 1), True),  # GeoKeyDirectory
    (42113, "s", 0, "-9999", True),  # GDAL_NODATA
]


def invoke(*args):
    return CliRunner().invoke(main, list(map(str, args)), prog_name="convcli")


def dem(tmp_path):
    """A float32 DEM with -9999 holes (random, a block, the first row) and GeoTIFF tags."""
    tifffile = pytest.importorskip("tifffile")
    rng = np.random.default_rng(1)
    heights = (1000 + 50 * rng.random((48, 56))).astype(np.float32)
    holes = rng.random(heights.shape) < 0.05
    holes[10:14, 20:30] = True
    holes[0] = True
    heights[holes] = -9999
    path = tmp_path / "dem.tif"
    tifffile.imwrite(path, heights, extratags=GEO_TAGS, metadata=None)
    return path, heights, holes


def expected(heights, holes, spec="gaussian:sigma=1"):
    """The loop reference: normalized convolution of the valid heights, reflect border."""
    w = load_kernel(spec).weight
    x = np.where(holes, np.nan, heights).astype(np.float32)[None, None]
    out, _ = conv2d_missing_reference(x, w[None, None], pads=same_pads(w.shape), mode="reflect")
    return out[0, 0]


@pytest.mark.parametrize("fill", [False, True])
def test_a_geotiff_dem_with_nodata_holes(tmp_path, fill):
    tifffile = pytest.importorskip("tifffile")
    src, heights, holes = dem(tmp_path)
    out = tmp_path / "out.tif"
    flag = "--fill-missing" if fill else "--preserve-missing"
    result = invoke("apply", "-k", "gaussian:sigma=1", "--nan-policy", "omit", flag, src, out)
    assert result.exit_code == 0, result.output
    with tifffile.TiffFile(out) as tif:
        page = tif.pages.first
        got = page.asarray()
        tags = {code: page.tags[code].value for code in (33550, 33922, 34735, 42113)}
    assert got.dtype == np.float32 and got.shape == heights.shape
    assert tags[33550] == (30.0, 30.0, 0.0)
    assert tags[33922] == (0.0, 0.0, 0.0, 500000.0, 4000000.0, 0.0)
    assert tags[34735] == (1, 1, 0, 1, 1024, 0, 1, 1)
    assert tags[42113] == "-9999"
    want = expected(heights, holes)
    if not fill:
        want[holes] = -9999
    want[np.isnan(want)] = -9999
    np.testing.assert_allclose(got, want, rtol=2e-6)
    assert (got == -9999).sum() == (holes.sum() if not fill else 0)


def test_the_nodata_tag_is_said_with_debug_and_can_be_overridden(tmp_path):
    src, heights, holes = dem(tmp_path)
    out = tmp_path / "out.tif"
    done = subprocess.run(
        [sys.executable, "-m", "convcli", "--debug", "apply", "-k", "box", src, out],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0
    assert (
        done.stderr.splitlines()[0]
        == f"convcli: '{src}': GDAL_NODATA tag -9999: samples equal to it are missing"
    )
    # propagate (the default): every output whose 3x3 window holds a hole is nodata
    got = read_image(out).frames[0][:, :, 0]
    padded = np.pad(holes, 1, mode="reflect")
    reach = np.zeros_like(holes)
    for dy in range(3):
        for dx in range(3):
            reach |= padded[dy : dy + holes.shape[0], dx : dx + holes.shape[1]]
    np.testing.assert_array_equal(got == -9999, reach)
    # --nodata given: it wins over the tag (-9999 is then an ordinary height)
    assert invoke("apply", "-k", "box", "--nodata", "-1", src, out).exit_code == 0
    got = read_image(out).frames[0][:, :, 0]
    assert not (got == -1).any() and (got < 0).any()


def test_nodata_on_an_8_bit_png(tmp_path):
    image = RNG.integers(1, 256, (30, 40), dtype=np.uint8)
    image[5:9, 5:9] = 0
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    write_image(ImageData([image[:, :, None]], "L", "PNG"), src)
    args = ("apply", "-k", "box", "--nodata", "0", "--nan-policy", "omit", src, out)
    assert invoke(*args).exit_code == 0
    got = read_image(out).frames[0][:, :, 0]
    assert (got[5:9, 5:9] == 0).all() and (got[image != 0] > 0).all()
    # the filled value: the mean of the valid neighbours, rounded
    assert got[4, 4] == np.rint(image[3:6, 3:6][image[3:6, 3:6] != 0].mean())
    assert invoke(*args[:-2], "--fill-missing", src, out).exit_code == 0
    got = read_image(out).frames[0][:, :, 0]
    assert (got[6:8, 6:8] == 0).all()  # no valid tap: the nodata value again
    assert (got[5, 5:9] > 0).all()


def test_missing_samples_in_an_8_bit_output_need_nodata(tmp_path):
    src, out = tmp_path / "in.npy", tmp_path / "out.png"
    image = RNG.random((20, 20), dtype=np.float32)
    image[3, 4] = np.nan
    np.save(src, image)
    result = invoke("apply", "-k", "box", "--nan-policy", "omit", "--depth", "8", src, out)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: 1 output sample of '{src}' is missing and a 8-bit output has no NaN; add "
        "--nodata V (the value written there), --fill-missing with --nan-policy omit, or "
        "write floats with --depth 32f\n"
    )
    assert not out.exists()
    result = invoke(
        "apply", "-k", "box", "--nan-policy", "omit", "--fill-missing", "--depth", "8", src, out
    )
    assert result.exit_code == 0
    assert invoke("apply", "-k", "box", "--nodata", "nan", "--depth", "8", src, out).exit_code == 2


def test_nan_stays_nan_in_a_float_output(tmp_path):
    src, out = tmp_path / "in.npy", tmp_path / "out.npy"
    image = RNG.random((20, 20), dtype=np.float32)
    image[3, 4] = np.nan
    np.save(src, image)
    assert invoke("apply", "-k", "box", "--nan-policy", "omit", src, out).exit_code == 0
    got = np.load(out)
    assert np.isnan(got).sum() == 1 and np.isnan(got[3, 4])
    assert got[3, 3] == pytest.approx(np.nanmean(image[2:5, 2:5]), rel=1e-6)


def test_zero_sum_kernels_and_banks_are_refused_under_omit(tmp_path):
    src, out = tmp_path / "in.npy", tmp_path / "out.npy"
    np.save(src, RNG.random((20, 20), dtype=np.float32))
    result = invoke("apply", "-k", "sobel", "--nan-policy", "omit", src, out)
    assert result.exit_code == 2
    assert result.output.startswith("Error: kernel 'sobel' (a bank combined by magnitude: member ")
    assert "has weights that sum to 0, which --nan-policy omit cannot use" in result.output
    result = invoke("apply", "-k", "laplacian", "--nan-policy", "omit", src, out)
    assert result.output.startswith("Error: kernel 'laplacian' has weights that sum to 0")
    assert result.exit_code == 2 and not out.exists()


def test_raise_counts_the_missing_samples(tmp_path):
    src, out = tmp_path / "in.npy", tmp_path / "out.npy"
    image = RNG.random((20, 20), dtype=np.float32)
    image[3, :5] = np.nan
    np.save(src, image)
    result = invoke("apply", "-k", "box", "--nan-policy", "raise", src, out)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: '{src}' has 5 missing samples (NaN, --nodata or --mask) and --nan-policy "
        "is raise; use --nan-policy omit to fill them from their neighbours, or propagate\n"
    )


def test_mask_file(tmp_path):
    image = RNG.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    mask = np.full((24, 32), 255, np.uint8)
    mask[4:8, 10:12] = 0
    src, out, mask_path = tmp_path / "in.png", tmp_path / "out.png", tmp_path / "mask.png"
    write_image(ImageData([image], "RGB", "PNG"), src)
    write_image(ImageData([mask[:, :, None]], "L", "PNG"), mask_path)
    args = ("apply", "-k", "box", "--nan-policy", "omit", "--fill-missing", "--mask", mask_path)
    assert invoke(*args, src, out).exit_code == 0
    got = read_image(out).frames[0]
    x = np.moveaxis(image, 2, 0)[None].astype(np.float32)
    valid = np.broadcast_to(mask != 0, x.shape)
    want, _ = conv2d_missing_reference(
        x, np.ones((3, 1, 3, 3)) / 9, pads=(1, 1, 1, 1), groups=3, mode="reflect", valid=valid
    )
    want = np.moveaxis(want[0], 0, 2)
    assert (np.abs(got - want) <= 0.5 + 1e-3).all()  # rounded (ties either way)
    # preserved holes in an 8-bit output need a value
    result = invoke(*args[:-3], "--mask", mask_path, src, out)
    assert result.exit_code == 1 and "add --nodata V" in result.output


@pytest.mark.parametrize(
    "mask, code, message",
    [
        ("-", 2, "Error: Invalid value for '--mask': '-' is not a mask file: give a file name"),
        ("rgb.png", 1, "Error: the mask '{dir}/rgb.png' has 3 channels (RGB); give a greyscale"),
        ("small.png", 2, "Error: the mask '{dir}/small.png' is 4x4 but '{dir}/in.png' is 32x24;"),
    ],
)
def test_bad_masks(tmp_path, mask, code, message):
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    write_image(ImageData([np.zeros((24, 32, 3), np.uint8)], "RGB", "PNG"), src)
    write_image(ImageData([np.zeros((24, 32, 3), np.uint8)], "RGB", "PNG"), tmp_path / "rgb.png")
    write_image(ImageData([np.zeros((4, 4, 1), np.uint8)], "L", "PNG"), tmp_path / "small.png")
    path = mask if mask == "-" else tmp_path / mask
    result = invoke("apply", "-k", "box", "--mask", path, src, out)
    assert result.exit_code == code
    assert result.output.startswith(message.format(dir=tmp_path))
    assert result.output.count("\n") == 1 and not out.exists()


def test_mask_alpha(tmp_path):
    rgba = RNG.integers(0, 256, (20, 24, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[5:10, 5:10, 3] = 0
    rgba[5:10, 5:10, :3] = 255  # garbage under the transparent hole
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    write_image(ImageData([rgba], "RGBA", "PNG"), src)
    result = invoke("apply", "-k", "box", "--nan-policy", "omit", "--mask", "alpha", src, out)
    assert result.exit_code == 0, result.output
    got = read_image(out).frames[0]
    np.testing.assert_array_equal(got[..., 3], rgba[..., 3])  # alpha kept
    # the garbage does not bleed out: next to the hole, the mean of the valid neighbours
    window = rgba[3:6, 3:6, :3].astype(float)
    valid = rgba[3:6, 3:6, 3] > 0
    np.testing.assert_array_equal(got[4, 4, :3], np.rint(window[valid].mean(axis=0)))
    assert (got[5:10, 5:10, :3] == 0).all()  # the holes: transparent black


def test_filter_image_mask_and_bands_agree():
    import convcli.filtering._bands as bands

    image = RNG.random((300, 40), dtype=np.float32)
    image[RNG.random(image.shape) < 0.05] = np.nan
    image[100] = np.nan
    mask = RNG.random(image.shape) > 0.05
    kernels = as_kernels(["gaussian:sigma=2", "box"])
    opts = FilterOptions.from_kwargs(nan_policy="omit")
    whole, _ = filter_frame(image, kernels, "L", opts, mask=mask)
    saved = bands.BAND_SAMPLES
    bands.BAND_SAMPLES = 64 * 40
    try:
        banded, _ = filter_frame_by_rows(image, kernels, "L", opts, mask=mask)
    finally:
        bands.BAND_SAMPLES = saved
    np.testing.assert_array_equal(banded, whole)
    assert np.isnan(whole[~mask]).all() and not np.isnan(whole[mask & ~np.isnan(image)]).any()
    np.testing.assert_array_equal(filter_image(image, kernels, mask=mask, nan_policy="omit"), whole)


def test_filter_options_are_checked():
    with pytest.raises(ValueError, match="nan policy 'skip' is not understood; accepted: "):
        FilterOptions.from_kwargs(nan_policy="skip")
    with pytest.raises(ValueError, match="nodata must be a number or NaN, got 'x'"):
        FilterOptions.from_kwargs(nodata="x")


def test_a_stride_grows_the_pixel_scale_and_nodata_is_written(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    src, heights, holes = dem(tmp_path)
    out = tmp_path / "out.tif"
    result = invoke("apply", "-k", "box", "--stride", "2", "--nan-policy", "omit", src, out)
    assert result.exit_code == 0, result.output
    with tifffile.TiffFile(out) as tif:
        page = tif.pages.first
        assert page.shape == (24, 28)
        assert page.tags[33550].value == (60.0, 60.0, 0.0)
        # output pixel 0 is centred on input pixel 0 and two pixels wide: the input's
        # corner (the tie point on the ground) lies a quarter of an output pixel in
        assert page.tags[33922].value == (0.25, 0.25, 0.0, 500000.0, 4000000.0, 0.0)
    # --nodata on an image without the tag: written on TIFF output
    npy = tmp_path / "in.npy"
    image = RNG.random((10, 12), dtype=np.float32)
    image[2, 3] = 7
    np.save(npy, image)
    result = invoke("apply", "-k", "box", "--nodata", "7", "--nan-policy", "omit", npy, out)
    assert result.exit_code == 0, result.output
    with tifffile.TiffFile(out) as tif:
        assert tif.pages.first.tags[42113].value == "7"
        got = tif.pages.first.asarray()
    assert got[2, 3] == 7 and (got == 7).sum() == 1
