"""Notes: one-line remarks about something convcli did on the user's behalf (metadata the
output format cannot hold, dropped), which are not errors.

The library raises them as warnings of category :class:`ConvcliNote`, so a caller can
filter, record or turn them into errors the usual way; the command line prints each as one
``convcli: note: ...`` line on stderr (:func:`show_notes`).
"""

from __future__ import annotations

import sys
import warnings

from convcli._messages import fold


class ConvcliNote(UserWarning):
    """Something was dropped or changed on purpose; the message says what and why."""


def note(message: str) -> None:
    """Raise ``message`` as a :class:`ConvcliNote` warning."""
    warnings.warn(ConvcliNote(message), stacklevel=3)


def show_notes() -> None:
    """Print notes as one ``convcli: note: ...`` line each (every time, not once per
    place), leaving other warnings to Python's usual display."""
    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, ConvcliNote):
            try:
                (file or sys.stderr).write(
                    f"convcli: note: {fold(' '.join(str(message).split()))}\n"
                )
            except (OSError, ValueError):
                pass
            return
        previous(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    warnings.simplefilter("always", ConvcliNote)
