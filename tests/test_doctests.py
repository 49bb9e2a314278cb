"""Run the docstring examples of every convcli module (numpydoc 'Examples' sections)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import convcli

OPTIONAL = {"dask", "distributed", "torch", "cv2"}


def _modules():
    for info in pkgutil.walk_packages(convcli.__path__, "convcli."):
        yield info.name


@pytest.mark.parametrize("name", sorted(_modules()))
def test_docstring_examples(name):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # an optional extra that is not installed
        if exc.name and exc.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"{name} needs {exc.name}")
        raise
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
