"""Render convcli's sample images from scikit-image's bundled photos, and draw the rest.

Usage (PyPI is the only network access needed; scikit-image is NOT a convcli dependency)::

    pip download --no-deps scikit-image==0.26.0 -d /tmp/skimage-wheel
    python sample_images/make_samples.py /tmp/skimage-wheel/scikit_image-0.26.0-*.whl

The photos are read straight from the wheel (a zip file). The output is deterministic: the
same wheel gives the same bytes. See README.md beside this script for each file's
provenance and license.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageDraw

from convcli.images import ImageData, write_image

HERE = Path(__file__).resolve().parent


def photo(wheel: zipfile.ZipFile, name: str) -> Image.Image:
    with wheel.open(f"skimage/data/{name}") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    return image


def square_crop(image: Image.Image, box=None) -> Image.Image:
    width, height = image.size
    side = min(width, height)
    left, top = box or ((width - side) // 2, (height - side) // 2)
    return image.crop((left, top, left + side, top + side))


def area_mean(array: np.ndarray, factor: int) -> np.ndarray:
    """Downscale by an integer factor, averaging each factor x factor block in float."""
    height, width = array.shape[0] // factor, array.shape[1] // factor
    blocks = array[: height * factor, : width * factor].astype(np.float64)
    return blocks.reshape(height, factor, width, factor, -1).mean(axis=(1, 3))


def astronaut(wheel):
    """RGB photo, 256x256, as PNG; and as JPEG with an sRGB ICC profile, EXIF and 72 dpi."""
    source = photo(wheel, "astronaut.png").convert("RGB")  # 512x512
    small = source.resize((256, 256), Image.Resampling.LANCZOS)
    small.save(HERE / "astronaut.png", optimize=True)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010E] = "Astronaut Eileen Collins (NASA, public domain), 256x256"  # description
    exif[0x013B] = "NASA"  # artist
    exif[0x8298] = "Public domain (NASA)"  # copyright
    small.save(HERE / "astronaut.jpg", quality=90, icc_profile=icc, exif=exif, dpi=(72, 72))
    # 16-bit: a 4x4 area mean of the 512x512 source, kept at 16 bits. It has values between
    # the 8-bit levels, but it is derived from an 8-bit photo, not a 16-bit capture.
    mean = area_mean(np.asarray(source), 4) / 255.0  # 128x128
    deep = np.rint(mean * 65535).astype(np.uint16)
    write_image(ImageData([deep], "RGB", "PNG", "RGB"), HERE / "astronaut16.png")


def camera(wheel):
    """Greyscale photo, 256x256."""
    source = photo(wheel, "camera.png").convert("L")  # 512x512
    source.resize((256, 256), Image.Resampling.LANCZOS).save(HERE / "camera.png", optimize=True)


def cat_cutout(wheel):
    """RGBA: the cat photo cut out with an elliptical mask with a soft, anti-aliased rim.
    Colour under fully transparent pixels is black, as many editors export it: the case
    where a naive blur darkens the rim."""
    source = photo(wheel, "chelsea.png").convert("RGB")  # 451x300
    rgb = np.asarray(source.resize((225, 150), Image.Resampling.LANCZOS)).astype(np.float64)
    yy, xx = np.mgrid[0:150, 0:225] + 0.5
    radius = np.hypot((xx - 118) / 88, (yy - 72) / 66)  # ellipse around the cat's head
    alpha = np.clip((1.0 - radius) * 12, 0, 1)  # soft rim about 8 pixels wide
    rgba = np.dstack([rgb * (alpha[:, :, None] > 0), alpha * 255])
    Image.fromarray(np.rint(rgba).astype(np.uint8), "RGBA").save(
        HERE / "cat_cutout.png", optimize=True
    )


def spinner():
    """A 64x64 animated GIF: a bar turning in 8 steps, 80 ms each, looping forever, with a
    transparent background."""
    frames = []
    for step in range(8):
        frame = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
        draw = ImageDraw.Draw(frame)
        angle = np.pi * step / 8
        dx, dy = 26 * np.cos(angle), 26 * np.sin(angle)
        draw.line([(32 - dx, 32 - dy), (32 + dx, 32 + dy)], fill=(220, 60, 30, 255), width=9)
        draw.ellipse([26, 26, 38, 38], fill=(30, 90, 200, 255))
        frames.append(np.asarray(frame))
    image = ImageData(frames, "RGBA", "GIF", "RGBA", {"durations": [80] * 8, "loop": 0})
    write_image(image, HERE / "spinner.gif")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with zipfile.ZipFile(argv[1]) as wheel:
        astronaut(wheel)
        camera(wheel)
        cat_cutout(wheel)
    spinner()
    for path in sorted(HERE.iterdir()):
        if path.suffix != ".py" and path.name != "README.md":
            print(f"{path.name}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
