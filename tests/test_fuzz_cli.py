"""Fuzzing the command line and the engine's parameters (hypothesis).

``convcli apply`` on a tiny image with generated ``--padding``, ``--stride``,
``--dilation``, ``--padding-mode`` and ``--kernel`` values: every run either exits 0 with a
readable image of the size PyTorch's formula gives (and the pixels ``filter_image``
computes), or exits 1 or 2 with one ``Error:`` line; never a traceback, an "internal
error", a second line, or a file left behind. ``conv2d`` is fuzzed the same way at the
library level (ParameterError or a correct-sized result), and so is image decoding
(mutated files of every format: ImageError or an image, never another exception or a
warning). The kernel parsers themselves are fuzzed in ``test_kernels_formats.py``.
"""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from convcli import conv2d, filter_image
from convcli.cli import main
from convcli.errors import ImageError, ParameterError
from convcli.images import ImageData, read_image, write_image

H, W = 7, 6
PIXELS = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
FIXTURE = [HealthCheck.function_scoped_fixture]
#: Large enough that the padded image cannot fit in any machine's memory, even when only one
#: axis is padded (a 1-tap-high kernel): 10**12 columns of 8 rows of float32 are 32 TB.
HUGE = st.integers(12, 30).map(lambda k: 10**k)


@pytest.fixture(scope="module")
def png(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "in.png"
    write_image(ImageData([PIXELS], "RGB", "PNG"), path)
    return path


def apply(png, args):
    """Run ``convcli apply ARGS in.png out.png``; check the contract; return the output
    pixels (None when refused)."""
    out = png.parent / "out.png"
    if out.exists():
        out.unlink()
    original = png.read_bytes()
    result = CliRunner().invoke(main, ["apply", *args, str(png), str(out)], prog_name="convcli")
    assert png.read_bytes() == original
    assert not list(png.parent.glob(".*.part"))
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    if result.exit_code == 0:
        # success: nothing on stderr but at most the note on a mostly black zero-sum result
        notes = result.stderr.splitlines()
        assert all(n.startswith("convcli: note: ") for n in notes) and len(notes) <= 1
        assert out.exists()
        image = read_image(out)
        assert image.format == "PNG" and image.layout == "RGB"
        return image.frames[0]
    assert result.exit_code in (1, 2), (result.exit_code, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert not out.exists()
    return None


def out_size(n: int, pad, stride: int, dilation: int, k: int = 3) -> int:
    """PyTorch's output size; 'same' is convcli's ceil(n / stride)."""
    if pad == "same":
        return -(-n // stride)
    pad = 0 if pad == "valid" else pad
    return (n + 2 * pad - dilation * (k - 1) - 1) // stride + 1


# --- the geometry options ------------------------------------------------------------


def _pair_text(values):
    return st.sampled_from([",", "x"]).map(lambda sep: sep.join(map(str, values)))


_GARBAGE = st.text(alphabet="0123456789,x- samevlidSAME", max_size=8).filter(
    lambda t: not any(len(run) > 3 for run in "".join(c if c.isdigit() else " " for c in t).split())
)  # at most 3-digit numbers: never a legal multi-GB request


REFUSED = "refused"


@st.composite
def geometry(draw):
    """(arguments, what must happen): the output (H', W'), REFUSED, or None when only the
    contract is checked (garbage text that click may or may not accept)."""
    which = draw(st.sampled_from(["padding", "stride", "dilation"]))
    kind = draw(st.sampled_from(["one", "pair", "huge", "garbage"]))
    if kind == "garbage":
        return [f"--{which}", draw(_GARBAGE)], None
    if kind == "huge":
        value = draw(HUGE)
        # a huge stride is one output pixel; huge padding or dilation cannot fit in memory
        return [f"--{which}", str(value)], (1, 1) if which == "stride" else REFUSED
    if which == "padding" and kind == "one" and draw(st.booleans()):
        word = draw(st.sampled_from(["same", "valid", "SAME"]))
        size = (out_size(H, word.lower(), 1, 1), out_size(W, word.lower(), 1, 1))
        return ["--padding", word], size
    least = 0 if which == "padding" else 1
    values = draw(st.tuples(st.integers(least - 2, 12), st.integers(least - 2, 12)))
    if kind == "one":
        values = values[:1] * 2
        text = str(values[0])
    else:
        text = draw(_pair_text(values))
    if min(values) < least:
        return [f"--{which}", text], REFUSED
    pads = values if which == "padding" else ("same", "same")
    strides = values if which == "stride" else (1, 1)
    dilations = values if which == "dilation" else (1, 1)
    axes = zip((H, W), pads, strides, dilations, strict=True)
    size = tuple(out_size(n, p, s, d) for n, p, s, d in axes)
    return [f"--{which}", text], size if min(size) >= 1 else REFUSED


@settings(max_examples=100, suppress_health_check=FIXTURE)
@given(case=geometry())
def test_geometry_options_give_an_image_or_one_error_line(png, case):
    args, want = case
    got = apply(png, ["-k", "box", "--padding-mode", "zeros", *args])
    event("refused" if got is None else "image")
    if want == REFUSED:
        assert got is None, args
    elif want is not None:
        assert got is not None and got.shape == (*want, 3), (args, got)


# --- padding modes ------------------------------------------------------------------

_MODES = [
    "zeros",
    "reflect",
    "replicate",
    "circular",
    "symmetric",
    "constant",
    "edge",
    "nearest",
    "wrap",
    "zero",
    "reflect_101",
    "reflect101",
    "mirror",
    "Reflect",
    " wrap ",
    "reflect-101",
]


@settings(max_examples=60, suppress_health_check=FIXTURE)
@given(mode=st.one_of(st.sampled_from(_MODES), st.text(max_size=12)))
def test_padding_modes_give_an_image_or_one_error_line(png, mode):
    assume("\x00" not in mode)  # not passable as a process argument
    got = apply(png, ["-k", "gaussian", "--padding-mode", mode])
    event("refused" if got is None else "image")
    key = mode.strip().lower().replace("-", "_")
    known = key in {m.replace("-", "_") for m in _MODES} and key != "mirror"
    assert (got is not None) == known, mode
    if got is not None:
        assert np.array_equal(got, filter_image(PIXELS, "gaussian", padding_mode=mode))


# --- kernel specs -------------------------------------------------------------------

_VALID_NUMBER = st.one_of(
    st.integers(0, 9).map(str),
    st.sampled_from(["3", "5", "15", "0.5"]),
    st.floats(0.1, 5).map(lambda v: f"{v:.3g}"),
)
_NUMBER = st.one_of(
    _VALID_NUMBER,
    _VALID_NUMBER,
    st.integers(-5, 40).map(str),
    st.floats(-10, 40, allow_nan=False).map(lambda v: f"{v:.3g}"),
    st.sampled_from(
        [
            "nan",
            "inf",
            "-inf",
            "1e9",
            "1e308",
            "1e-308",
            "-0",
            "",
            "x",
            "10" * 20,
            "true",
            "1_000",
            "1026",
            str(10**9),
        ]
    ),
)
_PARAMS = {
    "gaussian": ["sigma", "size"],
    "box": ["size"],
    "log": ["sigma", "size"],
    "unsharp": ["amount", "sigma", "size"],
    "laplacian": ["diagonals"],
    "motion-blur": ["length", "angle"],
    "sobel": [],
    "sharpen": [],
    "emboss": [],
}


@st.composite
def specs(draw):
    kind = draw(st.sampled_from(["named", "named", "inline", "imagemagick", "text"]))
    if kind == "named":
        name = draw(st.sampled_from(sorted(_PARAMS)))
        keys = draw(st.lists(st.sampled_from(_PARAMS[name] or ["size"]), max_size=2, unique=True))
        if draw(st.integers(0, 7)) == 0:
            keys.append("radius")
        values = {"diagonals": st.sampled_from(["true", "no", "2"])}
        params = ",".join(f"{k}={draw(values.get(k, _NUMBER))}" for k in keys)
        return f"{name}:{params}" if params or draw(st.booleans()) else name
    if kind == "inline":
        rows, cols = draw(st.integers(0, 4)), draw(st.integers(0, 4))
        matrix = [[draw(_NUMBER) for _ in range(cols)] for _ in range(rows)]
        if matrix and draw(st.integers(0, 4)) == 0:
            matrix[-1] = matrix[-1][:-1]  # ragged
        return "[" + ",".join("[" + ",".join(r) + "]" for r in matrix) + "]"
    if kind == "imagemagick":
        w, h = draw(st.integers(-1, 5)), draw(st.integers(-1, 5))
        count = max(w * h, 0) if draw(st.booleans()) else draw(st.integers(0, 10))
        return f"{w}x{h}:" + ",".join(draw(_NUMBER) for _ in range(count))
    return draw(st.text(alphabet='[]{}:,=.0123456789-xe boxgaussian"', max_size=20))


@settings(max_examples=200, suppress_health_check=FIXTURE)
@given(spec=specs())
def test_kernel_specs_give_an_image_or_one_error_line(png, spec):
    got = apply(png, ["-k", spec])
    event("refused" if got is None else "image")
    if got is not None:
        assert np.array_equal(got, filter_image(PIXELS, spec))


# --- conv2d at the library level -----------------------------------------------------

_INVALID = st.one_of(
    st.integers(-3, 0),
    HUGE,
    st.tuples(st.integers(-1, 3), st.integers(-2, 0)),
    st.sampled_from([True, 1.5, None, "2", (1,), (1, 2, 3), "full", -(10**20), np.float64(2)]),
)


@st.composite
def param(draw, least: int):
    """Mostly a valid int or pair (>= ``least``), sometimes anything else."""
    if draw(st.integers(0, 9)) == 0:
        return draw(_INVALID)
    valid = st.integers(least, 3)
    return draw(st.one_of(valid, st.tuples(valid, valid), st.integers(least, 3).map(np.int64)))


@settings(max_examples=150)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 4),
    h=st.integers(1, 8),
    w=st.integers(1, 8),
    c_out=st.integers(1, 4),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    groups=st.one_of(st.just(1), st.just(1), st.integers(-1, 4), st.just(True)),
    stride=param(1),
    dilation=param(1),
    padding=st.one_of(param(0), st.sampled_from(["same", "valid", "SAME", "full"])),
    mode=st.sampled_from(
        [
            "zeros",
            "reflect",
            "replicate",
            "circular",
            "symmetric",
            "wrap",
            "edge",
            "mirror",
            "bogus",
            3,
        ]
    ),
    bias=st.booleans(),
)
def test_conv2d_parameters_raise_parameter_error_or_give_the_pytorch_shape(
    n, c, h, w, c_out, kh, kw, groups, stride, padding, dilation, mode, bias
):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w))
    c_in_g = max(c // groups, 1) if isinstance(groups, int) and groups > 0 else c
    weight = rng.standard_normal((c_out, c_in_g, kh, kw))
    b = rng.standard_normal(c_out) if bias else None
    try:
        out = conv2d(
            x,
            weight,
            b,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            padding_mode=mode,
        )
    except ParameterError:
        event("ParameterError")
        return
    event("result")
    pair = lambda v: tuple(map(int, v)) if isinstance(v, tuple) else (int(v), int(v))  # noqa: E731
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    if str(padding).lower() == "same":
        want = (h, w)
    else:
        ph, pw = (0, 0) if padding == "valid" else pair(padding)
        want = (
            (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1,
            (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1,
        )
    assert out.shape == (n, c_out, *want)
    assert np.isfinite(out).all()


# --- image decoding -----------------------------------------------------------------


def _encode(fmt, frames=1, dtype=np.uint8, channels=3):
    rng = np.random.default_rng(1)
    top = np.iinfo(dtype).max
    pictures = [rng.integers(0, top, (12, 10, channels), dtype=dtype) for _ in range(frames)]
    layout = {3: "RGB", 4: "RGBA"}[channels]
    metadata = {"durations": [50] * frames, "loop": 0} if frames > 1 else {}
    buffer = io.BytesIO()
    write_image(ImageData(pictures, layout, fmt, metadata=metadata), buffer)
    return buffer.getvalue()


SAMPLES = {
    "png": _encode("PNG"),
    "png16": _encode("PNG", dtype=np.uint16),
    "apng": _encode("PNG", frames=2),
    "jpeg": _encode("JPEG"),
    "gif": _encode("GIF", frames=3),
    "tiff": _encode("TIFF"),
    "tiff16": _encode("TIFF", dtype=np.uint16),
    "webp": _encode("WEBP", channels=4),
    "bmp": _encode("BMP"),
    "npy": _encode("NPY"),
}


@st.composite
def damaged(draw):
    data = bytearray(SAMPLES[draw(st.sampled_from(sorted(SAMPLES)))])
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["cut", "flip", "insert"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if how == "cut":
            data = data[:at]
        elif how == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


@settings(max_examples=300)
@given(data=damaged())
def test_damaged_images_raise_image_error_or_read(data):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            image = read_image(io.BytesIO(data), max_pixels=10**6)
        except ImageError as exc:
            assert "\n" not in str(exc)
            event("ImageError")
            return
    event("read")
    assert image.frames and all(f.ndim == 3 for f in image.frames)
    assert math.prod(image.frames[0].shape[:2]) <= 10**6


def test_a_damaged_chunk_type_is_named_on_one_line():
    """Found by the fuzz test above: a chunk type damaged into b'\\n\\rIH' broke the error
    line in two; non-printable bytes of a type are now written as \\xNN."""
    from convcli.images.png._chunks import SIGNATURE, make_chunk

    chunk = bytearray(make_chunk(b"IHDR", bytes(13)))
    chunk[4:6] = b"\n\r"  # the type now fails its CRC, and holds a newline
    with pytest.raises(
        ImageError,
        match=r"^cannot read the stream: .*PNG chunk \\x0a\\x0dDR "
        r"at byte 8 fails its CRC check\); re-export",
    ) as info:
        read_image(io.BytesIO(SIGNATURE + bytes(chunk) + make_chunk(b"IEND", b"")))
    assert "\n" not in str(info.value)
