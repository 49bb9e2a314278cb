"""convcli.images.png._codec: PNG files checked against independent decoders (Pillow,
imagecodecs, and zlib plus the specification's unfiltering written out by hand), the
filter choice against a byte-by-byte reference, thread-count independence, metadata, the
decode fast path against Pillow, and the wiring into write_image / read_image / the CLI."""

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

from convcli.cli import main
from convcli.errors import ImageError, ParameterError
from convcli.images import ImageData, read_image, write_image
from convcli.images.png import _codec as png_fast

SIGNATURE = b"\x89PNG\r\n\x1a\n"
LAYOUTS = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def _random(shape, dtype=np.uint8, seed=0):
    info = np.iinfo(dtype)
    return np.random.default_rng(seed).integers(0, int(info.max) + 1, shape, dtype=dtype)


def _photo(height, width, channels, dtype=np.uint8, seed=0):
    """Smooth gradients plus a little noise: rows where every filter type can win."""
    top = float(np.iinfo(dtype).max)
    y, x = np.mgrid[0:height, 0:width] / max(height, width, 2)
    planes = [x, y, (x + y) / 2, 1 - x][:channels]
    noise = np.random.default_rng(seed).normal(0, 0.02, (height, width, channels))
    return np.clip((np.stack(planes, axis=2) + noise) * top, 0, top).astype(dtype)


# ---------------------------------------------------------------- references, by hand


def _parse(data: bytes):
    """``[(type, body)]`` of a PNG, read with struct (checking every CRC)."""
    assert data[:8] == SIGNATURE
    found, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body)
        found.append((kind, body))
        offset += 12 + length
    return found


def _paeth(a: int, b: int, c: int) -> int:
    """The PNG specification's PaethPredictor, literally."""
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _predictions(kind: int, line, prev, i: int, bpp: int) -> int:
    a = line[i - bpp] if i >= bpp else 0
    b = prev[i]
    c = prev[i - bpp] if i >= bpp else 0
    return (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]


def _unfilter(raw: bytes, height: int, stride: int, bpp: int) -> bytes:
    """The specification's reconstruction, byte by byte."""
    out, prev = bytearray(), bytearray(stride)
    for r in range(height):
        kind = raw[r * (stride + 1)]
        assert kind <= 4
        line = bytearray(raw[r * (stride + 1) + 1 : (r + 1) * (stride + 1)])
        for i in range(stride):
            line[i] = (line[i] + _predictions(kind, line, prev, i, bpp)) & 0xFF
        out += line
        prev = line
    return bytes(out)


def _best_filter(line: bytes, prev: bytes, bpp: int) -> tuple[int, bytes]:
    """libpng's choice: the filter whose bytes, read as signed, have the least |sum|."""
    best = None
    for kind in range(5):
        filtered = bytes(
            (line[i] - _predictions(kind, line, prev, i, bpp)) & 0xFF for i in range(len(line))
        )
        cost = sum(v if v < 128 else 256 - v for v in filtered)
        if best is None or cost < best[0]:
            best = (cost, kind, filtered)
    return best[1], best[2]


def _by_hand(data: bytes) -> np.ndarray:
    """Decode a PNG with zlib and :func:`_unfilter`: (H, W, C) in its dtype."""
    chunks = _parse(data)
    width, height, depth, colour, _, _, _ = struct.unpack(">IIBBBBB", chunks[0][1])
    channels = {0: 1, 4: 2, 2: 3, 6: 4}[colour]
    bpp = channels * depth // 8
    stream = b"".join(body for kind, body in chunks if kind == b"IDAT")
    inflater = zlib.decompressobj()
    raw = inflater.decompress(stream)
    assert inflater.eof and not inflater.unused_data  # one zlib stream, Adler-32 checked
    pixels = _unfilter(raw, height, width * bpp, bpp)
    dtype = ">u2" if depth == 16 else np.uint8
    return np.frombuffer(pixels, dtype).reshape(height, width, channels)


# ---------------------------------------------------------------- files, three decoders


SHAPES = [(1, 1), (1, 7), (7, 1), (5, 3), (9, 13), (16, 31)]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("shape", SHAPES)
def test_pixels_exact_by_hand_and_imagecodecs(shape, channels, dtype):
    array = _photo(*shape, channels, dtype)
    data = png_fast.encode(array)
    assert np.array_equal(_by_hand(data), array)
    decoded = imagecodecs.png_decode(data)
    assert np.array_equal(decoded.reshape(array.shape), array)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (17, 23)])
def test_pixels_exact_with_pillow(shape, channels):
    array = _photo(*shape, channels)
    image = Image.open(io.BytesIO(png_fast.encode(array)))
    assert image.mode == LAYOUTS[channels]
    assert np.array_equal(np.asarray(image).reshape(array.shape), array)


def test_pillow_reads_16_bit_grey():
    array = _random((6, 11, 1), np.uint16)
    image = Image.open(io.BytesIO(png_fast.encode(array)))
    assert image.mode == "I;16"
    assert np.array_equal(np.asarray(image), array[:, :, 0])


def test_header_and_chunks():
    data = png_fast.encode(_random((3, 5, 4), np.uint16))
    chunks = _parse(data)
    assert chunks[0] == (b"IHDR", struct.pack(">IIBBBBB", 5, 3, 16, 6, 0, 0, 0))
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    assert chunks[-1] == (b"IEND", b"")


@pytest.mark.parametrize("shape", [(1, 70000, 1), (70000, 1, 1)])
def test_huge_but_cheap_by_hand(shape):
    array = _random(shape)
    assert np.array_equal(_by_hand(png_fast.encode(array, level=1)), array)


@pytest.mark.parametrize("shape", [(1, 70000, 4), (70000, 1, 3)])
def test_huge_but_cheap_16_bit(shape):
    array = _random(shape, np.uint16)
    data = png_fast.encode(array, level=1)
    assert np.array_equal(imagecodecs.png_decode(data).reshape(shape), array)


@pytest.mark.parametrize("level", range(10))
def test_zlib_header_and_adler32_as_zlib_writes_them(level):
    array = _photo(20, 30, 3)
    stream = b"".join(
        body for kind, body in _parse(png_fast.encode(array, level=level)) if kind == b"IDAT"
    )
    raw = zlib.decompress(stream)
    assert stream[:2] == zlib.compress(b"", level)[:2]
    assert stream[-4:] == struct.pack(">I", zlib.adler32(raw))
    assert np.array_equal(_by_hand(png_fast.encode(array, level=level)), array)


# ---------------------------------------------------------------- filters


def test_filter_choice_matches_the_byte_by_byte_reference():
    array = _photo(12, 10, 3)
    array[3] = 0  # a flat row: None wins
    array[7] = array[6]  # a repeated row: Up wins
    raw = zlib.decompress(
        b"".join(body for kind, body in _parse(png_fast.encode(array)) if kind == b"IDAT")
    )
    rows, stride = array.reshape(12, 30), 31
    prev = bytes(30)
    for r in range(12):
        kind, filtered = _best_filter(rows[r].tobytes(), prev, 3)
        assert raw[r * stride] == kind
        assert raw[r * stride + 1 : (r + 1) * stride] == filtered
        prev = rows[r].tobytes()
    assert {raw[r * stride] for r in range(12)} >= {0, 2}


@settings(max_examples=60)
@given(
    st.integers(1, 4),
    st.integers(1, 9),
    st.integers(1, 3),
    st.integers(0, 2**32 - 1),
    st.sampled_from([0, 1, 16, 255]),
)
def test_filter_rows_against_reference(rows, width, bpp, seed, spread):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, dtype=np.uint8)
    data = (base + rng.integers(0, spread + 1, (rows + 1, width * bpp))).astype(np.uint8)
    data[0] = 0 if seed % 2 else data[0]
    out = np.empty((rows, width * bpp + 1), np.uint8)
    png_fast.filter_rows(data[1:], data[:-1], bpp, out)
    for r in range(rows):
        kind, filtered = _best_filter(data[r + 1].tobytes(), data[r].tobytes(), bpp)
        assert out[r, 0] == kind and out[r, 1:].tobytes() == filtered


@settings(max_examples=100)
@given(st.lists(st.tuples(*[st.integers(0, 255)] * 3), min_size=1, max_size=50))
def test_paeth_predictor_is_the_specifications(triples):
    a, b, c = (np.array(v, np.uint8) for v in zip(*triples, strict=True))
    assert png_fast.paeth_predictor(a, b, c).tolist() == [_paeth(*t) for t in triples]


def test_paeth_predictor_every_pair_of_differences():
    a, b = (v.ravel().astype(np.uint8) for v in np.mgrid[0:256, 0:256])
    for c in (0, 1, 127, 128, 254, 255):
        cs = np.full_like(a, c)
        want = [_paeth(int(x), int(y), c) for x, y in zip(a, b, strict=True)]
        assert png_fast.paeth_predictor(a, b, cs).tolist() == want


@settings(max_examples=100)
@given(st.binary(max_size=300), st.binary(max_size=300))
def test_adler32_combine(first, second):
    combined = png_fast.adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second))
    assert combined == zlib.adler32(first + second)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_views_are_written_as_their_values(dtype):
    base = _photo(9, 12, 4, dtype)
    for view in (base[:, ::-1, :3], base[::2, 1:, 1:2], np.asfortranarray(base)):
        assert png_fast.encode(view) == png_fast.encode(np.ascontiguousarray(view))
        assert np.array_equal(_by_hand(png_fast.encode(view)), view)


# ---------------------------------------------------------------- pieces and threads


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_same_bytes_for_any_thread_count_and_many_pieces(monkeypatch, dtype):
    monkeypatch.setattr(png_fast, "PIECE_BYTES", 700)  # ~ a dozen pieces, not one per row
    monkeypatch.setattr(png_fast, "IDAT_BYTES", 400)
    monkeypatch.setattr(png_fast, "BAND_BYTES", 200)
    array = _photo(40, 37, 3, dtype)
    files = [png_fast.encode(array, threads=n) for n in (1, 2, 4)]
    assert files[0] == files[1] == files[2]
    assert np.array_equal(_by_hand(files[0]), array)
    idat = [body for kind, body in _parse(files[0]) if kind == b"IDAT"]
    assert len(idat) > 3 and all(len(body) == 400 for body in idat[:-1])


def test_default_pieces_same_bytes_for_any_thread_count():
    array = _photo(800, 1000, 3)  # 2.4 MB of rows: one piece at 4 MiB, several at 1 MiB
    assert png_fast.encode(array, threads=1) == png_fast.encode(array, threads=2)
    assert np.array_equal(imagecodecs.png_decode(png_fast.encode(array)), array)


def test_thread_count_comes_from_the_engine(monkeypatch):
    from convcli.engine import engine_settings

    calls = []
    real = png_fast._deflated
    monkeypatch.setattr(png_fast, "PIECE_BYTES", 100)
    monkeypatch.setattr(png_fast, "_deflated", lambda *a: calls.append(a[-1]) or real(*a))
    with engine_settings(threads=3):
        png_fast.encode(_random((10, 10, 3)))
    monkeypatch.setenv("CONVCLI_THREADS", "2")
    png_fast.encode(_random((10, 10, 3)))
    png_fast.encode(_random((1, 1, 3)))  # one piece: no pool
    assert calls == [3, 2, 1]


# ---------------------------------------------------------------- property


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 12),
    st.integers(1, 12),
    st.integers(1, 4),
    st.sampled_from([np.uint8, np.uint16]),
    st.integers(0, 2**32 - 1),
    st.integers(0, 9),
)
def test_round_trip_exact(height, width, channels, dtype, seed, level):
    rng = np.random.default_rng(seed)
    top = int(np.iinfo(dtype).max)
    if seed % 3 == 0:  # smooth: other filters than None win
        array = _photo(height, width, channels, dtype, seed)
    else:
        array = rng.integers(0, top + 1, (height, width, channels), dtype=dtype)
    data = png_fast.encode(array, level=level)
    assert np.array_equal(imagecodecs.png_decode(data).reshape(array.shape), array)
    assert np.array_equal(png_fast.decode(data, "x.png"), array)


# ---------------------------------------------------------------- metadata


def test_metadata_chunks_and_round_trip():
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010E] = "a description"
    metadata = {"icc_profile": icc, "exif": exif.tobytes(), "dpi": (300.0, 150.0)}
    array = _photo(4, 6, 3)
    data = png_fast.encode(array, metadata)
    kinds = [kind for kind, _ in _parse(data)]
    assert kinds == [b"IHDR", b"iCCP", b"pHYs", b"eXIf", b"IDAT", b"IEND"]
    image = Image.open(io.BytesIO(data))
    assert image.info["icc_profile"] == icc
    assert image.getexif()[0x010E] == "a description"
    assert tuple(round(v) for v in image.info["dpi"]) == (300, 150)
    back = read_image(io.BytesIO(data))
    assert back.metadata["icc_profile"] == icc
    assert Image.Exif().load(back.metadata["exif"]) is None
    assert tuple(round(v) for v in back.metadata["dpi"]) == (300, 150)
    assert np.array_equal(back.frames[0], array)


def test_metadata_chunks_are_what_pillow_writes():
    icc = b"\x00" * 128
    metadata = {"icc_profile": icc, "dpi": (72.0, 72.0), "exif": b"Exif\x00\x00MM\x00*"}
    ours = dict(_parse(png_fast.encode(_photo(2, 2, 3), metadata)))
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2)).save(
        buffer, "PNG", icc_profile=icc, dpi=(72, 72), exif=metadata["exif"]
    )
    pillows = dict(_parse(buffer.getvalue()))
    for kind in (b"iCCP", b"pHYs", b"eXIf"):
        assert ours[kind] == pillows[kind]


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("level", [-1, 10, 2.5, True, "6"])
def test_bad_level(level):
    with pytest.raises(
        ParameterError,
        match=r"PNG compression level must be an integer from "
        r"0 to 9, got ",
    ):
        png_fast.encode(_random((2, 2, 1)), level=level)


@pytest.mark.parametrize("threads", [0, -2, 1.5, True])
def test_bad_threads(threads):
    with pytest.raises(ParameterError, match=r"threads must be a positive int, got "):
        png_fast.encode(_random((2, 2, 1)), threads=threads)


@pytest.mark.parametrize(
    "array",
    [np.zeros((2, 2), np.uint8), np.zeros((2, 2, 5), np.uint8), np.zeros((2, 2, 3), np.float32)],
)
def test_bad_arrays(array):
    with pytest.raises(
        ImageError,
        match=r"^cannot write the stream: PNG holds \(H, W, C\) "
        r"uint8 or uint16 arrays with 1 to 4 channels; got ",
    ):
        png_fast.encode(array)


@pytest.mark.parametrize("shape", [(0, 5, 3), (5, 0, 1)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_empty_image_refused_by_write_image(tmp_path, shape, dtype):
    with pytest.raises(
        ImageError,
        match=rf"^cannot write .*o\.png: PNG needs 1 to 2\*\*31 - 1 "
        rf"rows and columns; this image is {shape[1]}x"
        rf"{shape[0]}$",
    ):
        write_image(ImageData([np.zeros(shape, dtype)], "", "PNG"), tmp_path / "o.png")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- wiring


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_write_image_writes_png_fast(tmp_path, dtype, channels):
    array = _photo(9, 14, channels, dtype)
    metadata = {"dpi": (96.0, 96.0)}
    write_image(ImageData([array], LAYOUTS[channels], "PNG", "", metadata), tmp_path / "o.png")
    assert (tmp_path / "o.png").read_bytes() == png_fast.encode(array, metadata)


def test_animated_png_keeps_pillow(tmp_path):
    frames = [_random((4, 5, 3), seed=s) for s in range(3)]
    write_image(
        ImageData(frames, "RGB", "PNG", "", {"durations": [50, 60, 70]}), tmp_path / "a.png"
    )
    back = read_image(tmp_path / "a.png")
    assert len(back.frames) == 3 and back.metadata["durations"] == [50, 60, 70]
    assert all(np.array_equal(a, b) for a, b in zip(back.frames, frames, strict=True))


def test_cli_apply_identity_writes_the_same_bytes_for_any_thread_count(tmp_path):
    array = _photo(30, 41, 3)
    source = tmp_path / "in.png"
    source.write_bytes(png_fast.encode(array, {"dpi": (72.0, 72.0)}))
    outputs = []
    for threads in ("1", "2"):
        out = tmp_path / f"out{threads}.png"
        result = CliRunner().invoke(
            main,
            ["apply", "-k", "identity", str(source), str(out)],
            env={"CONVCLI_THREADS": threads},
        )
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == source.read_bytes()


# ---------------------------------------------------------------- the decode fast path


def _chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(array, depth, colour, extra=b"", interlace=0, after=b"", cut=None):
    """A PNG from the specification (filter 0), with extra chunks before/after IDAT."""
    height, width = array.shape[:2]
    rows = array.astype(">u2" if depth == 16 else np.uint8).reshape(height, -1).view(np.uint8)
    stream = zlib.compress(np.concatenate([np.zeros((height, 1), np.uint8), rows], 1).tobytes())
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    return (
        SIGNATURE
        + _chunk(b"IHDR", header)
        + extra
        + _chunk(b"IDAT", stream[:cut])
        + after
        + _chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "depth,colour,channels", [(8, 0, 1), (8, 4, 2), (8, 2, 3), (8, 6, 4), (16, 0, 1)]
)
def test_plain_pngs_read_fast_exactly_as_pillow(depth, colour, channels):
    array = _random((5, 7, channels), np.uint16 if depth == 16 else np.uint8)
    data = _png(array, depth, colour, extra=_chunk(b"pHYs", struct.pack(">IIB", 2835, 2835, 1)))
    assert png_fast.plain(data)
    image = read_image(io.BytesIO(data))
    pillow = Image.open(io.BytesIO(data))
    assert image.mode == pillow.mode and image.layout == LAYOUTS[channels]
    assert np.array_equal(image.frames[0], np.asarray(pillow).reshape(array.shape))
    assert np.array_equal(image.frames[0], array)
    assert tuple(round(v) for v in image.metadata["dpi"]) == (72, 72)


def test_what_is_left_to_pillow():
    grey = _random((3, 4, 1))
    trns = _chunk(b"tRNS", b"\x00\x07")
    cases = {
        "transparent colour": _png(grey, 8, 0, extra=trns),
        "animation": _png(grey, 8, 0, extra=_chunk(b"acTL", struct.pack(">II", 1, 0))),
        "EXIF after the pixels": _png(grey, 8, 0, after=_chunk(b"eXIf", b"MM\x00*")),
        "interlaced": _png(grey[:1, :1], 8, 0, interlace=1),
        "palette": _png(grey, 8, 3, extra=_chunk(b"PLTE", bytes(range(256)) * 3)),
        "1-bit": _png(np.zeros((3, 1, 1), np.uint8), 1, 0),
    }
    for name, data in cases.items():
        assert not png_fast.plain(data), name
    assert png_fast.plain(_png(grey, 8, 0, after=_chunk(b"tEXt", b"k\x00v")))
    back = read_image(io.BytesIO(cases["transparent colour"]))
    assert back.layout == "LA"  # Pillow's tRNS semantics kept
    pixels = back.frames[0]
    assert np.array_equal(pixels[:, :, 1], np.where(grey[:, :, 0] == 7, 0, 255))
    assert read_image(io.BytesIO(cases["EXIF after the pixels"])).metadata["exif"]


def test_wider_than_libpng_allows_is_left_to_pillow():
    wide = _png(np.zeros((1, 1_000_001, 1), np.uint8), 8, 0)
    assert not png_fast.plain(wide)
    assert read_image(io.BytesIO(wide)).frames[0].shape == (1, 1_000_001, 1)


def test_truncated_plain_png_is_one_error(tmp_path):
    path = tmp_path / "cut.png"
    path.write_bytes(_png(_random((20, 20, 3)), 8, 2, cut=50))
    with pytest.raises(
        ImageError,
        match=r"^cannot read .*cut\.png: truncated or corrupt image "
        r"data \(.*\); re-export or re-download it$",
    ):
        read_image(path)


def test_libpng_warnings_do_not_reach_stderr(capfd):
    array = _random((3, 4, 3))
    rows = np.concatenate([np.zeros((3, 1), np.uint8), array.reshape(3, -1)], 1).tobytes()
    surplus = zlib.compress(rows + b"surplus data" * 10)  # libpng: "Too much image data"
    data = (
        SIGNATURE
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 3, 8, 2, 0, 0, 0))
        + _chunk(b"IDAT", surplus)
        + _chunk(b"IEND", b"")
    )
    assert np.array_equal(read_image(io.BytesIO(data)).frames[0], array)
    assert capfd.readouterr().err == ""
