"""Kernels: named and parametric built-ins, kernel files, inline specs, the search path.

:func:`load_kernel` turns a spec (``gaussian:sigma=2``, ``edges.json``, ``'[[1,2,1]]'``,
``'3x3: ...'``) into a :class:`Kernel`; :func:`list_kernels` lists what names resolve to.
No image code lives here.
"""

from __future__ import annotations

from convcli.kernels._imagemagick import to_imagemagick
from convcli.kernels._kernel import BANK_COMBINES, Kernel
from convcli.kernels._listing import KernelEntry, list_kernels
from convcli.kernels._registry import ENV_VAR, load_file, load_kernel, save_kernel

__all__ = [
    "BANK_COMBINES",
    "ENV_VAR",
    "Kernel",
    "KernelEntry",
    "list_kernels",
    "load_file",
    "load_kernel",
    "save_kernel",
    "to_imagemagick",
]
