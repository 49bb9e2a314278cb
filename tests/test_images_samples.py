"""The shipped sample images read as documented in sample_images/README.md, and survive a
round trip through convcli's writer unchanged."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convcli.images import read_image, write_image

SAMPLES = Path(__file__).resolve().parent.parent / "sample_images"

EXPECTED = {
    "astronaut.png": ("PNG", "RGB", np.uint8, (256, 256, 3), 1),
    "astronaut.jpg": ("JPEG", "RGB", np.uint8, (256, 256, 3), 1),
    "astronaut16.png": ("PNG", "RGB", np.uint16, (128, 128, 3), 1),
    "camera.png": ("PNG", "L", np.uint8, (256, 256, 1), 1),
    "cat_cutout.png": ("PNG", "RGBA", np.uint8, (150, 225, 4), 1),
    "spinner.gif": ("GIF", "RGBA", np.uint8, (64, 64, 4), 8),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_reads_as_documented(name):
    fmt, layout, dtype, shape, count = EXPECTED[name]
    image = read_image(SAMPLES / name)
    assert (image.format, image.layout, image.frames[0].dtype) == (fmt, layout, dtype)
    assert image.frames[0].shape == shape and len(image.frames) == count


def test_every_sample_is_listed():
    files = {p.name for p in SAMPLES.iterdir() if p.suffix not in (".py", ".md")}
    assert files == set(EXPECTED)
    readme = (SAMPLES / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in EXPECTED)


def test_astronaut_jpeg_metadata():
    metadata = read_image(SAMPLES / "astronaut.jpg").metadata
    assert metadata["icc_profile"][36:40] == b"acsp"  # an ICC profile's signature
    assert metadata["dpi"] == (72.0, 72.0)
    exif = Image.Exif()
    exif.load(metadata["exif"])
    assert exif[0x013B] == "NASA"


def test_16_bit_sample_uses_more_than_8_bits():
    frame = read_image(SAMPLES / "astronaut16.png").frames[0]
    assert (frame % 257 != 0).mean() > 0.5  # not just 8-bit levels times 257


def test_cutout_has_transparent_opaque_and_partial_pixels():
    alpha = read_image(SAMPLES / "cat_cutout.png").frames[0][:, :, 3]
    assert (alpha == 0).any() and (alpha == 255).any() and ((alpha > 0) & (alpha < 255)).any()


def test_spinner_timing():
    assert read_image(SAMPLES / "spinner.gif").metadata == {"durations": [80] * 8, "loop": 0}


@pytest.mark.parametrize("name", ["astronaut.png", "astronaut16.png", "camera.png",
                                  "cat_cutout.png", "spinner.gif"])  # fmt: skip
def test_sample_round_trip_is_exact(name):
    image = read_image(SAMPLES / name)
    buffer = io.BytesIO()
    write_image(image, buffer)
    again = read_image(io.BytesIO(buffer.getvalue()))
    assert again.layout == image.layout and again.metadata == image.metadata
    for ours, theirs in zip(again.frames, image.frames, strict=True):
        np.testing.assert_array_equal(ours, theirs)
