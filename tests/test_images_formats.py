"""Image I/O beyond 8-bit: 16-bit PNG and TIFF, float and many-channel TIFF, .npy, frames,
metadata (ICC, EXIF, DPI) and CMYK, each checked against an independent reader or writer."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from convcli.errors import ImageError
from convcli.images import ImageData, read_image, write_image
from convcli.images.png._chunks import SIGNATURE, chunks, make_chunk


def _random(shape, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.random(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, shape, dtype=dtype)


def _round_trip(image: ImageData, fmt: str, **options) -> ImageData:
    buffer = io.BytesIO()
    write_image(image, buffer, format=fmt, **options)
    return read_image(io.BytesIO(buffer.getvalue()))


def _png16_by_hand(array: np.ndarray, extra: bytes = b"") -> bytes:
    """A 16-bit PNG written from the specification (filter 0 on every row), no library."""
    height, width, channels = array.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = array.astype(">u2").reshape(height, width * channels).view(np.uint8)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return (
        SIGNATURE
        + make_chunk(b"IHDR", header)
        + extra
        + make_chunk(b"IDAT", zlib.compress(raw))
        + make_chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------- 16-bit PNG


@pytest.mark.parametrize("layout", ["L", "LA", "RGB", "RGBA"])
def test_16_bit_png_read_from_hand_written_file(layout):
    frame = _random((5, 7, len(layout)), np.uint16)
    image = read_image(io.BytesIO(_png16_by_hand(frame)))
    assert (image.format, image.layout, image.frames[0].dtype) == ("PNG", layout, np.uint16)
    np.testing.assert_array_equal(image.frames[0], frame)


def test_pillow_alone_reduces_16_bit_rgb_png():
    # the reason for the imagecodecs path: Pillow gives 8 bits for this file
    frame = _random((4, 4, 3), np.uint16)
    assert np.asarray(Image.open(io.BytesIO(_png16_by_hand(frame)))).dtype == np.uint8
    assert read_image(io.BytesIO(_png16_by_hand(frame))).frames[0].dtype == np.uint16


@pytest.mark.parametrize("layout", ["L", "LA", "RGB", "RGBA"])
def test_16_bit_png_written_decodes_by_hand(tmp_path, layout):
    frame = _random((6, 9, len(layout)), np.uint16, seed=1)
    write_image(ImageData([frame], layout, "PNG"), tmp_path / "x.png")
    data = (tmp_path / "x.png").read_bytes()
    found = dict(chunks(data))
    width, height, depth, colour_type = struct.unpack(">IIBB", found[b"IHDR"][:10])
    assert (width, height, depth) == (9, 6, 16)
    assert colour_type == {"L": 0, "LA": 4, "RGB": 2, "RGBA": 6}[layout]
    assert read_image(tmp_path / "x.png").mode in ("I;16", f"{layout};16")
    np.testing.assert_array_equal(read_image(tmp_path / "x.png").frames[0], frame)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_16_bit_png_against_opencv(tmp_path, channels):
    cv2 = pytest.importorskip("cv2")
    frame = _random((8, 5, channels), np.uint16, seed=2)
    order = {1: [0], 3: [2, 1, 0], 4: [2, 1, 0, 3]}[channels]
    bgr = frame[:, :, order] if channels > 1 else frame[:, :, 0]
    assert cv2.imwrite(str(tmp_path / "cv.png"), bgr)
    np.testing.assert_array_equal(read_image(tmp_path / "cv.png").frames[0], frame)
    layout = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    write_image(ImageData([frame], layout, "PNG"), tmp_path / "ours.png")
    back = cv2.imread(str(tmp_path / "ours.png"), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, bgr)


def test_16_bit_png_against_pypng(tmp_path):
    png = pytest.importorskip("png")
    frame = _random((4, 6, 3), np.uint16, seed=3)
    write_image(ImageData([frame], "RGB", "PNG"), tmp_path / "x.png")
    width, height, rows, info = png.Reader(bytes=(tmp_path / "x.png").read_bytes()).read()
    assert info["bitdepth"] == 16
    np.testing.assert_array_equal(np.vstack([np.asarray(r) for r in rows]).reshape(4, 6, 3), frame)


def test_16_bit_png_transparent_colour_becomes_alpha():
    frame = np.array([[[1, 2, 3], [4, 5, 6]], [[1, 2, 3], [7, 8, 9]]], np.uint16)
    trns = make_chunk(b"tRNS", struct.pack(">HHH", 1, 2, 3))
    image = read_image(io.BytesIO(_png16_by_hand(frame, trns)))
    assert image.layout == "RGBA"
    np.testing.assert_array_equal(image.frames[0][:, :, :3], frame)
    np.testing.assert_array_equal(image.frames[0][:, :, 3], [[0, 65535], [0, 65535]])


def test_16_bit_grey_png_transparent_colour_becomes_alpha():
    frame = np.array([[[0], [500]], [[500], [65535]]], np.uint16)
    trns = make_chunk(b"tRNS", struct.pack(">H", 500))
    image = read_image(io.BytesIO(_png16_by_hand(frame, trns)))
    assert image.layout == "LA"
    np.testing.assert_array_equal(image.frames[0][:, :, 1], [[65535, 0], [0, 65535]])


def test_16_bit_png_metadata_kept(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "Maker"
    metadata = {"icc_profile": icc, "exif": exif.tobytes(), "dpi": (300.0, 150.0)}
    back = _round_trip(
        ImageData([_random((4, 4, 4), np.uint16)], "RGBA", "PNG", "", metadata), "PNG"
    )
    assert back.metadata["icc_profile"] == icc
    assert back.metadata["dpi"] == pytest.approx((300.0, 150.0), abs=0.02)
    parsed = Image.Exif()
    parsed.load(back.metadata["exif"])
    assert parsed[0x010F] == "Maker"


def test_16_bit_png_corrupt_data():
    data = bytearray(_png16_by_hand(_random((20, 20, 3), np.uint16)))
    start = data.index(b"IDAT") + 4
    data[start + 10 : start + 40] = bytes(30)  # break the deflate stream
    with pytest.raises(ImageError, match=r"^cannot read the stream: truncated or corrupt image"):
        read_image(io.BytesIO(bytes(data)))


def test_16_bit_animated_png_refused_both_ways(tmp_path):
    frames = [_random((3, 3, 3), np.uint16, seed=s) for s in range(2)]
    with pytest.raises(
        ImageError, match=r"x\.png: 16-bit animated PNG is not supported; write TIFF"
    ):
        write_image(ImageData(frames, "RGB", "PNG"), tmp_path / "x.png")
    actl = make_chunk(b"acTL", struct.pack(">II", 1, 0))
    with pytest.raises(
        ImageError, match=r"16-bit animated PNG is not supported; convert it to TIFF"
    ):
        read_image(io.BytesIO(_png16_by_hand(frames[0], actl)))


# ---------------------------------------------------------------- TIFF


@pytest.mark.parametrize(
    "dtype, layout",
    [(np.uint16, "RGB"), (np.uint16, "RGBA"), (np.uint16, "LA"), (np.uint16, "CMYK"),
     (np.float32, "RGB"), (np.float32, "L"), (np.int32, "L"), (np.uint16, "L"),
     (np.uint8, ""), (np.uint16, ""), (np.float32, "")],
)  # fmt: skip
def test_tiff_round_trip_keeps_depth_and_channels(tmp_path, dtype, layout):
    channels = len(layout) or 6
    frame = _random((5, 4, channels), dtype)
    write_image(ImageData([frame], layout, "TIFF"), tmp_path / "x.tif")
    back = read_image(tmp_path / "x.tif")
    assert (back.format, back.layout, back.frames[0].dtype) == ("TIFF", layout, dtype)
    np.testing.assert_array_equal(back.frames[0], frame)
    independent = tifffile.imread(tmp_path / "x.tif")  # an independent reader agrees
    np.testing.assert_array_equal(independent.reshape(frame.shape), frame)


@pytest.mark.parametrize("planar", ["contig", "separate"])
def test_tiff_written_by_tifffile(tmp_path, planar):
    frame = _random((6, 5, 3), np.uint16, seed=4)
    data = frame if planar == "contig" else np.moveaxis(frame, 2, 0)
    tifffile.imwrite(tmp_path / "t.tif", data, photometric="rgb", planarconfig=planar,
                     resolution=(118.0, 118.0), resolutionunit="CENTIMETER")  # fmt: skip
    back = read_image(tmp_path / "t.tif")
    assert (back.layout, back.mode) == ("RGB", "RGB;16")
    np.testing.assert_array_equal(back.frames[0], frame)
    assert back.metadata["dpi"] == pytest.approx((299.72, 299.72))


def test_tiff_min_is_white_16_bit(tmp_path):
    frame = _random((3, 3, 1), np.uint16, seed=5)
    tifffile.imwrite(tmp_path / "w.tif", frame[:, :, 0], photometric="miniswhite")
    back = read_image(tmp_path / "w.tif")
    np.testing.assert_array_equal(back.frames[0], 65535 - frame)


def test_tiff_lzw_16_bit_rgb(tmp_path):
    pytest.importorskip("imagecodecs")
    frame = _random((16, 16, 3), np.uint16, seed=6)
    tifffile.imwrite(tmp_path / "lzw.tif", frame, photometric="rgb", compression="lzw")
    np.testing.assert_array_equal(read_image(tmp_path / "lzw.tif").frames[0], frame)


def test_tiff_pages_as_frames(tmp_path):
    frames = [_random((4, 4, 3), np.uint16, seed=s) for s in range(3)]
    back = _round_trip(ImageData(frames, "RGB", "TIFF"), "TIFF")
    assert len(back.frames) == 3
    for ours, theirs in zip(back.frames, frames, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert len(tifffile.TiffFile(io.BytesIO(_bytes(ImageData(frames, "RGB", "TIFF")))).pages) == 3


def _bytes(image, fmt="TIFF"):
    buffer = io.BytesIO()
    write_image(image, buffer, format=fmt)
    return buffer.getvalue()


def test_tiff_pages_of_different_sizes_refused(tmp_path):
    with tifffile.TiffWriter(tmp_path / "m.tif") as writer:
        writer.write(np.zeros((4, 4, 3), np.uint16), photometric="rgb")
        writer.write(np.zeros((5, 4, 3), np.uint16), photometric="rgb")
    with pytest.raises(ImageError, match=r"m\.tif: its pages differ in size or sample type"):
        read_image(tmp_path / "m.tif")


def test_tiff_unsupported_sample_type(tmp_path):
    tifffile.imwrite(tmp_path / "u.tif", np.zeros((2, 2, 3), np.uint32), photometric="rgb")
    with pytest.raises(ImageError, match=r"u\.tif: TIFF samples of type uint32 are not supported"):
        read_image(tmp_path / "u.tif")


def test_tiff_truncated(tmp_path):
    data = _bytes(ImageData([_random((64, 64, 3), np.uint16)], "RGB", "TIFF"))
    (tmp_path / "cut.tif").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"cut\.tif: truncated or corrupt"):
        read_image(tmp_path / "cut.tif")


def test_tiff_over_max_pixels(tmp_path):
    tifffile.imwrite(tmp_path / "b.tif", np.zeros((10, 10, 3), np.uint16), photometric="rgb")
    with pytest.raises(ImageError, match=r"b\.tif: it has 100 pixels, more than the limit of 50"):
        read_image(tmp_path / "b.tif", max_pixels=50)


@pytest.mark.parametrize("dtype, layout", [(np.uint16, "RGB"), (np.uint8, "RGB")])
def test_tiff_icc_and_dpi_kept(dtype, layout):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = ImageData([_random((4, 4, 3), dtype)], layout, "TIFF", "", {"icc_profile": icc,
                      "dpi": (300.0, 72.0)})  # fmt: skip
    back = _round_trip(image, "TIFF")
    assert back.metadata["icc_profile"] == icc
    assert back.metadata["dpi"] == pytest.approx((300.0, 72.0))


def test_tiff_without_resolution_has_no_dpi():
    assert "dpi" not in _round_trip(ImageData([_random((2, 2, 3))], "RGB", "PNG"), "TIFF").metadata


# ---------------------------------------------------------------- .npy


@pytest.mark.parametrize("shape", [(5, 6), (5, 6, 1), (5, 6, 3), (5, 6, 7)])
def test_npy_read(tmp_path, shape):
    array = np.random.default_rng(0).normal(size=shape)  # float64, negative values
    np.save(tmp_path / "a.npy", array)
    image = read_image(tmp_path / "a.npy")
    assert (image.format, image.layout, image.frames[0].dtype) == ("NPY", "", np.float32)
    np.testing.assert_array_equal(image.frames[0], array.reshape(5, 6, -1).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32])
def test_npy_round_trip_keeps_values(tmp_path, dtype):
    frame = _random((3, 4, 5), dtype) * (-1 if dtype == np.float32 else 1)
    write_image(ImageData([frame], "", "NPY"), tmp_path / "o.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), frame)
    np.testing.assert_array_equal(read_image(tmp_path / "o.npy").frames[0], frame)


def test_npy_single_channel_written_2d(tmp_path):
    write_image(ImageData([np.ones((3, 4, 1), np.float32)], "L", "PNG"), tmp_path / "o.npy")
    assert np.load(tmp_path / "o.npy").shape == (3, 4)


def test_npy_big_endian_read_native(tmp_path):
    np.save(tmp_path / "be.npy", np.arange(6, dtype=">u2").reshape(2, 3))
    frame = read_image(tmp_path / "be.npy").frames[0]
    assert frame.dtype == np.uint16 and frame.dtype.byteorder in ("=", "<")
    assert frame[:, :, 0].tolist() == [[0, 1, 2], [3, 4, 5]]


def test_npy_errors(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ImageError, match=r"obj\.npy: it holds Python objects, .*allow_pickle"):
        read_image(tmp_path / "obj.npy")
    np.save(tmp_path / "1d.npy", np.zeros(5))
    with pytest.raises(ImageError, match=r"must be \(H, W\) or \(H, W, C\), not of shape \(5,\)"):
        read_image(tmp_path / "1d.npy")
    np.save(tmp_path / "c.npy", np.zeros((2, 2), np.complex64))
    with pytest.raises(ImageError, match=r"c\.npy: arrays of complex64 are not images"):
        read_image(tmp_path / "c.npy")
    np.save(tmp_path / "big.npy", np.zeros((10, 10)))
    with pytest.raises(ImageError, match=r"it has 100 pixels, more than the limit of 10"):
        read_image(tmp_path / "big.npy", max_pixels=10)
    data = (tmp_path / "big.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[:200])
    with pytest.raises(ImageError, match=r"cut\.npy: truncated or corrupt \.npy file"):
        read_image(tmp_path / "cut.npy")
    frames = [np.zeros((2, 2, 1), np.float32)] * 2
    with pytest.raises(ImageError, match=r"\.npy holds one frame, this image has 2; write TIFF"):
        write_image(ImageData(frames, "L", "GIF"), tmp_path / "two.npy")


# ---------------------------------------------------------------- frames


def _palette_frames(layout, count=3, seed=0):
    """Frames of at most 200 colours (GIF keeps them exactly) with 0/255 alpha."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 256, (200, 3), dtype=np.uint8)
    frames = []
    for _ in range(count):
        frame = colours[rng.integers(0, 200, (6, 8))]
        frame = frame if layout.startswith("RGB") else frame[:, :, :1]
        if layout.endswith("A"):
            alpha = np.where(rng.random((6, 8)) < 0.3, 0, 255).astype(np.uint8)
            frame = np.concatenate([frame, alpha[:, :, None]], axis=2)
        frames.append(frame)
    return frames


@pytest.mark.parametrize("layout", ["L", "LA", "RGB", "RGBA"])
@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG", "TIFF"])
def test_frames_durations_and_loop_kept(layout, fmt):
    frames = _palette_frames(layout)
    metadata = {"durations": [100, 250, 40], "loop": 0}
    back = _round_trip(ImageData(frames, layout, "GIF", "P", metadata), fmt)
    expected_layout = "RGB" + layout[1:] if fmt == "WEBP" and layout[0] == "L" else layout
    assert back.layout == expected_layout and len(back.frames) == 3
    for ours, theirs in zip(back.frames, frames, strict=True):
        if fmt == "WEBP" and layout.startswith("L"):
            theirs = np.concatenate([np.repeat(theirs[:, :, :1], 3, 2), theirs[:, :, 1:]], 2)
        if layout.endswith("A"):  # colour under a transparent pixel is not kept by GIF
            np.testing.assert_array_equal(ours[:, :, -1], theirs[:, :, -1])
            visible = theirs[:, :, -1] > 0
            np.testing.assert_array_equal(ours[visible], theirs[visible])
        else:
            np.testing.assert_array_equal(ours, theirs)
    if fmt != "TIFF":  # TIFF has no frame durations
        assert back.metadata["durations"] == [100, 250, 40]
        assert back.metadata["loop"] == 0


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_loop_count_and_no_loop(fmt):
    frames = _palette_frames("RGB", 2)
    back = _round_trip(ImageData(frames, "RGB", "GIF", "", {"durations": [50, 60], "loop": 3}), fmt)
    assert back.metadata["loop"] == 3
    back = _round_trip(ImageData(frames, "RGB", "GIF", "", {"durations": [50, 60]}), "GIF")
    assert "loop" not in back.metadata  # no loop extension: play once


def test_gif_read_against_pillow_frames(tmp_path):
    frames = _palette_frames("RGB", 3, seed=7)
    pictures = [Image.fromarray(f) for f in frames]
    pictures[0].save(tmp_path / "p.gif", save_all=True, append_images=pictures[1:],
                     duration=[70, 80, 90], loop=2)  # fmt: skip
    image = read_image(tmp_path / "p.gif")
    assert (image.format, image.mode, image.metadata) == (
        "GIF", "P", {"durations": [70, 80, 90], "loop": 2})  # fmt: skip
    for ours, theirs in zip(image.frames, frames, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_gif_many_colours_is_quantized_deterministically():
    frame = _random((32, 32, 3), seed=8)  # 1024 colours: more than a GIF palette holds
    image = ImageData([frame], "RGB", "PNG")
    first, second = _bytes(image, "GIF"), _bytes(image, "GIF")
    assert first == second
    back = read_image(io.BytesIO(first)).frames[0].astype(int)
    assert np.abs(back - frame).mean() < 40  # dithered: close on average, not exact
    assert len(np.unique(back.reshape(-1, 3), axis=0)) <= 256


def test_gif_alpha_threshold():
    frame = np.zeros((1, 4, 4), np.uint8)
    frame[0, :, 0] = 200
    frame[0, :, 3] = [0, 127, 128, 255]
    back = _round_trip(ImageData([frame], "RGBA", "PNG"), "GIF").frames[0]
    assert back[0, :, 3].tolist() == [0, 0, 255, 255]
    assert back[0, 2:, 0].tolist() == [200, 200]


def test_gif_fully_transparent_frame():
    frame = np.zeros((2, 2, 4), np.uint8)
    back = _round_trip(ImageData([frame], "RGBA", "PNG"), "GIF")
    assert back.has_alpha and (back.frames[0][:, :, -1] == 0).all()


# ---------------------------------------------------------------- metadata


def _exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Maker"
    exif[0x0110] = "Model"
    exif.get_ifd(0x8769)[0x9003] = "2020:01:02 03:04:05"
    return exif.tobytes()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "WEBP"])
def test_icc_exif_dpi_kept(fmt):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    metadata = {"icc_profile": icc, "exif": _exif(), "dpi": (300.0, 150.0)}
    back = _round_trip(ImageData([_random((8, 8, 3))], "RGB", "PNG", "RGB", metadata), fmt)
    assert back.metadata["icc_profile"] == icc
    parsed = Image.Exif()
    parsed.load(back.metadata["exif"])
    assert (parsed[0x010F], parsed[0x0110]) == ("Maker", "Model")
    assert parsed.get_ifd(0x8769)[0x9003] == "2020:01:02 03:04:05"
    if fmt != "WEBP":  # WebP has no resolution field
        assert back.metadata["dpi"] == pytest.approx((300.0, 150.0), abs=0.02)


def test_jpeg_metadata_read_from_pillow_file(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("RGB", (4, 4)).save(tmp_path / "m.jpg", icc_profile=icc, exif=_exif(), dpi=(200, 200))
    image = read_image(tmp_path / "m.jpg")
    assert image.metadata["icc_profile"] == icc and image.metadata["dpi"] == (200.0, 200.0)
    assert image.metadata["exif"].startswith(b"Exif\x00\x00")


def test_icc_profile_of_other_colour_space_dropped_on_conversion():
    cmyk_profile = bytes(16) + b"CMYK" + bytes(108)
    image = ImageData([_random((2, 2, 4))], "CMYK", "JPEG", "CMYK", {"icc_profile": cmyk_profile})
    assert _round_trip(image, "JPEG").metadata["icc_profile"] == cmyk_profile
    assert "icc_profile" not in _round_trip(image, "PNG").metadata  # became RGB


# ---------------------------------------------------------------- CMYK


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_kept_by_jpeg_and_tiff(fmt):
    y, x = np.mgrid[0:16, 0:16]
    frame = np.stack([x * 16, y * 16, (x + y) * 8, np.full_like(x, 40)], 2).astype(np.uint8)
    back = _round_trip(ImageData([frame], "CMYK", "JPEG", "CMYK"), fmt)
    assert (back.layout, back.mode) == ("CMYK", "CMYK")
    tolerance = 0 if fmt == "TIFF" else 8
    assert np.abs(back.frames[0].astype(int) - frame).max() <= tolerance


def test_cmyk_read_from_pillow_jpeg(tmp_path):
    frame = np.full((8, 8, 4), [10, 200, 30, 0], np.uint8)
    Image.frombytes("CMYK", (8, 8), frame.tobytes()).save(tmp_path / "c.jpg", quality=100)
    back = read_image(tmp_path / "c.jpg")
    assert back.layout == "CMYK"
    assert np.abs(back.frames[0].astype(int) - frame).max() <= 2


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "GIF", "BMP"])
def test_cmyk_to_formats_without_cmyk_becomes_rgb(dtype, fmt):
    if dtype == np.uint16 and fmt != "PNG":
        pytest.skip("8-bit formats")
    top = np.iinfo(dtype).max
    frame = np.array([[[0, 0, 0, 0], [top, 0, 0, 0], [0, 0, 0, top], [0, top, top, 0]]], dtype)
    back = _round_trip(ImageData([frame], "CMYK", "TIFF", "CMYK"), fmt)
    assert back.layout == "RGB" and back.frames[0].dtype == dtype
    expected = [[[top, top, top], [0, top, top], [0, 0, 0], [top, 0, 0]]]
    assert back.frames[0].tolist() == expected


def test_multi_frame_tiff_written_to_a_path_keeps_every_frame(tmp_path):
    # Pillow's multi-page TIFF writer reads back what it wrote: the temporary file must be
    # opened for reading too (a write-only handle failed with "read").
    frames = [np.full((6, 5, 3), 40 * i, np.uint8) for i in range(3)]
    path = tmp_path / "pages.tif"
    write_image(ImageData(frames, "RGB", "TIFF"), str(path))
    back = read_image(str(path))
    assert [int(f.mean()) for f in back.frames] == [0, 40, 80]
    assert list(tmp_path.iterdir()) == [path]
