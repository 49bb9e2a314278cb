"""What a newcomer's input and a kernel's natural output mean, for :mod:`._frame`.

Channels-first arrays (PyTorch's ``(C, H, W)``) are refused with the transpose that fixes
them; a nested list of numbers is one kernel; a chain ends in its last kernel's natural
output map (``abs`` for ``laplacian``, ``log``, ``outline``); and a zero-sum kernel's
result that the default ``clip`` turned mostly black earns a one-line note.
"""

from __future__ import annotations

import numbers

import numpy as np

from convcli.errors import ParameterError
from convcli.filtering._options import FilterOptions
from convcli.filtering._responses import label, weight_of


def is_matrix(value) -> bool:
    """True for a nested list/tuple of numbers (a 2-D or 4-D weight written as lists)."""
    if not isinstance(value, (list, tuple)) or not value:
        return False
    first = value[0]
    while isinstance(first, (list, tuple)) and first:
        first = first[0]
    return isinstance(first, numbers.Real) and isinstance(value[0], (list, tuple))


def natural_output_map(kernels) -> str:
    """The output map used when none is given: the last kernel's own, else ``clip``.

    Examples
    --------
    >>> from convcli.kernels import load_kernel
    >>> natural_output_map([load_kernel("gaussian"), load_kernel("laplacian")])
    'abs'
    >>> natural_output_map([load_kernel("laplacian"), load_kernel("gaussian")])
    'clip'
    """
    return kernels[-1].output_map or "clip" if kernels else "clip"


def check_not_channels_first(shape: tuple[int, ...]) -> None:
    """Refuse a shape that looks channels first (PyTorch's ``(C, H, W)``), naming the fix.

    Looks channels first: 3 axes, the first 1 to 4 long and the last longer than 4 and
    than the first. (A genuine ``(H, W, C)`` image that small passes ``layout=''``.)

    Examples
    --------
    >>> check_not_channels_first((64, 64, 3))
    >>> check_not_channels_first((3, 64, 64))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    convcli.errors.ParameterError: the image has shape (3, 64, 64), which looks channels first...
    """
    if len(shape) == 3 and 1 <= shape[0] <= 4 and shape[2] > max(4, shape[0]):
        c, h, w = shape
        raise ParameterError(
            f"the image has shape {tuple(shape)}, which looks channels first (C, H, W) as in "
            f"PyTorch; convcli takes (H, W, C): pass img.transpose(1, 2, 0) (shape "
            f"{(h, w, c)}), or layout='CHW' to filter it as it is (or layout='' if it "
            f"really is {c} rows of {w} channels)"
        )
    if len(shape) == 4 and shape[1] <= 4 < shape[3]:
        raise ParameterError(
            f"the image has shape {tuple(shape)}, which looks like a batch (N, C, H, W); "
            "filter one image at a time: img[i].transpose(1, 2, 0), or layout='CHW' with img[i]"
        )


def clipped_note(kernels, result: np.ndarray, opts: FilterOptions, name: str) -> str | None:
    """A one-line note when the default output map clipped most of ``result`` to black.

    Said when no ``output_map`` was given, the chain ends with a plain kernel whose weights
    of both signs sum to 0 (an edge or Laplacian kernel: its negative half clips to 0) and
    more than half of the integer ``result`` is 0. None otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from convcli.kernels._kernel import Kernel
    >>> from convcli.filtering._frame import FilterOptions
    >>> edge = (Kernel("edge", [[-1.0, 1.0]]),)
    >>> clipped_note(edge, np.zeros((4, 4), np.uint8), FilterOptions(), "'a.png'")
    ... # doctest: +ELLIPSIS
    "100% of 'a.png' is black: kernel 'edge' sums to 0 ... --output-map abs ..."
    >>> clipped_note(edge, np.zeros((4, 4), np.uint8), FilterOptions.from_kwargs(output_map="clip"), "x")
    """
    result = np.asarray(result)
    if edge_clipping_kernel(kernels, opts, result.dtype) is None or not result.size:
        return None
    return clipped_message(kernels, np.count_nonzero(result == 0) / result.size, name)


def edge_clipping_kernel(kernels, opts: FilterOptions, dtype) -> object | None:
    """The last kernel of the chain when its result may clip to black under the default
    output map: no ``output_map`` given, no natural one, an integer result, and a plain
    kernel whose weights of both signs sum to 0. None otherwise."""
    if opts.output_map is not None or not kernels or natural_output_map(kernels) != "clip":
        return None
    last = kernels[-1]
    if last.is_bank or np.dtype(dtype).kind == "f":
        return None
    w = weight_of(last, opts)
    if not (w.max() > 0 > w.min()) or abs(float(w.sum())) > 1e-9 * float(np.abs(w).sum()):
        return None  # not an edge-like kernel (both signs, summing to 0)
    return last


def clipped_message(kernels, black: float, name: str) -> str | None:
    """The note for a result whose fraction ``black`` is 0 (said above one half)."""
    if black <= 0.5:
        return None
    return (
        f"{black:.0%} of {name} is black: kernel {label(kernels[-1])} sums to 0 and its "
        "negative half clipped; --output-map abs shows edge strength, --output-map offset "
        "puts 0 at mid-grey"
    )
