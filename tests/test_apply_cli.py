"""``convcli apply`` and ``convcli preview`` from the command line: exit codes, exact error
lines, pipes through real processes, Ctrl-C."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from convcli import filter_image
from convcli.cli import main
from convcli.images import ImageData, read_image, write_image
from convcli.kernels import load_kernel

RNG = np.random.default_rng(0)
CONVCLI = [sys.executable, "-m", "convcli"]


def invoke(*args, input=None):
    return CliRunner().invoke(main, list(map(str, args)), prog_name="convcli", input=input)


def random_png(path: Path, shape, layout) -> Path:
    write_image(ImageData([RNG.integers(0, 256, shape, dtype=np.uint8)], layout, "PNG"), path)
    return path


@pytest.fixture
def rgb(tmp_path) -> Path:
    return random_png(tmp_path / "in.png", (24, 32, 3), "RGB")


@pytest.fixture
def rgba(tmp_path) -> Path:
    return random_png(tmp_path / "in_rgba.png", (12, 16, 4), "RGBA")


def pixels(path) -> np.ndarray:
    return read_image(path).frames[0]


def test_apply_writes_what_filter_image_computes(rgb, tmp_path):
    out = tmp_path / "out.png"
    result = invoke(
        "apply", "-k", "gaussian:sigma=2", "-k", "sharpen", "--padding-mode", "replicate", rgb, out
    )
    assert result.exit_code == 0, result.output
    want = filter_image(pixels(rgb), ["gaussian:sigma=2", "sharpen"], padding_mode="replicate")
    assert np.array_equal(pixels(out), want)


@pytest.mark.parametrize(
    "args,check",
    [
        (["--stride", "2"], lambda a, b: a.shape == (12, 16, 3)),
        (["--stride", "2,1", "--padding", "valid"], lambda a, b: a.shape == (11, 30, 3)),
        (["--dilation", "2", "--padding", "3"], lambda a, b: a.shape == (26, 34, 3)),
        (["--depth", "16"], lambda a, b: a.dtype == np.uint16),
        (["--channel-mode", "cross"], lambda a, b: (a[..., 0] == a[..., 1]).all()),
        (["--output-map", "offset", "--scale", "0"], lambda a, b: (a == 128).all()),
        (["--scale", "0", "--offset", str(7 / 255)], lambda a, b: (a == 7).all()),  # full scale
        (
            ["--no-normalize", "-k", "[[1, 1]]", "--output-map", "normalize"],
            lambda a, b: a.max() == 255 and a.min() == 0,
        ),
    ],
)
def test_options_reach_the_pipeline(args, check, rgb, tmp_path):
    out = tmp_path / "o.png"
    result = invoke("apply", "-k", "box", *args, rgb, out)
    assert result.exit_code == 0, result.output
    assert check(pixels(out), pixels(rgb))


def test_alpha_option_and_kernel_path(rgba, tmp_path):
    kdir = tmp_path / "kernels"
    kdir.mkdir()
    np.save(kdir / "mix.npy", np.ones((1, 3, 1, 1)) / 3)
    out = tmp_path / "o.png"
    result = invoke("apply", "--kernel-path", kdir, "-k", "mix", "--alpha", "preserve", rgba, out)
    assert result.exit_code == 0, result.output
    got = read_image(out)
    assert got.layout == "LA"
    assert np.array_equal(got.frames[0][..., 1], pixels(rgba)[..., 3])


@pytest.mark.parametrize(
    "args,code,line",
    [
        (
            ["-k", "nosuch"],
            2,
            "Error: unknown kernel 'nosuch'; run 'convcli kernels list' to see the kernels, "
            "or give a file path",
        ),
        (
            ["-k", "box", "--stride", "0"],
            2,
            "Error: Invalid value for '--stride' / '-s': '0' is not a positive integer N or a pair "
            "H,W (see 'convcli apply --help')",
        ),
        (
            ["-k", "box", "--padding", "full"],
            2,
            "Error: Invalid value for '--padding' / '-p': 'full' is not 'same', 'valid', a "
            "non-negative integer N or a pair H,W (see 'convcli apply --help')",
        ),
        (
            ["-k", "sobel", "--alpha", "premultiply"],
            2,
            "Error: --alpha premultiply needs blur-like 2-D kernels but kernel 'sobel' is a bank "
            "(members combined by magnitude); use --alpha preserve or --alpha channel",
        ),
        (
            ["-k", "sobel", "--normalize"],
            2,
            "Error: kernel 'sobel-x' sums to 0 and cannot be normalized; leave out --normalize",
        ),
        (
            ["-k", "box", "--format", "xyz"],
            1,
            "Error: cannot write {out}: unknown image format 'xyz'; convcli writes PNG, JPEG, TIFF, "
            "BMP, WEBP, GIF, NPY",
        ),
    ],
)
def test_errors_are_one_line_with_exit_code(args, code, line, rgba, tmp_path):
    out = tmp_path / "o.png"
    result = invoke("apply", *args, rgba, out)
    assert result.exit_code == code
    assert result.output == line.format(out=out) + "\n"
    assert not out.exists()


def test_four_d_kernel_that_does_not_fit_names_file_and_image(rgba, tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 3, 1, 1)))
    result = invoke("apply", "-k", tmp_path / "x.npy", rgba, tmp_path / "o.png")
    assert result.exit_code == 2
    assert result.output == (
        f"Error: kernel '{tmp_path / 'x.npy'}' expects 3 input channels but '{rgba}' has 4 "
        "(RGBA); use --alpha preserve to filter only the colour channels\n"
    )


def test_io_errors_exit_1(rgb, tmp_path):
    result = invoke("apply", "-k", "box", tmp_path / "missing.png", tmp_path / "o.png")
    assert (result.exit_code, result.output) == (
        1,
        f"Error: cannot read {tmp_path / 'missing.png'}: no such file\n",
    )
    write_image(ImageData([np.zeros((4, 4, 3), np.uint16)], "RGB", "PNG"), tmp_path / "16.png")
    result = invoke("apply", "-k", "box", tmp_path / "16.png", tmp_path / "o.jpg")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: cannot write {tmp_path / 'o.jpg'}: JPEG cannot hold 16-bit samples; write PNG "
        "or TIFF to keep them, or reduce the depth (--depth 8)\n"
    )
    assert (
        invoke(
            "apply", "-k", "box", "--depth", "8", tmp_path / "16.png", tmp_path / "o.jpg"
        ).exit_code
        == 0
    )


def test_same_file_refused_then_in_place(rgb):
    result = invoke("apply", "-k", "box", rgb, rgb)
    assert (result.exit_code, result.output) == (
        2,
        f"Error: OUTPUT '{rgb}' is the INPUT file; give another output name, or --in-place "
        "to replace the input\n",
    )
    before = pixels(rgb)
    assert invoke("apply", "-k", "box", "--in-place", rgb, rgb).exit_code == 0
    assert np.array_equal(pixels(rgb), filter_image(before, "box"))


def test_stdin_to_stdout_in_process(rgb):
    result = CliRunner().invoke(
        main,
        ["apply", "-k", "box", "--format", "npy", "-", "-"],
        input=rgb.read_bytes(),
        prog_name="convcli",
    )
    assert result.exit_code == 0
    import io

    got = np.load(io.BytesIO(result.stdout_bytes))
    want = filter_image(pixels(rgb), "box", depth="32f")
    assert np.array_equal(got, want)


def test_pipes_between_real_processes(rgb, tmp_path):
    """convcli apply -k gaussian - - <a.png | convcli apply -k sobel - - >b.png"""
    piped = tmp_path / "piped.png"
    with open(rgb, "rb") as src, open(piped, "wb") as dst:
        first = subprocess.Popen(
            [*CONVCLI, "apply", "-k", "gaussian", "-", "-"], stdin=src, stdout=subprocess.PIPE
        )
        second = subprocess.run(
            [*CONVCLI, "apply", "-k", "sobel", "-", "-"],
            stdin=first.stdout,
            stdout=dst,
            check=True,
            timeout=120,
        )
        first.stdout.close()
        assert first.wait(timeout=120) == 0 and second.returncode == 0
    step = tmp_path / "step.png"
    assert invoke("apply", "-k", "gaussian", rgb, step).exit_code == 0
    assert invoke("apply", "-k", "sobel", step, tmp_path / "two.png").exit_code == 0
    assert piped.read_bytes() == (tmp_path / "two.png").read_bytes()
    assert read_image(piped).format == "PNG"


def test_preview_sheet(rgb, tmp_path):
    sheet = tmp_path / "sheet.png"
    result = invoke("preview", "-k", "box:size=5", "-k", "sobel", "--columns", "2", rgb, sheet)
    assert result.exit_code == 0, result.output
    got = read_image(sheet)
    assert got.layout == "RGB" and got.frames[0].dtype == np.uint8
    grid = got.frames[0]
    from convcli._text import LABEL
    from convcli.filtering._preview import MARGIN, contact_sheet, to_display

    tiles = [
        pixels(rgb),
        filter_image(pixels(rgb), "box:size=5"),
        filter_image(pixels(rgb), "sobel"),
    ]
    want = contact_sheet(
        [to_display(t, "RGB") for t in tiles], ["input", "box:size=5", "sobel"], columns=2
    )
    assert np.array_equal(grid, want)
    # the second tile's label is drawn in ink where the font has it, above the tile
    label = LABEL.mask("box:size=5")
    cell_w = max(32, len("box:size=5") * 6)
    left = MARGIN + cell_w + MARGIN
    drawn = grid[MARGIN : MARGIN + LABEL.height, left : left + label.shape[1], 0] == 0
    assert np.array_equal(drawn, label)
    band = LABEL.height + MARGIN // 2
    x = left + (cell_w - 32) // 2
    assert np.array_equal(grid[MARGIN + band : MARGIN + band + 24, x : x + 32], tiles[1])


@settings(max_examples=100)
@given(st.one_of(st.text(max_size=12), st.from_regex(r"\A-?[0-9]{1,3}([,x]-?[0-9]{1,3})?\Z")))
def test_pair_option_parses_or_refuses(text):
    from convcli.cli._options import IntPair

    parser = IntPair(0, ("same", "valid"))
    try:
        value = parser.convert(text, None, None)
    except click.BadParameter as exc:
        assert "is not 'same', 'valid', a non-negative integer N or a pair H,W" in str(exc)
        return
    if isinstance(value, str):
        assert value in ("same", "valid")
    else:
        numbers = value if isinstance(value, tuple) else (value,)
        assert len(numbers) in (1, 2) and all(isinstance(n, int) and n >= 0 for n in numbers)
        joined = ",".join(map(str, numbers))
        assert parser.convert(joined, None, None) == value  # round trip


def test_shell_completion_offers_kernels_and_modes():
    from click.shell_completion import ShellComplete

    complete = ShellComplete(main, {}, "convcli", "_CONVCLI_COMPLETE")
    kernels = [c.value for c in complete.get_completions(["apply", "-k"], "sob")]
    assert kernels == ["sobel", "sobel-x", "sobel-y"]
    modes = [c.value for c in complete.get_completions(["apply", "--padding-mode"], "re")]
    assert modes == ["reflect", "replicate"]
    files = complete.get_completions(["preview", "-k"], "./my")
    assert [(c.value, c.type) for c in files] == [("./my", "file")]


def test_preview_errors(rgb, tmp_path):
    result = invoke("preview", "-k", "nosuch", rgb, tmp_path / "s.png")
    assert result.exit_code == 2 and result.output.startswith("Error: unknown kernel 'nosuch'")
    assert not (tmp_path / "s.png").exists()


@pytest.mark.skipif(shutil.which("convcli") is None, reason="convcli not installed on PATH")
def test_installed_command_runs_on_a_kernel_by_name(rgb, tmp_path):
    out = tmp_path / "o.png"
    subprocess.run(
        ["convcli", "apply", "-k", "gaussian:sigma=2", rgb, out], check=True, timeout=120
    )
    assert np.array_equal(pixels(out), filter_image(pixels(rgb), load_kernel("gaussian:sigma=2")))


@pytest.mark.parametrize(
    "output, message",
    [
        (
            False,
            "INPUT is '-' but standard input is a terminal; pipe an image in "
            "(e.g. '< photo.png') or give a file name",
        ),
        (
            True,
            "INPUT is '-' but standard output is a terminal; redirect it "
            "(e.g. '> out.png') or give a file name",
        ),
    ],
)
def test_dash_on_a_terminal_is_a_usage_error(monkeypatch, output, message):
    import io
    import sys

    import click

    from convcli.cli._apply import _stream

    class Terminal(io.BytesIO):
        def isatty(self):
            return True

    fake = type("Std", (), {"buffer": Terminal()})()
    monkeypatch.setattr(sys, "stdout" if output else "stdin", fake)
    assert _stream("a.png", "INPUT", output) == "a.png"
    with pytest.raises(click.UsageError) as info:
        _stream("-", "INPUT", output)
    assert info.value.format_message() == message


def test_compress_level_trades_size_for_speed_with_the_same_pixels(rgb, tmp_path):
    sizes = {}
    for level in ("1", "9"):
        out = tmp_path / f"l{level}.png"
        assert invoke("apply", "-k", "box", "--compress-level", level, rgb, out).exit_code == 0
        sizes[level] = out.stat().st_size
    assert sizes["1"] > sizes["9"]
    assert np.array_equal(
        read_image(tmp_path / "l1.png").frames[0], read_image(tmp_path / "l9.png").frames[0]
    )


def test_compress_level_reaches_animated_png_and_is_checked(tmp_path):
    import io

    from convcli.errors import ParameterError
    from convcli.images import ImageData, write_image

    frames = [np.full((16, 16, 3), 40 * i, np.uint8) for i in range(2)]
    frames[1][::3] = 7
    sizes = []
    for level in (0, 9):
        buffer = io.BytesIO()
        write_image(ImageData(frames, "RGB", "PNG"), buffer, compress_level=level)
        sizes.append(len(buffer.getvalue()))
    assert sizes[0] > sizes[1]
    with pytest.raises(ParameterError, match=r"compress_level must be from 0 to 9, got 10"):
        write_image(ImageData(frames[:1], "RGB", "PNG"), io.BytesIO(), compress_level=10)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_float_samples_into_an_integer_output_are_refused(tmp_path, bad):
    """A NaN or infinity would silently become black or white (and spread over the
    kernel's reach) in an 8- or 16-bit output: one error line, nothing written; a float
    output keeps them, as PyTorch does."""
    src = tmp_path / "in.npy"
    image = RNG.random((70, 40), dtype=np.float32)  # taller than one band in the test
    image[[3, 50], [5, 20]] = bad
    np.save(src, image)
    before = src.read_bytes()
    for depth in ("8", "16"):
        out = tmp_path / f"out{depth}.png"
        result = invoke("apply", "-k", "box", "--depth", depth, src, out)
        assert result.exit_code == 1
        assert result.output.startswith(
            f"Error: '{src}' has NaN or infinite samples, which {'an' if depth == '8' else 'a'}"
            f" {depth}-bit output cannot hold"
        )
        assert result.output.count("\n") == 1 and not out.exists()
    assert src.read_bytes() == before
    out = tmp_path / "out.npy"
    assert invoke("apply", "-k", "box", src, out).exit_code == 0
    result = np.load(out)
    assert not np.isfinite(result[2:5, 4:7]).any() and np.isfinite(result[10:40, 10:15]).all()
