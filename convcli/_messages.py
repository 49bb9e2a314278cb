"""Text that reaches the user: one line, printable, bounded.

Every message that names a file, a member or a list of them goes through :func:`fold` (or
:func:`name_list`): control characters (a newline in a file name, an escape sequence in a
damaged header) are shown as ``\\n`` or ``\\xNN`` instead of splitting the line or driving
the terminal, and long texts are cut in the middle with the number of characters left out.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Longest message convcli prints on one line (characters).
MAX_MESSAGE = 1000
#: Longest single name (file, member) inside a message.
MAX_NAME = 200
#: Items named before "and N more".
FIRST_ITEMS = 5

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _printable(char: str) -> str:
    code = ord(char)
    if char in _ESCAPES:
        return _ESCAPES[char]
    if code < 32 or code == 127 or 0x80 <= code < 0xA0:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code in (0x2028, 0x2029, 0x85):  # line and paragraph separators
        return f"\\u{code:04x}"
    return char


def fold(text: object, limit: int = MAX_MESSAGE) -> str:
    r"""``text`` on one printable line of at most about ``limit`` characters.

    Control characters become escapes; a longer text keeps its start and end around
    ``...[N characters]...``.

    Examples
    --------
    >>> fold("a\nb\x1b[2Jc")
    'a\\nb\\x1b[2Jc'
    >>> fold("x" * 60, limit=40)
    'xxxxxxxxxx...[40 chars]...xxxxxxxxxx'
    """
    text = "".join(_printable(c) for c in str(text))
    if len(text) <= limit:
        return text
    keep = max(1, (limit - 20) // 2)
    return f"{text[:keep]}...[{len(text) - 2 * keep} chars]...{text[-keep:]}"


def fold_name(name: object) -> str:
    """A file or member name for a message: :func:`fold` at :data:`MAX_NAME`."""
    return fold(name, MAX_NAME)


def name_list(items: Iterable[object], first: int = FIRST_ITEMS, quote: bool = False) -> str:
    """The first ``first`` items, folded, then ``and N more``.

    Examples
    --------
    >>> name_list(["a", "b"])
    'a, b'
    >>> name_list([f"m{i}" for i in range(20000)], quote=True)
    "'m0', 'm1', 'm2', 'm3', 'm4' and 19995 more"
    """
    items = list(items)
    shown = [fold_name(item) for item in items[:first]]
    if quote:
        shown = [f"'{item}'" for item in shown]
    more = f" and {len(items) - first} more" if len(items) > first else ""
    return ", ".join(shown) + more
