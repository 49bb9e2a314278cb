"""The :class:`Kernel` value: what every kernel spec, name or file resolves to."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from convcli.choices import BANK_COMBINES
from convcli.errors import KernelError

#: How a bank combines its members' responses, pixel by pixel.


def _frozen_array(values) -> np.ndarray:
    array = np.array(values, dtype=np.float64) + 0.0  # + 0.0: no negative zeros
    array.flags.writeable = False
    return array


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

    def __post_init__(self):
        # A frozen value: float64 copies that nobody can change in place.
        object.__setattr__(self, "weight", _frozen_array(self.weight))
        if self.bias is not None:
            object.__setattr__(self, "bias", _frozen_array(self.bias))
        object.__setattr__(self, "members", tuple(self.members))
        if self.weight.ndim not in (2, 4):
            raise KernelError(
                f"kernel {self.name!r}: weight has {self.weight.ndim} dimensions; "
                "a kernel is 2-D (kH, kW) or 4-D (C_out, C_in/groups, kH, kW)"
            )
        if self.members and self.combine not in BANK_COMBINES:
            raise KernelError(
                f"kernel {self.name!r}: a bank's combine must be one of "
                f"{', '.join(BANK_COMBINES)}, got {self.combine!r}"
            )

    def __eq__(self, other):
        if not isinstance(other, Kernel):
            return NotImplemented
        return _key(self) == _key(other)

    def __hash__(self):
        return hash(_key(self))

    @property
    def is_bank(self) -> bool:
        return bool(self.members)

    @property
    def shape(self) -> tuple[int, ...]:
        """The weight's shape (for a bank, its first member's)."""
        return self.weight.shape

    @property
    def kind(self) -> str:
        """``bank``, ``layer`` (a 4-D cross-channel weight) or ``matrix`` (2-D)."""
        if self.is_bank:
            return "bank"
        return "matrix" if self.is_depthwise else "layer"

    def normalized(self) -> Kernel:
        """This kernel with its weight divided by its sum (per output channel when 4-D).

        A bank normalizes each member. ``normalize`` is False on the result, so applying
        it twice divides once.

        Raises
        ------
        KernelError
            The weight sums to zero (an edge or Laplacian kernel): there is nothing to
            divide by.

        Examples
        --------
        >>> k = Kernel("two", np.array([[1.0, 3.0]]), normalize=True).normalized()
        >>> k.weight.tolist(), k.normalize
        ([[0.25, 0.75]], False)
        """
        if self.is_bank:
            members = tuple(member.normalized() for member in self.members)
            return replace(self, weight=members[0].weight, members=members, normalize=False)
        axes = (-2, -1) if self.is_depthwise else (1, 2, 3)
        total = self.weight.sum(axis=axes, keepdims=True)
        scale = np.abs(self.weight).sum(axis=axes, keepdims=True)
        if np.any(np.abs(total) <= 1e-12 * scale) or not np.all(scale):
            raise KernelError(
                f"kernel {self.name!r} sums to zero, so it cannot be normalized (divided by "
                "its sum): zero-sum kernels (edges, Laplacians) are used as they are; "
                "drop 'normalize'"
            )
        return replace(self, weight=self.weight / total, normalize=False)

    def flipped(self) -> Kernel:
        """This kernel turned by 180 degrees: correlating with it is true convolution.

        convcli, PyTorch, OpenCV ``filter2D`` and SciPy ``ndimage.correlate`` correlate;
        correlating with the flipped kernel gives what ``scipy.ndimage.convolve`` and
        MATLAB's ``conv2(..., 'same')`` give (for every size, even ones included: see
        docs/guide/kernels.md). A bank flips each member; bias and the rest are kept.

        Examples
        --------
        >>> Kernel("k", np.array([[1.0, 2.0], [3.0, 4.0]])).flipped().weight.tolist()
        [[4.0, 3.0], [2.0, 1.0]]
        """
        if self.is_bank:
            members = tuple(member.flipped() for member in self.members)
            return replace(self, weight=members[0].weight, members=members)
        return replace(self, weight=self.weight[..., ::-1, ::-1])

    @property
    def is_depthwise(self) -> bool:
        """True for a 2-D per-channel kernel (or a bank of them)."""
        return self.weight.ndim == 2


def _key(kernel: Kernel) -> tuple:
    arrays = (kernel.weight, kernel.bias)
    data = tuple(None if a is None else (a.shape, a.tobytes()) for a in arrays)
    return (
        kernel.name,
        data,
        kernel.groups,
        kernel.description,
        kernel.normalize,
        kernel.scale,
        kernel.offset,
        kernel.members,
        kernel.combine,
        kernel.source,
    )
