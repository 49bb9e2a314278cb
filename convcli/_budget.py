"""One budget for what an image may cost before convcli tries it.

Each frame passing the pixel limit alone is not enough: a 46 KB GIF can hold 2000 frames
on a 4000x4000 screen (32 gigapixels), a TIFF thousands of pages sharing one strip, a JSON
bank thousands of members. :class:`FrameBudget` counts what a decoder is about to produce,
before each frame is decoded, and refuses with a message that says which limit and how to
raise it; :func:`memory_limit` is the yardstick: the smallest of what the system has
available, what the process's rlimits still allow, and what its cgroup still allows.
"""

from __future__ import annotations

import os

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

#: Frames or pages one image may have.
MAX_FRAMES = 10_000
#: Total pixels of all frames, as a multiple of the per-frame pixel limit.
TOTAL_PIXELS_FACTOR = 8
#: Members one kernel bank may have.
MAX_BANK_MEMBERS = 256
#: Part of :func:`memory_limit` the decoded frames may take (filtering needs the rest).
DECODED_SHARE = 0.5


def _meminfo() -> int | None:
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


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _rlimit_room() -> int | None:
    """Bytes the address-space and data rlimits still allow this process, or None."""
    if resource is None:
        return None
    rooms = []
    for which, used_field in ((resource.RLIMIT_AS, "VmSize"), (resource.RLIMIT_DATA, "VmData")):
        soft = resource.getrlimit(which)[0]
        if soft != resource.RLIM_INFINITY and soft > 0:
            used = _status_kib(used_field) or 0
            rooms.append(max(0, soft - used))
    return min(rooms) if rooms else None


def _cgroup_room() -> int | None:
    """Bytes this process's cgroup (v2, else v1) still allows, or None without a limit."""
    try:
        with open("/proc/self/cgroup") as groups:
            lines = groups.read().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":  # v2 (or the unified part of a hybrid)
            bases = ["/sys/fs/cgroup" + parts[2], "/sys/fs/cgroup/unified" + parts[2]]
            limit_file, usage_file = "memory.max", "memory.current"
        elif "memory" in parts[1].split(","):  # v1
            bases = ["/sys/fs/cgroup/memory" + parts[2]]
            limit_file, usage_file = "memory.limit_in_bytes", "memory.usage_in_bytes"
        else:
            continue
        for base in bases:
            try:
                with open(os.path.join(base, limit_file)) as handle:
                    text = handle.read().strip()
                if text == "max" or int(text) >= 1 << 60:
                    continue
                with open(os.path.join(base, usage_file)) as handle:
                    used = int(handle.read().strip())
                return max(0, int(text) - used)
            except (OSError, ValueError):
                continue
    return None


def memory_limit() -> int | None:
    """Bytes new allocations can take: the smallest of MemAvailable, the room left under
    RLIMIT_AS / RLIMIT_DATA, and the room left under the cgroup's memory limit; None where
    the system says none of them.

    Examples
    --------
    >>> memory_limit() is None or memory_limit() >= 0
    True
    """
    known = [v for v in (_meminfo(), _rlimit_room(), _cgroup_room()) if v is not None]
    return min(known) if known else None


def gib(count: int) -> str:
    """A byte count for messages: ``'1.5 GiB'``, ``'12 MiB'``."""
    return f"{count / 2**30:.3g} GiB" if count >= 2**30 else f"{count / 2**20:.3g} MiB"


class BudgetError(Exception):
    """An image would cost more than the budget allows (the message says which limit)."""


class FrameBudget:
    """What the frames of one image may cost, counted before each frame is decoded.

    Parameters
    ----------
    pixel_limit : int or None
        The per-frame pixel limit (``--max-pixels``); all frames together may have
        :data:`TOTAL_PIXELS_FACTOR` times as many. None: no pixel limits.
    memory : int or None
        Bytes the decoded frames may take; default :data:`DECODED_SHARE` of
        :func:`memory_limit`.

    Examples
    --------
    >>> budget = FrameBudget(100, memory=10**6)
    >>> budget.add(100, 1, count=8)
    >>> budget.add(1, 1)
    Traceback (most recent call last):
    ...
    convcli._budget.BudgetError: its 9 frames hold 801 pixels in all, more than the limit \
of 800 (8 x the per-frame limit of 100); if you trust the file, raise the limit with \
--max-pixels (max_pixels=)
    """

    def __init__(self, pixel_limit: int | None, memory: int | None = -1):
        self.pixel_limit = pixel_limit
        self.total_limit = None if pixel_limit is None else pixel_limit * TOTAL_PIXELS_FACTOR
        if memory == -1:
            available = memory_limit()
            memory = None if available is None else int(available * DECODED_SHARE)
        self.memory = memory
        self.frames = 0
        self.pixels = 0
        self.bytes = 0

    def add(self, pixels: int, bytes_per_pixel: int = 4, count: int = 1) -> None:
        """Count ``count`` more frames of ``pixels`` pixels each; raise
        :class:`BudgetError` when the frames so far are too many, hold too many pixels in
        all or would not fit in memory once decoded."""
        self.frames += count
        self.pixels += pixels * count
        self.bytes += pixels * bytes_per_pixel * count
        if self.frames > MAX_FRAMES:
            raise BudgetError(
                f"it has {self.frames if count > 1 else 'more than ' + str(MAX_FRAMES)} "
                f"frames or pages, more than the {MAX_FRAMES} convcli reads from one image "
                "(a frame or page bomb?)"
            )
        if self.total_limit is not None and self.pixels > self.total_limit:
            raise BudgetError(
                f"its {self.frames} frames hold {self.pixels} pixels in all, more than the "
                f"limit of {self.total_limit} ({TOTAL_PIXELS_FACTOR} x the per-frame limit of "
                f"{self.pixel_limit}); if you trust the file, raise the limit with "
                "--max-pixels (max_pixels=)"
            )
        if self.memory is not None and self.bytes > self.memory:
            raise BudgetError(
                f"its {self.frames} frames need {gib(self.bytes)} of memory once decoded, "
                f"more than the {gib(self.memory)} this process can spare"
            )


def check_bank_members(count: int, name: str) -> str | None:
    """The reason a bank of ``count`` members is refused, or None when it is accepted."""
    if count > MAX_BANK_MEMBERS:
        return (
            f"bank {name} has {count} members, more than the limit of {MAX_BANK_MEMBERS} "
            "(each member is a full convolution of the image)"
        )
    return None
