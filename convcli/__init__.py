"""convcli: convolve images with kernels, with PyTorch's conv2d semantics in NumPy.

The public API is listed in ``__all__``. Attributes are imported on first use, so
``import convcli`` (and ``convcli --help``) stays cheap: NumPy, SciPy and Pillow load only
when a function that needs them is called.
"""

import importlib as _importlib

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
    "ClippedWarning": "convcli.errors",
    "Kernel": "convcli.kernels",
    "load_kernel": "convcli.filtering",  # the registry's, with image kernels readable
    "filter_image": "convcli.filtering._image",
    "read_image": "convcli.images",
    "write_image": "convcli.images",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'convcli' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public API only (``__all__``): no helpers, no imported modules."""
    return sorted(__all__)
