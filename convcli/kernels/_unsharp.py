"""The unsharp mask with a threshold: a kernel that is more than one linear weight.

``unsharp:sigma=2,amount=1,threshold=0.02`` resolves to a :class:`ThresholdedUnsharp`.
With ``g`` the Gaussian blur of ``x``::

    out = x + amount * (x - g)    where |x - g| >= threshold * full scale
    out = x                        elsewhere

Its ``weight`` is the linear unsharp kernel ``(1 + amount) delta - amount g`` (what the
filter is where every pixel passes the threshold), so everything that reads a weight
(reach of the chain for bands, value-range checks, alpha defaults, listings) sees the
right size and bounds; the filtering layer applies the threshold
(:mod:`convcli.filtering._unsharp`). Without ``threshold`` the spec is today's linear
kernel.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from convcli.kernels._kernel import Kernel, _frozen_array, _key


@dataclass(frozen=True, eq=False)
class ThresholdedUnsharp(Kernel):
    """An unsharp mask applied only where ``|x - blur| >= threshold`` (a fraction of full scale).

    Attributes
    ----------
    blur : ndarray
        The normalized 2-D Gaussian ``g``.
    amount : float
        The sharpening strength.
    threshold : float
        Fraction of full scale (0.02: 5.1 levels of 8-bit); ImageMagick's ``-unsharp``
        compares ``2 |x - g|`` with its ``+T``, so its ``T`` is ``2 * threshold``.
    """

    blur: np.ndarray = field(default_factory=lambda: np.ones((1, 1)))
    amount: float = 1.0
    threshold: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "blur", _frozen_array(self.blur))
        object.__setattr__(self, "amount", float(self.amount))
        object.__setattr__(self, "threshold", float(self.threshold))

    def __eq__(self, other):
        if not isinstance(other, ThresholdedUnsharp):
            return NotImplemented
        return _step_key(self) == _step_key(other)

    def __hash__(self):
        return hash(_step_key(self))


def _step_key(kernel: ThresholdedUnsharp) -> tuple:
    return (_key(kernel), kernel.blur.tobytes(), kernel.amount, kernel.threshold)


def with_threshold(kernel: Kernel, blur, amount: float, threshold: float) -> ThresholdedUnsharp:
    """``kernel`` (the linear unsharp weight) as a :class:`ThresholdedUnsharp` with the
    Gaussian ``blur``, ``amount`` and ``threshold``.

    Examples
    --------
    >>> from convcli.kernels import load_kernel
    >>> type(load_kernel("unsharp:sigma=1")).__name__
    'Kernel'
    >>> k = load_kernel("unsharp:sigma=1,amount=2,threshold=0.02")
    >>> type(k).__name__, k.amount, k.threshold, k.blur.shape == k.weight.shape
    ('ThresholdedUnsharp', 2.0, 0.02, True)
    """
    fields = {f.name: getattr(kernel, f.name) for f in dataclasses.fields(Kernel)}
    return ThresholdedUnsharp(**fields, blur=blur, amount=amount, threshold=threshold)
