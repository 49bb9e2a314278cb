"""The search path, user kernels, shadowing, banks defined in files, the listing, the schema."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from convcli.errors import KernelError
from convcli.kernels import ENV_VAR, list_kernels, load_kernel
from convcli.kernels._json import FIELDS
from convcli.kernels._registry import builtin_dir, builtin_files


@pytest.fixture(autouse=True)
def _no_user_path(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def _json(path: Path, data) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def raises(message: str):
    return pytest.raises(KernelError, match=re.escape(message))


def test_user_kernel_found_by_name_in_each_format(tmp_path):
    _json(tmp_path / "my-edge.json", {"weight": [[1, -1]], "description": "mine"})
    np.save(tmp_path / "my-npy.npy", np.eye(3))
    np.savez(tmp_path / "my-npz.npz", weight=np.ones((2, 1, 3, 3)), bias=np.zeros(2))
    (tmp_path / "my-mat.mat").write_text("1 2\n1\n2\n")
    found = {n: load_kernel(n, [tmp_path]) for n in ("my-edge", "my-npy", "my-npz", "my-mat")}
    assert found["my-edge"].description == "mine"
    assert found["my-edge"].source == str(tmp_path / "my-edge.json")
    assert found["my-npy"].shape == (3, 3) and found["my-npz"].kind == "layer"
    assert found["my-mat"].shape == (2, 1)
    assert all(k.name == n for n, k in found.items())


def test_environment_path_and_its_order(tmp_path, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    _json(first / "k.json", [[1]])
    _json(second / "k.json", [[2]])
    _json(second / "only-b.json", [[3]])
    monkeypatch.setenv(
        ENV_VAR, os.pathsep.join([str(first), "", str(tmp_path / "none"), str(second)])
    )
    assert load_kernel("k").weight[0, 0] == 1
    assert load_kernel("only-b").weight[0, 0] == 3
    # --kernel-path (search_path) comes before the environment.
    assert load_kernel("k", [second]).weight[0, 0] == 2


def test_suffix_preference_within_a_directory(tmp_path):
    np.save(tmp_path / "k.npy", np.full((1, 1), 2.0))
    _json(tmp_path / "k.json", [[1]])
    assert load_kernel("k", [tmp_path]).weight[0, 0] == 1  # .json before .npy


def test_user_kernel_shadows_a_builtin_and_the_list_says_so(tmp_path):
    _json(tmp_path / "gaussian.json", {"weight": [[7]], "description": "my gaussian"})
    assert load_kernel("gaussian", [tmp_path]).weight[0, 0] == 7
    entries = [e for e in list_kernels([tmp_path]) if e.name == "gaussian"]
    assert [(e.source, e.shadows, e.shadowed_by) for e in entries] == [
        (str(tmp_path / "gaussian.json"), "builtin", None),
        ("builtin", None, str(tmp_path / "gaussian.json")),
    ]
    with raises("kernel 'gaussian:sigma=2': gaussian takes no parameters"):
        load_kernel("gaussian:sigma=2", [tmp_path])


def test_listing_flags_user_files_shadowing_each_other_and_unreadable_ones(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    _json(a / "k.json", [[1]])
    _json(b / "k.json", [[2]])
    (a / "broken.json").write_text("[[1, NaN]]")
    entries = {(e.name, e.source): e for e in list_kernels([a, b])}
    assert entries[("k", str(a / "k.json"))].shadows == str(b / "k.json")
    assert entries[("k", str(b / "k.json"))].shadowed_by == str(a / "k.json")
    broken = entries[("broken", str(a / "broken.json"))]
    assert broken.kind == "unreadable" and "NaN is not a number" in broken.description


def test_listing_covers_every_builtin():
    entries = {e.name: e for e in list_kernels()}
    expected = {
        "identity",
        "box",
        "gaussian",
        "sobel-x",
        "sobel-y",
        "prewitt-x",
        "prewitt-y",
        "scharr-x",
        "scharr-y",
        "laplacian",
        "log",
        "sharpen",
        "unsharp",
        "emboss",
        "motion-blur",
        "outline",
        "sobel",
        "prewitt",
        "scharr",
        "kirsch",
    }
    assert expected <= set(entries)
    assert all(e.source == "builtin" and e.description for e in entries.values())
    assert entries["gaussian"].parameters["sigma"] == {
        "type": "float",
        "default": "1.0",
        "help": "standard deviation in pixels",
    }
    assert entries["kirsch"].kind == "bank" and entries["kirsch"].members == 8
    assert entries["box"].size == "3x3" and entries["kirsch"].size == "3x3 (8)"
    json.dumps([e.to_json() for e in entries.values()])  # JSON-ready


def test_bank_defined_in_a_user_file_by_names_and_paths(tmp_path):
    np.save(tmp_path / "diag.npy", np.eye(3))
    _json(tmp_path / "sub.json", [[0, 1, 0], [0, 0, 0], [0, -1, 0]])
    _json(
        tmp_path / "edges.json",
        {
            "description": "my edges",
            "combine": "max",
            "members": ["sobel-x", "diag.npy", "./sub.json", {"name": "z", "weight": SOBEL_Y}],
        },
    )
    bank = load_kernel(str(tmp_path / "edges.json"))
    assert bank.is_bank and bank.combine == "max" and bank.description == "my edges"
    assert [m.name for m in bank.members] == ["sobel-x", "diag", "sub", "z"]
    np.testing.assert_array_equal(bank.members[1].weight, np.eye(3))
    np.testing.assert_array_equal(bank.members[3].weight, SOBEL_Y)
    assert load_kernel("edges", [tmp_path]).members == bank.members


SOBEL_Y = [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]


def test_banks_that_refer_to_themselves_are_refused(tmp_path):
    _json(tmp_path / "loop.json", {"members": ["loop.json"], "combine": "max"})
    with raises("refers to itself or nests too deeply"):
        load_kernel(str(tmp_path / "loop.json"))
    _json(tmp_path / "a.json", {"members": ["b"], "combine": "max"})
    _json(tmp_path / "b.json", {"members": ["a"], "combine": "max"})
    with pytest.raises(KernelError, match="refers to itself|cannot itself be a bank|is itself a"):
        load_kernel("a", [tmp_path])


def test_member_that_is_a_bank_is_refused(tmp_path):
    _json(tmp_path / "b.json", {"members": ["sobel"], "combine": "max"})
    with raises("member 0 ('sobel') is itself a bank"):
        load_kernel(str(tmp_path / "b.json"))


def test_unknown_name_suggests_user_kernels_too(tmp_path):
    _json(tmp_path / "my-edge.json", [[1]])
    with raises("unknown kernel 'my-edg' (did you mean 'my-edge'?)"):
        load_kernel("my-edg", [tmp_path])


def test_spec_types_and_empty_specs(tmp_path):
    with raises("empty kernel spec"):
        load_kernel("  ")
    with raises("a kernel spec is a string or a path, got int"):
        load_kernel(3)
    path = _json(tmp_path / "p.json", [[1]])
    assert load_kernel(path).name == "p"  # a pathlib.Path


def test_builtin_data_files_are_found_and_parse():
    names = set(builtin_files())
    assert {"sobel", "kirsch", "sobel-x", "identity"} <= names
    assert not any("schema" in n for n in names)
    for name in names:
        assert load_kernel(name, []).source == "builtin"


def test_schema_lists_exactly_the_parsers_fields():
    schema = json.loads((builtin_dir() / "kernel.schema.json").read_text(encoding="utf-8"))
    fields = set(schema["$defs"]["kernel"]["properties"]) | set(
        schema["$defs"]["bank"]["properties"]
    )
    assert fields == set(FIELDS)


def test_shipped_kernels_validate_against_the_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((builtin_dir() / "kernel.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for name, resource in builtin_files().items():
        errors = list(validator.iter_errors(json.loads(resource.read_text(encoding="utf-8"))))
        assert not errors, (name, errors[0].message)
    assert list(validator.iter_errors({"weight": [[1]], "wieght": 1}))
