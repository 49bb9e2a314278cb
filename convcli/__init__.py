"""convcli: convolve images with kernels, with PyTorch's conv2d semantics in NumPy.

The public API is listed in ``__all__``. Attributes are imported on first use, so
``import convcli`` (and ``convcli --help``) stays cheap: NumPy, SciPy and Pillow load only
when a function that needs them is called.
"""

from __future__ import annotations

import importlib

from convcli._version import __version__

# public name -> module that defines it
_LAZY = {
    "conv2d": "convcli.engine._conv",
    "working_dtype": "convcli.engine._conv",
    "PADDING_MODES": "convcli.engine._padding",
    "ConvcliError": "convcli.errors",
    "ParameterError": "convcli.errors",
    "KernelError": "convcli.errors",
    "ImageError": "convcli.errors",
    "MissingDependencyError": "convcli.errors",
    "Kernel": "convcli.kernels",
    "load_kernel": "convcli.filtering",  # the registry's, with image kernels readable
    "filter_image": "convcli.filtering._frame",
    "read_image": "convcli.images",
    "write_image": "convcli.images",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'convcli' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
