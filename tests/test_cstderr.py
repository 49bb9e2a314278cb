"""Capturing what C codecs print on fd 2: concurrent captures share one redirection."""

from __future__ import annotations

import os
import subprocess
import sys
import threading


def test_concurrent_captures_each_see_their_own_lines_and_stderr_comes_back():
    script = """
import os, threading
from convcli.images._cstderr import captured, _shared
inside, seen = threading.Barrier(4), {}
def work(i):
    with captured() as lines:
        inside.wait()  # all four captures are open at once: none waits for another
        os.write(2, f"codec says {i}\\n".encode())
        inside.wait()
    seen[i] = lines
threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
assert all(f"codec says {i}" in seen[i] for i in range(4)), seen
assert _shared["users"] == 0 and _shared["sink"] is None
os.write(2, b"after\\n")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "after\n"


def test_a_capture_that_raises_restores_stderr():
    from convcli.images._cstderr import _shared, captured

    try:
        with captured() as lines:
            os.write(2, b"boom\n")
            raise RuntimeError("decode failed")
    except RuntimeError:
        pass
    assert lines == ["boom"]
    assert _shared["users"] == 0
    assert threading.active_count() >= 1
