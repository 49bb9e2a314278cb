"""Big images through ``apply``: TIFF read, filtered and written by bands of rows.

The reference for the pixels is the in-memory filter (``filter_image`` on the whole
array, itself tested against explicit loops and SciPy); the bands are forced small
(``BAND_SAMPLES``) so that every file here runs as many bands.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import convcli.filtering._bands as bands_module
from convcli import filter_image
from convcli.batch._job import ApplyJob, apply_file
from convcli.cli import main
from convcli.filtering._frame import FilterOptions
from convcli.images import ImageData, read_image, write_image
from convcli.images import _tiff_sink as sink
from convcli.images.png import _codec as png_codec
from convcli.images.png import _stream as png_stream
from convcli.kernels import load_kernel

tifffile = pytest.importorskip("tifffile")

RNG = np.random.default_rng(0)
GAUSS = "gaussian:sigma=1.5"


@pytest.fixture(autouse=True)
def small_bands(monkeypatch):
    """Bands of 64 rows for images 40 pixels wide or more: several bands per test image."""
    monkeypatch.setattr(bands_module, "BAND_SAMPLES", 64 * 40)


def smooth(shape, dtype) -> np.ndarray:
    """A gradient plus noise: compresses like a photograph, exercises every filter."""
    h, w = shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    base = (np.sin(x / 9.0) + np.cos(y / 7.0)) / 4 + 0.5
    noise = RNG.random(shape) * 0.2
    value = np.clip(base.reshape(h, w, *([1] * (len(shape) - 2))) * 0.8 + noise, 0, 1)
    if np.dtype(dtype).kind == "f":
        return value.astype(dtype)
    return np.rint(value * np.iinfo(dtype).max).astype(dtype)


def run(src, dst, *kernels, **options):
    job = ApplyJob(
        tuple(load_kernel(k) for k in kernels or (GAUSS,)), FilterOptions.from_kwargs(**options)
    )
    return apply_file(str(src), str(dst), job)


def page(path):
    with tifffile.TiffFile(path) as tif:
        p = tif.pages[0]
        info = {
            "compression": int(p.compression),
            "predictor": int(p.predictor),
            "tile": (p.tilelength, p.tilewidth) if p.is_tiled else None,
            "rowsperstrip": p.rowsperstrip,
            "bigtiff": tif.is_bigtiff,
            "tags": {tag.code: tag.value for tag in p.tags},
        }
        array = p.asarray()
        if p.planarconfig == 2 and p.samplesperpixel > 1:  # samples first: as (H, W, S)
            array = np.moveaxis(array, 0, -1)
        return array, info


LAYOUTS = {
    "u8 RGB deflate strips": ((300, 70, 3), np.uint8, {"compression": "zlib", "rowsperstrip": 16}),
    "u8 grey none strips": ((300, 70), np.uint8, {"rowsperstrip": 7}),
    "u8 RGBA lzw tiles": ((260, 90, 4), np.uint8, {"compression": "lzw", "tile": (32, 48)}),
    "u16 RGB zstd tiles predictor": (
        (300, 80, 3),
        np.uint16,
        {"compression": "zstd", "tile": (64, 64), "predictor": 2},
    ),
    "u16 grey packbits strips": ((280, 64), np.uint16, {"compression": "packbits"}),
    "f32 grey deflate float predictor": (
        (290, 66),
        np.float32,
        {"compression": "zlib", "predictor": 3, "rowsperstrip": 30},
    ),
    "u8 5 samples planar strips": (
        (270, 50, 5),
        np.uint8,
        {"planarconfig": "separate", "rowsperstrip": 20},
    ),
    "u8 RGB planar tiles lzma": (
        (250, 70, 3),
        np.uint8,
        {"planarconfig": "separate", "tile": (32, 32), "compression": "lzma"},
    ),
    "u8 grey jpeg tiles": ((256, 96), np.uint8, {"compression": "jpeg", "tile": (64, 64)}),
    "u16 RGB none tiles": ((200, 70, 3), np.uint16, {"tile": (32, 32)}),
    "u16 grey big-endian none strips": (
        (230, 50),
        np.uint16,
        {"byteorder": ">", "rowsperstrip": 9},
    ),
    "f32 RGB big-endian deflate": (
        (230, 50, 3),
        np.float32,
        {"byteorder": ">", "compression": "zlib"},
    ),
    "u8 RGB one uncompressed strip": ((260, 60, 3), np.uint8, {}),
    "i16 grey lzw": ((220, 50), np.int16, {"compression": "lzw"}),
    "u8 RGB bigtiff deflate": ((300, 64, 3), np.uint8, {"compression": "zlib", "bigtiff": True}),
}


@pytest.mark.parametrize("case", list(LAYOUTS))
def test_streamed_pixels_and_layout_kept(tmp_path, case):
    shape, dtype, options = LAYOUTS[case]
    array = smooth(shape, dtype)
    photometric = "rgb" if len(shape) == 3 and shape[2] in (3, 4) else "minisblack"
    extra = ["unassalpha"] if len(shape) == 3 and shape[2] == 4 else None
    src = tmp_path / "in.tif"
    stored = np.moveaxis(array, -1, 0) if options.get("planarconfig") == "separate" else array
    tifffile.imwrite(
        src, stored, photometric=photometric, extrasamples=extra, metadata=None, **options
    )
    original, before = page(src)
    path = run(src, tmp_path / "out.tif")
    assert "streamed in" in path and "bands" in path, path
    n_bands = int(path.split("streamed in ")[1].split()[0])
    assert n_bands >= 3
    result, after = page(tmp_path / "out.tif")
    if original.dtype in (np.int8, np.int16):  # read as int32, as read_image does
        original = original.astype(np.int32)
    expected = filter_image(original, GAUSS)
    if options.get("compression") == "jpeg":  # lossy: re-encoded within a few grey levels
        error = np.abs(result.astype(int) - expected)
        assert error.max() <= 12 and error.mean() < 1.5
    else:
        np.testing.assert_array_equal(original, array)
        np.testing.assert_array_equal(result, expected)
        np.testing.assert_array_equal(
            read_image(str(src)).frames[0].reshape(original.shape), original
        )
    assert result.dtype == original.dtype
    assert after["compression"] == before["compression"]
    assert after["predictor"] == before["predictor"]
    assert after["tile"] == before["tile"]
    assert after["bigtiff"] == before["bigtiff"]
    if before["tile"] is None:
        assert after["rowsperstrip"] == before["rowsperstrip"]


def test_planar_read_matches_contiguous(tmp_path):
    array = smooth((200, 60, 3), np.uint16)
    planes = np.moveaxis(array, -1, 0)
    tifffile.imwrite(
        tmp_path / "p.tif", planes, photometric="rgb", planarconfig="separate", rowsperstrip=16
    )
    tifffile.imwrite(
        tmp_path / "c.tif", array, photometric="rgb", planarconfig="contig", rowsperstrip=16
    )
    run(tmp_path / "p.tif", tmp_path / "po.tif")
    run(tmp_path / "c.tif", tmp_path / "co.tif")
    assert (tmp_path / "po.tif").read_bytes() == (tmp_path / "co.tif").read_bytes()


def test_compression_and_tile_options(tmp_path):
    array = smooth((300, 70, 3), np.uint8)
    tifffile.imwrite(tmp_path / "in.tif", array, photometric="rgb", rowsperstrip=8)
    out = tmp_path / "out.tif"
    code = CliRunner().invoke(
        main,
        [
            "apply",
            "-k",
            GAUSS,
            "--compression",
            "zstd",
            "--tile",
            "32",
            str(tmp_path / "in.tif"),
            str(out),
        ],
    )
    assert code.exit_code == 0, code.output
    result, info = page(out)
    assert info["compression"] == 50000 and info["tile"] == (32, 32)
    np.testing.assert_array_equal(result, filter_image(array, GAUSS))
    code = CliRunner().invoke(
        main, ["apply", "-k", GAUSS, "--tile", "0", str(out), str(tmp_path / "s.tif")]
    )
    assert code.exit_code == 0, code.output
    assert page(tmp_path / "s.tif")[1]["tile"] is None


def test_tile_not_multiple_of_16(tmp_path):
    tifffile.imwrite(tmp_path / "in.tif", smooth((40, 40), np.uint8))
    result = CliRunner().invoke(
        main,
        ["apply", "-k", "box", "--tile", "100", str(tmp_path / "in.tif"), str(tmp_path / "o.tif")],
    )
    assert result.exit_code == 2
    assert "Error: --tile 100: TIFF tiles are multiples of 16; give e.g. 256" in result.output
    assert not (tmp_path / "o.tif").exists()


def test_streamed_tiff_equals_whole_write(tmp_path, monkeypatch):
    """Written by bands of 64 rows, or from the whole in-memory result in one band: the same bytes."""
    array = smooth((333, 72, 3), np.uint16)
    tifffile.imwrite(
        tmp_path / "in.tif", array, photometric="rgb", compression="zlib", tile=(48, 32)
    )
    run(tmp_path / "in.tif", tmp_path / "streamed.tif")
    monkeypatch.setattr(bands_module, "BAND_SAMPLES", 1 << 30)
    assert "filtered whole" in run(tmp_path / "in.tif", tmp_path / "whole.tif")
    assert (tmp_path / "streamed.tif").read_bytes() == (tmp_path / "whole.tif").read_bytes()


def test_streamed_png_equals_in_memory_png(tmp_path, monkeypatch):
    """TIFF read by bands into a PNG encoded by pieces: the bytes of the in-memory writer."""
    monkeypatch.setattr(png_codec, "PIECE_BYTES", 2000)
    monkeypatch.setattr(png_stream, "PIECE_BYTES", 2000)
    array = smooth((300, 70, 3), np.uint8)
    tifffile.imwrite(tmp_path / "in.tif", array, photometric="rgb", rowsperstrip=10)
    path = run(tmp_path / "in.tif", tmp_path / "out.png", "sobel", output_map="abs")
    assert "streamed" in path and "PNG" in path
    job = ApplyJob((load_kernel("sobel"),), FilterOptions.from_kwargs(output_map="abs"))
    with open(tmp_path / "in.tif", "rb") as stream:  # read whole: the in-memory path
        assert "read whole" in apply_file(stream, str(tmp_path / "whole.png"), job)
    # the same file, the TIFF's tags (Software, ImageDescription) in eXIf included
    assert (tmp_path / "out.png").read_bytes() == (tmp_path / "whole.png").read_bytes()
    expected = filter_image(array, "sobel", output_map="abs")
    np.testing.assert_array_equal(read_image(tmp_path / "out.png").frames[0], expected)
    buffer = io.BytesIO()
    write_image(ImageData([expected], "RGB", "PNG"), buffer)
    # and a PNG input (read by bands) is written by bands with the same bytes
    write_image(ImageData([array], "RGB", "PNG"), tmp_path / "in.png")
    path = run(tmp_path / "in.png", tmp_path / "again.png", "sobel", output_map="abs")
    assert path.startswith("PNG read by bands, streamed in")
    assert (tmp_path / "again.png").read_bytes() == buffer.getvalue()


@pytest.mark.parametrize(
    "options, why",
    [
        ({"stride": 2}, "stride 2x2"),
        ({"padding": "valid"}, "padding valid"),
        ({"padding": 3}, "padding (3, 3)"),
        ({"padding_mode": "circular"}, "circular padding"),
        ({"output_map": "normalize"}, "output map normalize"),
    ],
)
def test_whole_frame_cases(tmp_path, options, why):
    array = smooth((200, 60, 3), np.uint8)
    tifffile.imwrite(tmp_path / "in.tif", array, photometric="rgb", compression="zlib")
    path = run(tmp_path / "in.tif", tmp_path / "out.tif", **options)
    assert f"filtered whole ({why})" in path
    result, info = page(tmp_path / "out.tif")
    np.testing.assert_array_equal(result, filter_image(array, GAUSS, **options))
    assert info["compression"] == 8


def test_debug_line_says_which_path(tmp_path):
    tifffile.imwrite(tmp_path / "in.tif", smooth((300, 64), np.uint8))
    out = CliRunner().invoke(
        main, ["--debug", "apply", "-k", "box", str(tmp_path / "in.tif"), str(tmp_path / "o.tif")]
    )
    assert out.exit_code == 0
    assert "TIFF read by bands, streamed in" in out.stderr


# --- tags -----------------------------------------------------------------------------

GEO_KEYS = (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32633)


def geotiff(path, array, *, transformation=False, point=False):
    keys = list(GEO_KEYS)
    if point:
        keys[11] = 2  # GTRasterTypeGeoKey = RasterPixelIsPoint
    tags = [
        (34735, 3, len(keys), tuple(keys), True),
        (34736, 12, 2, (6378137.0, 298.257223563), True),
        (34737, 2, None, "WGS 84 / UTM zone 33N|", True),
        (42112, 2, None, "<GDALMetadata><Item name='a'>1</Item></GDALMetadata>", True),
        (42113, 2, None, "-9999", True),
        (306, 2, None, "2024:05:06 07:08:09", True),
        (33432, 2, None, "(c) someone", True),
    ]
    if transformation:
        matrix = (10.0, 0.0, 0.0, 500000.0, 0.0, -10.0, 0.0, 4600000.0) + (0.0,) * 7 + (1.0,)
        tags.append((34264, 12, 16, matrix, True))
    else:
        tags.append((33550, 12, 3, (10.0, 10.0, 0.0), True))
        tags.append((33922, 12, 6, (0.0, 0.0, 0.0, 500000.0, 4600000.0, 0.0), True))
    icc = b"\x00" * 12 + b"mntrRGB XYZ " + b"\x00" * 100
    tifffile.imwrite(
        path,
        array,
        photometric="rgb",
        compression="zlib",
        tile=(32, 32),
        extratags=tags,
        description="a scene",
        resolution=(100.0, 50.0),
        resolutionunit="CENTIMETER",
        iccprofile=icc,
        metadata=None,
    )


def model_xy(tags, col, row, point=False):
    """Model coordinates of the centre of pixel (col, row), from the tags as a reader would."""
    u, v = (col, row) if point else (col + 0.5, row + 0.5)
    if 34264 in tags:
        m = np.asarray(tags[34264], float).reshape(4, 4)
        return tuple((m @ np.array([u, v, 0.0, 1.0]))[:2])
    sx, sy, _ = tags[33550]
    i, j, _, x, y, _ = tags[33922]
    return (x + (u - i) * sx, y - (v - j) * sy)


def test_geotiff_tags_kept(tmp_path):
    array = smooth((200, 96, 3), np.uint8)
    geotiff(tmp_path / "in.tif", array)
    run(tmp_path / "in.tif", tmp_path / "out.tif")
    _, before = page(tmp_path / "in.tif")
    _, after = page(tmp_path / "out.tif")
    for code in (
        270,
        282,
        283,
        296,
        306,
        33432,
        33550,
        33922,
        34675,
        34735,
        34736,
        34737,
        42112,
        42113,
    ):
        assert after["tags"][code] == before["tags"][code], code


@pytest.mark.parametrize("transformation", [False, True])
@pytest.mark.parametrize("point", [False, True])
@pytest.mark.parametrize(
    "kernel, options, step, shift",
    [
        ("box:size=5", {"stride": 2}, 2, 0),
        ("box:size=5", {"stride": 3}, 3, 0),
        ("box:size=5", {"padding": "valid"}, 1, 2),
        ("box:size=5", {"padding": 1}, 1, 1),
        ("box:size=3", {"padding": "valid", "stride": 2}, 2, 1),
    ],
)
def test_georeferencing_follows_the_grid(
    tmp_path, transformation, point, kernel, options, step, shift
):
    """Output pixel k is centred on input pixel k * step + shift: same model coordinates."""
    array = smooth((120, 90, 3), np.uint8)
    geotiff(tmp_path / "in.tif", array, transformation=transformation, point=point)
    run(tmp_path / "in.tif", tmp_path / "out.tif", kernel, **options)
    _, before = page(tmp_path / "in.tif")
    result, after = page(tmp_path / "out.tif")
    np.testing.assert_array_equal(result, filter_image(array, kernel, **options))
    for col, row in [(0, 0), (5, 3), (result.shape[1] - 1, result.shape[0] - 1)]:
        want = model_xy(before["tags"], col * step + shift, row * step + shift, point)
        got = model_xy(after["tags"], col, row, point)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    if not transformation:
        assert after["tags"][33550][:2] == (10.0 * step, 10.0 * step)
    x_res = before["tags"][282][0] / before["tags"][282][1]
    got_res = after["tags"][282][0] / after["tags"][282][1]
    assert got_res == pytest.approx(x_res / step, rel=1e-6)  # a crop keeps the pixel size


def test_bigtiff_when_output_could_pass_4_gib(tmp_path, monkeypatch):
    monkeypatch.setattr(sink, "BIGTIFF_BYTES", 1000)
    array = smooth((200, 64, 3), np.uint8)
    tifffile.imwrite(tmp_path / "in.tif", array, photometric="rgb")
    run(tmp_path / "in.tif", tmp_path / "out.tif")
    result, info = page(tmp_path / "out.tif")
    assert info["bigtiff"]
    np.testing.assert_array_equal(result, filter_image(array, GAUSS))


def test_tiff_with_exif_read_whole_keeps_it(tmp_path):
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "Maker"
    exif.get_ifd(0x8769)[0x9003] = "2020:01:02 03:04:05"
    Image.fromarray(smooth((300, 64, 3), np.uint8)).save(tmp_path / "in.tif", exif=exif.tobytes())
    path = run(tmp_path / "in.tif", tmp_path / "out.tif", "box")
    assert path.startswith("TIFF read whole, filtered in memory")
    with Image.open(tmp_path / "out.tif") as out:
        assert out.getexif()[0x010F] == "Maker"
        assert out.getexif().get_ifd(0x8769)[0x9003] == "2020:01:02 03:04:05"


def test_batch_report_records_the_path(tmp_path):
    import json

    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "a.tif", smooth((300, 64), np.uint8))
    write_image(ImageData([smooth((40, 40, 3), np.uint8)], "RGB", "PNG"), tmp_path / "in" / "b.png")
    report = tmp_path / "report.json"
    result = CliRunner().invoke(
        main,
        [
            "apply",
            "-k",
            "box",
            str(tmp_path / "in"),
            str(tmp_path / "out"),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    items = data["files"]
    paths = {Path(item["source"]).name: item["path"] for item in items}
    assert paths["a.tif"].startswith("TIFF read by bands, ")
    assert paths["b.png"].startswith("PNG read by bands, filtered whole (40 rows fit one band)")


@settings(max_examples=40)
@given(
    cuts=st.lists(st.integers(1, 69), min_size=0, max_size=6, unique=True),
    channels=st.sampled_from([1, 2, 3, 4]),
    tile=st.sampled_from([None, 16, 32]),
)
def test_any_band_split_gives_the_same_files(cuts, channels, tile):
    """The writers' bytes depend on the image only, not on how its rows arrive."""
    image = np.random.default_rng(len(cuts) * 7 + channels).integers(
        0, 256, (70, 37, channels), np.uint8
    )
    edges = [0, *sorted(cuts), 70]
    parts = [image[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]
    png = io.BytesIO()
    png_stream.write_png_bands(png, iter(parts), shape=image.shape, dtype=np.uint8)
    assert png.getvalue() == png_codec.encode(image, threads=1)
    whole, split = io.BytesIO(), io.BytesIO()
    for out, bands in ((whole, [image]), (split, parts)):
        sink.write_tiff_bands(
            out, iter(bands), shape=image.shape, dtype=np.uint8, layout="", tile=tile
        )
    assert whole.getvalue() == split.getvalue()
    read = tifffile.imread(io.BytesIO(split.getvalue()))
    np.testing.assert_array_equal(read.reshape(image.shape), image)
