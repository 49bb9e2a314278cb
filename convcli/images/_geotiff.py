"""GeoTIFF and GDAL tags that must survive a round trip: georeferencing and ``GDAL_NODATA``.

A GeoTIFF (a DEM, a satellite band) carries its georeferencing in TIFF tags that Pillow
drops. A TIFF holding any of them is read and written through tifffile (see
:mod:`convcli.images._tiff`); the tags travel in ``metadata["geotiff"]`` as
``(code, dtype, count, value)`` tuples, tifffile's ``extratags`` form, and the
``GDAL_NODATA`` tag (42113, ASCII) as ``metadata["nodata"]`` (a float).
"""

from __future__ import annotations

import math

#: ModelPixelScale, ModelTiepoint, ModelTransformation, GeoKeyDirectory, GeoDoubleParams,
#: GeoAsciiParams, GDAL_METADATA.
GEO_TAGS = (33550, 33922, 34264, 34735, 34736, 34737, 42112)
#: GDAL's no-data value, as ASCII text.
GDAL_NODATA = 42113


def has_geo_tags(tags) -> bool:
    """True when a tifffile page's ``tags`` hold georeferencing or a no-data value."""
    return any(code in tags for code in (*GEO_TAGS, GDAL_NODATA))


def read_geo(tags) -> dict:
    """``{"geotiff": [...], "nodata": float}`` from a tifffile page's ``tags`` (what it has)."""
    metadata: dict = {}
    kept = []
    for code in GEO_TAGS:
        if code in tags:
            tag = tags[code]
            value = tag.value
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            if isinstance(value, tuple):
                value = tuple(value)
            kept.append((code, int(tag.dtype), int(tag.count), value))
    if kept:
        metadata["geotiff"] = kept
    if GDAL_NODATA in tags:
        nodata = parse_nodata(tags[GDAL_NODATA].value)
        if nodata is not None:
            metadata["nodata"] = nodata
    return metadata


def parse_nodata(text) -> float | None:
    """``GDAL_NODATA`` text (``"-9999"``, ``"nan"``) as a float, or None when unreadable."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    try:
        return float(str(text).strip().strip("\x00"))
    except ValueError:
        return None


def nodata_text(value: float) -> str:
    """``value`` as GDAL writes it: ``-9999``, ``0.5``, ``nan``."""
    if math.isnan(value):
        return "nan"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def extratags(metadata: dict) -> list:
    """tifffile ``extratags`` for the GeoTIFF tags and the no-data value in ``metadata``."""
    tags: list[tuple] = []
    for code, dtype, _count, value in metadata.get("geotiff", ()):
        if dtype == 2:  # ASCII: tifffile adds the NUL and counts it
            tags.append((code, "s", 0, str(value).rstrip("\x00"), True))
        else:
            value = value if isinstance(value, tuple) else (value,)
            tags.append((code, dtype, len(value), value, True))
    if metadata.get("nodata") is not None:
        tags.append((GDAL_NODATA, "s", 0, nodata_text(metadata["nodata"]), True))
    return tags
