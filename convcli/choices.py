"""Every value convcli accepts for an option with a fixed set of choices: the one source.

NumPy-free, so the command line builds ``--help`` and validates choices without loading the
library; the library validates against the same tuples. A value added here is accepted by the
engine, by :class:`~convcli.filtering.FilterOptions` and by the CLI at once (a test walks every
``click.Choice`` and compares it with these tuples).
"""

from __future__ import annotations

#: Border modes (PyTorch's names plus ``symmetric``); see :mod:`convcli.engine._padding`.
PADDING_MODES: tuple[str, ...] = ("zeros", "reflect", "replicate", "circular", "symmetric")

#: Unambiguous names from NumPy, SciPy and OpenCV, mapped to convcli's.
PADDING_ALIASES: dict[str, str] = {
    "constant": "zeros",
    "zero": "zeros",
    "edge": "replicate",
    "nearest": "replicate",
    "wrap": "circular",
    "reflect_101": "reflect",
    "reflect101": "reflect",
}

#: What ``padding`` accepts besides pixel counts.
PADDING_WORDS: tuple[str, ...] = ("same", "valid")

#: How a 2-D kernel meets the channels of an image.
CHANNEL_MODES: tuple[str, ...] = ("per-channel", "cross")

#: How transparency is handled.
ALPHA_MODES: tuple[str, ...] = ("premultiply", "preserve", "channel")

#: What happens to values outside the output range.
OUTPUT_MAPS: tuple[str, ...] = ("clip", "abs", "normalize", "offset")

#: Output sample types: 8-bit, 16-bit unsigned integers, 32-bit float.
DEPTHS: tuple[str, ...] = ("8", "16", "32f")

#: Correlation methods of :func:`convcli.conv2d` (``auto`` lets the planner choose).
METHODS: tuple[str, ...] = ("auto", "direct", "separable", "fft", "gemm", "precise")

#: What a missing sample (NaN, no-data value, masked) does; see :mod:`convcli.engine._missing`.
NAN_POLICIES: tuple[str, ...] = ("propagate", "omit", "raise")

#: How the responses of a kernel bank combine.
BANK_COMBINES: tuple[str, ...] = ("magnitude", "max", "min", "sum", "mean")

#: Image format name -> file extensions (lower case, the usual one first).
FORMATS: dict[str, tuple[str, ...]] = {
    "PNG": (".png", ".apng"),
    "JPEG": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "TIFF": (".tif", ".tiff"),
    "BMP": (".bmp", ".dib"),
    "WEBP": (".webp",),
    "GIF": (".gif",),
    "NPY": (".npy",),
}


def choice_message(name: str, value: object, choices: tuple[str, ...]) -> str:
    """The message for a value outside ``choices``: it names the option and what is accepted.

    >>> choice_message("output map", "gamma", OUTPUT_MAPS)
    "output map 'gamma' is not understood; accepted: clip, abs, normalize, offset"
    """
    return f"{name} {value!r} is not understood; accepted: {', '.join(choices)}"
