"""Where output bytes go: one function opens every kind of output the same careful way.

:func:`write_output` takes a destination and an ``encode(stream)`` callable and picks:

- a **regular file** (or a name that does not exist yet): the bytes go to a temporary file
  with a short name (``.<first bytes of the name>.<random>.part``, so a legal 255-byte
  name still works) in the same directory, renamed over the name once complete. On any
  exception, Ctrl-C and the CLI's SIGTERM/SIGHUP included, the temporary is removed and
  the name is untouched;
- an **existing target that is not a regular file**: a character device (``/dev/null``),
  a FIFO, a process substitution (``/dev/fd/63``), ``/dev/stdout`` or ``/proc/self/fd/N``.
  It is opened and written directly, never replaced (as ``cp``, ``vips`` and ``convert``
  do): renaming a file over ``/dev/null`` would destroy it;
- a **stream** (a binary file object, e.g. standard output): encoded in memory first, then
  written with every write checked.

Every write is checked: a short write is continued, and a full disk (ENOSPC, EDQUOT,
EFBIG), a closed or read-only descriptor (EBADF) or an I/O error becomes one
:class:`~convcli.errors.ImageError` naming the output. A reader that went away (EPIPE) is
raised as :class:`BrokenPipeError`, which the command line ends quietly.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import select
import stat
import tempfile
from collections.abc import Callable

from convcli._messages import fold_name
from convcli.errors import ImageError
from convcli.images._sources import describe

#: Bytes of the target's name kept in its temporary's name.
TEMP_STEM_BYTES = 32
#: Directories whose entries are views of open descriptors: written directly, never renamed.
_DESCRIPTOR_DIRS = ("/proc/", "/dev/fd/")
_STD_NAMES = ("/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty")


def temporary_stem(name: str) -> str:
    """The part of a target's file name that its temporary's name keeps (at most
    :data:`TEMP_STEM_BYTES` bytes, cut at a character boundary).

    Examples
    --------
    >>> temporary_stem("a.png")
    'a.png'
    >>> len(temporary_stem("x" * 250 + ".png"))
    32
    """
    raw = os.fsencode(name)
    if len(raw) <= TEMP_STEM_BYTES:
        return name
    cut = raw[:TEMP_STEM_BYTES]
    for _ in range(3):  # not inside a UTF-8 character
        try:
            cut.decode("utf-8")
            break
        except UnicodeDecodeError:
            cut = cut[:-1]
    return os.fsdecode(cut)


def is_temporary_of(entry: str, name: str) -> bool:
    """True when the file name ``entry`` is a temporary :func:`write_output` made for a
    target named ``name`` (``.<stem>.<random>.part``).

    Examples
    --------
    >>> is_temporary_of(".a.png.x1y2.part", "a.png"), is_temporary_of(".a.png.keep", "a.png")
    (True, False)
    """
    prefix = f".{temporary_stem(name)}."
    if not (entry.startswith(prefix) and entry.endswith(".part")):
        return False
    middle = entry[len(prefix) : -len(".part")]
    return bool(middle) and "." not in middle


def _failure(name: str, exc: OSError) -> ImageError:
    reason = exc.strerror or str(exc)
    hint = {
        errno.ENOSPC: "; free some space or write elsewhere",
        errno.EDQUOT: "; the disk quota is used up",
        errno.EFBIG: "; the file system cannot hold a file this large",
        errno.EBADF: " (is it closed, or open for reading only?)",
        errno.EROFS: "; write elsewhere",
    }.get(exc.errno or 0, "")
    return ImageError(f"cannot write {fold_name(name)}: {reason}{hint}")


def write_fd(fd: int, data, name: str) -> None:
    """Write all of ``data`` to descriptor ``fd``: short writes continued, a non-blocking
    descriptor waited on, every error mapped (EPIPE raised as BrokenPipeError)."""
    view = memoryview(data).cast("B")
    while view:
        try:
            written = os.write(fd, view[: 1 << 24])
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _failure(name, exc) from None
        if written == 0:
            raise ImageError(f"cannot write {fold_name(name)}: the output accepts no more bytes")
        view = view[written:]


def write_stream(stream, data, name: str) -> None:
    """Write ``data`` to a binary file object, checked (see :func:`write_fd`)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        fd = None
    try:
        if fd is None:
            written = stream.write(data)
            if written is not None and written != len(data):
                raise ImageError(
                    f"cannot write {fold_name(name)}: only {written} of {len(data)} bytes "
                    "were accepted"
                )
        else:
            stream.flush()  # what the file object buffered goes first
            write_fd(fd, data, name)
        stream.flush()
    except BrokenPipeError:
        raise
    except ValueError as exc:  # a closed file object
        raise ImageError(f"cannot write {fold_name(name)}: {exc}") from None
    except OSError as exc:
        raise _failure(name, exc) from None


def _encoded(encode: Callable) -> bytes:
    buffer = io.BytesIO()
    encode(buffer)
    return buffer.getvalue()


def is_special_target(path: str) -> bool:
    """True for an output path to write directly: it exists and (after links) is not a
    regular file or a directory, or it is a view of an open descriptor (``/dev/stdout``,
    ``/dev/fd/N``, ``/proc/self/fd/N``)."""
    absolute = os.path.abspath(path)
    if absolute in _STD_NAMES or absolute.startswith(_DESCRIPTOR_DIRS):
        return os.path.exists(absolute)
    try:
        mode = os.stat(absolute).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _write_special(path: str, data: bytes, name: str) -> None:
    flags = os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise _failure(name, exc) from None
    if stat.S_ISREG(mode):
        flags |= os.O_TRUNC  # /dev/stdout redirected to a file: rewrite it, as cp does
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket, or a device with nothing behind it
            raise ImageError(f"cannot write {fold_name(name)}: no process reads it") from None
        raise _failure(name, exc) from None
    try:
        write_fd(fd, data, name)
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)


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


def _write_regular(path: str, encode: Callable, name: str) -> None:
    directory, base = os.path.split(path)
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{temporary_stem(base)}.", suffix=".part", dir=directory
        )
    except FileNotFoundError:
        raise ImageError(
            f"cannot write {fold_name(name)}: the directory {fold_name(directory)} does not "
            "exist; create it first"
        ) from None
    except OSError as exc:
        raise _failure(name, exc) from None
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
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
            raise _failure(name, exc) from None
        raise


def write_output(dest, encode: Callable, name: str | None = None) -> None:
    """Call ``encode(fileobj)`` and put its bytes at ``dest``, the way ``dest`` needs.

    Parameters
    ----------
    dest : str, os.PathLike or binary file object
        A regular file (written atomically), an existing non-regular target (written
        directly) or a stream (written checked); see the module docstring.
    encode : callable
        Writes the whole output to the file object it is given.
    name : str, optional
        How messages name ``dest`` (default: its path, or the stream's name).

    Raises
    ------
    ImageError
        Naming ``dest``: a missing directory, a directory given as the output, a full
        disk, a read-only file system, a closed descriptor. ``dest`` is then untouched
        (regular file) or holds what was written before the fault (device, stream).
    BrokenPipeError
        The reader of a pipe went away.

    Examples
    --------
    >>> import io
    >>> sink = io.BytesIO()
    >>> write_output(sink, lambda stream: stream.write(b"abc"))
    >>> sink.getvalue()
    b'abc'
    """
    name = describe(dest) if name is None else name
    if not isinstance(dest, (str, bytes, os.PathLike)):
        write_stream(dest, _encoded(encode), name)
        return
    path = os.fsdecode(dest)
    if os.path.isdir(path):
        raise ImageError(f"cannot write {fold_name(name)}: it is a directory; give a file name")
    if is_special_target(path):
        _write_special(path, _encoded(encode), name)
        return
    _write_regular(os.path.abspath(path), encode, name)


def check_output_path(path: str, what: str) -> None:
    """Refuse, before any work, an output file that cannot be created: its directory is
    missing, it is a directory, or nothing can be created there (read-only, full, no
    permission). A special target (``/dev/stdout``) passes.

    Raises
    ------
    ImageError
        Naming ``what`` (e.g. ``--report out/r.json``).
    """
    path = os.fsdecode(path)
    if os.path.isdir(path):
        raise ImageError(f"cannot write {fold_name(what)}: it is a directory; give a file name")
    if is_special_target(path):
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        given = os.path.dirname(path) or directory
        raise ImageError(
            f"cannot write {fold_name(what)}: the directory {fold_name(given)} does not "
            "exist; create it first"
        )
    try:
        handle, probe = tempfile.mkstemp(prefix=".convcli.", suffix=".part", dir=directory)
    except OSError as exc:
        raise _failure(what, exc) from None
    os.close(handle)
    with contextlib.suppress(OSError):
        os.unlink(probe)
