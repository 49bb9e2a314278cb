"""Border (padding) modes: names, aliases and the padding itself.

convcli uses PyTorch's names for the modes PyTorch has and adds ``symmetric``:

=============  ===========  ============  =============  ===================
convcli        ``abcd`` ->  NumPy pad     SciPy ndimage  OpenCV
=============  ===========  ============  =============  ===================
``zeros``      00|abcd|00   constant      constant       BORDER_CONSTANT
``replicate``  aa|abcd|dd   edge          nearest        BORDER_REPLICATE
``reflect``    cb|abcd|cb   reflect       mirror         BORDER_REFLECT_101
``symmetric``  ba|abcd|dc   symmetric     reflect        BORDER_REFLECT
``circular``   cd|abcd|ab   wrap          wrap           BORDER_WRAP
=============  ===========  ============  =============  ===================

Every mode works for any padding size: reflect, symmetric and circular repeat the
reflection or wrap as :func:`numpy.pad` does, where PyTorch refuses padding >= the size.
"""

from __future__ import annotations

import numpy as np

from convcli.errors import ParameterError

PADDING_MODES = ("zeros", "reflect", "replicate", "circular", "symmetric")

#: Unambiguous names from NumPy, SciPy and OpenCV, mapped to convcli's.
PADDING_ALIASES = {
    "constant": "zeros",
    "zero": "zeros",
    "edge": "replicate",
    "nearest": "replicate",
    "wrap": "circular",
    "reflect_101": "reflect",
    "reflect101": "reflect",
}

_NUMPY_MODE = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "circular": "wrap",
    "symmetric": "symmetric",
}

_MIRROR_MESSAGE = (
    "padding_mode 'mirror' is ambiguous: SciPy's 'mirror' is 'cb|abcd|cb' (edge sample not "
    "repeated; convcli 'reflect', as PyTorch) while MATLAB/scikit-image users often mean "
    "'ba|abcd|dc' (edge sample repeated; convcli 'symmetric'). Choose 'reflect' or 'symmetric'."
)


def normalize_padding_mode(mode: str) -> str:
    """Return convcli's name for a padding mode given by its name or an unambiguous alias.

    Raises
    ------
    ParameterError
        For an unknown name (the message lists the accepted ones) and for the ambiguous
        ``mirror`` (the message explains both meanings).
    """
    if not isinstance(mode, str):
        raise ParameterError(f"padding_mode must be a string, got {mode!r}")
    key = mode.strip().lower().replace("-", "_")
    if key in PADDING_MODES:
        return key
    if key in PADDING_ALIASES:
        return PADDING_ALIASES[key]
    if key == "mirror":
        raise ParameterError(_MIRROR_MESSAGE)
    aliases = ", ".join(sorted(PADDING_ALIASES))
    raise ParameterError(
        f"unknown padding_mode {mode!r}; accepted: {', '.join(PADDING_MODES)} "
        f"(aliases: {aliases})"
    )


def pad_spatial(
    x: np.ndarray, pads: tuple[int, int, int, int], mode: str
) -> np.ndarray:
    """Pad the last two axes of ``x`` by ``(top, bottom, left, right)`` in ``mode``.

    ``mode`` must already be normalized (see :func:`normalize_padding_mode`). Returns ``x``
    itself when there is nothing to pad.
    """
    top, bottom, left, right = pads
    if not (top or bottom or left or right):
        return x
    width = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    # numpy.pad repeats the reflection/wrap for pads larger than the axis, and continues a
    # single-sample axis by repeating it (there is nothing to reflect onto).
    np_mode = _NUMPY_MODE[mode]
    return np.pad(x, width, mode=np_mode)
