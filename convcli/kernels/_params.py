"""Typed, validated parameters of parametric kernels: ``gaussian:sigma=2,size=7``.

A :class:`Param` declares a parameter's type, default and range; :func:`parse_params`
turns the text after the colon into checked Python values or raises
:class:`~convcli.errors.KernelError` naming the parameter and what it accepts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from convcli.errors import KernelError
from convcli.kernels._checks import NUMBER, suggest

_INT = re.compile(r"[+-]?\d{1,30}")
_BOOLS = {
    "true": True,
    "yes": True,
    "on": True,
    "1": True,
    "false": False,
    "no": False,
    "off": False,
    "0": False,
}
_TYPE_WORDS = {int: "a whole number", float: "a number", bool: "true or false", str: "a word"}


@dataclass(frozen=True)
class Param:
    """One parameter: its type (int, float, bool or str), default, help, and range.

    ``default`` None means "computed from the others" (``default_text`` says how).
    ``minimum`` is inclusive; ``positive`` requires > 0; ``odd`` an odd whole number;
    ``maximum`` is inclusive; ``choices`` are the words a str parameter accepts.
    """

    kind: type
    default: object
    help: str
    minimum: float | None = None
    positive: bool = False
    odd: bool = False
    default_text: str = ""
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def describe_default(self) -> str:
        if self.default is None:
            return self.default_text
        return str(self.default).lower() if self.kind is bool else str(self.default)

    def convert(self, name: str, text: str, where: str):
        """``text`` as this parameter's type, checked against its range."""
        word = _TYPE_WORDS[self.kind]
        if self.kind is str:
            word = text.strip().lower()
            if word not in self.choices:
                raise KernelError(
                    f"{where}: {name} must be one of {', '.join(self.choices)}, got {text!r}"
                    + suggest(word, self.choices)
                )
            return word
        if self.kind is bool:
            value = _BOOLS.get(text.strip().lower())
            if value is None:
                raise KernelError(f"{where}: {name} must be {word}, got {text!r}")
            return value
        pattern = _INT if self.kind is int else NUMBER
        if not pattern.fullmatch(text.strip()):
            raise KernelError(f"{where}: {name} must be {word}, got {text!r}")
        value = self.kind(text.strip())
        if not math.isfinite(value):
            raise KernelError(f"{where}: {name} must be a finite number, got {text!r}")
        if self.positive and value <= 0:
            raise KernelError(f"{where}: {name} must be greater than 0, got {text}")
        if self.minimum is not None and value < self.minimum:
            raise KernelError(f"{where}: {name} must be at least {self.minimum}, got {text}")
        if self.maximum is not None and value > self.maximum:
            raise KernelError(f"{where}: {name} must be at most {self.maximum}, got {text}")
        if self.odd and value % 2 == 0:
            raise KernelError(
                f"{where}: {name} must be odd (the kernel needs a centre tap), got {text}"
            )
        return value


def parse_params(text: str, params: dict[str, Param], where: str, kernel: str) -> dict:
    """Parse ``key=value,key=value`` against ``params``; return every parameter's value.

    Parameters not given take their default (None for computed defaults).

    Examples
    --------
    >>> spec = {"size": Param(int, 3, "side", positive=True)}
    >>> parse_params("size=5", spec, "kernel 'box:size=5'", "box")
    {'size': 5}
    >>> parse_params("size=0", spec, "kernel 'box:size=0'", "box")
    Traceback (most recent call last):
    ...
    convcli.errors.KernelError: kernel 'box:size=0': size must be greater than 0, got 0
    """
    values = {name: param.default for name, param in params.items()}
    if not text.strip():
        return values
    if not params:
        raise KernelError(f"{where}: {kernel} takes no parameters")
    accepted = ", ".join(params)
    seen = set()
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise KernelError(
                f"{where}: expected key=value pairs separated by commas, got {item!r}; "
                f"{kernel} accepts: {accepted}"
            )
        if key not in params:
            raise KernelError(
                f"{where}: unknown parameter {key!r}{suggest(key, params)}; "
                f"{kernel} accepts: {accepted}"
            )
        if key in seen:
            raise KernelError(f"{where}: parameter {key!r} is given twice")
        seen.add(key)
        values[key] = params[key].convert(key, value, where)
    return values
