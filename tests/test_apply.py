"""apply_file on real image files of every mode, against SciPy (and OpenCV when installed).

The reference filters the decoded samples with ``scipy.ndimage.correlate`` in float64 (mode
mapping as in the README table), then the documented rounding (half to even, clip). convcli
must agree within one grey level; bit depth, alpha, frames and metadata must survive.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from convcli.batch._job import ApplyJob, apply_file
from convcli.errors import ParameterError
from convcli.filtering._frame import FilterOptions
from convcli.images import ImageData, read_image, write_image
from convcli.kernels import load_kernel

SAMPLES = Path(__file__).resolve().parent.parent / "sample_images"
SCIPY_MODE = {
    "zeros": "constant",
    "replicate": "nearest",
    "reflect": "mirror",
    "symmetric": "reflect",
    "circular": "wrap",
}
GAUSS = "gaussian:sigma=1.5"


def sample_photo() -> np.ndarray:
    """A real RGB photo from sample_images/ (8-bit RGB), else a synthetic stand-in."""
    for path in sorted(SAMPLES.glob("*")):
        if path.suffix.lower() in (".png", ".jpg", ".jpeg"):
            with Image.open(path) as im:
                if im.mode == "RGB":
                    return np.asarray(im)[:96, :128].copy()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:96, :128] / 96.0
    base = np.stack([np.sin(4 * xx) + yy, np.cos(3 * yy) * xx, xx * yy], axis=-1)
    noisy = base + 0.05 * rng.standard_normal(base.shape)
    return (np.clip((noisy - noisy.min()) / np.ptp(noisy), 0, 1) * 255).astype(np.uint8)


PHOTO = sample_photo()


def disc_alpha(shape, radius_fraction=0.35) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - h / 2, xx - w / 2) / min(h, w)
    return np.clip((radius_fraction - r) * 8, 0, 1)  # opaque disc, soft rim, transparent rest


def correlate(plane, weight, mode="reflect"):
    origin = [(k - 1) // 2 - k // 2 for k in weight.shape]
    return ndimage.correlate(
        np.asarray(plane, np.float64),
        np.asarray(weight, np.float64),
        mode=SCIPY_MODE[mode],
        origin=origin,
    )


def reference(samples, weight, top, mode="reflect"):
    """Per-channel reference in the samples' own units, then the documented rounding."""
    out = np.stack(
        [correlate(samples[..., c], weight, mode) for c in range(samples.shape[2])], axis=-1
    )
    return out if top is None else np.clip(np.rint(out), 0, top)


def premultiplied_reference(samples, weight, top):
    colour, alpha = samples[..., :-1].astype(np.float64), samples[..., -1:].astype(np.float64)
    p = reference(colour * alpha / top, weight, None)
    a = reference(alpha, weight, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(a > 0, p * top / a, 0)
    a_out = np.clip(np.rint(a), 0, top)
    c_out = np.where(a_out > 0, np.clip(np.rint(c), 0, top), 0)
    return np.concatenate([c_out, a_out], axis=-1)


def run(src, dst, spec=GAUSS, **options):
    job = ApplyJob((load_kernel(spec),), FilterOptions.from_kwargs(**options))
    apply_file(str(src), str(dst), job)
    return read_image(str(dst))


def assert_close(got, want, tolerance=1):
    diff = np.abs(got.astype(np.float64) - want)
    assert diff.max() <= tolerance, f"max difference {diff.max()}"


def make_inputs(tmp_path):
    """Files of every mode, made with Pillow (and convcli for 16-bit RGB, which Pillow cannot
    write): name -> (path, expected dtype, expected layout)."""
    photo = Image.fromarray(PHOTO)
    grey = photo.convert("L")
    alpha8 = (disc_alpha(PHOTO.shape[:2]) * 255).astype(np.uint8)
    files = {}

    def save(name, image, dtype, layout, **params):
        path = tmp_path / name
        image.save(path, **params)
        files[name] = (path, dtype, layout)

    save("L.png", grey, np.uint8, "L")
    save("RGB.png", photo, np.uint8, "RGB")
    save("RGB.jpg", photo, np.uint8, "RGB", quality=90)
    save("LA.png", Image.fromarray(np.dstack([np.asarray(grey), alpha8]), "LA"), np.uint8, "LA")
    save("RGBA.png", Image.fromarray(np.dstack([PHOTO, alpha8]), "RGBA"), np.uint8, "RGBA")
    save("P.png", photo.quantize(64, dither=Image.Dither.NONE), np.uint8, "RGB")
    save("1.png", grey.convert("1"), np.uint8, "L")
    grey16 = (np.asarray(grey).astype(np.uint32) * 257 + 100).clip(0, 65535).astype(np.uint16)
    save("I16.png", Image.fromarray(grey16), np.uint16, "L")
    save("I.tif", Image.fromarray(np.asarray(grey).astype(np.int32) * 1000), np.int32, "L")
    save("F.tif", Image.fromarray(np.asarray(grey).astype(np.float32) / 255), np.float32, "L")
    save("CMYK.tif", photo.convert("CMYK"), np.uint8, "CMYK")
    rgb16 = (PHOTO.astype(np.uint32) * 257).astype(np.uint16)
    rgb16[::7, ::5, 1] += 3  # detail below the 8-bit step
    rgba16 = np.dstack([rgb16, (disc_alpha(PHOTO.shape[:2]) * 65535).astype(np.uint16)])
    for name, frame, layout in (
        ("RGB16.png", rgb16, "RGB"),
        ("RGB16.tif", rgb16, "RGB"),
        ("RGBA16.png", rgba16, "RGBA"),
    ):
        write_image(ImageData([frame], layout, "PNG"), tmp_path / name)
        files[name] = (tmp_path / name, np.uint16, layout)
    return files


MODES = [
    "L.png",
    "RGB.png",
    "RGB.jpg",
    "LA.png",
    "RGBA.png",
    "P.png",
    "1.png",
    "I16.png",
    "I.tif",
    "F.tif",
    "CMYK.tif",
    "RGB16.png",
    "RGB16.tif",
    "RGBA16.png",
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("modes"))


@pytest.mark.parametrize("name", MODES)
def test_every_mode_matches_the_reference(name, inputs, tmp_path):
    path, dtype, layout = inputs[name]
    source = read_image(path)
    assert source.frames[0].dtype == dtype and source.layout == layout
    out_ext = ".png" if path.suffix == ".jpg" else path.suffix  # no lossy output here
    result = run(path, tmp_path / f"out{out_ext}")
    got = result.frames[0]
    assert (
        got.dtype == dtype
        and result.layout == layout
        and got.shape == PHOTO.shape[:2] + (len(layout),)
    )
    weight = load_kernel(GAUSS).weight
    samples = source.frames[0]
    top = None if dtype == np.float32 else source.max_value
    if layout.endswith("A"):
        want = premultiplied_reference(samples, weight, top)
    else:
        want = reference(samples, weight, top)
    assert_close(got, want, 1e-5 if top is None else 1)


def test_sixteen_bit_keeps_detail_below_eight_bits(inputs, tmp_path):
    path = inputs["RGB16.png"][0]
    got = run(path, tmp_path / "o.png", "identity").frames[0]
    assert np.array_equal(got, read_image(path).frames[0])
    assert np.any(got % 257 != 0)  # not 8-bit data widened


@pytest.mark.parametrize("alpha", ["premultiply", "preserve", "channel"])
def test_alpha_modes_on_a_real_rgba_file(alpha, inputs, tmp_path):
    path = inputs["RGBA.png"][0]
    samples = read_image(path).frames[0]
    weight = load_kernel(GAUSS).weight
    got = run(path, tmp_path / "o.png", alpha=alpha).frames[0]
    if alpha == "premultiply":
        want = premultiplied_reference(samples, weight, 255)
    elif alpha == "preserve":
        want = np.concatenate([reference(samples[..., :3], weight, 255), samples[..., 3:]], -1)
    else:
        want = reference(samples, weight, 255)
    assert_close(got, want)


def test_edge_magnitude_with_output_map_abs(inputs, tmp_path):
    path = inputs["L.png"][0]
    samples = read_image(path).frames[0].astype(np.float64)
    got = run(path, tmp_path / "e.png", "sobel", output_map="abs").frames[0]
    members = load_kernel("sobel").members
    gx, gy = (correlate(samples[..., 0], m.weight) for m in members)
    assert_close(got[..., 0], np.clip(np.rint(np.hypot(gx, gy)), 0, 255))


def test_opencv_agrees_when_installed(inputs, tmp_path):
    cv2 = pytest.importorskip("cv2")
    path = inputs["RGB.png"][0]
    samples = read_image(path).frames[0]
    weight = load_kernel(GAUSS).weight.astype(np.float64)
    want = cv2.filter2D(
        samples.astype(np.float64), cv2.CV_64F, weight, borderType=cv2.BORDER_REFLECT_101
    )
    assert_close(run(path, tmp_path / "o.png").frames[0], np.clip(np.rint(want), 0, 255))


def test_frames_durations_and_loop_kept(tmp_path):
    grey = np.asarray(Image.fromarray(PHOTO).convert("L"))
    frames = [Image.fromarray(np.roll(grey, 9 * i, axis=1)) for i in range(3)]
    src = tmp_path / "anim.gif"
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=[80, 120, 160], loop=0)
    source = read_image(src)
    result = run(src, tmp_path / "out.gif")
    assert len(result.frames) == 3
    assert result.metadata["durations"] == [80, 120, 160] and result.metadata["loop"] == 0
    weight = load_kernel(GAUSS).weight
    for got, frame in zip(result.frames, source.frames, strict=True):
        assert_close(got, reference(frame, weight, 255))


def test_metadata_kept(tmp_path):
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[271] = "convcli test camera"
    src = tmp_path / "meta.jpg"
    Image.fromarray(PHOTO).save(src, icc_profile=icc, exif=exif.tobytes(), dpi=(300, 300))
    for out in ("o.jpg", "o.png", "o.tif"):
        result = run(src, tmp_path / out)
        assert result.metadata["icc_profile"] == icc
        assert result.metadata["dpi"] == pytest.approx((300, 300), abs=0.01)
        if out != "o.png" or "exif" in result.metadata:
            with Image.open(tmp_path / out) as im:
                assert im.getexif().get(271) == "convcli test camera"
    halved = run(src, tmp_path / "half.png", stride=2)
    assert halved.metadata["dpi"] == pytest.approx((150, 150), abs=0.05)  # PNG: pixels/metre


def test_npy_output_is_the_float_result(inputs, tmp_path):
    path = inputs["L.png"][0]
    got = np.load(apply_npy(path, tmp_path / "o.npy"))
    samples = read_image(path).frames[0] / 255
    want = correlate(samples[..., 0], np.array([[-1.0, 0.0, 1.0]]))
    assert got.dtype == np.float32 and got.shape == samples.shape[:2]  # grey: (H, W)
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert got.min() < 0  # not clipped


def apply_npy(src, dst):
    apply_file(str(src), str(dst), ApplyJob((load_kernel("[[-1, 0, 1]]"),)))
    return dst


def test_depth_option_and_format_choice(inputs, tmp_path):
    path = inputs["RGB.png"][0]
    job = ApplyJob((load_kernel("identity"),), FilterOptions.from_kwargs(depth="16"), format="TIFF")
    apply_file(str(path), str(tmp_path / "o.bin"), job)
    got = read_image(tmp_path / "o.bin")
    assert got.format == "TIFF" and got.frames[0].dtype == np.uint16
    assert np.array_equal(got.frames[0], read_image(path).frames[0].astype(np.uint16) * 257)


def test_same_file_refused_unless_in_place(inputs, tmp_path):
    src = tmp_path / "x.png"
    src.write_bytes(inputs["L.png"][0].read_bytes())
    job = ApplyJob((load_kernel("box"),))
    with pytest.raises(
        ParameterError,
        match=r"^OUTPUT '.*x.png' is the INPUT file; give "
        r"another output name, or --in-place to replace the input$",
    ):
        apply_file(str(src), str(tmp_path / "." / "x.png"), job)
    link = tmp_path / "link.png"
    link.symlink_to(src)
    with pytest.raises(ParameterError, match="is the INPUT file"):
        apply_file(str(src), str(link), job)
    before = src.read_bytes()
    apply_file(str(src), str(src), ApplyJob(job.kernels, in_place=True))
    assert src.read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.png", "x.png"]


def test_job_is_picklable_and_deterministic(inputs, tmp_path):
    import pickle

    job = ApplyJob(
        (load_kernel("sobel"), load_kernel(GAUSS)), FilterOptions.from_kwargs(output_map="abs")
    )
    clone = pickle.loads(pickle.dumps(job))
    path = inputs["RGBA.png"][0]
    job(str(path), str(tmp_path / "a.png"))
    clone(str(path), str(tmp_path / "b.png"))
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


SAMPLE_FILES = sorted(p for p in SAMPLES.glob("*") if p.suffix in (".png", ".jpg", ".gif"))


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.name for p in SAMPLE_FILES])
def test_shipped_samples_match_the_reference(path, tmp_path):
    source = read_image(path)
    # lossless outputs, so the comparison sees convcli's values, not an encoder's
    out_ext = {".jpg": ".png", ".gif": ".webp"}.get(path.suffix, path.suffix)
    result = run(path, tmp_path / f"out{out_ext}")
    assert result.layout == source.layout and len(result.frames) == len(source.frames)
    assert result.frames[0].dtype == source.frames[0].dtype
    assert result.metadata.get("durations") == source.metadata.get("durations")
    weight = load_kernel(GAUSS).weight
    for got, frame in zip(result.frames, source.frames, strict=True):
        if source.has_alpha:
            want = premultiplied_reference(frame, weight, source.max_value)
        else:
            want = reference(frame, weight, source.max_value)
        assert_close(got, want)


def test_cutout_blur_has_no_dark_fringe(tmp_path):
    path = SAMPLES / "cat_cutout.png"
    if not path.exists():
        pytest.skip("sample_images/cat_cutout.png not present")
    spec = "gaussian:sigma=3"
    soft = run(path, tmp_path / "soft.png", spec).frames[0].astype(float)
    naive = run(path, tmp_path / "naive.png", spec, alpha="channel").frames[0].astype(float)
    rim = (soft[..., 3] > 0) & (soft[..., 3] < 128)
    assert rim.sum() > 100
    inner = soft[..., 3] == 255
    brightness = soft[inner][:, :3].mean()
    # premultiplied: the rim keeps the cat's colours; straight: black leaks in
    assert soft[rim][:, :3].mean() > 0.8 * brightness
    assert naive[rim][:, :3].mean() < 0.6 * soft[rim][:, :3].mean()
