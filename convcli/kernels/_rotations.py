"""Rotated banks: any 3x3 kernel as the compass bank of its 8 turns by 45 degrees, any square
kernel as the bank of its 4 turns by 90 degrees.

Spec syntax (resolved by the registry): ``compass:SPEC`` and ``rot90:SPEC``, where SPEC is
any kernel spec (``compass:kirsch-n``, ``rot90:[[1,2],[3,4]]``, ``rot90:gaussian:sigma=1,
order_x=1``). Every turn is counter-clockwise as seen on screen, as every angle in convcli.
A 45-degree turn of a 3x3 kernel shifts its outer ring one place (ImageMagick's ``>``
kernel flag); the centre stays. The bank combines its members by ``max``, as compass
operators do (Kirsch, Robinson); save it as JSON (``convcli kernels show --json``) to
choose another combine.
"""

from __future__ import annotations

import numpy as np

from convcli.errors import KernelError
from convcli.kernels._checks import build_bank, build_kernel
from convcli.kernels._kernel import Kernel

#: The outer ring of a 3x3 kernel, clockwise on screen from the top-left corner.
RING = ((0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0))

#: The spec prefixes and what they do.
ROTATIONS = {"compass": 8, "rot90": 4}


def turn45(weight: np.ndarray) -> np.ndarray:
    """``weight`` (3x3, or ``(..., 3, 3)``) turned 45 degrees counter-clockwise on screen:
    every ring value moves one place counter-clockwise.

    Examples
    --------
    >>> turn45(np.array([[5, 5, 5], [-3, 0, -3], [-3, -3, -3]])).tolist()
    [[5, 5, -3], [5, 0, -3], [-3, -3, -3]]
    """
    out = np.array(weight, copy=True)
    for i, (r, c) in enumerate(RING):
        r_next, c_next = RING[(i + 1) % len(RING)]
        out[..., r, c] = weight[..., r_next, c_next]
    return out


def rotated_bank(how: str, kernel: Kernel, spec: str, where: str) -> Kernel:
    """The bank of ``kernel``'s turns: ``how`` is ``compass`` (8 x 45 degrees, 3x3 only) or
    ``rot90`` (4 x 90 degrees, square only); members are named ``SPEC@ANGLE``."""
    if kernel.is_bank:
        raise KernelError(
            f"{where}: {spec!r} is a bank; {how} turns a single kernel (give one member)"
        )
    kh, kw = kernel.weight.shape[-2:]
    if how == "compass" and (kh, kw) != (3, 3):
        raise KernelError(
            f"{where}: compass needs a 3x3 kernel (its outer ring turns 45 degrees a step), "
            f"got {kh}x{kw}; use rot90 for other square kernels"
        )
    if kh != kw:
        raise KernelError(f"{where}: rot90 needs a square kernel, got {kh}x{kw}")
    count = ROTATIONS[how]
    step = 360 // count
    weights = [kernel.weight]
    for _ in range(count - 1):
        last = weights[-1]
        weights.append(turn45(last) if how == "compass" else np.rot90(last, 1, axes=(-2, -1)))
    members = [
        build_kernel(
            f"{spec}@{k * step}",
            w,
            where=where,
            bias=kernel.bias,
            groups=kernel.groups,
            normalize=kernel.normalize,
            scale=kernel.scale,
            offset=kernel.offset,
            source=kernel.source,
        )
        for k, w in enumerate(weights)
    ]
    return build_bank(
        f"{how}:{spec}",
        members,
        "max",
        where=where,
        description=f"{count} turns by {step} degrees of {spec}, combined by max",
        source=kernel.source,
    )
