"""A GeoTIFF with a no-data value, filtered by bands: the same result and georeferencing as
the whole-image path, and memory that does not hold the image.

The reference for the pixels is the in-memory path (the file given as an open stream,
which is read whole) and, independently, the loop reference of issue 14's tests
(``tests/reference.py``: normalized convolution of the valid samples).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from reference import conv2d_missing_reference, same_pads
from scipy import ndimage

from convcli.batch._job import ApplyJob, apply_file
from convcli.filtering import FilterOptions
from convcli.filtering import _bands as bands_module
from convcli.kernels import load_kernel

tifffile = pytest.importorskip("tifffile")

GEO = [
    (33550, 12, 3, (30.0, 30.0, 0.0), True),  # ModelPixelScale
    (33922, 12, 6, (0.0, 0.0, 0.0, 500000.0, 4000000.0, 0.0), True),  # ModelTiepoint
    (34735, 3, 8, (1, 1, 0, 1, 1024, 0, 1, 1), True),  # GeoKeyDirectory (PixelIsArea)
]


@pytest.fixture(autouse=True)
def many_bands(monkeypatch):
    monkeypatch.setattr(bands_module, "BAND_SAMPLES", 32 * 50)


def scene(tmp_path, dtype, nodata):
    rng = np.random.default_rng(5)
    values = rng.integers(1, 200, (260, 50)).astype(dtype)
    holes = rng.random(values.shape) < 0.04
    holes[100:110, 10:30] = True
    values[holes] = nodata
    path = tmp_path / "scene.tif"
    tags = [*GEO, (42113, "s", 0, str(nodata), True)]
    tifffile.imwrite(path, values, extratags=tags, metadata=None, rowsperstrip=16)
    return path, values, holes


def run(source, target, **options):
    job = ApplyJob((load_kernel("gaussian:sigma=1"),), FilterOptions.from_kwargs(**options))
    return apply_file(source, str(target), job)


def read(path):
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        tags = {code: page.tags[code].value for code in (33550, 33922, 42113) if code in page.tags}
        return page.asarray(), tags


@pytest.mark.parametrize(
    ("dtype", "nodata", "options"),
    [
        (np.uint8, 0, {}),
        (np.float32, -9999, {"nan_policy": "omit"}),
        (np.uint16, 65535, {"nan_policy": "omit", "preserve_missing": False}),
        (np.float32, -9999, {"nan_policy": "omit", "stride": 2}),
        (np.uint8, 0, {"nan_policy": "omit", "padding": "valid"}),
    ],
)
def test_streamed_equals_whole_image(tmp_path, dtype, nodata, options):
    src, values, holes = scene(tmp_path, dtype, nodata)
    path = run(src, tmp_path / "bands.tif", **options)
    banded = "stride" not in options and "padding" not in options
    assert path.startswith("TIFF read by bands, " + ("streamed" if banded else "filtered whole"))
    with open(src, "rb") as stream:  # a stream is read whole: the in-memory path
        assert "read whole" in run(stream, tmp_path / "whole.tif", **options)
    (ours, our_tags), (whole, whole_tags) = (
        read(tmp_path / "bands.tif"),
        read(tmp_path / "whole.tif"),
    )
    np.testing.assert_array_equal(ours, whole)
    assert our_tags == whole_tags  # pixel scale, tie point and GDAL_NODATA agree
    assert our_tags[42113] == str(nodata)
    w = load_kernel("gaussian:sigma=1").weight
    if not options:  # propagate: a hole spreads to every output whose window holds it
        spread = ndimage.maximum_filter(holes, size=w.shape, mode="mirror")
        plain = ndimage.correlate(values.astype(np.float64), w, mode="mirror")
        assert (ours[spread] == nodata).all()
        np.testing.assert_allclose(ours[~spread], np.rint(plain[~spread]), atol=1)
        assert 0 < (~spread).sum() < spread.sum()
    elif options == {"nan_policy": "omit"}:  # filled from the valid neighbours
        x = np.where(holes, np.nan, values).astype(np.float64)[None, None]
        ref, _ = conv2d_missing_reference(x, w[None, None], pads=same_pads(w.shape), mode="reflect")
        np.testing.assert_allclose(ours[~holes], ref[0, 0][~holes], rtol=1e-4)
        assert (ours[holes] == nodata).all()


def test_explicit_nodata_written_on_streamed_output(tmp_path):
    values = np.random.default_rng(2).integers(1, 255, (200, 40)).astype(np.uint8)
    values[50:60, 5:9] = 7
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, values, rowsperstrip=16)
    path = run(src, tmp_path / "out.tif", nodata=7, nan_policy="omit")
    assert path.startswith("TIFF read by bands, streamed")
    out, tags = read(tmp_path / "out.tif")
    assert tags[42113] == "7"
    assert (out[50:60, 5:9] == 7).all()
    with open(src, "rb") as stream:
        run(stream, tmp_path / "whole.tif", nodata=7, nan_policy="omit")
    np.testing.assert_array_equal(out, read(tmp_path / "whole.tif")[0])


def test_nan_policy_raise_reads_whole_and_counts_all(tmp_path):
    src, _, holes = scene(tmp_path, np.float32, -9999)
    with pytest.raises(Exception, match=rf"has {int(holes.sum())} missing samples"):
        run(src, tmp_path / "o.tif", nan_policy="raise")
    assert not (tmp_path / "o.tif").exists()


def test_alpha_mask_by_bands(tmp_path):
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (240, 30, 4)).astype(np.uint8)
    rgba[..., 3] = np.where(rng.random((240, 30)) < 0.1, 0, 255)
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, rgba, photometric="rgb", extrasamples=["unassalpha"], rowsperstrip=16)
    job = ApplyJob((load_kernel("box"),), FilterOptions.from_kwargs(alpha="preserve"), mask="alpha")
    assert apply_file(str(src), str(tmp_path / "b.tif"), job).startswith(
        "TIFF read by bands, streamed"
    )
    with open(src, "rb") as stream:
        apply_file(stream, str(tmp_path / "w.tif"), job)
    np.testing.assert_array_equal(read(tmp_path / "b.tif")[0], read(tmp_path / "w.tif")[0])


def test_memory_path_note_free(tmp_path):
    """The no-data value of the tag is said once on the convcli logger (--debug)."""
    src, _, _ = scene(tmp_path, np.uint8, 0)
    out = io.StringIO()
    import logging

    handler = logging.StreamHandler(out)
    logger = logging.getLogger("convcli")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        run(src, tmp_path / "o.tif")
    finally:
        logger.removeHandler(handler)
    assert out.getvalue().count("GDAL_NODATA tag 0") == 1


def test_nodata_said_once_when_the_band_path_declines(tmp_path):
    """A GeoTIFF written as JPEG is read by bands first, then filtered in memory: the
    no-data value is said once, not by both."""
    from click.testing import CliRunner

    from convcli.cli import main

    src, _, _ = scene(tmp_path, np.uint8, 0)
    result = CliRunner().invoke(
        main, ["--debug", "apply", "-k", "box", str(src), str(tmp_path / "out.jpg")]
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("GDAL_NODATA tag 0: samples equal to it are missing") == 1
    assert "filtered in memory" in result.output
