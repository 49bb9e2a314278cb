"""How much memory new arrays can take: the yardstick for refusing requests that cannot fit
(padding a small image by 10**9 pixels, an endless input stream) before trying them."""

from __future__ import annotations

import os


def available_memory() -> int | None:
    """Bytes of memory new allocations can take: Linux's MemAvailable, else the machine's
    physical memory, or None where the system says neither.

    Examples
    --------
    >>> available_memory() is None or available_memory() > 0
    True
    """
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
