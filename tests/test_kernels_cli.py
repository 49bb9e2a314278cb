"""``convcli kernels list|show`` through click's CliRunner: output, JSON, PNG, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from convcli.cli import main
from convcli.kernels import ENV_VAR, load_kernel
from convcli.kernels._render import colours, heatmap


@pytest.fixture(autouse=True)
def _no_user_path(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def run(*args, env=None):
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_list_table():
    code, out, _ = run("kernels", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "SIZE", "KIND", "SOURCE", "DESCRIPTION"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["gaussian"][1:4] == ["7x7", "parametric", "builtin"]
    assert "[sigma=1.0, size=2*ceil(3*sigma)+1]" in out
    assert rows["sobel"][1:5] == ["3x3", "(2)", "bank", "builtin"]


def test_list_json_and_shadowing(tmp_path):
    (tmp_path / "sobel.json").write_text('{"weight": [[1, -1]], "description": "mine"}')
    code, out, _ = run("kernels", "list", "--json", "--kernel-path", str(tmp_path))
    assert code == 0
    entries = json.loads(out)
    sobel = [e for e in entries if e["name"] == "sobel"]
    assert sobel[0]["shadows"] == "builtin" and sobel[0]["shape"] == [1, 2]
    assert sobel[1]["shadowed_by"] == str(tmp_path / "sobel.json")
    code, out, _ = run("kernels", "list", env={ENV_VAR: str(tmp_path)})
    assert "(shadows builtin) mine" in out
    assert f"(shadowed by {tmp_path / 'sobel.json'})" in out


def test_show_prints_the_matrix():
    code, out, _ = run("kernels", "show", "sobel-x")
    assert code == 0
    assert out.splitlines() == [
        "sobel-x  3x3  matrix  (builtin)",
        "Sobel x derivative: positive where intensity rises to the right (OpenCV dx=1)",
        "sum 0  min -2  max 2",
        "-1   0   1",
        "-2   0   2",
        "-1   0   1",
    ]
    code, out, _ = run("kernels", "show", "sobel")
    assert "[sobel-x]" in out and "[sobel-y]" in out and "combine: magnitude" in out


def test_show_json_is_loadable_again(tmp_path):
    code, out, _ = run("kernels", "show", "gaussian:sigma=0.5", "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["name"], data["kind"], data["shape"]) == ("gaussian:sigma=0.5", "matrix", [5, 5])
    assert data["sum"] == pytest.approx(1.0)
    (tmp_path / "g.json").write_text(json.dumps(data["kernel"]))
    np.testing.assert_array_equal(
        load_kernel(str(tmp_path / "g.json")).weight, load_kernel("gaussian:sigma=0.5").weight
    )
    code, out, _ = run("kernels", "show", "kirsch", "--json")
    assert json.loads(out)["sum"] is None and len(json.loads(out)["kernel"]["members"]) == 8


def test_show_user_kernel_via_kernel_path(tmp_path):
    np.save(tmp_path / "mine.npy", np.arange(4.0).reshape(2, 2))
    code, out, _ = run("kernels", "show", "mine", "--kernel-path", str(tmp_path))
    assert code == 0 and out.splitlines()[-2:] == ["0  1", "2  3"]


def test_show_png_is_a_deterministic_heatmap(tmp_path):
    from PIL import Image

    for name in ("a.png", "b.png"):
        code, _, _ = run("kernels", "show", "sharpen", "--png", str(tmp_path / name))
        assert code == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    with Image.open(tmp_path / "a.png") as image:
        assert image.mode == "RGB"
        pixels = np.asarray(image)
    np.testing.assert_array_equal(pixels, heatmap(load_kernel("sharpen")))


def test_heatmap_colours_one_cell_per_tap():
    kernel = load_kernel("[[-2, 0, 1]]")
    image = heatmap(kernel)
    # Cells of 48 pixels from the margin (10) on: blue (full), white, light red (half).
    # Sampled 4 pixels into each cell: clear of the grid line and the value text.
    row = image[10 + 4]
    blue, white, red = row[10 + 4], row[10 + 48 + 4], row[10 + 96 + 4]
    np.testing.assert_array_equal(blue, [33, 102, 172])
    np.testing.assert_array_equal(white, [255, 255, 255])
    np.testing.assert_array_equal(red, [216, 140, 149])  # halfway from white to (178, 24, 43)
    np.testing.assert_allclose(colours(np.array([1.0]), 2.0), [[216.5, 139.5, 149.0]])


def test_heatmap_sizes_for_big_and_layered_kernels():
    big = heatmap(load_kernel("box:size=1025"))
    assert big.shape[1] >= 1025 and big.dtype == np.uint8
    layer = heatmap(load_kernel(json.dumps(np.ones((2, 3, 3, 3)).tolist())))
    assert layer.shape[2] == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["kernels", "show", "gausian"],
            "Error: unknown kernel 'gausian' (did you mean 'gaussian'?); run 'convcli kernels list' "
            "to see the kernels, or give a file path\n",
        ),
        (
            ["kernels", "show", "gaussian:sigma=-1"],
            "Error: kernel 'gaussian:sigma=-1': sigma must be at least 0.01, got -1\n",
        ),
        (
            ["kernels", "show", "box:size=100000000"],
            "Error: kernel 'box:size=100000000': size 100000000 is over the limit of 1025 taps per "
            "side\n",
        ),
        (
            ["kernels", "show", "[[1, NaN]]"],
            "Error: inline kernel '[[1, NaN]]': NaN is not a number convcli accepts: every value "
            "must be finite (no NaN or Infinity)\n",
        ),
        (["kernels", "show", "missing.json"], "Error: kernel file 'missing.json' not found\n"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(args, message):
    code, out, err = run(*args)
    assert (code, out, err) == (2, "", message)


def test_bad_kernel_path_is_a_usage_error(tmp_path):
    code, _, err = run("kernels", "list", "--kernel-path", str(tmp_path / "nope"))
    assert code == 2 and "does not exist" in err


def test_every_kernels_command_and_option_has_help():
    group = main.commands["kernels"]
    assert group.help
    for command in group.commands.values():
        assert command.help
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, (command.name, param.name)
