"""How much memory new arrays can take: the yardstick for refusing requests that cannot fit
(padding a small image by 10**9 pixels, an endless input stream) before trying them.

Kept for its callers; the measure itself is :func:`convcli._budget.memory_limit`
(MemAvailable, rlimits and the cgroup's limit, whichever is smallest).
"""

from __future__ import annotations

from convcli._budget import memory_limit


def available_memory() -> int | None:
    """Bytes of memory new allocations can take (see :func:`convcli._budget.memory_limit`),
    or None where the system says nothing.

    Examples
    --------
    >>> available_memory() is None or available_memory() >= 0
    True
    """
    return memory_limit()
