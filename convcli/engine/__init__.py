"""The array engine: PyTorch-compatible ``conv2d`` and the machinery under it.

Knows arrays only: no files, no Pillow, no click.
"""

from convcli.engine.conv import ConvGeometry, conv2d, prepare, working_dtype
from convcli.engine.padding import (
    PADDING_ALIASES,
    PADDING_MODES,
    normalize_padding_mode,
    pad_spatial,
)

__all__ = [
    "ConvGeometry",
    "PADDING_ALIASES",
    "PADDING_MODES",
    "conv2d",
    "normalize_padding_mode",
    "pad_spatial",
    "prepare",
    "working_dtype",
]
