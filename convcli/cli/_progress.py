"""Progress of a batch on stderr: a live bar on a terminal, periodic lines elsewhere.

On a terminal the bar is redrawn in place (done/total, rate, ETA) at most ten times a
second. When stderr is not a terminal (CI logs, files) there is no bar: a one-line update
at most every ``interval`` seconds, so a log holds a handful of lines, not thousands.
Failures are printed as they happen, always, one line each.
"""

from __future__ import annotations

import sys
import time

from convcli._messages import fold, fold_name


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Counts finished items and shows it; call :meth:`update` per item, then :meth:`close`."""

    def __init__(
        self,
        total: int,
        *,
        quiet: bool = False,
        stream=None,
        interval: float = 10.0,
        clock=time.monotonic,
    ):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.live = not quiet and self.stream.isatty()
        self.interval = interval
        self.clock = clock
        self.start = clock()
        self.count = 0
        self._last_draw = float("-inf")
        self._last_line = self.start

    def _status(self) -> str:
        elapsed = self.clock() - self.start
        rate = self.count / elapsed if elapsed > 0 else 0.0
        left = self.total - self.count
        eta = _clock(left / rate) if rate > 0 else "?"
        return f"{self.count}/{self.total}  {rate:.1f} img/s  ETA {eta}"

    def _bar(self) -> str:
        width = 30
        filled = width * self.count // self.total if self.total else width
        return f"[{'#' * filled}{'.' * (width - filled)}] {self._status()}"

    def _erase(self) -> None:
        if self.live:
            self.stream.write("\r\033[K")

    def message(self, text: str) -> None:
        """Print a line (a failure, a note) without garbling the bar."""
        self._erase()
        self.stream.write(text + "\n")
        self._last_draw = float("-inf")
        self.stream.flush()

    def update(self, result) -> None:
        self.count += 1
        if result.status == "failed":
            self.message(failure_line(result.source, result.error))
        now = self.clock()
        if self.live and (now - self._last_draw >= 0.1 or self.count == self.total):
            self.stream.write("\r" + self._bar())
            self.stream.flush()
            self._last_draw = now
        elif not self.live and not self.quiet and now - self._last_line >= self.interval:
            self.stream.write(f"convcli: {self._status()}\n")
            self.stream.flush()
            self._last_line = now

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()


def failure_line(source: str, error: str | None) -> str:
    """``failed: ERROR``, naming ``source`` once: in front only when the error does not.

    Examples
    --------
    >>> failure_line("a.png", "cannot read a.png: truncated")
    'failed: cannot read a.png: truncated'
    >>> failure_line("a.png", "out of memory")
    'failed: a.png: out of memory'
    """
    text = fold(error or "unknown error")
    return (
        f"failed: {text}" if fold_name(source) in text else f"failed: {fold_name(source)}: {text}"
    )


class RowProgress:
    """Rows of one big image written, on a terminal: a bar, rows per second and ETA.

    Silent when stderr is not a terminal or ``quiet``; shown only once the image has
    taken a second, so small images print nothing. Use as a context manager and pass
    :meth:`update` as ``on_rows(done, total)``.
    """

    def __init__(self, *, quiet: bool = False, stream=None, clock=time.monotonic, delay=1.0):
        self.stream = stream if stream is not None else sys.stderr
        self.live = not quiet and self.stream.isatty()
        self.clock = clock
        self.start = clock()
        self.delay = delay
        self._last_draw = float("-inf")
        self.drawn = False

    def update(self, done: int, total: int) -> None:
        now = self.clock()
        if not self.live or now - self.start < self.delay:
            return
        if now - self._last_draw < 0.1 and done < total:
            return
        elapsed = now - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = _clock((total - done) / rate) if rate > 0 else "?"
        width = 30
        filled = width * done // total if total else width
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] rows {done}/{total}  "
            f"{rate:.0f} rows/s  ETA {eta}"
        )
        self.stream.flush()
        self._last_draw = now
        self.drawn = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
