"""Batch progress output: bar on a terminal, sparse lines in logs, failures always."""

from __future__ import annotations

import io

from convcli.batch._plan import ItemResult
from convcli.cli._progress import Progress


class Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def ok(name="a.png"):
    return ItemResult(name, "out/" + name, "done")


def test_log_mode_prints_a_line_per_interval_only():
    stream, clock = Stream(tty=False), Clock()
    progress = Progress(100, stream=stream, interval=10.0, clock=clock)
    for _ in range(79):  # 79 items in 9.875 s: no line yet
        clock.now += 0.125
        progress.update(ok())
    assert stream.getvalue() == ""
    for _ in range(21):  # the 80th reaches the 10 s mark; 12.5 s in all: one line
        clock.now += 0.125
        progress.update(ok())
    progress.close()
    assert stream.getvalue() == "convcli: 80/100  8.0 img/s  ETA 0:02\n"


def test_failures_always_printed_even_quiet():
    stream = Stream(tty=True)
    progress = Progress(2, stream=stream, quiet=True, clock=Clock())
    progress.update(ItemResult("b.png", "out/b.png", "failed", "cannot read 'b.png'"))
    progress.update(ok())
    progress.close()
    assert stream.getvalue() == "failed: cannot read 'b.png'\n"  # the file named once


def test_terminal_bar_redraws_in_place():
    stream, clock = Stream(tty=True), Clock()
    progress = Progress(4, stream=stream, clock=clock)
    for _ in range(4):
        clock.now += 1.0
        progress.update(ok())
    progress.close()
    out = stream.getvalue()
    assert out.startswith("\r[#######.......................] 1/4  1.0 img/s  ETA 0:03")
    assert out.endswith("\r[##############################] 4/4  1.0 img/s  ETA 0:00\n")
    assert out.count("\n") == 1
