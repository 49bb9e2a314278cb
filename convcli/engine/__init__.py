"""The array engine: PyTorch-compatible ``conv2d`` and the machinery under it.

Knows arrays only: no files, no Pillow, no click.
"""

from convcli.engine._conv import (
    ConvGeometry,
    conv2d,
    int_pair,
    preload_fft,
    prepare,
    same_pads,
    working_dtype,
)
from convcli.engine._padding import (
    PADDING_ALIASES,
    PADDING_MODES,
    check_padding_value,
    normalize_padding_mode,
    pad_spatial,
)
from convcli.engine._strips import engine_settings, get_threads, set_threads

__all__ = [
    "check_padding_value",
    "ConvGeometry",
    "PADDING_ALIASES",
    "PADDING_MODES",
    "conv2d",
    "engine_settings",
    "get_threads",
    "int_pair",
    "normalize_padding_mode",
    "pad_spatial",
    "preload_fft",
    "prepare",
    "same_pads",
    "set_threads",
    "working_dtype",
]
