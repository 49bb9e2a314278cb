"""``--linear``, ``--channels`` and ``unsharp:...,threshold=`` from the command line: results,
exact error lines, ICC profiles, and agreement with ImageMagick 6 where it is installed."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageCms

from convcli import filter_image
from convcli.cli import main
from convcli.images import ImageData, read_image, write_image
from convcli.kernels import load_kernel

RNG = np.random.default_rng(0)
SAMPLES = Path(__file__).resolve().parent.parent / "sample_images"


def invoke(*args):
    return CliRunner().invoke(main, list(map(str, args)), prog_name="convcli")


def write_png(path: Path, array: np.ndarray, layout: str, **metadata) -> Path:
    write_image(ImageData([array], layout, "PNG", metadata=metadata), path)
    return path


def gamma_profile(gamma: float) -> bytes:
    """A minimal ICC v2 RGB display profile (sRGB primaries, D50-adapted colorants as the
    sRGB profile has them) with a pure power curve: sRGB it is not."""

    def s15(v):
        return struct.pack(">i", round(v * 65536))

    def xyz(x, y, z):
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    text = b"gamma test"
    tags = {
        b"desc": b"desc\0\0\0\0"
        + struct.pack(">I", len(text) + 1)
        + text
        + b"\0"
        + b"\0" * 12
        + b"\0" * 70,
        b"cprt": b"text\0\0\0\0none\0",
        b"wtpt": xyz(0.9642, 1.0, 0.8249),
        b"rXYZ": xyz(0.4361, 0.2225, 0.0139),
        b"gXYZ": xyz(0.3851, 0.7169, 0.0971),
        b"bXYZ": xyz(0.1431, 0.0606, 0.7141),
        b"rTRC": b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0",
    }
    tags[b"gTRC"] = tags[b"bTRC"] = tags[b"rTRC"]
    table, body = b"", b""
    offset = 128 + 4 + 12 * len(tags)
    for sig, data in tags.items():
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    size = offset + len(body)
    header = struct.pack(">I4sI4s4s4s", size, b"none", 0x02100000, b"mntr", b"RGB ", b"XYZ ")
    header += b"\0" * 12 + b"acsp" + b"\0" * 24
    header += struct.pack(">I", 0) + s15(0.9642) + s15(1.0) + s15(0.8249)
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + body


@pytest.fixture
def rgb(tmp_path) -> Path:
    return write_png(tmp_path / "in.png", RNG.integers(0, 256, (30, 40, 3), np.uint8), "RGB")


@pytest.mark.parametrize(
    "args, options",
    [
        (["--linear"], dict(linear=True)),
        (["--channels", "lightness"], dict(channels="lightness")),
        (["--linear", "--channels", "lightness"], dict(linear=True, channels="lightness")),
    ],
)
def test_apply_equals_the_library(tmp_path, rgb, args, options):
    out = tmp_path / "out.png"
    chain = ["gaussian:sigma=1", "unsharp:sigma=2,amount=1,threshold=0.02"]
    result = invoke("apply", "-k", chain[0], "-k", chain[1], *args, rgb, out)
    assert result.exit_code == 0, result.output
    expected = filter_image(read_image(rgb).frames[0], chain, **options)
    np.testing.assert_array_equal(read_image(out).frames[0], expected)


def test_sixteen_bit_file_stays_sixteen_bit(tmp_path):
    source = SAMPLES / "astronaut16.png"
    out = tmp_path / "out.png"
    assert invoke("apply", "-k", "gaussian:sigma=2", "--linear", source, out).exit_code == 0
    frame = read_image(out).frames[0]
    assert frame.dtype == np.uint16
    assert len(np.unique(frame)) > 4096  # more levels than 8 bits could hold


def test_preview_with_linear(tmp_path, rgb):
    sheet = tmp_path / "sheet.png"
    result = invoke("preview", "-k", "gaussian", "--linear", "--channels", "lightness", rgb, sheet)
    assert result.exit_code == 0, result.output
    assert read_image(sheet).layout == "RGB"


def test_lightness_refuses_a_4d_kernel(tmp_path, rgb):
    kernel = tmp_path / "mix.npy"
    np.save(kernel, np.ones((3, 3, 1, 1)) / 3)
    result = invoke("apply", "-k", kernel, "--channels", "lightness", rgb, tmp_path / "o.png")
    assert result.exit_code == 2
    assert result.output == (
        f"Error: --channels lightness filters one plane, but kernel '{kernel}' is 4-D (it "
        "mixes channels); use --channels all\n"
    )
    assert not (tmp_path / "o.png").exists()


def test_linear_refuses_cmyk(tmp_path):
    source = tmp_path / "in.tif"
    Image.new("CMYK", (8, 8), (10, 20, 30, 40)).save(source)
    result = invoke("apply", "-k", "box", "--linear", source, tmp_path / "o.tif")
    assert result.exit_code == 2
    assert result.output == (
        f"Error: --linear needs an sRGB image (L, LA, RGB or RGBA) but '{source}' has layout "
        "CMYK; leave out --linear\n"
    )


def test_unknown_channels_is_a_usage_error(rgb, tmp_path):
    result = invoke("apply", "-k", "box", "--channels", "hue", rgb, tmp_path / "o.png")
    assert result.exit_code == 2
    assert "Invalid value for '--channels': 'hue' is not one of 'all', 'lightness'." in (
        result.output
    )


def test_a_non_srgb_profile_is_refused(tmp_path):
    pixels = RNG.integers(0, 256, (8, 8, 3), np.uint8)
    source = write_png(tmp_path / "in.png", pixels, "RGB", icc_profile=gamma_profile(1.8))
    out = tmp_path / "o.png"
    for what in ("--linear", "--channels lightness"):
        result = invoke("apply", "-k", "box", *what.split(), source, out)
        assert result.exit_code == 1
        assert result.output == (
            f"Error: '{source}' has the ICC profile 'gamma test', which is not sRGB; {what} "
            "decodes sRGB only: convert the image to sRGB first (e.g. 'convert IN -profile "
            "sRGB.icc OUT' with ImageMagick, or Pillow's ImageCms.profileToProfile), or leave "
            f"out {what}\n"
        )
        assert not out.exists()
    # without --linear the profile is no concern (and is kept)
    assert invoke("apply", "-k", "box", source, out).exit_code == 0
    assert read_image(out).metadata["icc_profile"] == gamma_profile(1.8)


def test_an_srgb_profile_is_accepted(tmp_path):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    pixels = RNG.integers(0, 256, (8, 8, 3), np.uint8)
    source = write_png(tmp_path / "in.png", pixels, "RGB", icc_profile=srgb)
    out = tmp_path / "o.png"
    assert invoke("apply", "-k", "box", "--linear", source, out).exit_code == 0
    np.testing.assert_array_equal(
        read_image(out).frames[0], filter_image(pixels, "box", linear=True)
    )


@pytest.mark.skipif(
    not Path("/usr/share/color/icc/ghostscript/a98.icc").is_file(), reason="no a98.icc here"
)
def test_adobe_rgb_is_refused(tmp_path):
    icc = Path("/usr/share/color/icc/ghostscript/a98.icc").read_bytes()
    source = write_png(tmp_path / "in.png", np.zeros((4, 4, 3), np.uint8), "RGB", icc_profile=icc)
    result = invoke("apply", "-k", "box", "--linear", source, tmp_path / "o.png")
    assert result.exit_code == 1
    assert "has the ICC profile 'Artifex Software A98 ICC Profile', which is not sRGB" in (
        result.output
    )


# ---- ImageMagick 6 -------------------------------------------------------------------


def imagemagick6() -> str | None:
    for candidate in ("/usr/bin/convert", shutil.which("convert")):
        if not candidate:
            continue
        try:
            version = subprocess.run(
                [candidate, "-version"], capture_output=True, text=True, timeout=30
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        if version.startswith("Version: ImageMagick 6."):
            return candidate
    return None


CONVERT = imagemagick6()
needs_im6 = pytest.mark.skipif(CONVERT is None, reason="needs ImageMagick 6 'convert'")


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> tuple[Path, np.ndarray]:
    pixels = np.asarray(Image.open(SAMPLES / "astronaut.png").convert("RGB"))[:180, 100:320]
    path = tmp_path_factory.mktemp("im") / "photo.png"
    Image.fromarray(pixels).save(path)
    return path, pixels


def run_convert(*args) -> np.ndarray:
    subprocess.run([CONVERT, *map(str, args)], check=True, capture_output=True, timeout=120)
    return np.asarray(Image.open(args[-1]).convert("RGB")).astype(int)


@needs_im6
@pytest.mark.parametrize("spec", ["gaussian:sigma=1.5", "box:size=5", "unsharp:sigma=1,amount=2"])
def test_linear_agrees_with_imagemagick(tmp_path, photo, spec):
    path, pixels = photo
    w = load_kernel(spec).weight
    im_kernel = f"{w.shape[1]}x{w.shape[0]}:" + ",".join(f"{v:.12g}" for v in w.ravel())
    out = tmp_path / "im.png"
    theirs = run_convert(
        path, "-colorspace", "RGB", "-morphology", "Convolve", im_kernel, "-colorspace", "sRGB", out
    )
    ours = filter_image(pixels, spec, linear=True).astype(int)
    r = w.shape[0]
    difference = (ours - theirs)[r:-r, r:-r]
    # ImageMagick truncates its 8-bit output: a correct result is 0 or 1 above it
    assert difference.min() >= 0 and difference.max() <= 1


@needs_im6
@pytest.mark.parametrize(
    "sigma, amount, threshold", [(2, 1, 0.02), (1.5, 0.8, 0.03), (3, 2, 0.01), (2, 1.5, 0.05)]
)
def test_unsharp_agrees_with_imagemagick(tmp_path, photo, sigma, amount, threshold):
    path, pixels = photo
    out = tmp_path / "im.png"
    theirs = run_convert(path, "-unsharp", f"0x{sigma}+{amount}+{2 * threshold}", out)
    ours = filter_image(pixels, f"unsharp:sigma={sigma},amount={amount},threshold={threshold}")
    blurred = filter_image(pixels.astype(np.float64) / 255, f"gaussian:sigma={sigma}") * 255
    clear = np.abs(np.abs(pixels - blurred) - threshold * 255) > 2
    r = int(6 * sigma) + 2
    difference = (ours.astype(int) - theirs)[r:-r, r:-r][clear[r:-r, r:-r]]
    assert np.abs(difference).max() <= 2
    sharpened = (np.abs(pixels - blurred) >= threshold * 255)[r:-r, r:-r]
    assert 0.05 < sharpened.mean() < 0.95  # the threshold decides somewhere
