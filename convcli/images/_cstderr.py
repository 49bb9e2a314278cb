"""What C codec libraries print: libtiff writes its complaints about a damaged TIFF straight
to file descriptor 2, under any Python-level redirection. :func:`captured` collects them so
the caller can put them into its one-line error (or drop them when the file decodes)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading

_LOCK = threading.Lock()


@contextlib.contextmanager
def captured(enabled: bool = True):
    """Collect what is written to file descriptor 2 inside the block.

    Yields a list that holds the captured lines (stripped, non-empty) once the block has
    ended, normally or by an exception. Process-wide: other threads' output to fd 2 during
    the block is captured too, so keep the block short (one decode).

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
    with _LOCK, tempfile.TemporaryFile() as sink:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", "replace")
            lines.extend(line.strip() for line in text.splitlines() if line.strip())
