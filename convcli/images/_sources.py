"""Where image bytes come from and go to: paths, file objects, atomic replacement."""

from __future__ import annotations

import io
import os
import stat
import tempfile

from convcli import _memory
from convcli.errors import ImageError


def describe(target) -> str:
    """A short name for a path or a file object, for messages.

    Examples
    --------
    >>> describe("a/b.png")
    'a/b.png'
    >>> import io
    >>> describe(io.BytesIO())
    'the stream'
    """
    if isinstance(target, (str, bytes, os.PathLike)):
        return os.fsdecode(target)
    name = getattr(target, "name", None)
    if name in ("<stdin>", 0):
        return "standard input"
    if name in ("<stdout>", 1):
        return "standard output"
    if isinstance(name, str) and name:
        return name
    return "the stream"


def is_path(target) -> bool:
    """True for a path (str, bytes or PathLike), False for a file object."""
    return isinstance(target, (str, bytes, os.PathLike))


#: Bytes read per call from a stream or device whose size is not known in advance.
_CHUNK = 1 << 24


def _read_bounded(stream, limit: int | None):
    """``stream`` read to its end, or None as soon as it holds more than ``limit`` bytes."""
    try:
        info = os.fstat(stream.fileno())
        size = info.st_size - stream.tell() if stat.S_ISREG(info.st_mode) else None
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        size = None
    if limit is None or size is not None:
        return None if size is not None and limit is not None and size > limit else stream.read()
    chunks, total = [], 0
    while chunk := stream.read(_CHUNK):
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
    return chunks[0][:0].join(chunks) if chunks else b""


def read_all(source, name: str) -> bytes:
    """Every byte of ``source`` (a path or a binary file object, seekable or not).

    An input larger than a quarter of the memory available (decoding and filtering take
    several times its size), such as ``/dev/zero`` or an endless pipe, is refused as soon as
    that is known, without reading it all.
    """

    memory = _memory.available_memory()
    limit = None if memory is None else memory // 4
    try:
        if is_path(source):
            with open(source, "rb") as handle:
                data = _read_bounded(handle, limit)
        else:
            data = _read_bounded(source, limit)
        if data is None:
            assert limit is not None  # only a bounded read gives up
            raise ImageError(
                f"cannot read {name}: it holds more than {limit / 2**30:.3g} GiB, a quarter of "
                "the memory available, which decoding and filtering it would need (an endless "
                "stream or device?)"
            )
    except FileNotFoundError:
        raise ImageError(f"cannot read {name}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"cannot read {name}: it is a directory, not an image file") from None
    except PermissionError:
        raise ImageError(f"cannot read {name}: permission denied") from None
    except OSError as exc:
        raise ImageError(f"cannot read {name}: {exc.strerror or exc}") from None
    if isinstance(data, str):
        raise ImageError(f"cannot read {name}: it is a text stream; give a binary one")
    if not data:
        raise ImageError(f"cannot read {name}: it is empty, not an image")
    return bytes(data)


def _umask() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # other platforms: read it by setting it, then restore
    os.umask(mask)
    return mask


def write_atomic(dest, encode) -> None:
    """Call ``encode(fileobj)`` and put its bytes at ``dest`` atomically.

    For a path the bytes go to a temporary file in the same directory, which is renamed
    over ``dest`` (``os.replace``) once complete; on any exception, KeyboardInterrupt
    included, the temporary file is removed and ``dest`` is untouched. For a file object
    the image is encoded in memory first, then written in one call, so a failed encoding
    writes nothing.
    """
    name = describe(dest)
    if not is_path(dest):
        buffer = io.BytesIO()
        encode(buffer)
        try:
            dest.write(buffer.getvalue())
            dest.flush()
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as exc:
            raise ImageError(f"cannot write {name}: {exc}") from None
        return
    path = os.path.abspath(os.fsdecode(dest))
    directory, base = os.path.split(path)
    if os.path.isdir(path):
        raise ImageError(f"cannot write {name}: it is a directory; give a file name")
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{base}.", suffix=".part", dir=directory)
    except FileNotFoundError:
        raise ImageError(
            f"cannot write {name}: the directory {directory} does not exist; create it first"
        ) from None
    except OSError as exc:
        raise ImageError(f"cannot write {name}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(handle, "w+b") as stream:
            encode(stream)
        try:
            mode = os.stat(path).st_mode & 0o7777  # keep an existing file's permissions
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException as exc:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
            raise ImageError(f"cannot write {name}: {exc.strerror or exc}") from None
        raise
