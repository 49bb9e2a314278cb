"""Image I/O: round trips per mode and format, streams, atomic writes, every ImageError."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from convcli.errors import ImageError, ParameterError
from convcli.images import ImageData, format_for, read_image, write_image
from convcli.images import _sources as sources


def _random(shape, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, shape, dtype=dtype)


def _pillow_bytes(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


class NonSeekable(io.RawIOBase):
    """A read-only stream that cannot seek or tell, like a pipe."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self):
        return True

    def seekable(self):
        return False

    def readinto(self, buffer):
        chunk = self._data.read(min(len(buffer), 1000))  # short reads, as a pipe gives
        buffer[: len(chunk)] = chunk
        return len(chunk)


# ---------------------------------------------------------------- ImageData, format_for


def test_image_data_properties():
    frame = np.zeros((2, 3, 2), np.uint8)
    image = ImageData([frame], "LA", "PNG", "LA")
    assert image.has_alpha and image.channels == 2 and image.size == (3, 2)
    assert image.max_value == 255.0
    assert ImageData([frame.astype(np.uint16)], "LA", "PNG").max_value == 65535.0
    assert ImageData([frame.astype(np.int32)], "LA", "TIFF").max_value == 2**31 - 1
    assert ImageData([frame.astype(np.float32)], "", "NPY").max_value == 1.0
    assert not ImageData([frame], "", "NPY").has_alpha
    assert not ImageData([frame[:, :, :1]], "L", "PNG").has_alpha


@pytest.mark.parametrize(
    "name, expected",
    [("a.png", "PNG"), ("A.JPG", "JPEG"), ("b.jpeg", "JPEG"), ("c.tif", "TIFF"),
     ("c.TIFF", "TIFF"), ("d.bmp", "BMP"), ("e.webp", "WEBP"), ("f.gif", "GIF"),
     ("g.npy", "NPY"), ("h.xyz", None), ("noext", None), ("-", None)],
)  # fmt: skip
def test_format_for(name, expected):
    assert format_for(name) == expected


# ---------------------------------------------------------------- 8-bit round trips


@pytest.mark.parametrize("layout", ["L", "LA", "RGB", "RGBA"])
@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "WEBP"])
def test_lossless_round_trip_8bit(tmp_path, layout, fmt):
    frame = _random((9, 11, len(layout)))
    path = tmp_path / f"x.{fmt.lower()}"
    write_image(ImageData([frame], layout, "PNG", layout), path)
    back = read_image(path)
    assert back.format == fmt and back.frames[0].dtype == np.uint8
    expected = frame
    if fmt == "WEBP" and layout.startswith("L"):  # WebP has no grey: it becomes RGB
        expected = np.concatenate([np.repeat(frame[:, :, :1], 3, 2), frame[:, :, 1:]], 2)
        assert back.layout == "RGB" + layout[1:]
    else:
        assert back.layout == layout
    np.testing.assert_array_equal(back.frames[0], expected)


@pytest.mark.parametrize("layout", ["L", "RGB"])
def test_bmp_round_trip(tmp_path, layout):
    frame = _random((6, 5, len(layout)))
    write_image(ImageData([frame], layout, "BMP"), tmp_path / "x.bmp")
    back = read_image(tmp_path / "x.bmp")
    assert (back.format, back.layout) == ("BMP", layout)
    np.testing.assert_array_equal(back.frames[0], frame)


@pytest.mark.parametrize("layout", ["L", "RGB"])
def test_jpeg_round_trip_is_close(tmp_path, layout):
    # a smooth image: JPEG at quality 95 is within a few levels of it
    y, x = np.mgrid[0:32, 0:32]
    frame = np.stack([(x * 8), (y * 8), (x + y) * 4][: len(layout)], 2).astype(np.uint8)
    write_image(ImageData([frame], layout, "PNG"), tmp_path / "x.jpg")
    back = read_image(tmp_path / "x.jpg")
    assert (back.format, back.layout, back.mode) == ("JPEG", layout, layout)
    assert np.abs(back.frames[0].astype(int) - frame).mean() < 2


def test_jpeg_quality_changes_size(tmp_path):
    frame = _random((64, 64, 3))
    image = ImageData([frame], "RGB", "PNG")
    write_image(image, tmp_path / "low.jpg", quality=10)
    write_image(image, tmp_path / "high.jpg", quality=95)
    assert os.path.getsize(tmp_path / "low.jpg") < os.path.getsize(tmp_path / "high.jpg") / 2


# ---------------------------------------------------------------- Pillow modes on read


def test_read_palette_without_transparency_expands_to_rgb(tmp_path):
    indices = _random((8, 8)) % 4
    image = Image.frombytes("P", (8, 8), indices.tobytes())
    palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]
    image.putpalette(palette)
    image.save(tmp_path / "p.png")
    back = read_image(tmp_path / "p.png")
    assert (back.layout, back.mode) == ("RGB", "P")
    expected = np.array(palette, np.uint8).reshape(4, 3)[indices]
    np.testing.assert_array_equal(back.frames[0], expected)


def test_read_palette_with_transparency_expands_to_rgba(tmp_path):
    indices = _random((8, 8)) % 3
    image = Image.frombytes("P", (8, 8), indices.tobytes())
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    image.save(tmp_path / "p.png", transparency=bytes([255, 0, 128]))
    back = read_image(tmp_path / "p.png")
    assert (back.layout, back.mode) == ("RGBA", "P")
    rgba = np.array([[255, 0, 0, 255], [0, 255, 0, 0], [0, 0, 255, 128]], np.uint8)
    np.testing.assert_array_equal(back.frames[0], rgba[indices])


def test_read_grey_palette_expands_to_l(tmp_path):
    indices = _random((5, 5)) % 3
    image = Image.frombytes("P", (5, 5), indices.tobytes())
    image.putpalette([0, 0, 0, 100, 100, 100, 255, 255, 255])
    image.save(tmp_path / "g.png")
    back = read_image(tmp_path / "g.png")
    assert (back.layout, back.mode) == ("L", "P")
    np.testing.assert_array_equal(back.frames[0][:, :, 0], np.array([0, 100, 255])[indices])


def test_read_one_bit_is_l_0_or_255(tmp_path):
    bits = _random((7, 9)) % 2 == 1
    Image.fromarray(bits).save(tmp_path / "b.png")
    back = read_image(tmp_path / "b.png")
    assert (back.layout, back.mode, back.frames[0].dtype) == ("L", "1", np.uint8)
    np.testing.assert_array_equal(back.frames[0][:, :, 0], np.where(bits, 255, 0))


def test_pa_frames_expand_to_rgba():
    # no format Pillow writes keeps PA, so this checks the frame conversion itself
    from convcli.images import _pillow as pillow_io

    image = Image.new("PA", (2, 1))
    image.putpalette([10, 20, 30, 40, 50, 60])
    image.putdata([(0, 255), (1, 7)])
    frames, layout, _ = pillow_io.read_frames(image, "pa")
    assert layout == "RGBA"
    assert frames[0].tolist() == [[[10, 20, 30, 255], [40, 50, 60, 7]]]


# ---------------------------------------------------------------- streams


def test_read_from_non_seekable_stream():
    frame = _random((4, 6, 3))
    buffer = io.BytesIO()
    write_image(ImageData([frame], "RGB", "PNG"), buffer)
    back = read_image(io.BufferedReader(NonSeekable(buffer.getvalue())))
    assert back.format == "PNG"
    np.testing.assert_array_equal(back.frames[0], frame)


def test_write_to_stream_uses_image_format_when_no_name():
    frame = _random((3, 3, 1))
    buffer = io.BytesIO()
    write_image(ImageData([frame], "L", "TIFF"), buffer)
    assert buffer.getvalue()[:2] in (b"II", b"MM")


def test_write_to_named_stream_uses_its_extension(tmp_path):
    with open(tmp_path / "x.gif", "wb") as stream:
        write_image(ImageData([_random((3, 3, 1))], "L", "PNG"), stream)
    assert (tmp_path / "x.gif").read_bytes()[:4] == b"GIF8"


def test_describe_names_standard_streams():
    class Named:
        name = "<stdin>"

    assert sources.describe(Named()) == "standard input"
    Named.name = "<stdout>"
    assert sources.describe(Named()) == "standard output"


# ---------------------------------------------------------------- atomic writes


class Boom(Exception):
    pass


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_failed_write_leaves_no_file_and_no_temporary(tmp_path, monkeypatch, error):
    from convcli.images.png import _codec as png_fast

    real_write = png_fast.write

    def half_then_fail(stream, *args, **kwargs):
        real_write(stream, *args, **kwargs)
        stream.flush()
        assert os.path.getsize(stream.name) > 0  # a partial file exists at this point
        raise error()

    monkeypatch.setattr(png_fast, "write", half_then_fail)
    with pytest.raises(error):
        write_image(ImageData([_random((8, 8, 3))], "RGB", "PNG"), tmp_path / "out.png")
    assert os.listdir(tmp_path) == []


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    from convcli.images.png import _codec as png_fast

    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    monkeypatch.setattr(png_fast, "write", lambda *args, **kw: (_ for _ in ()).throw(Boom()))
    with pytest.raises(Boom):
        write_image(ImageData([_random((8, 8, 3))], "RGB", "PNG"), target)
    assert os.listdir(tmp_path) == ["out.png"] and target.read_bytes() == b"old"


def test_write_replaces_and_keeps_permissions(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    write_image(ImageData([_random((2, 2, 1))], "L", "PNG"), target)
    assert os.stat(target).st_mode & 0o777 == 0o640
    assert read_image(target).frames[0].shape == (2, 2, 1)
    assert os.listdir(tmp_path) == ["out.png"]


def test_new_file_gets_umask_permissions(tmp_path):
    mask = os.umask(0o027)
    try:
        write_image(ImageData([_random((2, 2, 1))], "L", "PNG"), tmp_path / "n.png")
    finally:
        os.umask(mask)
    assert os.stat(tmp_path / "n.png").st_mode & 0o777 == 0o640


def test_same_input_gives_identical_bytes(tmp_path):
    image = ImageData([_random((16, 16, 4))], "RGBA", "PNG")
    for fmt in ("png", "tif", "webp", "gif", "jpg"):
        if fmt == "jpg":
            image = ImageData([image.frames[0][:, :, :3]], "RGB", "PNG")
        write_image(image, tmp_path / f"a.{fmt}")
        write_image(image, tmp_path / f"b.{fmt}")
        assert (tmp_path / f"a.{fmt}").read_bytes() == (tmp_path / f"b.{fmt}").read_bytes()


# ---------------------------------------------------------------- read errors


def test_read_missing_file(tmp_path):
    with pytest.raises(ImageError, match=r"^cannot read .*nope\.png: no such file$"):
        read_image(tmp_path / "nope.png")


def test_read_directory(tmp_path):
    with pytest.raises(ImageError, match=r"it is a directory, not an image file$"):
        read_image(tmp_path)


def test_read_empty_file(tmp_path):
    (tmp_path / "e.png").write_bytes(b"")
    with pytest.raises(ImageError, match=r"e\.png: it is empty, not an image$"):
        read_image(tmp_path / "e.png")


def test_read_not_an_image(tmp_path):
    (tmp_path / "t.png").write_text("hello, not a picture")
    with pytest.raises(
        ImageError,
        match=r"t\.png: not an image convcli can read \(PNG, JPEG, TIFF, BMP, WebP, GIF or \.npy\)",
    ):
        read_image(tmp_path / "t.png")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF"])
def test_read_truncated(tmp_path, fmt):
    data = _pillow_bytes(Image.fromarray(_random((64, 64, 3))), fmt)
    (tmp_path / "cut").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"cut: truncated or corrupt image data \(.*re-download"):
        read_image(tmp_path / "cut")


def test_read_unreadable(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    target = tmp_path / "secret.png"
    write_image(ImageData([_random((2, 2, 1))], "L", "PNG"), target)
    os.chmod(target, 0)
    with pytest.raises(ImageError, match=r"secret\.png: permission denied$"):
        read_image(target)


def test_read_text_stream():
    with pytest.raises(ImageError, match=r"^cannot read the stream: it is a text stream"):
        read_image(io.StringIO("abc"))


def test_read_over_max_pixels(tmp_path):
    write_image(ImageData([_random((10, 10, 1))], "L", "PNG"), tmp_path / "big.png")
    assert read_image(tmp_path / "big.png", max_pixels=100).frames[0].shape == (10, 10, 1)
    with pytest.raises(
        ImageError, match=r"big\.png: it has 100 pixels, more than the limit of 99 .*max_pixels"
    ):
        read_image(tmp_path / "big.png", max_pixels=99)


def test_max_pixels_above_pillow_limit_raises_it_knowingly(tmp_path, monkeypatch):
    write_image(ImageData([_random((10, 10, 1))], "L", "PNG"), tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40)  # Pillow errors past twice the limit
    with pytest.raises(ImageError, match=r"larger than the limit of 40 pixels"):
        read_image(tmp_path / "big.png")
    with pytest.raises(ImageError, match=r"it has 100 pixels, more than the limit of 60"):
        read_image(tmp_path / "big.png", max_pixels=60)
    assert read_image(tmp_path / "big.png", max_pixels=100).frames[0].shape == (10, 10, 1)
    assert Image.MAX_IMAGE_PIXELS == 40  # restored


# ---------------------------------------------------------------- write errors


def test_write_unknown_format_argument(tmp_path):
    with pytest.raises(
        ImageError,
        match=r"o\.png: unknown image format 'xcf'; convcli writes PNG, JPEG, TIFF, BMP, WEBP, "
        r"GIF, NPY$",
    ):
        write_image(ImageData([_random((2, 2, 1))], "L", "PNG"), tmp_path / "o.png", format="xcf")


def test_write_unknown_extension(tmp_path):
    with pytest.raises(ImageError, match=r"o\.xcf: unknown image format for extension '\.xcf'"):
        write_image(ImageData([_random((2, 2, 1))], "L", "PNG"), tmp_path / "o.xcf")
    assert os.listdir(tmp_path) == []


def test_format_argument_accepts_extensions_and_any_case(tmp_path):
    image = ImageData([_random((2, 2, 1))], "L", "PNG")
    write_image(image, tmp_path / "o.png", format=".JPG")
    assert read_image(tmp_path / "o.png").format == "JPEG"
    write_image(image, tmp_path / "o2", format="tiff")
    assert read_image(tmp_path / "o2").format == "TIFF"


def test_write_without_extension_uses_image_format(tmp_path):
    write_image(ImageData([_random((2, 2, 1))], "L", "GIF"), tmp_path / "noext")
    assert read_image(tmp_path / "noext").format == "GIF"


@pytest.mark.parametrize(
    "fmt, layout, message",
    [
        ("JPEG", "RGBA", r"JPEG cannot hold an alpha channel \(RGBA\); write PNG, TIFF, WebP"),
        ("JPEG", "LA", r"JPEG cannot hold an alpha channel \(LA\)"),
        ("BMP", "RGBA", r"BMP cannot hold an alpha channel \(RGBA\)"),
    ],
)
def test_write_alpha_to_format_without_alpha(tmp_path, fmt, layout, message):
    with pytest.raises(ImageError, match=message):
        write_image(
            ImageData([_random((2, 2, len(layout)))], layout, "PNG"), tmp_path / "o", format=fmt
        )


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "WEBP", "GIF"])
def test_write_five_channels_names_npy_and_tiff(tmp_path, fmt):
    with pytest.raises(
        ImageError,
        match=rf"o: {fmt} holds .*; this image has 5 \(arbitrary channels\): write \.npy or TIFF",
    ):
        write_image(ImageData([_random((2, 2, 5))], "", "NPY"), tmp_path / "o", format=fmt)


@pytest.mark.parametrize("fmt", ["JPEG", "BMP", "WEBP", "GIF"])
def test_write_16_bit_to_8_bit_format(tmp_path, fmt):
    with pytest.raises(
        ImageError,
        match=rf"{fmt} cannot hold 16-bit samples; write PNG or TIFF to keep them, or reduce "
        r"the depth \(--depth 8\)$",
    ):
        write_image(
            ImageData([_random((2, 2, 3), np.uint16)], "RGB", "PNG"), tmp_path / "o", format=fmt
        )


@pytest.mark.parametrize(
    "dtype, depth", [(np.float32, "32-bit float"), (np.int32, "32-bit integer")]
)
def test_write_32_bit_to_png(tmp_path, dtype, depth):
    frame = np.zeros((2, 2, 1), dtype)
    with pytest.raises(ImageError, match=rf"PNG cannot hold {depth} samples; write TIFF or \.npy"):
        write_image(ImageData([frame], "L", "TIFF"), tmp_path / "o.png")


@pytest.mark.parametrize("fmt", ["JPEG", "BMP"])
def test_write_frames_to_single_frame_format(tmp_path, fmt):
    frames = [_random((2, 2, 3), seed=s) for s in range(3)]
    with pytest.raises(
        ImageError, match=rf"{fmt} holds one frame, this image has 3; write GIF, WebP, PNG or TIFF"
    ):
        write_image(ImageData(frames, "RGB", "GIF"), tmp_path / "o", format=fmt)


def test_write_bad_frames(tmp_path):
    with pytest.raises(ImageError, match=r"o\.png: the image has no frames"):
        write_image(ImageData([], "L", "PNG"), tmp_path / "o.png")
    with pytest.raises(ImageError, match=r"frames must all be \(H, W, C\) arrays of one shape"):
        write_image(ImageData([np.zeros((2, 2), np.uint8)], "L", "PNG"), tmp_path / "o.png")
    with pytest.raises(ImageError, match=r"samples of type int64 are not supported; use uint8"):
        write_image(ImageData([np.zeros((2, 2, 1), np.int64)], "L", "PNG"), tmp_path / "o.png")
    with pytest.raises(ImageError, match=r"layout RGB needs 3 channels, the frames have 1"):
        write_image(ImageData([np.zeros((2, 2, 1), np.uint8)], "RGB", "PNG"), tmp_path / "o.png")


def test_write_missing_directory(tmp_path):
    target = tmp_path / "no" / "o.png"
    with pytest.raises(ImageError, match=r"o\.png: the directory .*no does not exist; create it"):
        write_image(ImageData([_random((2, 2, 1))], "L", "PNG"), target)


def test_write_onto_directory(tmp_path):
    (tmp_path / "d.png").mkdir()
    with pytest.raises(ImageError, match=r"d\.png: it is a directory; give a file name$"):
        write_image(ImageData([_random((2, 2, 1))], "L", "PNG"), tmp_path / "d.png")


@pytest.mark.parametrize("quality", [0, 101, 9.5, True])
def test_bad_quality(tmp_path, quality):
    with pytest.raises(ParameterError, match=r"quality must be"):
        write_image(
            ImageData([_random((2, 2, 3))], "RGB", "PNG"), tmp_path / "o.jpg", quality=quality
        )


# ---------------------------------------------------------------- Pillow's wide modes


@pytest.mark.parametrize(
    "mode, fmt, dtype, values",
    [
        ("I;16", "PNG", np.uint16, [[0, 1], [40000, 65535]]),
        ("I;16", "TIFF", np.uint16, [[0, 1], [40000, 65535]]),
        ("I", "TIFF", np.int32, [[-5, 0], [70000, 2**31 - 1]]),
        ("F", "TIFF", np.float32, [[-0.5, 0.0], [0.25, 3.5]]),
    ],
)
def test_read_wide_single_channel_modes_from_pillow(tmp_path, mode, fmt, dtype, values):
    array = np.array(values, {"I;16": "<u2", "I": "=i4", "F": "=f4"}[mode])
    Image.frombytes(mode, (2, 2), array.tobytes()).save(tmp_path / "w", format=fmt)
    image = read_image(tmp_path / "w")
    assert (image.layout, image.mode, image.frames[0].dtype) == ("L", mode, dtype)
    np.testing.assert_array_equal(image.frames[0][:, :, 0], values)
    write_image(image, tmp_path / "again.tif")  # and back through Pillow
    reopened = Image.open(tmp_path / "again.tif")
    assert reopened.mode == mode
    np.testing.assert_array_equal(np.asarray(reopened), values)


def test_read_rgba_premultiplied_tiff_unpremultiplies(tmp_path):
    # Pillow reads associated alpha as RGBa: convcli gives straight RGBA
    premultiplied = np.array([[[100, 50, 0, 200], [0, 0, 0, 0]]], np.uint8)
    import tifffile

    tifffile.imwrite(tmp_path / "a.tif", premultiplied, photometric="rgb", extrasamples=[1])
    image = read_image(tmp_path / "a.tif")
    assert image.layout == "RGBA"
    np.testing.assert_allclose(image.frames[0][0, 0], [128, 64, 0, 200], atol=1)
    assert image.frames[0][0, 1, 3] == 0


def test_read_rgba_premultiplied_16_bit_tiff_unpremultiplies(tmp_path):
    import tifffile

    premultiplied = np.array([[[30000, 15000, 0, 40000], [0, 0, 0, 0]]], np.uint16)
    tifffile.imwrite(tmp_path / "a.tif", premultiplied, photometric="rgb", extrasamples=[1])
    image = read_image(tmp_path / "a.tif")
    assert image.layout == "RGBA" and image.frames[0].dtype == np.uint16
    expected = np.rint(np.array([30000, 15000, 0]) * 65535 / 40000)
    np.testing.assert_array_equal(image.frames[0][0, 0], [*expected, 40000])
    np.testing.assert_array_equal(image.frames[0][0, 1], [0, 0, 0, 0])


def test_read_unsupported_pillow_mode(tmp_path):
    Image.new("LAB", (2, 2)).save(tmp_path / "lab.tif")
    with pytest.raises(
        ImageError,
        match=r"lab\.tif: Pillow mode LAB is not supported; convert it to RGB, L or CMYK",
    ):
        read_image(tmp_path / "lab.tif")


def test_frames_of_mixed_kinds():
    from convcli.images._pillow import common_mode

    assert common_mode(["L", "RGB"], "x") == "RGB"
    assert common_mode(["LA", "RGB"], "x") == "RGBA"
    assert common_mode(["L", "L"], "x") == "L"
    with pytest.raises(
        ImageError, match=r"^cannot read x: its frames have different kinds \(F, L\)"
    ):
        common_mode(["L", "F"], "x")


def test_rgb_with_transparent_colour_becomes_rgba(tmp_path):
    frame = np.array([[[1, 2, 3], [4, 5, 6]]], np.uint8)
    Image.fromarray(frame).save(tmp_path / "t.png", transparency=(1, 2, 3))
    image = read_image(tmp_path / "t.png")
    assert image.layout == "RGBA"
    assert image.frames[0].tolist() == [[[1, 2, 3, 0], [4, 5, 6, 255]]]


def test_grey_with_transparent_level_becomes_la(tmp_path):
    Image.fromarray(np.array([[7, 8]], np.uint8)).save(tmp_path / "t.png", transparency=7)
    image = read_image(tmp_path / "t.png")
    assert image.layout == "LA"
    assert image.frames[0].tolist() == [[[7, 0], [8, 255]]]
