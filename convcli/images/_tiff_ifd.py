"""A TIFF's EXIF and GPS directories, copied from the file read by bands to the one written.

tifffile decodes these sub-directories into dictionaries but does not write them (its
writer's documented scope), so they are copied here as raw entries: :func:`read_ifd`
reads one directory's entries (tag, type, count and value bytes) from the input file;
:func:`append_ifds` appends them to the finished output file, converting the byte order
and the classic/BigTIFF entry layout, and turns the placeholder tags the writer was given
(:func:`placeholder_tags`: tifffile will not write the pointer tags) into pointers to them. Directory pointers nested inside them (the
Interoperability directory) are not followed and are dropped.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

#: The sub-directories carried over: ExifIFD (34665) and GPSIFD (34853).
SUB_IFDS = (34665, 34853)
#: Bytes per value of each TIFF field type; the unit whose byte order is swapped.
_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8, 17: 8}
_UNITS = {5: 4, 10: 4}  # rationals: two 4-byte numbers
_POINTERS = {13, 18}  # IFD, IFD8: nested directories
#: Entries and bytes read from one directory at most (a damaged file cannot ask for more).
MAX_ENTRIES = 4096
MAX_VALUE_BYTES = 1 << 24


@dataclass(frozen=True)
class RawIfd:
    """One directory's entries ``(tag, type, count, value bytes)`` in ``byteorder``."""

    byteorder: str
    entries: tuple


def read_ifd(handle, offset: int, byteorder: str, bigtiff: bool) -> RawIfd | None:
    """The entries of the directory at ``offset`` in the TIFF open as ``handle``, or None
    when it cannot be read (it is then left out, as a damaged directory would be)."""
    head, entry, size = ("Q", 20, 8) if bigtiff else ("H", 12, 4)
    try:
        handle.seek(offset)
        (count,) = struct.unpack(byteorder + head, handle.read(struct.calcsize(head)))
        if count > MAX_ENTRIES:
            return None
        table = handle.read(count * entry)
        entries = []
        for i in range(count):
            raw = table[i * entry : (i + 1) * entry]
            layout = byteorder + ("HHQ" if bigtiff else "HHI")
            tag, kind, n = struct.unpack(layout, raw[: entry - size])
            field = raw[entry - size :]
            if kind not in _SIZES or kind in _POINTERS or tag in SUB_IFDS or tag == 40965:
                continue  # unknown type, or a nested directory (Interoperability)
            length = n * _SIZES[kind]
            if length > MAX_VALUE_BYTES:
                continue
            if length <= size:
                value = field[:length]
            else:
                (where,) = struct.unpack(byteorder + ("Q" if bigtiff else "I"), field)
                handle.seek(where)
                value = handle.read(length)
                if len(value) < length:
                    continue
            entries.append((tag, kind, n, bytes(value)))
    except (OSError, struct.error):
        return None
    return RawIfd(byteorder, tuple(entries))


def _in_order(value: bytes, kind: int, source: str, target: str) -> bytes:
    """``value`` of field type ``kind`` from byte order ``source`` to ``target``."""
    unit = _UNITS.get(kind, _SIZES[kind])
    if unit == 1 or source == target:
        return value
    return np.frombuffer(value, f"{source}u{unit}").astype(f"{target}u{unit}").tobytes()


#: tifffile refuses to write the pointer tags themselves: it writes these unassigned codes
#: in their place (the same position in the sorted directory), renamed afterwards.
_PLACEHOLDERS = {34665: 34664, 34853: 34852}


def placeholder_tags(subifds: dict, bigtiff: bool) -> list[tuple]:
    """tifffile ``extratags`` reserving the pointer of each directory in ``subifds``
    (made the pointer by :func:`append_ifds` once the pixels are written)."""
    return [(_PLACEHOLDERS[code], 16 if bigtiff else 4, 1, 0, True) for code in sorted(subifds)]


def append_ifds(stream, subifds: dict) -> None:
    """Append each :class:`RawIfd` of ``subifds`` (pointer tag -> directory) to the TIFF
    in ``stream`` (seekable, complete) and point its first directory's placeholder tag at
    it."""
    stream.seek(0)
    header = stream.read(16)
    order = "<" if header[:2] == b"II" else ">"
    bigtiff = struct.unpack(order + "H", header[2:4])[0] == 43
    head, entry, size, word = ("Q", 20, 8, "Q") if bigtiff else ("H", 12, 4, "I")
    first = struct.unpack(order + word, header[8:16] if bigtiff else header[4:8])[0]
    pointers = {}
    for code, ifd in sorted(subifds.items()):
        end = stream.seek(0, 2)
        start = end + (end & 1)  # directories begin on a word boundary
        entries = sorted(ifd.entries)
        table = start + struct.calcsize(head) + len(entries) * entry + size
        blocks, fields = [], []
        data_at = table + (table & 1)
        for tag, kind, count, value in entries:
            value = _in_order(value, kind, ifd.byteorder, order)
            if len(value) <= size:
                field = value.ljust(size, b"\0")
            else:
                field = struct.pack(order + word, data_at)
                blocks.append(value + b"\0" * (len(value) & 1))
                data_at += len(blocks[-1])
            fields.append(struct.pack(order + ("HHQ" if bigtiff else "HHI"), tag, kind, count))
            fields[-1] += field
        stream.write(b"\0" * (start - end))
        stream.write(struct.pack(order + head, len(entries)) + b"".join(fields))
        stream.write(struct.pack(order + word, 0))  # no next directory
        stream.write(b"\0" * (table & 1) + b"".join(blocks))
        pointers[code] = start
    _point(stream, order, bigtiff, first, pointers)


def _point(stream, order: str, bigtiff: bool, ifd: int, pointers: dict) -> None:
    """Turn the placeholder entries of the directory at ``ifd`` into the pointer tags of
    ``pointers`` (tag -> offset)."""
    head, entry, size, word = ("Q", 20, 8, "Q") if bigtiff else ("H", 12, 4, "I")
    stream.seek(ifd)
    (count,) = struct.unpack(order + head, stream.read(struct.calcsize(head)))
    table = stream.read(count * entry)
    by_placeholder = {_PLACEHOLDERS[code]: code for code in pointers}
    for i in range(count):
        (tag,) = struct.unpack(order + "H", table[i * entry : i * entry + 2])
        if tag in by_placeholder:
            code = by_placeholder[tag]
            stream.seek(ifd + struct.calcsize(head) + i * entry)
            stream.write(struct.pack(order + "H", code))
            stream.seek(ifd + struct.calcsize(head) + i * entry + entry - size)
            stream.write(struct.pack(order + word, pointers[code]))
