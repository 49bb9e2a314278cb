"""Border (padding) modes: names, aliases and the padding itself.

convcli uses PyTorch's names for the modes PyTorch has and adds ``symmetric``:

=============  ===========  ============  =============  ===================
convcli        ``abcd`` ->  NumPy pad     SciPy ndimage  OpenCV
=============  ===========  ============  =============  ===================
``zeros``      00|abcd|00   constant      constant       BORDER_CONSTANT
``constant``   vv|abcd|vv   constant      constant cval  BORDER_CONSTANT value
``replicate``  aa|abcd|dd   edge          nearest        BORDER_REPLICATE
``reflect``    cb|abcd|cb   reflect       mirror         BORDER_REFLECT_101
``symmetric``  ba|abcd|dc   symmetric     reflect        BORDER_REFLECT
``circular``   cd|abcd|ab   wrap          wrap           BORDER_WRAP
=============  ===========  ============  =============  ===================

``constant`` is ``zeros`` with a border value ``v`` other than 0 (``padding_value``; its
normalized name stays ``zeros``). Every mode works for any padding size: reflect, symmetric and circular repeat the
reflection or wrap as :func:`numpy.pad` does, where PyTorch refuses padding >= the size.
"""

from __future__ import annotations

import numpy as np

from convcli._memory import available_memory
from convcli.choices import PADDING_ALIASES, PADDING_MODES
from convcli.errors import ParameterError

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
        f"unknown padding_mode {mode!r}; accepted: {', '.join(PADDING_MODES)} (aliases: {aliases})"
    )


def check_fits(nbytes: int, what: str) -> None:
    """Refuse, before allocating, arrays of ``nbytes`` that the memory available cannot hold.

    Huge padding or dilation on a small image asks for a padded array far larger than the
    image: without this check NumPy would try, and fail or exhaust the machine.

    Examples
    --------
    >>> check_fits(2**62, "padding 16x16 by 10**9")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    convcli.errors.ParameterError: padding 16x16 by 10**9 would need about 4.29e+09 GiB, more...
    """
    memory = available_memory()
    if memory is not None and nbytes > memory:
        raise ParameterError(
            f"{what} would need about {nbytes / 2**30:.3g} GiB, more than the "
            f"{memory / 2**30:.3g} GiB of memory available; use less padding or dilation"
        )


def pad_spatial(
    x: np.ndarray, pads: tuple[int, int, int, int], mode: str, value: float = 0.0
) -> np.ndarray:
    """Pad the last two axes of ``x`` by ``(top, bottom, left, right)`` in ``mode``.

    ``mode`` must already be normalized (see :func:`normalize_padding_mode`); ``value`` is
    the border sample of the ``zeros`` (``constant``) mode. Returns ``x`` itself when there
    is nothing to pad. The samples are gathered with
    :func:`source_indices`, the one definition of every mode (the strips and the Dask blocks
    use it too), so the result equals :func:`numpy.pad` with the mode's NumPy name, also for
    pads larger than the axis.

    Examples
    --------
    >>> pad_spatial(np.arange(4.0).reshape(1, 4), (0, 0, 2, 2), "reflect")
    array([[2., 1., 0., 1., 2., 3., 2., 1.]])
    """
    top, bottom, left, right = pads
    if not (top or bottom or left or right):
        return x
    h, w = x.shape[-2:]
    samples = x.size // max(h * w, 1) * (h + top + bottom) * (w + left + right)
    check_fits(samples * x.itemsize, f"padding {h}x{w} by {tuple(pads)}")
    rows = source_indices(np.arange(-top, h + bottom), h, mode)
    cols = source_indices(np.arange(-left, w + right), w, mode)
    out = x[..., np.maximum(rows, 0)[:, None], np.maximum(cols, 0)[None, :]]
    if mode == "zeros":
        out[..., (rows < 0)[:, None] | (cols < 0)[None, :]] = value
    return out


def check_padding_value(value, mode: str) -> float:
    """``value`` as a finite float, refused unless ``mode`` (normalized) is ``zeros``.

    The constant border value belongs to the ``constant`` mode (``zeros`` is its name when
    the value is 0); another mode with a non-zero value is a mistake worth naming.

    Examples
    --------
    >>> check_padding_value(255, "zeros")
    255.0
    >>> check_padding_value(1, "reflect")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    convcli.errors.ParameterError: padding_value 1 applies to padding_mode 'constant' ...
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"padding_value must be a number, got {value!r}")
    number = float(value)
    if not np.isfinite(number):
        raise ParameterError(f"padding_value must be a finite number, got {value!r}")
    if number != 0.0 and mode != "zeros":
        raise ParameterError(
            f"padding_value {value!r} applies to padding_mode 'constant' (alias 'zeros') "
            f"only, not {mode!r}; use padding_mode='constant' or drop padding_value"
        )
    return number


def source_indices(positions, n: int, mode: str) -> np.ndarray:
    """The input index each position reads along an axis of length ``n``; -1 means zero.

    ``positions`` are relative to the first input sample (negative before it, ``>= n`` after
    it); ``mode`` is a normalized padding mode. This is how strips and blocks pad their
    halos without padding the whole image, with the same meaning as :func:`pad_spatial`.

    Examples
    --------
    >>> source_indices(range(-3, 6), 3, "reflect").tolist()
    [1, 2, 1, 0, 1, 2, 1, 0, 1]
    >>> source_indices([-2, -1, 3, 4], 3, "symmetric").tolist()
    [1, 0, 2, 1]
    >>> source_indices([-1, 0, 3], 3, "zeros").tolist()
    [-1, 0, -1]
    """
    p = np.asarray(positions, dtype=np.intp)
    if mode == "zeros":
        return np.where((p >= 0) & (p < n), p, -1)
    if mode == "replicate":
        return np.clip(p, 0, n - 1)
    if mode == "circular":
        return p % n
    if mode == "reflect":  # cb|abcd|cb: period 2n-2
        if n == 1:
            return np.zeros_like(p)
        q = p % (2 * n - 2)
        return np.where(q < n, q, 2 * n - 2 - q)
    if mode == "symmetric":  # ba|abcd|dc: period 2n
        q = p % (2 * n)
        return np.where(q < n, q, 2 * n - 1 - q)
    raise ParameterError(f"unknown padding_mode {mode!r}")
