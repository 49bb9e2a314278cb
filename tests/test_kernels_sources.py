"""Weights from where they live: ``.safetensors`` (round trips written by the safetensors
package, hostile headers written by hand), PyTorch pickles refused, images as kernels."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from scipy import ndimage

from convcli.cli import main
from convcli.errors import KernelError
from convcli.filtering import filter_image
from convcli.kernels import ENV_VAR, Kernel, load_kernel, save_kernel

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _no_user_path(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def run(*args):
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


# -- safetensors written by the safetensors package -------------------------------------


@pytest.fixture
def model(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    tensors = {
        "conv1.weight": RNG.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "conv1.bias": RNG.standard_normal(4).astype(np.float32),
        "conv2.weight": RNG.standard_normal((2, 4, 5, 5)).astype(np.float16),
        "blur": (np.ones((3, 3)) / 9).astype(np.float64),
        "fc.bias": np.zeros(10, np.float32),
    }
    path = tmp_path / "model.safetensors"
    st.save_file(tensors, str(path), metadata={"format": "np"})
    return path, tensors


def test_weight_and_bias_round_trip(model):
    path, tensors = model
    k = load_kernel(f"{path}:conv1.weight")
    assert k.weight.shape == (4, 3, 3, 3) and k.kind == "layer"
    assert k.weight.tolist() == tensors["conv1.weight"].astype(np.float64).tolist()
    assert k.bias.tolist() == tensors["conv1.bias"].astype(np.float64).tolist()
    assert k.name == "model.safetensors:conv1.weight"


def test_float16_is_converted_exactly_and_no_bias_when_absent(model):
    path, tensors = model
    k = load_kernel(f"{path}:conv2.weight")
    assert k.weight.tolist() == tensors["conv2.weight"].astype(np.float64).tolist()
    assert k.bias is None


def test_two_d_tensor_is_a_matrix_kernel(model):
    path, _ = model
    k = load_kernel(f"{path}:blur")
    assert k.kind == "matrix" and k.weight.shape == (3, 3)


def test_bfloat16_is_converted(tmp_path):
    values = np.array([1.5, -2.25, 0.0078125, 2.0**100, -0.0, 96.0], dtype=np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype("<u2").tobytes()  # exact in bfloat16
    path = write_raw(
        tmp_path / "bf.safetensors",
        {"w": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, len(bf16)]}},
        bf16,
    )
    k = load_kernel(f"{path}:w")
    assert k.weight.tolist() == values.astype(np.float64).reshape(2, 3).tolist()


def test_no_key_lists_the_conv_shaped_keys(model):
    path, _ = model
    code, _, err = run("apply", "-k", str(path), "in.png", "out.png")
    assert code == 2
    assert err.strip().startswith(f"Error: kernel file '{path}': name the tensor to use, as ")
    assert "'model.safetensors:KEY'; its conv-shaped tensors: " in err
    for key in ("blur [3, 3]", "conv1.weight [4, 3, 3, 3]", "conv2.weight [2, 4, 5, 5]"):
        assert key in err
    assert "fc.bias" not in err and "conv1.bias" not in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_key_and_wrong_rank(model):
    path, _ = model
    with pytest.raises(KernelError, match=re.escape("no tensor 'conv9.weight'; its conv-shaped")):
        load_kernel(f"{path}:conv9.weight")
    with pytest.raises(KernelError, match=r"the weight has 1 dimension\(s\)"):
        load_kernel(f"{path}:fc.bias")


def test_cli_applies_a_safetensors_layer(model, tmp_path):
    path, tensors = model
    img = RNG.integers(0, 256, (16, 18, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "in.png")
    code, out, err = run(
        "apply",
        "-k",
        f"{path}:conv1.weight",
        "-m",
        "zeros",
        "--depth",
        "32f",
        "--output-map",
        "offset",
        str(tmp_path / "in.png"),
        str(tmp_path / "out.npy"),
    )
    assert code == 0, err
    got = np.load(tmp_path / "out.npy")
    w, b = tensors["conv1.weight"].astype(np.float64), tensors["conv1.bias"]
    x = img / 255.0
    want = np.stack(
        [
            sum(ndimage.correlate(x[..., c], w[o, c], mode="constant") for c in range(3)) + b[o]
            for o in range(4)
        ],
        axis=-1,
    )
    np.testing.assert_allclose(got - 0.5, want, atol=2e-6)  # float output: not clipped


def test_save_kernel_writes_what_the_safetensors_package_reads(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    layer = Kernel("layer", RNG.standard_normal((2, 3, 3, 3)), bias=[0.5, -1.0])
    save_kernel(layer, tmp_path / "l.safetensors")
    tensors = st.load_file(str(tmp_path / "l.safetensors"))
    assert tensors["weight"].tolist() == layer.weight.tolist()
    assert tensors["bias"].tolist() == [0.5, -1.0]
    back = load_kernel(f"{tmp_path / 'l.safetensors'}:weight")
    assert back.weight.tolist() == layer.weight.tolist() and back.bias.tolist() == [0.5, -1.0]
    with pytest.raises(KernelError, match="save banks as .json"):
        save_kernel(load_kernel("sobel"), tmp_path / "b.safetensors")


# -- hostile headers, written by hand ---------------------------------------------------


def write_raw(path, header, data=b"", claimed=None):
    text = json.dumps(header).encode()
    length = len(text) if claimed is None else claimed
    path.write_bytes(struct.pack("<Q", length) + text + data)
    return path


HOSTILE = {
    "length beyond the file": (
        {"w": {"dtype": "F32", "shape": [1, 1], "data_offsets": [0, 4]}},
        b"\0" * 4,
        10**9,
        "the header claims 1000000000 bytes but the file has",
    ),
    "huge length": ({}, b"", 2**64 - 1, "the header claims 18446744073709551615 bytes"),
    "overlapping offsets": (
        {
            "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
            "b": {"dtype": "F32", "shape": [2, 2], "data_offsets": [8, 24]},
        },
        b"\0" * 24,
        None,
        "tensor 'b' (bytes 8-24) overlaps another; the file is damaged",
    ),
    "gap": (
        {"a": {"dtype": "F32", "shape": [1, 1], "data_offsets": [4, 8]}},
        b"\0" * 8,
        None,
        "tensor 'a' (bytes 4-8) leaves a gap before it",
    ),
    "unknown dtype": (
        {"a": {"dtype": "F8_E4M3", "shape": [1, 1], "data_offsets": [0, 1]}},
        b"\0",
        None,
        "tensor 'a' has dtype 'F8_E4M3'; accepted: F64, F32, F16, BF16",
    ),
    "1e12 elements": (
        {"a": {"dtype": "F32", "shape": [10**6, 10**6, 1, 1], "data_offsets": [0, 4 * 10**12]}},
        b"\0" * 16,
        None,
        "tensor 'a' has data_offsets [0, 4000000000000] outside the 16 bytes of data",
    ),
    "1e12 elements, offsets that lie": (
        {"a": {"dtype": "F32", "shape": [10**6, 10**6, 1, 1], "data_offsets": [0, 16]}},
        b"\0" * 16,
        None,
        "needs 4000000000000 bytes but its offsets span 16",
    ),
    "offsets past the data": (
        {"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}},
        b"\0" * 8,
        None,
        "data_offsets [0, 16] outside the 8 bytes of data",
    ),
    "negative shape": (
        {"a": {"dtype": "F32", "shape": [-1, 4], "data_offsets": [0, 0]}},
        b"",
        None,
        "tensor 'a' has shape [-1, 4]; not a shape",
    ),
    "not json": (None, b"", None, "the header is not JSON"),
    "trailing bytes": (
        {"a": {"dtype": "F32", "shape": [1, 1], "data_offsets": [0, 4]}},
        b"\0" * 12,
        None,
        "the tensors cover 4 of the 12 data bytes",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_headers_are_refused_without_allocating(case, tmp_path):
    header, data, claimed, message = HOSTILE[case]
    path = tmp_path / "bad.safetensors"
    if header is None:
        path.write_bytes(struct.pack("<Q", 7) + b"{nope!}")
    else:
        write_raw(path, header, data, claimed)
    tracemalloc.start()
    try:
        with pytest.raises(KernelError, match=re.escape(message)):
            load_kernel(f"{path}:a")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # nothing sized by the header was allocated


def test_hostile_header_cli_error_is_one_line(tmp_path):
    path = write_raw(tmp_path / "bad.safetensors", {}, b"", 10**9)
    code, out, err = run("kernels", "show", f"{path}:a")
    assert code == 2 and out == ""
    assert err == (
        f"Error: kernel file '{path}': the header claims 1000000000 bytes but the file has 2 "
        "after its length field (limit 100000000); the file is damaged or not safetensors\n"
    )


def test_too_short_and_missing(tmp_path):
    (tmp_path / "s.safetensors").write_bytes(b"abc")
    with pytest.raises(KernelError, match="3 bytes is too short for a safetensors file"):
        load_kernel(str(tmp_path / "s.safetensors") + ":a")
    with pytest.raises(KernelError, match="not found"):
        load_kernel(str(tmp_path / "none.safetensors") + ":a")


@pytest.mark.parametrize("suffix", [".pt", ".pth"])
def test_pytorch_pickles_are_refused_with_an_export_hint(suffix, tmp_path):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(b"\x80\x02not really a pickle")
    code, _, err = run("kernels", "show", str(path))
    assert code == 2
    assert err == (
        f"Error: kernel file '{path}': a PyTorch pickle, which convcli never loads "
        "(unpickling runs code from the file); export the weights to safetensors: "
        "safetensors.torch.save_file(model.state_dict(), 'model.safetensors'), then use "
        "-k 'model.safetensors:LAYER.weight'\n"
    )


# -- images as kernels ------------------------------------------------------------------


def psf_samples():
    y, x = np.mgrid[-3:4, -3:5]
    return np.exp(-(x**2 + 2 * y**2) / 4.0)  # 7x8, not symmetric


def test_png_kernel_is_read_as_0_to_1_and_normalized(tmp_path):
    grey = np.round(psf_samples() * 255).astype(np.uint8)
    Image.fromarray(grey).save(tmp_path / "psf.png")
    k = load_kernel(str(tmp_path / "psf.png"))
    assert k.normalize and k.name == "psf" and k.shape == (7, 8)
    np.testing.assert_allclose(k.weight, grey / 255.0, atol=1e-15)
    img = RNG.random((20, 22))
    got = filter_image(img, k, depth="32f", padding_mode="zeros")
    w = grey / grey.sum()
    want = ndimage.correlate(img, w, mode="constant", origin=(0, -1))  # even width: PyTorch anchor
    np.testing.assert_allclose(got, want, atol=2e-7)


def test_sixteen_bit_png_and_float_tiff(tmp_path):
    grey16 = np.round(psf_samples() * 65535).astype(np.uint16)
    Image.fromarray(grey16).save(tmp_path / "psf16.png")
    np.testing.assert_allclose(
        load_kernel(str(tmp_path / "psf16.png")).weight, grey16 / 65535.0, atol=1e-15
    )
    tifffile = pytest.importorskip("tifffile")
    samples = (psf_samples() * 3.5).astype(np.float32)
    tifffile.imwrite(tmp_path / "psf.tif", samples)
    k = load_kernel(str(tmp_path / "psf.tif"))
    assert k.normalize and k.weight.tolist() == samples.astype(np.float64).tolist()


def test_unsigned_npy_is_an_image_float_npy_a_kernel(tmp_path):
    grey = np.round(psf_samples() * 255).astype(np.uint8)
    np.save(tmp_path / "psf.npy", grey)
    k = load_kernel(str(tmp_path / "psf.npy"))
    assert k.normalize
    np.testing.assert_allclose(k.weight, grey / 255.0, atol=1e-15)
    np.save(tmp_path / "w.npy", psf_samples())
    plain = load_kernel(str(tmp_path / "w.npy"))
    assert not plain.normalize and plain.weight.tolist() == psf_samples().tolist()


def test_no_normalize_keeps_the_samples(tmp_path):
    grey = np.zeros((3, 3), np.uint8)
    grey[1, 1] = 51  # 0.2
    Image.fromarray(grey).save(tmp_path / "dot.png")
    img = np.full((6, 6), 200, np.uint8)
    Image.fromarray(img).save(tmp_path / "in.png")
    for flag, expected in (("--normalize", 200), ("--no-normalize", 40)):
        code, _, err = run(
            "apply",
            "-k",
            str(tmp_path / "dot.png"),
            flag,
            str(tmp_path / "in.png"),
            str(tmp_path / "out.png"),
        )
        assert code == 0, err
        assert (np.asarray(Image.open(tmp_path / "out.png")) == expected).all()


@pytest.mark.parametrize(("mode", "what"), [("RGB", "RGB"), ("RGBA", "RGBA"), ("LA", "LA")])
def test_colour_kernel_images_are_refused(mode, what, tmp_path):
    Image.new(mode, (5, 5)).save(tmp_path / "c.png")
    code, _, err = run("kernels", "show", str(tmp_path / "c.png"))
    assert code == 2
    assert err == (
        f"Error: kernel file '{tmp_path / 'c.png'}': the image is {what}; a kernel image must "
        "be greyscale (one channel, no alpha): convert it first, e.g. with Pillow's "
        "Image.convert('L')\n"
    )


def test_black_image_cannot_be_normalized(tmp_path):
    Image.new("L", (3, 3)).save(tmp_path / "black.png")
    with pytest.raises(KernelError, match="sums to zero"):
        load_kernel(str(tmp_path / "black.png"))


def test_the_kernels_package_imports_no_image_code():
    code = (
        "import sys; import convcli.kernels as k; k.load_kernel('gaussian'); "
        "k.list_kernels(); print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PIL', 'tifffile', 'imagecodecs') or m.startswith('convcli.images')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_bare_kernels_package_asks_for_the_image_reader(tmp_path):
    Image.new("L", (3, 3), 255).save(tmp_path / "psf.png")
    code = (
        "import convcli.kernels as k\n"
        "try:\n"
        f"    k.load_kernel({str(tmp_path / 'psf.png')!r})\n"
        "except k.KernelError if hasattr(k, 'KernelError') else Exception as exc:\n"
        "    print(exc)\n"
        "import convcli\n"
        f"print(convcli.load_kernel({str(tmp_path / 'psf.png')!r}).normalize)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, second = out.stdout.strip().splitlines()
    assert first.endswith(
        "reading an image as a kernel needs convcli's image reader; import convcli.filtering "
        "first (convcli.load_kernel and the command line do)"
    )
    assert second == "True"
