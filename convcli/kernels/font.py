"""A 3x5 pixel bitmap font, so heatmap captions need no font library (and no Pillow).

Letters are drawn upper case; characters without a glyph are drawn as ``?``.
"""

from __future__ import annotations

import numpy as np

# Each glyph: 5 rows of 3 pixels, "1" = ink.
_GLYPHS = {
    "A": "010101111101101", "B": "110101110101110", "C": "011100100100011",
    "D": "110101101101110", "E": "111100110100111", "F": "111100110100100",
    "G": "011100101101011", "H": "101101111101101", "I": "111010010010111",
    "J": "001001001101010", "K": "101101110101101", "L": "100100100100111",
    "M": "101111111101101", "N": "110101101101101", "O": "010101101101010",
    "P": "110101110100100", "Q": "010101101110011", "R": "110101110101101",
    "S": "011100010001110", "T": "111010010010010", "U": "101101101101111",
    "V": "101101101101010", "W": "101101111111101", "X": "101101010101101",
    "Y": "101101010010010", "Z": "111001010100111",
    "0": "111101101101111", "1": "010110010010111", "2": "110001010100111",
    "3": "110001010001110", "4": "101101111001001", "5": "111100110001110",
    "6": "011100111101111", "7": "111001010010010", "8": "111101111101111",
    "9": "111101111001110",
    ".": "000000000000010", ",": "000000000010100", "-": "000000111000000",
    "+": "000010111010000", "=": "000111000111000", ":": "000010000010000",
    "(": "001010010010001", ")": "100010010010100", "/": "001001010100100",
    "_": "000000000000111", "[": "011010010010011", "]": "110010010010110",
    "?": "110001010000010", "*": "000101010101000", "^": "010101000000000",
    "'": "010010000000000", " ": "000000000000000",
}
_BITMAPS = {c: np.array([int(b) for b in bits], bool).reshape(5, 3) for c, bits in _GLYPHS.items()}

#: Height of a line of text at scale 1, in pixels.
HEIGHT = 5


def text_width(text: str, scale: int = 1) -> int:
    """Width in pixels of ``text`` drawn at ``scale`` (4 pixels per character, less one).

    Examples
    --------
    >>> text_width("ab"), text_width("ab", 2)
    (7, 14)
    """
    return max(0, 4 * len(text) - 1) * scale


def text_mask(text: str, scale: int = 1) -> np.ndarray:
    """A boolean ``(5 * scale, text_width(text, scale))`` ink mask of ``text``.

    Examples
    --------
    >>> text_mask("-").astype(int).tolist()
    [[0, 0, 0], [0, 0, 0], [1, 1, 1], [0, 0, 0], [0, 0, 0]]
    """
    mask = np.zeros((HEIGHT, max(0, 4 * len(text) - 1)), bool)
    for i, char in enumerate(text.upper()):
        mask[:, 4 * i: 4 * i + 3] = _BITMAPS.get(char, _BITMAPS["?"])
    return mask.repeat(scale, axis=0).repeat(scale, axis=1)
