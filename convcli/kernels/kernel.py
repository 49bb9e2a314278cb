"""The :class:`Kernel` value: what every kernel spec, name or file resolves to."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: How a bank combines its members' responses, pixel by pixel.
BANK_COMBINES = ("magnitude", "max", "min", "sum", "mean")


@dataclass(frozen=True)
class Kernel:
    """A resolved kernel.

    Attributes
    ----------
    name : str
        The name or spec it was loaded from.
    weight : ndarray
        2-D ``(kH, kW)``: a per-channel (depthwise) kernel; or 4-D
        ``(C_out, C_in / groups, kH, kW)``: a cross-channel layer applied as given.
        For a bank, the weight of its first member (see ``members``).
    bias : ndarray or None
        ``(C_out,)`` for a 4-D weight; None otherwise.
    groups : int
        The ``groups`` of a 4-D weight.
    description : str
        One line for ``convcli kernels list``.
    normalize : bool
        Divide the weight by its sum before use (refused for zero-sum weights).
    scale, offset : float
        Output mapping defaults: ``scale * response + offset``.
    members : tuple of Kernel
        Non-empty for a kernel bank: every member is applied and the responses combined.
    combine : str or None
        For a bank, one of :data:`BANK_COMBINES` (``magnitude`` = sqrt of the sum of
        squares; ``max`` = pixelwise maximum ...).
    source : str
        Where it came from: ``builtin``, a file path, ``inline``.
    """

    name: str
    weight: np.ndarray
    bias: np.ndarray | None = None
    groups: int = 1
    description: str = ""
    normalize: bool = False
    scale: float = 1.0
    offset: float = 0.0
    members: tuple[Kernel, ...] = field(default=())
    combine: str | None = None
    source: str = "builtin"

    @property
    def is_bank(self) -> bool:
        return bool(self.members)

    @property
    def is_depthwise(self) -> bool:
        """True for a 2-D per-channel kernel (or a bank of them)."""
        return self.weight.ndim == 2
