"""Where image bytes come from and go to: paths, file objects, atomic replacement."""

from __future__ import annotations

import io
import os
import select
import stat

from convcli import _memory
from convcli._messages import fold_name
from convcli.errors import ImageError
from convcli.images import _sniff

try:
    import fcntl
except ImportError:  # Windows: no O_NONBLOCK to clear
    fcntl = None  # type: ignore[assignment]


def describe(target) -> str:
    r"""A short name for a path or a file object, for messages: control characters are
    escaped and a very long name is shortened (:func:`convcli._messages.fold_name`).

    Examples
    --------
    >>> describe("a/b.png")
    'a/b.png'
    >>> import io
    >>> describe(io.BytesIO())
    'the stream'
    >>> print(describe("a\nb.png"))
    a\nb.png
    """
    if isinstance(target, (str, bytes, os.PathLike)):
        return fold_name(os.fsdecode(target))
    name = getattr(target, "name", None)
    if name in ("<stdin>", 0):
        return "standard input"
    if name in ("<stdout>", 1):
        return "standard output"
    if isinstance(name, str) and name:
        return fold_name(name)
    return "the stream"


def is_path(target) -> bool:
    """True for a path (str, bytes or PathLike), False for a file object."""
    return isinstance(target, (str, bytes, os.PathLike))


#: Bytes read per call from a stream or device whose size is not known in advance.
_CHUNK = 1 << 24


class _Unbuffered:
    """Reads from a descriptor (no Python buffer: every read is one ``read(2)``)."""

    def __init__(self, fd: int):
        self.fd = fd

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            chunks = []
            while chunk := os.read(self.fd, _CHUNK):
                chunks.append(chunk)
            return b"".join(chunks)
        return os.read(self.fd, size)


def _read_head(stream, size: int) -> bytes:
    """Up to ``size`` bytes: fewer only at the end of the input."""
    chunks, total = [], 0
    while total < size:
        chunk = stream.read(size - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return chunks[0][:0].join(chunks) if chunks else b""


def _check_head(head, name: str) -> None:
    """Refuse an input whose first bytes no format claims (:mod:`convcli.images._sniff`)."""
    if isinstance(head, str):
        raise ImageError(f"cannot read {name}: it is a text stream; give a binary one")
    if not head:
        raise ImageError(f"cannot read {name}: it is empty, not an image")
    if not _sniff.claimed(bytes(head[: _sniff.HEADER])):
        raise ImageError(f"cannot read {name}: {_sniff.NOT_AN_IMAGE}")


def _read_bounded(stream, limit: int | None, size: int | None, name: str):
    """``stream`` read to its end, or None as soon as it holds more than ``limit`` bytes.

    The first bytes are sniffed first: an input no format claims is refused before the
    rest is read.
    """
    if limit is not None and size is not None and size > limit:
        return None
    head = _read_head(stream, _sniff.HEADER)
    _check_head(head, name)
    if len(head) < _sniff.HEADER:
        return head
    chunks, total = [head], len(head)
    while chunk := stream.read(_CHUNK):
        total += len(chunk)
        if limit is not None and total > limit:
            return None
        chunks.append(chunk)
    return chunks[0][:0].join(chunks)


def _read_file(fd: int, limit: int | None, name: str):
    """A descriptor's bytes: a regular file sniffed in place, then read in one call."""
    size = _size_of(fd)
    if size is None:
        return _read_bounded(_Unbuffered(fd), limit, None, name)
    if limit is not None and size > limit:
        return None
    if hasattr(os, "pread"):
        head = os.pread(fd, _sniff.HEADER, 0)
    else:  # Windows
        head = os.read(fd, _sniff.HEADER)
        os.lseek(fd, 0, os.SEEK_SET)
    _check_head(head, name)
    with open(fd, "rb", closefd=False) as handle:  # sized from fstat: one allocation
        return handle.read()


def _size_of(fd: int) -> int | None:
    info = os.fstat(fd)
    return info.st_size if stat.S_ISREG(info.st_mode) else None


_PIPE_IN_BATCH = (
    "cannot read {name}: it is a FIFO (named pipe), which a batch does not read (it could "
    "wait forever for a writer); give it alone as INPUT"
)


def open_input(path, name: str, *, pipes: bool = True) -> int:
    """A read descriptor for ``path``, opened without blocking (``O_NONBLOCK``) and checked
    with ``fstat`` before any read.

    A FIFO or socket is read (blocking, waiting for its writer) only when ``pipes`` is
    true (an input named alone); in a batch (``pipes=False``) it is refused, since a FIFO
    with no writer would block the batch forever.

    Raises
    ------
    ImageError
        Missing, a directory, no permission, or a FIFO where ``pipes`` is false.
    """
    path = os.fsdecode(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
        mode = os.fstat(fd).st_mode
    except FileNotFoundError:
        raise ImageError(f"cannot read {name}: no such file") from None
    except PermissionError:
        raise ImageError(f"cannot read {name}: permission denied") from None
    except OSError as exc:
        raise ImageError(f"cannot read {name}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        os.close(fd)
        raise ImageError(f"cannot read {name}: it is a directory, not an image file")
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        if not pipes:
            os.close(fd)
            raise ImageError(_PIPE_IN_BATCH.format(name=name))
        # Wait for a writer's first bytes (or its end) on this descriptor: reopening it
        # blocking would wait for a *new* writer, for ever if one came and went already.
        # Linux reports no hang-up on a FIFO before a writer has been seen.
        try:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            poller.poll()
        except BaseException:  # Ctrl-C while waiting
            os.close(fd)
            raise
    if fcntl is not None and hasattr(os, "O_NONBLOCK"):
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    return fd


def refuse_pipe(path, name: str) -> None:
    """Raise ImageError when ``path`` is a FIFO or a socket, which a batch does not read
    (a FIFO nobody writes would block it forever); found with ``stat``, never opened.
    Anything else, a missing file included, is left to the reader."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        raise ImageError(_PIPE_IN_BATCH.format(name=name))


def read_all(source, name: str, *, pipes: bool = True) -> bytes:
    """Every byte of ``source`` (a path or a binary file object, seekable or not).

    A path is opened with :func:`open_input`. The first bytes are sniffed and an input no
    format claims is refused at once (``/dev/zero``, text). An input larger than a
    quarter of the memory this process can take (:func:`convcli._budget.memory_limit`:
    decoding and filtering take several times its size), such as an endless pipe, is
    refused as soon as that is known, without reading it all.
    """
    memory = _memory.available_memory()
    limit = None if memory is None else memory // 4
    try:
        if is_path(source):
            fd = open_input(source, name, pipes=pipes)
            try:
                data = _read_file(fd, limit, name)
            finally:
                os.close(fd)
        else:
            if source is None or getattr(source, "closed", False):
                raise ImageError(f"cannot read {name}: it is closed")
            try:
                size = _size_of(source.fileno())
                size = None if size is None else size - source.tell()
            except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
                size = None
            data = _read_bounded(source, limit, size, name)
        if data is None:
            assert limit is not None  # only a bounded read gives up
            raise ImageError(
                f"cannot read {name}: it holds more than {limit / 2**30:.3g} GiB, a quarter of "
                "the memory available, which decoding and filtering it would need (an endless "
                "stream or device?)"
            )
    except IsADirectoryError:
        raise ImageError(f"cannot read {name}: it is a directory, not an image file") from None
    except PermissionError:
        raise ImageError(f"cannot read {name}: permission denied") from None
    except OSError as exc:
        raise ImageError(f"cannot read {name}: {exc.strerror or exc}") from None
    return bytes(data)
