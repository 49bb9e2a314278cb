"""The thresholded unsharp mask as a filter step (``unsharp:...,threshold=T``).

With ``g`` the Gaussian blur of ``x`` (the kernel's ``blur``, applied with the run's
padding, dilation and stride) and ``T`` the threshold in the working grey levels
(``threshold * full scale``)::

    out = x + amount * (x - g)    where |x - g| >= T
    out = x                        elsewhere

It is not one linear kernel, so :func:`convcli.filtering._responses.response` computes it
as a step: the blur (always with a method whose rounding does not depend on the band, so
the threshold decision is the same band by band and whole frame), then
:func:`sharpen_where`. Its reach is the Gaussian's, so it streams with the bands of
:mod:`convcli.filtering._bands`. It works on whatever the chain gives it: linear light
with ``--linear``, the lightness plane with ``--channels lightness``, premultiplied colour
with ``--alpha premultiply`` (the threshold then compares premultiplied differences).

ImageMagick's ``-unsharp RxS+A+T`` keeps a pixel where ``2 |x - g| < T``: its ``T`` is
``2 * threshold`` here.
"""

from __future__ import annotations

import numpy as np


def sharpen_where(centre: np.ndarray, blurred: np.ndarray, amount: float, threshold: float):
    """``centre + amount * (centre - blurred)`` where ``|centre - blurred| >= threshold``,
    else ``centre``; in ``centre``'s float type.

    Parameters
    ----------
    centre : ndarray
        The input samples on the output grid.
    blurred : ndarray
        The Gaussian blur of the input, same shape.
    amount : float
        Sharpening strength.
    threshold : float
        In the same units as the samples (not a fraction).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([10.0, 10.0, 50.0]); g = np.array([9.0, 20.0, 30.0])
    >>> sharpen_where(x, g, 1.0, 5.0).tolist()
    [10.0, 0.0, 70.0]
    """
    t = centre.dtype.type
    difference = centre - blurred
    sharpened = difference * t(amount)
    sharpened += centre
    keep = np.abs(difference) < t(threshold)
    np.copyto(sharpened, centre, where=keep)
    return sharpened
