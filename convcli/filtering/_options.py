"""The options of a filter run: :class:`FilterOptions`, validated and normalised once."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from convcli.choices import (
    ALPHA_MODES,
    CHANNEL_MODES,
    DEPTHS,
    NAN_POLICIES,
    OUTPUT_MAPS,
    PADDING_WORDS,
    choice_message,
)
from convcli.engine import check_padding_value, int_pair, normalize_padding_mode
from convcli.errors import ParameterError

#: A pair of per-axis integers (rows, columns).
Pair = tuple[int, int]


def _choice(name: str, value: object, accepted: tuple[str, ...]) -> None:
    if value not in accepted:
        raise ParameterError(choice_message(name, value, accepted))


def _padding(value: object) -> str | Pair:
    if isinstance(value, str):
        _choice("padding", value.lower(), PADDING_WORDS)
        return value.lower()
    return int_pair(value, "padding", 0)


def _normalize_flag(value: object) -> bool | None:
    if value not in (None, True, False):
        raise ParameterError(f"normalize must be True, False or None, got {value!r}")
    return None if value is None else bool(value)


def _flag(name: str) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        if value not in (True, False):
            raise ParameterError(f"{name} must be True or False, got {value!r}")
        return bool(value)

    return check


def _finite_number(name: str) -> Callable[[object], float]:
    def check(value: object) -> float:
        if not isinstance(value, numbers.Real) or not np.isfinite(float(value)):
            raise ParameterError(f"{name} must be a finite number, got {value!r}")
        return float(value)

    return check


def _one_of(
    name: str, accepted: tuple[str, ...], optional: bool = False
) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if value is None and optional:
            return None
        text = str(value).lower() if name == "depth" else value
        _choice(name, text, accepted)
        return str(text)

    return check


def _nodata(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, numbers.Real) or np.isinf(float(value)):
        raise ParameterError(f"nodata must be a number or NaN, got {value!r}")
    return value if isinstance(value, float) else float(value)


#: How each option's user value (an int for a pair, an alias, ...) becomes its normal form.
_NORMALIZERS: dict[str, Callable[[Any], Any]] = {
    "padding_mode": normalize_padding_mode,
    "padding": _padding,
    "stride": lambda v: int_pair(v, "stride", 1),
    "dilation": lambda v: int_pair(v, "dilation", 1),
    "normalize": _normalize_flag,
    "channel_mode": _one_of("channel mode", CHANNEL_MODES),
    "alpha": _one_of("alpha mode", ALPHA_MODES, optional=True),
    "output_map": _one_of("output map", OUTPUT_MAPS),
    "scale": _finite_number("scale"),
    "offset": _finite_number("offset"),
    "depth": _one_of("depth", DEPTHS, optional=True),
    "padding_value": _finite_number("padding_value"),
    "convolve": _flag("convolve"),
    "nan_policy": _one_of("nan policy", NAN_POLICIES),
    "nodata": _nodata,
    "preserve_missing": _flag("preserve_missing"),
}


@dataclass(frozen=True)
class FilterOptions:
    """Everything :func:`filter_image` needs besides the image and the kernels.

    Build it from user values with :meth:`from_kwargs` (the one constructor that
    normalizes: an int stride becomes a pair, ``edge`` becomes ``replicate``); the
    dataclass constructor itself takes the normal forms only and refuses anything else.
    A :class:`ParameterError` names the option and the accepted values. Picklable, so a
    batch layer can send it to worker processes.

    Attributes
    ----------
    padding_mode : str
        Border mode (``reflect`` by default; any name :func:`convcli.conv2d` accepts).
    padding : 'same', 'valid' or (int, int)
        ``same`` keeps the size at stride 1 (see the module docstring for strides > 1).
    stride, dilation : (int, int)
    normalize : bool or None
        Divide each kernel by its sum; None uses each kernel's own ``normalize``.
    channel_mode : {'per-channel', 'cross'}
        How a 2-D kernel meets the channels.
    alpha : {'premultiply', 'preserve', 'channel'} or None
        None: ``premultiply`` when every kernel is a plain 2-D kernel whose weights sum to a
        positive value (a blur, a sharpen), else ``preserve``, or ``channel`` when a 4-D
        kernel is in the chain.
    output_map : {'clip', 'abs', 'normalize', 'offset'}
    scale, offset : float
        ``scale * x + offset`` before the output map, in output grey levels.
    depth : {'8', '16', '32f'} or None
        Output sample type; None keeps the input's.
    padding_value : float
        The border sample of ``padding_mode='constant'`` (``zeros``), in the input image's
        grey levels (255 is white in an 8-bit image, 65535 in a 16-bit one, 1.0 in a float
        one), whatever the output depth; every kernel of a chain pads with it. Refused
        (when not 0) with another padding mode.
    convolve : bool
        True convolution: every kernel turned by 180 degrees (:meth:`Kernel.flipped`), so
        results equal ``scipy.ndimage.convolve``; the default is cross-correlation.
    nan_policy : {'propagate', 'omit', 'raise'}
        Missing samples (NaN, ``nodata``, a mask): spread over each kernel's reach (as
        PyTorch), filled by normalized convolution, or refused
        (:mod:`convcli.filtering._missing`).
    nodata : float or None
        Samples equal to it are missing; missing output samples are written as it.
    preserve_missing : bool
        Keep the missing input samples missing in the output (else write the filled value).

    Examples
    --------
    >>> FilterOptions.from_kwargs(stride=2, padding_mode="edge").stride
    (2, 2)
    """

    padding_mode: str = "reflect"
    padding: str | Pair = "same"
    stride: Pair = (1, 1)
    dilation: Pair = (1, 1)
    normalize: bool | None = None
    channel_mode: str = "per-channel"
    alpha: str | None = None
    output_map: str = "clip"
    scale: float = 1.0
    offset: float = 0.0
    depth: str | None = None
    padding_value: float = 0.0
    convolve: bool = False
    nan_policy: str = "propagate"
    nodata: float | None = None
    preserve_missing: bool = True

    def __post_init__(self) -> None:
        for name, normalizer in _NORMALIZERS.items():
            value = getattr(self, name)
            normal = normalizer(value)
            if normal is not value and (normal != value or type(normal) is not type(value)):
                raise ParameterError(
                    f"{name} {value!r} is not in normal form; build the options with "
                    f"FilterOptions.from_kwargs({name}={value!r})"
                )
        check_padding_value(self.padding_value, self.padding_mode)  # constant mode only

    @classmethod
    def from_kwargs(cls, **options: object) -> FilterOptions:
        """Build from user values, refusing unknown names with the accepted list."""
        known = cls.__dataclass_fields__
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ParameterError(
                f"unknown filter option(s) {', '.join(unknown)}; accepted: {', '.join(known)}"
            )
        return cls(**{name: _NORMALIZERS[name](value) for name, value in options.items()})
