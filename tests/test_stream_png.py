"""Big images through ``apply``: PNG decoded by bands of rows (``images/png/_rows.py``).

The reference for the pixels is the whole-image decode (libpng through imagecodecs, and
Pillow); the PNGs are written by Pillow and by :func:`png_file` below, which filters every
row with the filter type it is told (its own Paeth, independent of the codec's), so that
all five filters occur in every colour type and depth. The output of ``apply`` is compared
byte for byte with the in-memory path's, with bands forced small (``BAND_SAMPLES``).
"""

from __future__ import annotations

import io
import struct
import zlib

import imagecodecs
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from stream_helpers import interrupt_rows, run_bounded

import convcli.filtering._bands as bands_module
from convcli import filter_image
from convcli.batch._job import ApplyJob, apply_file
from convcli.cli import main
from convcli.filtering._frame import FilterOptions
from convcli.images import read_image
from convcli.images.png import _rows
from convcli.images.png._chunks import SIGNATURE, chunks, make_chunk
from convcli.images.png._rows import open_png_rows
from convcli.images.png._stream import write_png_bands
from convcli.kernels import load_kernel

GAUSS = "gaussian:sigma=1.5"
COLOUR = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type


@pytest.fixture(autouse=True)
def small_bands(monkeypatch):
    """Bands of 64 rows for images 40 pixels wide or more, libpng pieces of a few rows."""
    monkeypatch.setattr(bands_module, "BAND_SAMPLES", 64 * 40)
    monkeypatch.setattr(_rows, "PIECE_BYTES", 3000)


def smooth(shape, dtype, seed=0) -> np.ndarray:
    """A gradient plus noise: compresses like a photograph, makes the encoders pick
    every filter."""
    h, w = shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    base = (np.sin(x / 9.0) + np.cos(y / 7.0)) / 4 + 0.5
    noise = np.random.default_rng(seed).random(shape) * 0.2
    value = np.clip(base.reshape(h, w, *([1] * (len(shape) - 2))) * 0.8 + noise, 0, 1)
    return np.rint(value * np.iinfo(dtype).max).astype(dtype)


# --- PNG files with chosen filters -------------------------------------------------------


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def filter_scanlines(array: np.ndarray, kinds) -> bytes:
    """The scanlines of ``array`` (H, W, C), row ``i`` filtered with ``kinds[i]`` (0-4):
    the PNG specification's definitions, in int arithmetic."""
    h = array.shape[0]
    raw = array.astype(array.dtype.newbyteorder(">")).view(np.uint8).reshape(h, -1)
    bpp = array.shape[2] * array.dtype.itemsize
    x = raw.astype(np.int32)
    b = np.vstack([np.zeros_like(x[:1]), x[:-1]])
    a = np.hstack([np.zeros_like(x[:, :bpp]), x[:, :-bpp]])
    c = np.hstack([np.zeros_like(b[:, :bpp]), b[:, :-bpp]])
    predictions = [0 * x, a, b, (a + b) // 2, _paeth(a, b, c)]
    out = np.empty((h, raw.shape[1] + 1), np.uint8)
    for i, kind in enumerate(kinds):
        out[i, 0] = kind
        out[i, 1:] = (x[i] - predictions[kind][i]) & 0xFF
    return out.tobytes()


def png_file(array, kinds=None, *, idat=8192, level=6, before=(), after=()) -> bytes:
    """A PNG of ``array`` with row filters ``kinds`` (default: cycling through all five),
    IDAT chunks of ``idat`` bytes, and extra chunks ``before`` / ``after`` the pixels."""
    h, w, channels = array.shape
    kinds = [i % 5 for i in range(h)] if kinds is None else kinds
    stream = zlib.compress(filter_scanlines(array, kinds), level)
    ihdr = struct.pack(">IIBBBBB", w, h, 8 * array.dtype.itemsize, COLOUR[channels], 0, 0, 0)
    parts = [SIGNATURE, make_chunk(b"IHDR", ihdr), *before]
    parts += [make_chunk(b"IDAT", stream[i : i + idat]) for i in range(0, len(stream), idat)]
    return b"".join([*parts, *after, make_chunk(b"IEND", b"")])


def filters_used(data: bytes) -> set[int]:
    """The filter types of the rows of a PNG (8-bit or 16-bit, not interlaced)."""
    ihdr = next(body for kind, body in chunks(data) if kind == b"IHDR")
    w, h, depth, colour = struct.unpack(">IIBB", bytes(ihdr[:10]))
    line = 1 + w * {0: 1, 2: 3, 4: 2, 6: 4}[colour] * depth // 8
    raw = zlib.decompress(b"".join(bytes(body) for kind, body in chunks(data) if kind == b"IDAT"))
    return set(raw[::line][:h])


def whole(data: bytes) -> np.ndarray:
    pixels = imagecodecs.png_decode(data)
    return pixels.reshape(pixels.shape[0], pixels.shape[1], -1)


# --- the reader ------------------------------------------------------------------------


@st.composite
def requests(draw, height: int):
    """Bands as a reader asks for them: starts going down, any lengths and overlaps."""
    spans, r0 = [], 0
    for _ in range(draw(st.integers(1, 8))):
        r0 = draw(st.integers(r0, height - 1))
        spans.append((r0, draw(st.integers(r0 + 1, height))))
    return spans


@settings(max_examples=60)
@given(
    data=st.data(),
    height=st.integers(1, 60),
    width=st.integers(1, 23),
    channels=st.sampled_from([1, 2, 3, 4]),
    depth=st.sampled_from([np.uint8, np.uint16]),
    idat=st.integers(1, 700),
    piece=st.integers(1, 2000),
)
def test_any_bands_give_the_whole_decode(
    tmp_path_factory, data, height, width, channels, depth, idat, piece
):
    """Every filter type, depth and layout, IDAT cut anywhere, libpng pieces of any size,
    any sequence of bands: the rows of the whole-image decode, bit for bit."""
    array = np.random.default_rng(height * width).integers(
        0, np.iinfo(depth).max + 1, (height, width, channels), depth
    )
    kinds = data.draw(st.lists(st.integers(0, 4), min_size=height, max_size=height))
    encoded = png_file(array, kinds, idat=idat)
    path = tmp_path_factory.mktemp("png") / "in.png"
    path.write_bytes(encoded)
    expected = whole(encoded)
    np.testing.assert_array_equal(expected, array)  # the test's own encoder is right
    saved = _rows.PIECE_BYTES
    _rows.PIECE_BYTES = piece
    try:
        with open_png_rows(path, "in.png") as reader:
            assert (reader.height, reader.width, reader.channels) == array.shape
            assert reader.dtype == depth
            for r0, r1 in data.draw(requests(height)):
                np.testing.assert_array_equal(reader.rows(r0, r1), expected[r0:r1])
    finally:
        _rows.PIECE_BYTES = saved


@pytest.mark.parametrize("optimize", [False, True])
@pytest.mark.parametrize(
    "mode, shape", [("RGB", (150, 67, 3)), ("L", (150, 67)), ("LA", (90, 41, 2))]
)
def test_pillow_files(tmp_path, mode, shape, optimize):
    """PNGs as Pillow writes them (it picks a filter per row): the rows and the header of
    :func:`read_image`."""
    array = smooth(shape, np.uint8)
    path = tmp_path / "in.png"
    Image.fromarray(array, mode).save(path, optimize=optimize)
    assert len(filters_used(path.read_bytes())) >= 3
    image = read_image(path)
    with open_png_rows(path, str(path)) as reader:
        assert (reader.layout, reader.mode, reader.metadata) == (
            image.layout,
            image.mode,
            image.metadata,
        )
        for r0 in range(0, shape[0], 30):  # overlapping bands of 37 rows
            r1 = min(r0 + 37, shape[0])
            np.testing.assert_array_equal(reader.rows(r0, r1), image.frames[0][r0:r1])
    np.testing.assert_array_equal(image.frames[0].reshape(array.shape), array)


def test_all_five_filters_occur():
    """The default rows of :func:`png_file` use every filter, in every colour type."""
    for channels in (1, 2, 3, 4):
        data = png_file(smooth((20, 9, channels), np.uint16))
        assert filters_used(data) == {0, 1, 2, 3, 4}


def test_empty_idat_chunks_and_surplus_data(tmp_path):
    """Empty IDAT chunks between the others, and data after the zlib stream's end (which
    libpng ignores): the same rows."""
    array = smooth((40, 21, 3), np.uint8)
    data = png_file(array, idat=300)
    empty = make_chunk(b"IDAT", b"")
    first, last = _idat_offsets(data)[1], data.rindex(b"IEND") - 4
    data = (
        data[:first] + empty + data[first:last] + empty + make_chunk(b"IDAT", b"junk") + data[last:]
    )
    (tmp_path / "in.png").write_bytes(data)
    np.testing.assert_array_equal(whole(data), array)
    with open_png_rows(tmp_path / "in.png", "in.png") as reader:
        np.testing.assert_array_equal(reader.rows(0, 40), array)


def test_bands_overlapping_beyond_what_is_kept(tmp_path, monkeypatch):
    """A band reaching above the rows kept from the previous one: decoded again from the
    top (correct, slower); a band above the previous one is a caller's error."""
    monkeypatch.setattr(_rows, "KEEP_BYTES", 10)
    array = smooth((80, 30, 3), np.uint8)
    (tmp_path / "in.png").write_bytes(png_file(array, idat=100))
    with open_png_rows(tmp_path / "in.png", "in.png") as reader:
        np.testing.assert_array_equal(reader.rows(0, 50), array[:50])
        np.testing.assert_array_equal(reader.rows(30, 80), array[30:])
        with pytest.raises(
            RuntimeError, match=r"PngRows.rows\(10, 20\) after a request from row 30"
        ):
            reader.rows(10, 20)
        with pytest.raises(ValueError, match="not inside the image's 80 rows"):
            reader.rows(70, 81)


NOT_STREAMED = {
    "interlaced": lambda path: path.write_bytes(
        _interlaced(png_file(np.zeros((8, 8, 3), np.uint8)))
    ),
    "palette": lambda path: Image.fromarray(smooth((40, 40, 3), np.uint8)).quantize(16).save(path),
    "1-bit": lambda path: Image.fromarray(smooth((40, 40), np.uint8) > 128).save(path),
    "transparent colour": lambda path: Image.fromarray(smooth((40, 40, 3), np.uint8)).save(
        path, transparency=(1, 2, 3)
    ),
    "EXIF after the pixels": lambda path: path.write_bytes(
        png_file(smooth((40, 40, 3), np.uint8), after=[make_chunk(b"eXIf", b"MM\x00*")])
    ),
    "not a PNG": lambda path: Image.fromarray(smooth((40, 40, 3), np.uint8)).save(path, "BMP"),
    "damaged header chunk": lambda path: path.write_bytes(
        png_file(smooth((40, 40, 3), np.uint8), before=[make_chunk(b"tEXt", b"a\x00b")[:-1] + b"?"])
    ),
}


def _interlaced(data: bytes) -> bytes:
    """The IHDR of ``data`` set to Adam7 (the reader decides from the header alone)."""
    data = bytearray(data)
    data[28] = 1
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@pytest.mark.parametrize("case", sorted(NOT_STREAMED))
def test_what_is_not_streamed_is_read_whole(tmp_path, case):
    path = tmp_path / "in.png"
    NOT_STREAMED[case](path)
    assert open_png_rows(path, "in.png") is None
    assert open_png_rows(tmp_path, "dir") is None  # not a regular file
    if case not in ("damaged header chunk", "interlaced"):
        assert run(path, tmp_path / "out.png").startswith(("PNG read whole", "BMP read whole"))


# --- apply, end to end -------------------------------------------------------------------


def run(src, dst, *kernels, **options):
    job = ApplyJob(
        tuple(load_kernel(k) for k in kernels or (GAUSS,)), FilterOptions.from_kwargs(**options)
    )
    return apply_file(src, dst, job)


def in_memory(src, *kernels, **options) -> tuple[bytes, str]:
    """``apply`` on the file's bytes as a stream: the PNG is decoded whole."""
    out = io.BytesIO()
    with open(src, "rb") as handle:
        path = run(io.BytesIO(handle.read()), out, *kernels, **options)
    return out.getvalue(), path


CASES = {
    "u8 RGB, Pillow": lambda: smooth((300, 70, 3), np.uint8),
    "u8 L": lambda: smooth((300, 70, 1), np.uint8),
    "u8 LA, odd width": lambda: smooth((257, 71, 2), np.uint8),
    "u16 RGBA": lambda: smooth((230, 43, 4), np.uint16),
    "u16 RGB": lambda: smooth((230, 53, 3), np.uint16),
    "u16 L": lambda: smooth((230, 53, 1), np.uint16),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_apply_streamed_equals_in_memory(tmp_path, case):
    array = CASES[case]()
    src = tmp_path / "in.png"
    if "Pillow" in case:
        Image.fromarray(array).save(src)
    else:
        src.write_bytes(png_file(array, idat=997))
    image = read_image(src)
    with open_png_rows(src, "in.png") as reader:
        assert (reader.layout, reader.mode, reader.dtype) == (
            image.layout,
            image.mode,
            image.frames[0].dtype,
        )
    path = run(src, tmp_path / "out.png")
    assert path.startswith("PNG read by bands, streamed in ")
    assert int(path.split("streamed in ")[1].split()[0]) > 3
    expected, memory_path = in_memory(src)
    assert memory_path.startswith("PNG read whole, streamed in ")
    assert (tmp_path / "out.png").read_bytes() == expected
    result = read_image(tmp_path / "out.png").frames[0]
    np.testing.assert_array_equal(result, filter_image(array, GAUSS).reshape(result.shape))


def test_cli_says_the_path_and_writes_the_same_bytes(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(smooth((400, 64, 3), np.uint8)).save(src, optimize=True)
    result = CliRunner().invoke(
        main, ["--debug", "apply", "-k", "box:size=5", str(src), str(tmp_path / "out.png")]
    )
    assert result.exit_code == 0, result.output
    assert "PNG read by bands, streamed in 13 bands of 32 rows (reach 2)" in result.output
    assert (tmp_path / "out.png").read_bytes() == in_memory(src, "box:size=5")[0]


def test_whole_frame_options_and_tiff_output(tmp_path):
    """Stride reads the reader whole (one band); a TIFF output goes the whole-image way."""
    array = smooth((200, 60, 3), np.uint8)
    src = tmp_path / "in.png"
    src.write_bytes(png_file(array))
    path = run(src, tmp_path / "out.png", stride=2)
    assert path.startswith("PNG read by bands, filtered whole (stride 2x2)")
    assert (tmp_path / "out.png").read_bytes() == in_memory(src, stride=2)[0]
    path = run(src, tmp_path / "out.tif")
    assert path.startswith("PNG read whole")
    np.testing.assert_array_equal(
        read_image(tmp_path / "out.tif").frames[0], filter_image(array, GAUSS)
    )


def test_metadata_kept(tmp_path):
    """ICC profile, DPI and EXIF before the pixels: read as read_image reads them, written
    as the in-memory path writes them."""
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "convcli test camera"
    src = tmp_path / "in.png"
    Image.fromarray(smooth((300, 50, 3), np.uint8)).save(
        src, icc_profile=icc, dpi=(300, 150), exif=exif.tobytes()
    )
    kinds = [bytes(kind) for kind, _ in chunks(src.read_bytes())]
    assert kinds.index(b"eXIf") < kinds.index(b"IDAT")
    with open_png_rows(src, "in.png") as reader:
        assert reader.metadata == read_image(src).metadata
        assert set(reader.metadata) == {"icc_profile", "dpi", "exif"}
    assert run(src, tmp_path / "out.png").startswith("PNG read by bands, streamed")
    out = read_image(tmp_path / "out.png")
    assert out.metadata == read_image(src).metadata
    assert (tmp_path / "out.png").read_bytes() == in_memory(src)[0]


# --- damaged and hostile files ----------------------------------------------------------


def _idat_offsets(data: bytes) -> list[int]:
    offsets, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        if data[offset + 4 : offset + 8] == b"IDAT":
            offsets.append(offset)
        offset += 12 + length
    return offsets


def _damage(data: bytes, how: str) -> bytes:
    data = bytearray(data)
    offsets = _idat_offsets(bytes(data))
    at = offsets[len(offsets) // 2]
    (length,) = struct.unpack(">I", data[at : at + 4])
    if how == "crc":
        data[at + 8 + length // 2] ^= 0xFF
    elif how == "deflate":  # garbage with a valid CRC: zlib refuses it
        data[at + 8 : at + 8 + length] = b"\xff" * length
        crc = zlib.crc32(bytes(data[at + 4 : at + 8 + length]))
        data[at + 8 + length : at + 12 + length] = struct.pack(">I", crc)
    elif how == "truncated":
        del data[at + 8 + length // 2 :]
    elif how == "too few rows":  # the IDAT chunks after the middle one dropped
        del data[offsets[len(offsets) // 2 + 1] : -12]
    return bytes(data)


@pytest.mark.parametrize("how", ["crc", "deflate", "truncated", "too few rows"])
@pytest.mark.parametrize("output", ["out.png", "out.tif"])
def test_damaged_pixels_mid_file(tmp_path, how, output):
    """One ``Error:`` line, exit code 1, no output file, the input untouched."""
    src = tmp_path / "in.png"
    src.write_bytes(_damage(png_file(smooth((400, 64, 3), np.uint8), idat=2000), how))
    before = src.read_bytes()
    args = ["apply", "-k", "box", str(src), str(tmp_path / output)]
    if output == "out.tif":
        args[1:1] = ["--compression", "deflate"]  # streamed into TIFF too
    result = CliRunner().invoke(main, args, prog_name="convcli")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"Error: cannot read {src}: truncated or corrupt image data (")
    assert lines[0].endswith("; re-export or re-download it")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]
    assert src.read_bytes() == before
    detail = lines[0].split("truncated or corrupt image data (")[1]
    if how == "too few rows":
        row = int(detail.split("the image data ends at row ")[1].split()[0])
        assert 0 < row < 400 and detail.startswith(f"the image data ends at row {row} of 400)")
    elif how == "truncated":
        assert detail.startswith("the file ends inside PNG chunk IDAT at byte ")
    elif how == "deflate":
        assert detail.startswith("rows ")
    if how == "crc":  # the whole-image reader's words
        whole_path = CliRunner().invoke(main, ["apply", "-k", "box", "-", "-"], input=before)
        assert whole_path.output.replace("the stream", str(src)).strip() == lines[0]


def test_interrupted_stream_leaves_nothing(tmp_path, monkeypatch):
    """Ctrl-C while bands are read: the temporary is removed, no output appears."""
    src = tmp_path / "in.png"
    src.write_bytes(png_file(smooth((400, 64, 3), np.uint8)))
    interrupt_rows(monkeypatch, _rows.PngRows)
    with pytest.raises(KeyboardInterrupt):
        run(src, tmp_path / "out.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]


def test_wrong_checksum_at_the_end(tmp_path):
    """The zlib stream's Adler-32 is checked after the last row, as libpng does."""
    data = bytearray(png_file(smooth((100, 40, 3), np.uint8), idat=10**6))
    at = _idat_offsets(bytes(data))[0]
    (length,) = struct.unpack(">I", data[at : at + 4])
    data[at + 8 + length - 1] ^= 1
    data[at + 8 + length : at + 12 + length] = struct.pack(
        ">I", zlib.crc32(bytes(data[at + 4 : at + 8 + length]))
    )
    (tmp_path / "in.png").write_bytes(bytes(data))
    with open_png_rows(tmp_path / "in.png", "in.png") as reader:
        reader.rows(0, 99)
        with pytest.raises(Exception, match="incorrect data check"):
            reader.rows(90, 100)


def _declaring(width: int, height: int) -> bytes:
    data = bytearray(png_file(np.zeros((16, 16, 3), np.uint8)))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def test_hostile_dimensions_refused_from_the_header(tmp_path, monkeypatch):
    src = tmp_path / "bomb.png"
    src.write_bytes(_declaring(100_000, 100_000))

    def never(*args):
        raise AssertionError("decoded")

    monkeypatch.setattr(_rows.PngRows, "_decode", never)
    result = CliRunner().invoke(main, ["apply", "-k", "box", str(src), str(tmp_path / "o.png")])
    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: cannot read {src}: it declares 100000x100000 pixels (30000100000 bytes "
        "decoded) but stores only "
    )
    assert "more than its compression can expand" in result.output
    assert "give --max-pixels" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.png"]
    # a limit given is a plain limit
    result = CliRunner().invoke(
        main, ["apply", "-k", "box", "--max-pixels", "1000", str(src), str(tmp_path / "o.png")]
    )
    assert "it has 10000000000 pixels, more than the limit of 1000" in result.output


def test_trusted_big_header_fails_at_the_missing_rows(tmp_path):
    """With --max-pixels high enough, the reader runs and stops where the data does."""
    src = tmp_path / "big.png"
    src.write_bytes(_declaring(2000, 3000))
    result = CliRunner().invoke(
        main, ["apply", "-k", "box", "--max-pixels", "10000000", str(src), str(tmp_path / "o.png")]
    )
    assert result.exit_code == 1
    assert "truncated or corrupt image data" in result.output
    assert not (tmp_path / "o.png").exists()


def test_no_pixel_limit_for_a_streamed_png(tmp_path, monkeypatch):
    """An honest PNG over Pillow's limit streams without --max-pixels."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5000)
    src = tmp_path / "in.png"
    Image.fromarray(smooth((300, 70, 3), np.uint8)).save(src)
    assert run(src, tmp_path / "out.png").startswith("PNG read by bands, streamed")
    # a whole-frame plan keeps the limit for what is whole
    with pytest.raises(Exception, match="more than the limit of 5000"):
        run(src, tmp_path / "strided.png", stride=2)


# --- memory -----------------------------------------------------------------------------


def test_streamed_8192_square_in_bounded_address_space(tmp_path):
    """8192x8192 16-bit RGB: 384 MiB decoded, 768 MiB as floats. Decoded by bands, the
    whole process (Python, NumPy, SciPy, codecs included) fits in an address space of
    320 MiB (one thread: each thread of the PNG writer reserves address space of its own)."""
    side, rows = 8192, 64
    band = smooth((rows, side, 3), np.uint8).astype(np.uint16) * 257  # compresses well
    src = tmp_path / "big.png"
    with open(src, "wb") as stream:
        write_png_bands(
            stream, iter([band] * (side // rows)), shape=(side, side, 3), dtype=np.uint16, level=1
        )
    limit = 320 * 2**20
    args = ["apply", "-k", "box:size=3", "--compress-level", "1", src, tmp_path / "out.png"]
    done = run_bounded(args, limit, CONVCLI_THREADS="1")
    assert done.returncode == 0, done.stderr
    with open_png_rows(tmp_path / "out.png", "out") as result:
        assert (result.height, result.width, result.channels) == (side, side, 3)
        out = result.rows(100, 164)  # rows 100-164: the input repeats every 64 rows
    source = np.concatenate([band] * 4)[36:228]
    np.testing.assert_array_equal(out, filter_image(source, "box:size=3")[64:128])
    assert limit < side * side * 3 * 2  # the decoded input alone would not fit
