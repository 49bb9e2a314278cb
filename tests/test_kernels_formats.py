"""Kernel files and inline forms: JSON, .npy, .npz, libvips .mat, ImageMagick strings.

Every form round-trips to the same arrays, every malformed input is refused with a
KernelError naming the file and the problem, and nothing in a file is ever executed.
"""

from __future__ import annotations

import json
import pickle
import re
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from convcli.errors import KernelError
from convcli.kernels import Kernel, load_file, load_kernel, save_kernel, to_imagemagick
from convcli.kernels._arrays import parse_vips_matrix, to_vips_matrix
from convcli.kernels._imagemagick import parse_imagemagick
from convcli.kernels._json import kernel_from_json, kernel_to_json, parse_json

SHARPEN = [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def raises(message: str):
    return pytest.raises(KernelError, match=re.escape(message))


# ---------------------------------------------------------------- inline forms


@pytest.mark.parametrize(
    "spec",
    [
        "[[0,-1,0],[-1,5,-1],[0,-1,0]]",
        '{"weight": [[0,-1,0],[-1,5,-1],[0,-1,0]]}',
        "3x3: 0,-1,0,-1,5,-1,0,-1,0",
        "3: 0 -1 0 -1 5 -1 0 -1 0",
        "3x3:0,-1,0,\n-1,5,-1,\n0,-1,0",
        "0,-1,0,-1,5,-1,0,-1,0",
    ],
)
def test_inline_forms_give_the_same_kernel(spec):
    kernel = load_kernel(spec)
    np.testing.assert_array_equal(kernel.weight, SHARPEN)
    assert kernel.source == "inline"


def test_imagemagick_width_is_first():
    kernel = load_kernel("3x2: 1,2,3,4,5,6")
    assert kernel.shape == (2, 3)
    np.testing.assert_array_equal(kernel.weight, [[1, 2, 3], [4, 5, 6]])


def test_imagemagick_origin_moves_the_anchor_by_zero_padding():
    # Origin at the top-left tap: padded so that tap sits at PyTorch's anchor (k-1)//2.
    kernel = load_kernel("2x2+0+0: 1,2,3,4")
    w = kernel.weight
    anchor = ((w.shape[0] - 1) // 2, (w.shape[1] - 1) // 2)
    assert w[anchor] == 1
    assert w.sum() == 10 and np.count_nonzero(w) == 4
    np.testing.assert_array_equal(
        load_kernel("3x3+1+1: 1,2,3,4,5,6,7,8,9").weight, np.arange(1, 10).reshape(3, 3)
    )


@pytest.mark.parametrize(
    "spec, message",
    [
        ("3x3: 1,2,3", "3x3 (width x height) needs 9 values, got 3"),
        ("3x3: 1,2,3,4,nan,6,7,8,9", "value 5 is 'nan'; convcli has no 'not in the neighbourhood'"),
        ("2x1: 1,-", "value 2 is '-'"),
        ("3x3: 1,2,3,4,5,6,7,8,1e999", "value 9 is '1e999'; every value must be a finite number"),
        ("3x3: 1,2,3,4,x,6,7,8,9", "value 5 is 'x'"),
        ("3x3@: 1,2,3,4,5,6,7,8,9", "ImageMagick flags '@'"),
        ("3x3+5+0: 1,2,3,4,5,6,7,8,9", "origin +5+0 is outside the 3x3 kernel"),
        ("0x3:", "width and height must be at least 1"),
        ("2000x1: 1", "kernel side 2000 is over the limit of 1025"),
        ("1,2,3", "3 values are not a square kernel"),
    ],
)
def test_imagemagick_refusals(spec, message):
    with raises(message):
        load_kernel(spec)
    with pytest.raises(KernelError, match="^inline ImageMagick kernel "):
        load_kernel(spec)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("[[1, 2], [3]]", "weight[1] has 1 values, expected 2: weight is ragged"),
        ("[]", "weight is empty"),
        ("[[]]", "weight is empty"),
        ("[1, 2, 3]", "the weight has 1 dimension(s) (3,); a kernel is 2-D"),
        ("[[[1]]]", "the weight has 3 dimension(s) (1, 1, 1)"),
        ("[[[[[1]]]]]", "the weight has 5 dimension(s)"),
        ("[[1, NaN]]", "NaN is not a number convcli accepts"),
        ("[[1, Infinity]]", "Infinity is not a number convcli accepts"),
        ("[[-Infinity]]", "-Infinity is not a number convcli accepts"),
        ("[[1, 1e999]]", "weight[0][1] is too large; every value must be finite"),
        ("[[1, 1" + "0" * 400 + "]]", "weight[0][1] is too large"),
        ('[[1, "2"]]', 'weight[0][1] must be a number, got "2"'),
        ("[[1, true]]", "weight[0][1] must be a number, got true"),
        ("[[1, [2]]]", "weight[0][1] must be a number"),
        ("[[1, 2]", "invalid JSON at line 1, column 8"),
        ('{"wieght": [[1]]}', "unknown field 'wieght' (did you mean 'weight'?)"),
        ('{"weight": [[1]], "bias": [1]}', "bias applies to a 4-D weight only; for a 2-D kernel"),
        ('{"weight": [[1, -1]], "normalize": true}', "sums to zero, so it cannot be normalized"),
        ('{"weight": [[1]], "normalize": 1}', "normalize must be true or false, got 1"),
        ('{"weight": [[1]], "scale": "x"}', 'scale must be a number, got "x"'),
        ('{"weight": [[1]], "groups": 2}', "groups applies to a 4-D weight only"),
        ('{"description": "no weight"}', "a kernel needs 'weight'"),
        ('{"members": [], "combine": "max"}', "members must be a non-empty list"),
        ('{"members": [[[1]]]}', "a bank needs 'combine'"),
        ('{"members": [[[1]]], "combine": "maximum"}', "combine must be one of magnitude, max"),
        (
            '{"members": [{"members": [[[1]]], "combine": "max"}], "combine": "max"}',
            "a bank member cannot itself be a bank",
        ),
        ('{"members": [[[1]], [[[[1]]]]], "combine": "sum"}', "member 1 ('inline[1]', shape"),
        ('{"weight": [[1]], "combine": "max"}', "unknown field 'combine'"),
        ("[" * 100000 + "]" * 100000, "nested too deeply"),
    ],
)
def test_inline_json_refusals(spec, message):
    with raises(message):
        load_kernel(spec)


# ---------------------------------------------------------------- JSON files


def test_json_file_with_every_field(tmp_path):
    weight = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2) - 5
    path = write(
        tmp_path / "layer.json",
        json.dumps(
            {
                "$schema": "kernel.schema.json",
                "description": "a layer",
                "weight": weight.tolist(),
                "bias": [0.5, -1],
                "groups": 1,
                "scale": 2,
                "offset": 0.25,
            }
        ),
    )
    kernel = load_kernel(str(path))
    assert (kernel.name, kernel.source, kernel.kind) == ("layer", str(path), "layer")
    np.testing.assert_array_equal(kernel.weight, weight)
    np.testing.assert_array_equal(kernel.bias, [0.5, -1])
    assert (kernel.scale, kernel.offset, kernel.description) == (2.0, 0.25, "a layer")


def test_json_syntax_error_reports_line_and_column(tmp_path):
    path = write(tmp_path / "bad.json", '{\n  "weight": [[1, 2],\n    [3 4]]\n}\n')
    with raises(f"kernel file '{path}': invalid JSON at line 3, column 8: Expecting ','"):
        load_kernel(str(path))


def test_json_file_that_is_not_a_kernel(tmp_path):
    path = write(tmp_path / "s.json", '"just a string"')
    with raises(f"kernel file '{path}': a kernel is a JSON object with 'weight'"):
        load_kernel(str(path))


def test_json_nan_in_a_file_is_refused(tmp_path):
    path = write(tmp_path / "nan.json", '{"weight": [[1, NaN]]}')
    with raises(f"kernel file '{path}': NaN is not a number convcli accepts"):
        load_kernel(str(path))


def test_json_file_errors(tmp_path):
    with raises(f"kernel file '{tmp_path / 'missing.json'}' not found"):
        load_kernel(str(tmp_path / "missing.json"))
    (tmp_path / "dir.json").mkdir()
    with raises("is not a file"):
        load_kernel(str(tmp_path / "dir.json"))
    (tmp_path / "latin.json").write_bytes(b'{"description": "caf\xe9", "weight": [[1]]}')
    with raises("not UTF-8 text"):
        load_kernel(str(tmp_path / "latin.json"))
    with raises("unsupported file type; accepted: .json, .npy, .npz, .mat"):
        load_kernel(str(write(tmp_path / "k.txt", "[[1]]")))


def test_text_file_size_limit(tmp_path, monkeypatch):
    from convcli.kernels import _registry as registry

    monkeypatch.setattr(registry, "MAX_TEXT_BYTES", 10)
    path = write(tmp_path / "big.json", "[[1, 2, 3, 4, 5]]")
    with raises("17 bytes is over the limit of 10"):
        load_kernel(str(path))


def test_normalize_divides_by_the_sum(tmp_path):
    kernel = load_kernel('{"weight": [[1, 2, 1]], "normalize": true}')
    assert kernel.normalize
    np.testing.assert_array_equal(kernel.weight, [[1, 2, 1]])  # as written ...
    np.testing.assert_array_equal(kernel.normalized().weight, [[0.25, 0.5, 0.25]])  # ... used
    layer = Kernel("l", np.array([[[[1.0, 3.0]]], [[[2.0, 2.0]]]]))
    np.testing.assert_array_equal(layer.normalized().weight[:, 0, 0], [[0.25, 0.75], [0.5, 0.5]])
    with raises("kernel 'sobel-x' sums to zero, so it cannot be normalized"):
        load_kernel("sobel-x").normalized()
    with raises("kernel 'sobel-x' sums to zero"):
        load_kernel("sobel").normalized()


# ---------------------------------------------------------------- NumPy files


def test_npy_2d_and_4d(tmp_path):
    rng = np.random.default_rng(0)
    for shape in [(3, 5), (4, 2, 3, 3)]:
        weight = rng.normal(size=shape).astype(np.float32)
        np.save(tmp_path / "w.npy", weight)
        kernel = load_kernel(str(tmp_path / "w.npy"))
        assert kernel.weight.dtype == np.float64 and kernel.name == "w"
        np.testing.assert_array_equal(kernel.weight, weight.astype(np.float64))
    np.save(tmp_path / "ints.npy", np.arange(9, dtype=np.int16).reshape(3, 3))
    assert load_kernel(str(tmp_path / "ints.npy")).weight[2, 2] == 8.0


class _Payload:
    """Unpickling this would create the marker file."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_npy_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    payload = _Payload()
    payload.marker = str(marker)
    np.save(tmp_path / "evil.npy", np.array([payload, 1], dtype=object), allow_pickle=True)
    with raises("holds Python objects (pickled data); convcli never unpickles"):
        load_kernel(str(tmp_path / "evil.npy"))
    (tmp_path / "raw.npy").write_bytes(pickle.dumps(payload))
    with raises("is not a readable NumPy array"):
        load_kernel(str(tmp_path / "raw.npy"))
    np.savez(tmp_path / "evil.npz", weight=np.array([[payload]], dtype=object))
    with raises("holds Python objects"):
        load_kernel(str(tmp_path / "evil.npz"))
    assert not marker.exists()


def test_npy_size_limit_is_read_from_the_header(tmp_path):
    # A header announcing 100000 x 100000 float64 (80 GB) and no data: refused by shape.
    path = tmp_path / "huge.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000)}
        )
    with raises("kernel side 100000 is over the limit of 1025 taps per side"):
        load_kernel(str(path))
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f8", "fortran_order": False, "shape": (4096, 4096, 3, 3)}
        )
    with raises("the weight has 150994944 values, over the limit"):
        load_kernel(str(path))


@pytest.mark.parametrize(
    "array, message",
    [
        (np.ones((2, 3, 3)), "the weight has 3 dimension(s) (2, 3, 3)"),
        (np.ones(3), "the weight has 1 dimension(s)"),
        (np.ones((3, 3), complex), "has dtype complex128; a kernel needs real numbers"),
        (np.array([["a"]]), "has dtype <U1"),
        (np.array([[1.0, np.nan]]), "the weight holds nan at index [0, 1]"),
        (np.array([[np.inf]]), "the weight holds inf at index [0, 0]"),
        (np.ones((0, 3)), "the weight is empty"),
    ],
)
def test_npy_refusals(tmp_path, array, message):
    np.save(tmp_path / "k.npy", array)
    with raises(message):
        load_kernel(str(tmp_path / "k.npy"))


def test_truncated_npy(tmp_path):
    np.save(tmp_path / "k.npy", np.ones((5, 5)))
    data = (tmp_path / "k.npy").read_bytes()
    (tmp_path / "k.npy").write_bytes(data[:-40])
    with raises("is truncated or corrupt"):
        load_kernel(str(tmp_path / "k.npy"))


def test_npz_from_a_pytorch_style_layer(tmp_path):
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(8, 3, 3, 3)).astype(np.float32)
    bias = rng.normal(size=8).astype(np.float32)
    np.savez(tmp_path / "conv1.npz", weight=weight, bias=bias)
    kernel = load_kernel(str(tmp_path / "conv1.npz"))
    assert kernel.kind == "layer" and kernel.groups == 1
    np.testing.assert_array_equal(kernel.weight, weight)
    np.testing.assert_array_equal(kernel.bias, bias)
    np.savez(tmp_path / "dw.npz", weight=weight[:, :1], groups=np.array(8))
    assert load_kernel(str(tmp_path / "dw.npz")).groups == 8


def test_npz_written_from_a_real_torch_layer(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 5)
    np.savez(
        tmp_path / "layer.npz", weight=conv.weight.detach().numpy(), bias=conv.bias.detach().numpy()
    )
    kernel = load_kernel(str(tmp_path / "layer.npz"))
    np.testing.assert_array_equal(kernel.weight, conv.weight.detach().numpy())
    np.testing.assert_array_equal(kernel.bias, conv.bias.detach().numpy())


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"w": np.ones((3, 3))}, "holds arrays ['w']; a kernel .npz holds 'weight'"),
        ({"weight": np.ones((3, 3)), "extra": np.ones(1)}, "holds arrays ['extra', 'weight']"),
        ({"weight": np.ones((2, 1, 3, 3)), "bias": np.ones(3)}, "bias has shape (3,); it must be"),
        (
            {"weight": np.ones((2, 1, 3, 3)), "bias": np.ones((2, 1))},
            "array 'bias' has shape (2, 1)",
        ),
        ({"weight": np.ones((3, 1, 3, 3)), "groups": np.array(2)}, "C_out = 3 is not divisible"),
        ({"weight": np.ones((2, 1, 3, 3)), "groups": np.array(1.5)}, "'groups' must be a whole"),
        ({"weight": np.ones((3, 3)), "bias": np.ones(1)}, "bias applies to a 4-D weight only"),
    ],
)
def test_npz_refusals(tmp_path, arrays, message):
    np.savez(tmp_path / "k.npz", **arrays)
    with raises(message):
        load_kernel(str(tmp_path / "k.npz"))


def test_npz_that_is_not_a_zip(tmp_path):
    (tmp_path / "k.npz").write_bytes(b"not a zip")
    with raises("not a readable .npz archive"):
        load_kernel(str(tmp_path / "k.npz"))
    with zipfile.ZipFile(tmp_path / "k.npz", "w") as z:
        z.writestr("weight.npy", b"garbage")
    with raises("array 'weight' is not a readable NumPy array"):
        load_kernel(str(tmp_path / "k.npz"))


# ---------------------------------------------------------------- libvips .mat


def test_vips_matrix(tmp_path):
    path = write(tmp_path / "blur.mat", "3 3 16 0\n1 2 1\n2 4 2\n1 2 1\n")
    kernel = load_kernel(str(path))
    np.testing.assert_array_equal(kernel.weight, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    assert (kernel.scale, kernel.offset, kernel.name) == (1 / 16, 0.0, "blur")
    plain = load_kernel(str(write(tmp_path / "p.mat", "2 1\n-1 1\n")))
    assert (plain.scale, plain.offset) == (1.0, 0.0)
    offset = load_kernel(str(write(tmp_path / "o.mat", "1 1 2 128\n1\n")))
    # libvips' offset is in 8-bit grey levels; convcli's in full scale
    assert (offset.scale, offset.offset) == (0.5, 128.0 / 255)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "the file is empty"),
        ("3\n1 2 3\n", "line 1 is '3'; a libvips matrix starts with 'width height [scale"),
        ("a b\n", "line 1 is 'a b'"),
        ("2 2\n1 2\n", "the header says 2 rows, the file has 1"),
        ("2 2\n1 2\n3\n", "row 2 has 1 values, the header says 2"),
        ("2 1 0 0\n1 2\n", "scale is 0; libvips divides by it"),
        ("2 1\n1 nan\n", "row 1, value 2 is 'nan'"),
        ("2 1 inf 0\n1 2\n", "header scale is 'inf'"),
        ("0 1\n\n", "width and height must be at least 1"),
        ("5000 1\n", "kernel side 5000 is over the limit"),
    ],
)
def test_vips_matrix_refusals(tmp_path, text, message):
    path = write(tmp_path / "k.mat", text)
    with raises(f"kernel file '{path}': {message}"):
        load_kernel(str(path))


# ---------------------------------------------------------------- round trips


def _same(a: Kernel, b: Kernel):
    np.testing.assert_array_equal(a.weight, b.weight)
    assert (a.bias is None) == (b.bias is None)
    if a.bias is not None:
        np.testing.assert_array_equal(a.bias, b.bias)
    assert (a.groups, a.normalize, a.offset) == (b.groups, b.normalize, b.offset)
    assert a.scale == pytest.approx(b.scale, rel=1e-15)
    assert len(a.members) == len(b.members) and a.combine == b.combine
    for m, n in zip(a.members, b.members, strict=True):
        _same(m, n)


@pytest.mark.parametrize(
    "spec",
    [
        "gaussian:sigma=1.3",
        "sobel",
        "kirsch",
        "sharpen",
        "motion-blur:length=7,angle=20",
        "log",
        "identity",
    ],
)
def test_builtins_round_trip_through_json(tmp_path, spec):
    kernel = load_kernel(spec)
    save_kernel(kernel, tmp_path / "k.json")
    _same(load_file(tmp_path / "k.json"), kernel)
    _same(load_kernel(json.dumps(kernel_to_json(kernel))), kernel)


def test_every_suffix_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    plain = Kernel("p", rng.normal(size=(3, 5)))
    layer = Kernel("l", rng.normal(size=(4, 1, 3, 3)), bias=rng.normal(size=4), groups=2)
    mapped = Kernel("m", rng.normal(size=(2, 2)), scale=0.1, offset=3.0)
    for kernel, suffixes in [
        (plain, ".json .npy .npz .mat"),
        (layer, ".json .npz"),
        (mapped, ".json .mat"),
    ]:
        for suffix in suffixes.split():
            save_kernel(kernel, tmp_path / f"k{suffix}")
            _same(load_file(tmp_path / f"k{suffix}"), kernel)
    _same(parse_imagemagick(to_imagemagick(plain), "test"), plain)


def test_writers_refuse_what_a_format_cannot_hold(tmp_path):
    with raises("a .npy file holds only a weight"):
        save_kernel(load_kernel("sobel"), tmp_path / "k.npy")
    with raises("save banks as .json"):
        save_kernel(load_kernel("sobel"), tmp_path / "k.npz")
    with raises("an ImageMagick kernel string holds one 2-D kernel"):
        to_imagemagick(load_kernel("kirsch"))
    with raises("a libvips matrix holds one 2-D kernel"):
        to_vips_matrix(Kernel("k", np.ones((1, 1, 2, 2))))
    with raises("accepted suffixes"):
        save_kernel(load_kernel("box"), tmp_path / "k.txt")


_finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)
_matrices = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6), elements=_finite
)
_layers = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=4, max_dims=4, max_side=3), elements=_finite
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(weight=st.one_of(_matrices, _layers))
def test_property_round_trips(tmp_path, weight):
    kernel = Kernel("k", weight)
    _same(
        kernel_from_json(
            parse_json(json.dumps(kernel_to_json(kernel)), "t"), name="k", source="t", where="t"
        ),
        kernel,
    )
    for suffix in (".npy", ".npz", ".json"):
        save_kernel(kernel, tmp_path / f"k{suffix}")
        _same(load_file(tmp_path / f"k{suffix}"), kernel)
    if weight.ndim == 2:
        _same(parse_imagemagick(to_imagemagick(kernel), "t"), kernel)
        _same(parse_vips_matrix(to_vips_matrix(kernel), "k", "t", "t"), kernel)


# ---------------------------------------------------------------- fuzzing: KernelError only


def _only_kernel_errors(call, *args):
    try:
        result = call(*args)
    except KernelError as exc:
        assert str(exc)
        return None
    assert isinstance(result, Kernel)
    return result


_JSON_KEYS = ["weight", "bias", "groups", "normalize", "scale", "offset", "members", "combine"]
_JSON_KEYS += ["description", "name", "x"]


def _json_containers(children):
    keys = st.sampled_from(_JSON_KEYS)
    return st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4)


_json_like = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
    _json_containers,
    max_leaves=30,
)


@settings(max_examples=100)
@given(data=_json_like)
def test_fuzz_json_structures(data):
    _only_kernel_errors(lambda: kernel_from_json(data, name="k", source="t", where="t"))


@settings(max_examples=100)
@given(text=st.text(alphabet='[]{},:0123456789.-eE "NaInfity\n', max_size=60))
def test_fuzz_inline_json_text(text):
    _only_kernel_errors(load_kernel, "[" + text)


@settings(max_examples=100)
@given(text=st.text(alphabet="0123456789x+-:,. \nnae@", max_size=40))
def test_fuzz_imagemagick_text(text):
    _only_kernel_errors(parse_imagemagick, text, "t")


@settings(max_examples=100)
@given(text=st.text(alphabet="0123456789 ,.\n-einf#", max_size=40))
def test_fuzz_vips_matrix_text(text):
    _only_kernel_errors(parse_vips_matrix, text, "k", "t", "t")


@settings(max_examples=100)
@given(
    name=st.sampled_from(
        ["gaussian", "box", "log", "unsharp", "laplacian", "motion-blur", "sobel"]
    ),
    params=st.text(alphabet="sigmaizeltnhdgo=,.0123456789-+eE truefals", max_size=30),
)
def test_fuzz_parameters(name, params):
    _only_kernel_errors(load_kernel, f"{name}:{params}")


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), keep=st.integers(0, 200))
def test_fuzz_npy_bytes(tmp_path, data, keep):
    good = tmp_path / "good.npy"
    np.save(good, np.ones((2, 2)))
    header = good.read_bytes()
    for blob in (data, header[:keep] + data):
        (tmp_path / "k.npy").write_bytes(blob)
        _only_kernel_errors(load_file, tmp_path / "k.npy")


@settings(max_examples=60)
@given(text=st.text(max_size=40))
def test_fuzz_any_spec(text):
    _only_kernel_errors(load_kernel, text, [])
