"""What C codec libraries print: libtiff and libpng write their complaints about a damaged
file straight to file descriptor 2, under any Python-level redirection. :func:`captured`
collects them so the caller can put them into its one-line error (or drop them when the
file decodes).

Redirecting fd 2 is process-wide. Concurrent captures share one redirection (counted), so
decodes on several threads run at the same time instead of waiting for each other; a lock
is held only while the redirection is set up or torn down. While any capture is open, what
other threads write to fd 2 is captured too (convcli writes nothing there meanwhile).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import IO, Any

_LOCK = threading.Lock()
_shared: dict[str, Any] = {"users": 0, "saved": None, "sink": None}


def _start() -> IO[bytes]:
    with _LOCK:
        if _shared["users"] == 0:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            sink = tempfile.TemporaryFile()
            _shared["saved"] = os.dup(2)
            os.dup2(sink.fileno(), 2)
            _shared["sink"] = sink
        _shared["users"] += 1
        sink_now: IO[bytes] = _shared["sink"]
        return sink_now


def _stop(sink: IO[bytes], start: int) -> str:
    with _LOCK:
        text = os.pread(sink.fileno(), max(0, os.fstat(sink.fileno()).st_size - start), start)
        _shared["users"] -= 1
        if _shared["users"] == 0:
            os.dup2(_shared["saved"], 2)
            os.close(_shared["saved"])
            sink.close()
            _shared.update(saved=None, sink=None)
    return text.decode("utf-8", "replace")


@contextlib.contextmanager
def captured(enabled: bool = True) -> Iterator[list[str]]:
    """Collect what is written to file descriptor 2 inside the block.

    Yields a list that holds the captured lines (stripped, non-empty) once the block has
    ended, normally or by an exception. Keep the block short (one decode).

    Examples
    --------
    >>> import os
    >>> with captured() as lines:
    ...     _ = os.write(2, b"TIFFReadDirectory: Failed to read directory\\n")
    >>> lines
    ['TIFFReadDirectory: Failed to read directory']
    """
    lines: list[str] = []
    if not enabled:
        yield lines
        return
    sink = _start()
    start = os.fstat(sink.fileno()).st_size
    try:
        yield lines
    finally:
        text = _stop(sink, start)
        lines.extend(line.strip() for line in text.splitlines() if line.strip())
