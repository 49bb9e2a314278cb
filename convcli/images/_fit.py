"""Metadata an output format cannot hold is dropped with a note, never a failed write.

What convcli writes it can read back: a JPEG APP1 segment holds at most 65533 bytes of
EXIF and at most 255 APP2 segments of ICC profile; Pillow (convcli's reader) refuses a
PNG whose ICC profile inflates past ``PngImagePlugin.MAX_TEXT_CHUNK`` (1 MiB). Such
metadata is left out of the output and a one-line :class:`~convcli._notes.ConvcliNote`
says what was dropped and why.
"""

from __future__ import annotations

from PIL import PngImagePlugin

from convcli._budget import gib
from convcli._notes import note

#: A JPEG marker segment's payload: 65535 less the two length bytes.
_JPEG_SEGMENT = 65533
_JPEG_ICC_PART = _JPEG_SEGMENT - 14  # less "ICC_PROFILE\0", sequence number and count


def _png_icc_limit() -> int:
    return int(PngImagePlugin.MAX_TEXT_CHUNK)


_WHAT = {"exif": "EXIF", "icc_profile": "ICC profile"}


def _limits(fmt: str) -> dict:
    """``{metadata key: (most bytes, why)}`` for ``fmt``."""
    if fmt == "JPEG":
        return {
            "exif": (_JPEG_SEGMENT, "a JPEG holds at most 65533 bytes of EXIF"),
            "icc_profile": (
                255 * _JPEG_ICC_PART,
                f"a JPEG holds at most {gib(255 * _JPEG_ICC_PART)} of ICC profile",
            ),
        }
    if fmt == "PNG":
        limit = _png_icc_limit()
        return {
            "icc_profile": (
                limit,
                f"PNG readers (Pillow, and so convcli) refuse ICC profiles over {gib(limit)}",
            )
        }
    return {}


def fit_metadata(metadata: dict, fmt: str, name: str) -> dict:
    """``metadata`` without what ``fmt`` cannot hold, each drop noted.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     kept = fit_metadata({"exif": b"Exif\\0\\0" + bytes(70000), "dpi": (72, 72)}, "JPEG", "a.jpg")
    >>> kept, str(caught[0].message)
    ({'dpi': (72, 72)}, 'a.jpg: EXIF of 68.4 KiB dropped: a JPEG holds at most 65533 bytes of EXIF')
    """
    kept = dict(metadata)
    for key, (most, why) in _limits(fmt).items():
        value = kept.get(key)
        if value and len(value) > most:
            del kept[key]
            size = len(value)
            amount = f"{size / 1024:.1f} KiB" if size < 2**20 else gib(size)
            note(f"{name}: {_WHAT[key]} of {amount} dropped: {why}")
    return kept
