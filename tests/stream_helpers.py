"""Helpers of the streamed-path tests: ``convcli`` run in a subprocess whose address space is
limited (``RLIMIT_AS``: the memory bound, whole process included), and Ctrl-C in the middle
of a band reader."""

from __future__ import annotations

import os
import subprocess
import sys

_SCRIPT = r"""
import resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from convcli.cli import run
sys.argv = ["convcli", *sys.argv[2:]]
run()
"""


def run_bounded(args, limit: int, **env) -> subprocess.CompletedProcess:
    """``convcli ARGS`` with at most ``limit`` bytes of address space (one malloc arena
    per thread pool, BLAS single-threaded); ``env`` adds environment variables."""
    env = dict(
        os.environ, MALLOC_ARENA_MAX="2", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", **env
    )
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(limit), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def interrupt_rows(monkeypatch, reader_class, call: int = 4) -> None:
    """Make ``reader_class.rows`` raise KeyboardInterrupt (Ctrl-C) at its ``call``-th call."""
    calls, original = {"n": 0}, reader_class.rows

    def interrupted(self, r0, r1):
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt
        return original(self, r0, r1)

    monkeypatch.setattr(reader_class, "rows", interrupted)
