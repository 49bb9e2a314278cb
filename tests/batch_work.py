"""Picklable per-file work functions for the batch tests (importable by spawned workers)."""

from __future__ import annotations

import os
from pathlib import Path

from convcli.errors import ImageError


def copy_upper(source: str, target: str) -> None:
    """Upper-case a text file into target; 'bad' files fail the convcli way, 'boom' files
    with an unexpected exception, 'die' files kill the worker process."""
    name = Path(source).name
    if "bad" in name:
        raise ImageError(f"cannot read '{source}': not an image")
    if "boom" in name:
        raise RuntimeError("something unexpected")
    if "die" in name:
        os._exit(3)
    Path(target).write_bytes(Path(source).read_bytes().upper())
