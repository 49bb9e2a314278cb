"""Checks every kernel source shares: limits, shapes, finite values, building the Kernel.

Every parser (JSON, NumPy, libvips, ImageMagick, named kernels) ends in
:func:`build_kernel`, so a kernel is refused for the same reasons with the same words
wherever it comes from. Sizes are checked from the declared shape, before any array is
allocated.
"""

from __future__ import annotations

import difflib
import math
import re

import numpy as np

from convcli.errors import KernelError
from convcli.kernels._kernel import BANK_COMBINES, Kernel

#: Largest kernel side, in taps (a 1025 x 1025 kernel is already far past useful).
MAX_TAPS = 1025
#: Largest number of weights in one kernel (a 4-D layer): 16 Mi float64 = 128 MiB.
MAX_WEIGHTS = 2**24
#: Largest text kernel file (JSON, libvips .mat) read.
MAX_TEXT_BYTES = 64 * 2**20

#: A decimal number as written in kernel text (no nan, inf, or underscores).
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")

RANKS = "2-D (kH, kW) or 4-D (C_out, C_in/groups, kH, kW)"


def suggest(word: str, choices) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``choices``, or ``""``.

    Examples
    --------
    >>> suggest("gausian", ["gaussian", "box"])
    " (did you mean 'gaussian'?)"
    >>> suggest("zzz", ["gaussian"])
    ''
    """
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"


def parse_number(token: str, where: str, what: str) -> float:
    """``token`` as a finite float; refuse anything else (``nan``, ``inf``, ``1e999``).

    Examples
    --------
    >>> parse_number("-2.5e1", "test", "value 1")
    -25.0
    >>> parse_number("nan", "test", "value 1")
    Traceback (most recent call last):
    ...
    convcli.errors.KernelError: test: value 1 is 'nan'; every value must be a finite number
    """
    value = float(token) if NUMBER.fullmatch(token) else math.nan
    if not math.isfinite(value):
        raise KernelError(f"{where}: {what} is {token[:40]!r}; every value must be a finite number")
    return value


def check_side(n, what: str, where: str) -> None:
    """Refuse a kernel side of ``n`` taps over :data:`MAX_TAPS` (``what`` names it)."""
    if n > MAX_TAPS:
        raise KernelError(f"{where}: {what} {n} is over the limit of {MAX_TAPS} taps per side")


def check_shape(shape, where: str) -> None:
    """Refuse a weight shape of the wrong rank, empty, or over the size limits."""
    shape = tuple(int(n) for n in shape)
    if len(shape) not in (2, 4):
        raise KernelError(
            f"{where}: the weight has {len(shape)} dimension(s) {shape}; a kernel is {RANKS}"
        )
    if 0 in shape:
        raise KernelError(f"{where}: the weight is empty (shape {shape})")
    check_side(max(shape[-2:]), "kernel side", where)
    if math.prod(shape) > MAX_WEIGHTS:
        raise KernelError(
            f"{where}: the weight has {math.prod(shape)} values, over the limit of {MAX_WEIGHTS}"
        )


def finite_array(values, where: str, what: str = "weight") -> np.ndarray:
    """``values`` as a float64 array; refuse non-numeric or non-finite values."""
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise KernelError(
            f"{where}: the {what} has dtype {array.dtype}; a kernel needs real numbers"
        )
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise KernelError(
            f"{where}: the {what} holds {array[bad]} at index {list(bad)}; "
            "every value must be a finite number (no NaN or infinity)"
        )
    return array


def build_kernel(
    name: str,
    weight,
    *,
    where: str,
    bias=None,
    groups: int = 1,
    normalize: bool = False,
    scale: float = 1.0,
    offset: float = 0.0,
    description: str = "",
    source: str = "builtin",
) -> Kernel:
    """Check every part of a single (non-bank) kernel and build it.

    ``where`` opens every error message (``"kernel file 'a.json'"``).

    Examples
    --------
    >>> build_kernel("k", [[1, 2], [3, 4]], where="test").weight.shape
    (2, 2)
    >>> build_kernel("k", [[0.0, float("nan")]], where="test")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    convcli.errors.KernelError: test: the weight holds nan at index [0, 1]; every value ...
    """
    weight = finite_array(weight, where)
    check_shape(weight.shape, where)
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise KernelError(f"{where}: groups must be a whole number >= 1, got {groups!r}")
    if weight.ndim == 2:
        if groups != 1:
            raise KernelError(f"{where}: groups applies to a 4-D weight only; this one is 2-D")
        if bias is not None:
            raise KernelError(
                f"{where}: bias applies to a 4-D weight only; for a 2-D kernel use 'offset'"
            )
    else:
        if weight.shape[0] % groups:
            raise KernelError(
                f"{where}: C_out = {weight.shape[0]} is not divisible by groups = {groups}"
            )
        if bias is not None:
            bias = finite_array(bias, where, "bias")
            if bias.shape != weight.shape[:1]:
                raise KernelError(
                    f"{where}: bias has shape {bias.shape}; it must be (C_out,) = "
                    f"({weight.shape[0]},)"
                )
    for label, value in (("scale", scale), ("offset", offset)):
        if not math.isfinite(value):
            raise KernelError(f"{where}: {label} must be a finite number, got {value!r}")
    kernel = Kernel(
        name,
        weight,
        bias=bias,
        groups=int(groups),
        description=description,
        normalize=bool(normalize),
        scale=float(scale),
        offset=float(offset),
        source=source,
    )
    if normalize:
        try:
            kernel.normalized()
        except KernelError as exc:
            raise KernelError(f"{where}: {exc}") from None
    return kernel


def build_bank(
    name: str,
    members,
    combine: str,
    *,
    where: str,
    scale: float = 1.0,
    offset: float = 0.0,
    description: str = "",
    source: str = "builtin",
) -> Kernel:
    """Check a bank's members (non-banks of one kind) and build the bank kernel."""
    members = tuple(members)
    if not members:
        raise KernelError(f"{where}: a bank needs at least one member")
    if combine not in BANK_COMBINES:
        raise KernelError(
            f"{where}: combine must be one of {', '.join(BANK_COMBINES)}, got {combine!r}"
            + suggest(str(combine), BANK_COMBINES)
        )
    first = members[0]
    for i, member in enumerate(members):
        if member.is_bank:
            raise KernelError(f"{where}: member {i} ({member.name!r}) is itself a bank")
        same = member.is_depthwise == first.is_depthwise and (
            member.is_depthwise
            or (member.shape[:2], member.groups) == (first.shape[:2], first.groups)
        )
        if not same:
            raise KernelError(
                f"{where}: member {i} ({member.name!r}, shape {member.shape}) does not match "
                f"member 0 (shape {first.shape}); all members must be 2-D, or 4-D with the "
                "same channels and groups"
            )
    for label, value in (("scale", scale), ("offset", offset)):
        if not math.isfinite(value):
            raise KernelError(f"{where}: {label} must be a finite number, got {value!r}")
    return Kernel(
        name,
        first.weight,
        description=description,
        scale=float(scale),
        offset=float(offset),
        members=members,
        combine=combine,
        source=source,
    )
