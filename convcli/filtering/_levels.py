"""From image samples to working floats and back: depth, grey levels, output mapping.

convcli filters in floating point, in the *output's grey levels*: 0..255 for an 8-bit
result, 0..65535 for 16-bit, 0..1 for a float result. Input samples are rescaled to that
range first (so ``--depth`` changes are exact), every kernel offset and ``--offset`` is in
those units, and the result is mapped back once, at the end:

``S * x + B`` (``--scale``/``--offset``) -> output map (``clip``, ``abs``, ``normalize``,
``offset``) -> round half to even -> clip to the output range -> cast.

A float result (``--depth 32f``, ``.npy``) is written as computed: no rounding, no clipping.
"""

from __future__ import annotations

import numpy as np

from convcli.choices import DEPTHS, OUTPUT_MAPS, choice_message
from convcli.errors import ParameterError

#: The dtype each ``--depth`` means.
DEPTH_DTYPES: dict[str, np.dtype] = dict(
    zip(DEPTHS, (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32)), strict=True)
)


def max_value(dtype) -> float:
    """The sample value that means "full intensity" for ``dtype``.

    255 for uint8, 65535 for uint16, ``2**31 - 1`` for int32 (Pillow's ``I``), 1.0 for
    floats, the type's maximum for other integer types.

    Examples
    --------
    >>> import numpy as np
    >>> max_value(np.uint8), max_value(np.uint16), max_value(np.float32)
    (255.0, 65535.0, 1.0)
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return 1.0
    if dtype.kind in "ui":
        return float(np.iinfo(dtype).max)
    raise ParameterError(f"image dtype {dtype} is not supported; give an integer or float array")


def output_dtype(input_dtype, depth: str | None = None) -> np.dtype:
    """The dtype of the result: the input's unless ``depth`` ('8', '16', '32f') says otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> output_dtype(np.uint16), output_dtype(np.uint16, "8"), output_dtype(np.uint8, "32f")
    (dtype('uint16'), dtype('uint8'), dtype('float32'))
    """
    if depth is None:
        dtype = np.dtype(input_dtype)
        max_value(dtype)  # refuses what convcli cannot map
        return dtype
    key = str(depth).lower()
    if key not in DEPTH_DTYPES:
        raise ParameterError(choice_message("depth", depth, DEPTHS))
    return DEPTH_DTYPES[key]


def working_float(*dtypes) -> np.dtype:
    """The float dtype to filter in: float32, or float64 when float32 cannot hold the samples.

    float32 holds every 8- and 16-bit sample exactly; 32-bit integers and float64 need
    float64.

    Examples
    --------
    >>> import numpy as np
    >>> working_float(np.uint8, np.uint16), working_float(np.int32, np.uint8)
    (dtype('float32'), dtype('float64'))
    """
    for dtype in map(np.dtype, dtypes):
        if dtype.itemsize > 2 and (dtype.kind in "ui" or dtype == np.float64):
            return np.dtype(np.float64)
    return np.dtype(np.float32)


def to_working(samples: np.ndarray, out_dtype, work_dtype) -> np.ndarray:
    """``samples`` as ``work_dtype`` floats in the grey levels of ``out_dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> to_working(np.array([0, 65535], np.uint16), np.uint8, np.float32)
    array([  0., 255.], dtype=float32)
    """
    x = np.asarray(samples).astype(work_dtype, order="C")  # also makes a transposed view C
    ratio = max_value(out_dtype) / max_value(np.asarray(samples).dtype)
    if ratio != 1.0:
        x *= ratio
    return x


def mid_grey(dtype) -> float:
    """What ``--output-map offset`` adds: 128 for 8-bit, 32768 for 16-bit, 0.5 for float.

    Examples
    --------
    >>> import numpy as np
    >>> mid_grey(np.uint8), mid_grey(np.uint16), mid_grey(np.float32)
    (128.0, 32768.0, 0.5)
    """
    dtype = np.dtype(dtype)
    return 0.5 if dtype.kind == "f" else (max_value(dtype) + 1) / 2


def map_output(
    values,
    dtype,
    output_map: str = "clip",
    scale: float = 1.0,
    offset: float = 0.0,
    *,
    overwrite: bool = False,
) -> np.ndarray:
    """Map filtered ``values`` (in the grey levels of ``dtype``) to an array of ``dtype``.

    Parameters
    ----------
    values : ndarray
        Float values in the output's grey levels (0..255 for uint8, 0..1 for floats).
    dtype : dtype
        The output dtype.
    output_map : {'clip', 'abs', 'normalize', 'offset'}
        ``clip``: leave the values as they are (they are clipped to the output range below);
        ``abs``: absolute value (edge magnitudes keep their negative half);
        ``normalize``: stretch min..max of ``values`` to the full range (a constant array
        maps to 0, as OpenCV's ``NORM_MINMAX`` does); ``offset``: add mid-grey
        (:func:`mid_grey`), as Pillow's EMBOSS and libvips do.
    scale, offset : float
        ``scale * values + offset`` first, in grey levels.
    overwrite : bool
        ``values`` (a float array) may be used as scratch space: one copy fewer.

    Returns
    -------
    ndarray
        Integer ``dtype``: rounded half to even, clipped to ``0..max_value``, cast (NaN
        maps to 0). Float ``dtype``: the mapped values as they are, unclipped.

    Raises
    ------
    ParameterError
        For an unknown ``output_map``.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([-20.0, 0.5, 1.5, 300.0])
    >>> map_output(v, np.uint8)
    array([  0,   0,   2, 255], dtype=uint8)
    >>> map_output(v, np.uint8, "abs")
    array([ 20,   0,   2, 255], dtype=uint8)
    >>> map_output(v, np.uint8, "offset", scale=0.5)
    array([118, 128, 129, 255], dtype=uint8)
    >>> map_output(np.array([2.0, 4.0, 6.0]), np.uint8, "normalize")
    array([  0, 128, 255], dtype=uint8)
    """
    if output_map not in OUTPUT_MAPS:
        raise ParameterError(
            f"output map {output_map!r} is not understood; accepted: {', '.join(OUTPUT_MAPS)}"
        )
    dtype = np.dtype(dtype)
    top = max_value(dtype)
    v = np.asarray(values)
    owned = overwrite
    if v.dtype.kind != "f":
        v, owned = v.astype(np.float64), True
    if scale != 1.0 or offset != 0.0:
        v, owned = v * scale + offset, True
    if output_map == "abs":
        v, owned = np.abs(v), True
    elif output_map == "offset":
        v, owned = v + mid_grey(dtype), True
    elif output_map == "normalize":
        stretched = _stretch(v, top)
        v, owned = stretched, owned or stretched is not v
    if dtype.kind == "f":
        return v.astype(dtype)
    if dtype.itemsize >= 4 and v.dtype != np.float64:
        v, owned = v.astype(np.float64), True  # float32 cannot hold 2**31 - 1
    # fmax/fmin pass NaN over (NaN -> 0); clipping to whole bounds commutes with rint
    v = np.fmax(v, v.dtype.type(0), out=v if owned else None)
    np.fmin(v, v.dtype.type(top), out=v)
    np.rint(v, out=v)
    return v.astype(dtype)


def _stretch(v: np.ndarray, top: float) -> np.ndarray:
    """min..max of ``v`` to 0..top; a constant (or empty) array to 0."""
    if v.size == 0 or np.isnan(v).all():
        return v
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))  # missing samples (NaN) left out
    if not hi > lo:
        return np.zeros_like(v)
    return (v - lo) * (top / (hi - lo))
