"""The first ten minutes of a newcomer and of a PyTorch user (issue 17): every trap they hit,
each with a test that fails if it comes back.

References are independent of the code under test: the explicit-loop conv2d of
``tests/reference.py``, PyTorch when installed, values derived by hand.
"""

from __future__ import annotations

import typing
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from reference import conv2d_reference

import convcli
from convcli.cli import main
from convcli.errors import ClippedWarning, KernelError, ParameterError
from convcli.kernels import load_kernel

RNG = np.random.default_rng(17)
CAMERA = Path(__file__).parent.parent / "sample_images" / "camera.png"


def run(*args, input=None):
    return CliRunner().invoke(main, list(map(str, args)), prog_name="convcli", input=input)


def write_png(path, array):
    Image.fromarray(array).save(path)
    return path


def reference(img: np.ndarray, weight, bias=None, mode="reflect") -> np.ndarray:
    """conv2d of an (H, W, C) image in full scale (ToTensor), 'same' padding: (H, W, C_out)."""
    x = np.moveaxis(img, 2, 0)[None].astype(np.float64) / np.iinfo(img.dtype).max
    w = np.asarray(weight, np.float64)
    if w.ndim == 2:  # depthwise
        c = x.shape[1]
        w, groups = np.broadcast_to(w, (c, 1, *w.shape)), c
    else:
        groups = 1
    kh, kw = w.shape[-2:]
    pads = ((kh - 1) // 2, kh - 1 - (kh - 1) // 2, (kw - 1) // 2, kw - 1 - (kw - 1) // 2)
    out = conv2d_reference(x, w, bias, pads=pads, groups=groups, mode=mode)
    return np.moveaxis(out[0], 0, 2)


def quantize(values: np.ndarray, top: int) -> np.ndarray:
    return np.clip(np.rint(values * top), 0, top)


# --- 1. one sample scale: bias, offsets, --offset in full scale at every depth --------------


@pytest.fixture
def layer(tmp_path):
    """A .npz conv layer as PyTorch saves it: weight (3, 3, 3, 3), bias 0.1 per channel."""
    weight = RNG.standard_normal((3, 3, 3, 3)) / 9
    bias = np.array([0.1, -0.05, 0.2])
    path = tmp_path / "layer.npz"
    np.savez(path, weight=weight, bias=bias)
    return path, weight, bias


def test_a_layer_gives_the_same_image_at_8_16_and_32f(tmp_path, layer):
    path, weight, bias = layer
    img = RNG.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    src = write_png(tmp_path / "in.png", img)
    for args, name in [([], "o8.png"), (["--depth", "16"], "o16.png"), ([], "o32.npy")]:
        result = run("apply", "-k", path, *args, src, tmp_path / name)
        assert result.exit_code == 0, result.output
    want = reference(img, weight, bias)  # what the layer gives on ToTensor() input
    out8 = np.asarray(Image.open(tmp_path / "o8.png"))
    out16 = convcli.read_image(tmp_path / "o16.png").frames[0]  # Pillow reads 8 bits
    assert out16.dtype == np.uint16
    out32 = np.load(tmp_path / "o32.npy")
    assert np.abs(out8.astype(int) - quantize(want, 255)).max() <= 1
    assert np.abs(out16.astype(int) - quantize(want, 65535)).max() <= 1
    np.testing.assert_allclose(out32, want, atol=2e-6)
    # the same image within quantization: the bias is not lost at 8 bits (it was 0.1 grey)
    assert np.abs(out8 / 255 - out16 / 65535).max() <= 0.5 / 255 + 1e-6


def test_a_layer_matches_pytorch_on_totensor_input(layer):
    torch = pytest.importorskip("torch", reason="PyTorch not installed: pip install torch")
    F = torch.nn.functional
    _, weight, bias = layer
    img = RNG.integers(0, 256, (16, 11, 3), dtype=np.uint8)
    tensor = torch.from_numpy(np.moveaxis(img, 2, 0).copy()).double()[None] / 255  # ToTensor
    padded = F.pad(tensor, (1, 1, 1, 1), mode="reflect")
    want = F.conv2d(padded, torch.from_numpy(weight), torch.from_numpy(bias))
    want = np.moveaxis(want[0].numpy(), 0, 2)
    kernel = convcli.Kernel("layer", weight, bias=bias)
    got32 = convcli.filter_image(img, kernel, depth="32f")
    np.testing.assert_allclose(got32, want, atol=2e-6)
    got8 = convcli.filter_image(img, kernel)
    assert np.abs(got8.astype(int) - quantize(want, 255)).max() <= 1


@pytest.mark.parametrize("depth, top", [("8", 255), ("16", 65535), ("32f", 1.0)])
def test_offset_and_kernel_offset_are_full_scale(depth, top):
    img = np.full((4, 4), 51, np.uint8)  # 0.2 of full scale
    dtype = {"8": np.uint8, "16": np.uint16, "32f": np.float32}[depth]
    got = convcli.filter_image(img, [[1.0]], offset=0.25, depth=depth)
    assert got.dtype == dtype
    np.testing.assert_allclose(got.astype(np.float64) / top, 0.45, atol=0.5 / 255)
    k = convcli.Kernel("lift", [[1.0]], offset=0.25)
    np.testing.assert_array_equal(convcli.filter_image(img, k, depth=depth), got)


def test_offset_help_says_full_scale():
    result = run("apply", "--help")
    assert "in full scale" in " ".join(result.output.split())


# --- 2. zero-sum kernels give a visible result -----------------------------------------------


@pytest.mark.parametrize("spec", ["laplacian", "log", "outline", "LAPLACIAN"])
def test_zero_sum_kernels_default_to_their_natural_output(spec):
    img = np.asarray(Image.open(CAMERA).convert("L"))[:64, :64]
    kernel = load_kernel(spec)
    assert kernel.output_map == "abs" and abs(kernel.weight.sum()) < 1e-9
    want = quantize(np.abs(reference(img[:, :, None], kernel.weight))[..., 0], 255)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no note: the default is already visible
        got = convcli.filter_image(img, spec)
    assert np.abs(got.astype(int) - want).max() <= 1
    # explicit --output-map clip is still clip
    clipped = convcli.filter_image(img, spec, output_map="clip")
    assert np.count_nonzero(clipped == 0) > np.count_nonzero(got == 0)


def test_a_mostly_black_zero_sum_result_gives_one_note(tmp_path):
    img = np.asarray(Image.open(CAMERA).convert("L"))
    src = write_png(tmp_path / "cam.png", img)
    result = run("apply", "-k", "[[0,1,0],[1,-4,1],[0,1,0]]", src, tmp_path / "out.png")
    assert result.exit_code == 0
    notes = result.stderr.splitlines()
    assert len(notes) == 1 and notes[0].startswith("convcli: note: ")
    assert f"of '{src}' is black: kernel 'inline' sums to 0" in notes[0]
    assert "--output-map abs" in notes[0] and "--output-map offset" in notes[0]
    quiet = run(
        "apply",
        "-k",
        "[[0,1,0],[1,-4,1],[0,1,0]]",
        "--output-map",
        "clip",
        src,
        tmp_path / "o2.png",
    )
    assert quiet.stderr == ""
    with pytest.warns(ClippedWarning, match="sums to 0"):
        convcli.filter_image(img, np.array([[-1.0, 1.0]]))


def test_preview_tiles_use_the_natural_output_and_note_the_rest(tmp_path):
    img = np.asarray(Image.open(CAMERA).convert("L"))[:96, :96]
    src = write_png(tmp_path / "cam.png", img)
    result = run("preview", "-k", "log", "-k", "sobel-x", src, tmp_path / "sheet.png")
    assert result.exit_code == 0, result.output
    notes = result.stderr.splitlines()
    assert len(notes) == 1 and "tile 'sobel-x'" in notes[0]  # log is shown with abs
    from convcli.filtering._frame import FilterOptions
    from convcli.filtering._preview import contact_sheet, preview_sheet, to_display

    sheet = preview_sheet(img[:, :, None], "L", [load_kernel("log")], ["log"], FilterOptions())
    log_abs = convcli.filter_image(img, "log", output_map="abs")
    log_clip = convcli.filter_image(img, "log", output_map="clip")
    tiles = [to_display(img, "L"), to_display(log_abs, "L")]
    np.testing.assert_array_equal(sheet, contact_sheet(tiles, ["input", "log"]))
    assert log_abs.mean() > 1.5 * log_clip.mean()


# --- 3. the help ----------------------------------------------------------------------------


@pytest.mark.parametrize("args", [[], ["kernels"]])
def test_no_arguments_prints_the_normal_help(args):
    result = run(*args)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Usage: convcli") and len(lines) > 5
    assert "Error:" not in result.stderr and max(map(len, lines)) < 100


def test_a_file_where_a_command_goes_suggests_apply():
    result = run("in.png", "out.png")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: No such command 'in.png'; to filter an image: convcli apply -k KERNEL "
        "in.png out.png (see 'convcli --help')\n"
    )
    other = run("aply")  # not a file name: click's own message
    assert "No such command 'aply'" in other.stderr and "apply -k" not in other.stderr


# --- 4. batch forms as cp -------------------------------------------------------------------


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        write_png(folder / f"p{i}.png", RNG.integers(0, 256, (6, 5, 3), dtype=np.uint8))
    return folder


@pytest.mark.parametrize("existing", [True, False])
def test_files_then_a_folder(photos, tmp_path, existing):
    out = tmp_path / "out"
    if existing:
        out.mkdir()
    last = str(out) if existing else str(out) + "/"
    result = run("apply", "-k", "box", "-q", photos / "p0.png", photos / "p1.png", last)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["p0.png", "p1.png"]
    want = convcli.filter_image(np.asarray(Image.open(photos / "p1.png")), "box")
    np.testing.assert_array_equal(np.asarray(Image.open(out / "p1.png")), want)


def test_one_file_into_a_folder_and_dash_o_still_work(photos, tmp_path):
    (tmp_path / "one").mkdir()
    assert run("apply", "-k", "box", "-q", photos / "p0.png", tmp_path / "one").exit_code == 0
    assert (tmp_path / "one" / "p0.png").is_file()
    result = run("apply", "-k", "box", "-q", photos / "p0.png", "-o", tmp_path / "two")
    assert result.exit_code == 0 and (tmp_path / "two" / "p0.png").is_file()


def test_a_folder_into_an_image_name_is_refused(photos, tmp_path):
    target = tmp_path / "out" / "x.png"
    result = run("apply", "-k", "box", photos, target)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: INPUT '{photos}' is a folder, so OUTPUT must be a folder, but '{target}' "
        f"looks like an image file name; give a folder (e.g. '{tmp_path / 'out'}/') "
        "(see 'convcli apply --help')\n"
    )
    assert not target.exists() and not target.parent.exists()


def test_several_files_without_a_folder_are_refused(photos, tmp_path):
    result = run("apply", "-k", "box", photos / "p0.png", photos / "p1.png", tmp_path / "zz")
    assert result.exit_code == 2
    assert "end with an output folder (OUTDIR/) or give -o OUTDIR" in result.stderr
    assert not (tmp_path / "zz").exists()


# --- 5. PyTorch habits in the API -----------------------------------------------------------


def test_channels_first_is_refused_with_the_transpose():
    with pytest.raises(ParameterError) as info:
        convcli.filter_image(np.zeros((3, 64, 48)), "box")
    message = str(info.value)
    assert "looks channels first (C, H, W)" in message
    assert "img.transpose(1, 2, 0) (shape (64, 48, 3))" in message and "layout='CHW'" in message
    with pytest.raises(ParameterError, match=r"looks like a batch \(N, C, H, W\)"):
        convcli.filter_image(np.zeros((2, 3, 16, 16)), "box")


def test_channels_first_with_layout_chw():
    img = RNG.integers(0, 256, (3, 9, 20), dtype=np.uint8)
    got = convcli.filter_image(img, "gaussian", layout="CHW")
    want = convcli.filter_image(img.transpose(1, 2, 0), "gaussian")
    np.testing.assert_array_equal(got, want.transpose(2, 0, 1))
    # an (H, W, C) image is not mistaken: 64 rows, 64 columns, 3 channels
    assert convcli.filter_image(np.zeros((64, 64, 3), np.uint8), "box").shape == (64, 64, 3)
    # a genuinely tiny image with many channels passes with an explicit layout
    assert convcli.filter_image(np.zeros((3, 8, 8), np.uint8), "box", layout="").shape == (
        3,
        8,
        8,
    )


def test_a_nested_list_is_one_kernel():
    img = RNG.integers(0, 256, (7, 8), dtype=np.uint8)
    nested = [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    got = convcli.filter_image(img, nested, output_map="abs")
    want = quantize(np.abs(reference(img[:, :, None], nested)[..., 0]), 255)
    assert np.abs(got.astype(int) - want).max() <= 1
    chain = convcli.filter_image(img, [np.array([[0.5]]), np.array([[2.0]])])
    np.testing.assert_array_equal(chain, img)  # a list of arrays is still a chain


def test_kernel_repr_is_short():
    text = repr(load_kernel("gaussian:sigma=20"))
    assert text == "Kernel('gaussian:sigma=20', matrix 121x121, source='builtin')"
    bank = repr(load_kernel("sobel"))
    assert bank == "Kernel('sobel', bank 3x3, 2 members (magnitude), source='builtin')"


def test_dir_convcli_is_the_public_api():
    names = dir(convcli)
    assert names == sorted(convcli.__all__)
    assert "annotations" not in names and "importlib" not in names
    for name in convcli.__all__:
        getattr(convcli, name)


def test_public_functions_have_type_hints():
    for func in (convcli.conv2d, convcli.filter_image):
        hints = typing.get_type_hints(func)
        assert "return" in hints and "input" in hints or "array" in hints, func


# --- 6. kernel specs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, same",
    [
        ("GAUSSIAN", "gaussian"),
        ("Sobel-X", "sobel-x"),
        ("blur", "gaussian"),
        ("blur:sigma=2", "gaussian:sigma=2"),
        ("mean", "box"),
        ("edge", "sobel"),
        ("laplace", "laplacian"),
    ],
)
def test_names_are_case_insensitive_and_synonyms_resolve(spec, same):
    assert load_kernel(spec) == load_kernel(same)


def test_synonyms_are_data_driven():
    """dog (issue 15) resolves by its synonym and in any case, and its natural output is
    abs (it sums to 0); log is not suggested for it."""
    dog = load_kernel("dog")
    assert load_kernel("difference-of-gaussians").weight.tolist() == dog.weight.tolist()
    assert load_kernel("DoG").output_map == "abs"
    assert abs(float(dog.weight.sum())) < 1e-12


def test_call_syntax_gets_a_hint():
    result = run("kernels", "show", "gaussian(sigma=2, size=7)")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: kernel 'gaussian(sigma=2, size=7)': parameters are written "
        "NAME:key=value,key=value, not NAME(key=value); use 'gaussian:sigma=2,size=7'\n"
    )


def test_urls_are_refused_as_urls():
    result = run("kernels", "show", "https://host/k.json")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: kernel spec 'https://host/k.json' is a URL; convcli does not download "
        "kernels: download the file first (curl -O URL) and give its path\n"
    )


def test_a_missing_kernel_path_is_an_error(tmp_path):
    missing = tmp_path / "my_kernels"
    src = write_png(tmp_path / "a.png", np.zeros((4, 4), np.uint8))
    result = run("apply", "--kernel-path", missing, "-k", "box", src, tmp_path / "b.png")
    assert result.exit_code == 2
    assert f"Directory '{missing}' does not exist" in result.stderr
    assert not (tmp_path / "b.png").exists()
    with pytest.raises(KernelError, match=r"kernel folder '.*my_kernels' does not exist"):
        load_kernel("box", search_path=[missing])
    missing.mkdir()
    (missing / "laplace.json").write_text('{"weight": [[0, 1, 0], [1, -4, 1], [0, 1, 0]]}')
    # a user kernel named like a synonym wins over the synonym
    assert load_kernel("laplace", search_path=[missing]).source.endswith("laplace.json")


# --- 7. small things ------------------------------------------------------------------------


def test_a_kernel_that_does_not_fit_the_format_is_a_usage_error(tmp_path):
    np.save(tmp_path / "six.npy", np.ones((6, 3, 1, 1)))
    src = write_png(tmp_path / "a.png", np.zeros((4, 4, 3), np.uint8))
    result = run("apply", "-k", tmp_path / "six.npy", src, tmp_path / "b.png")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: cannot write {tmp_path / 'b.png'}: PNG holds 1 to 4")


def test_a_failed_file_is_named_once(tmp_path, photos):
    (photos / "bad.png").write_bytes(b"not a png")
    result = run("apply", "-k", "box", "-j", "1", photos, tmp_path / "out")
    assert result.exit_code == 1
    line = next(x for x in result.stderr.splitlines() if x.startswith("failed:"))
    assert line.count("bad.png") == 1 and line.startswith(f"failed: cannot read {photos}")


def test_preview_kernel_help_says_each_alone():
    text = " ".join(run("preview", "--help").output.split())
    assert "each is applied alone" in text and "one rounding at the end" not in text
    assert "one rounding at the end" in " ".join(run("apply", "--help").output.split())


def test_kernels_show_prints_no_float_noise():
    result = run("kernels", "show", "motion-blur:angle=30")
    assert result.exit_code == 0
    assert "e-1" not in result.output and "0.111111" in result.output
