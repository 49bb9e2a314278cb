"""Bitmap text for the images convcli draws (kernel heatmaps, preview contact sheets).

No font library: the glyphs are data here, so the pixels are the same on every machine
(FreeType's rendering differs between versions). Two sizes:

- :data:`SMALL`, 3x5 pixels, upper case, digits and a few signs: numbers inside heatmap
  cells;
- :data:`LABEL`, 6x11 pixels, printable ASCII: the glyphs of Pillow's built-in bitmap font
  (``PIL.ImageFont.load_default_imagefont()``, HPND licence), for labels.

Characters without a glyph are drawn as ``?``.
"""

from __future__ import annotations

import numpy as np


class BitmapFont:
    """Glyphs of one size (boolean arrays, ink is True), ``gap`` blank columns between them.

    Examples
    --------
    >>> SMALL.text_width("ab"), SMALL.text_width("ab", 2), LABEL.text_width("ab")
    (7, 14, 12)
    >>> SMALL.mask("-").astype(int).tolist()
    [[0, 0, 0], [0, 0, 0], [1, 1, 1], [0, 0, 0], [0, 0, 0]]
    >>> print("\\n".join("".join("#" if v else "-" for v in row) for row in LABEL.mask("T")[2:9]))
    ------
    #####-
    -##-#-
    -##---
    -##---
    -##---
    ####--
    """

    def __init__(self, glyphs: dict, gap: int, upper: bool = False):
        self.glyphs = glyphs
        self.height, self.width = next(iter(glyphs.values())).shape
        self.gap = gap
        self.upper = upper

    def text_width(self, text: str, scale: int = 1) -> int:
        """Width in pixels of ``text`` drawn at ``scale``."""
        return max(0, (self.width + self.gap) * len(text) - self.gap) * scale

    def mask(self, text: str, scale: int = 1) -> np.ndarray:
        """A boolean ``(height * scale, text_width(text, scale))`` ink mask of ``text``."""
        mask = np.zeros((self.height, self.text_width(text)), bool)
        step = self.width + self.gap
        for i, char in enumerate(text.upper() if self.upper else text):
            mask[:, step * i : step * i + self.width] = self.glyphs.get(char, self.glyphs["?"])
        return mask.repeat(scale, axis=0).repeat(scale, axis=1)


# Each glyph: 5 rows of 3 pixels, "1" = ink.
_SMALL_GLYPHS = {
    "A": "010101111101101",
    "B": "110101110101110",
    "C": "011100100100011",
    "D": "110101101101110",
    "E": "111100110100111",
    "F": "111100110100100",
    "G": "011100101101011",
    "H": "101101111101101",
    "I": "111010010010111",
    "J": "001001001101010",
    "K": "101101110101101",
    "L": "100100100100111",
    "M": "101111111101101",
    "N": "110101101101101",
    "O": "010101101101010",
    "P": "110101110100100",
    "Q": "010101101110011",
    "R": "110101110101101",
    "S": "011100010001110",
    "T": "111010010010010",
    "U": "101101101101111",
    "V": "101101101101010",
    "W": "101101111111101",
    "X": "101101010101101",
    "Y": "101101010010010",
    "Z": "111001010100111",
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "110001010100111",
    "3": "110001010001110",
    "4": "101101111001001",
    "5": "111100110001110",
    "6": "011100111101111",
    "7": "111001010010010",
    "8": "111101111101111",
    "9": "111101111001110",
    ".": "000000000000010",
    ",": "000000000010100",
    "-": "000000111000000",
    "+": "000010111010000",
    "=": "000111000111000",
    ":": "000010000010000",
    "(": "001010010010001",
    ")": "100010010010100",
    "/": "001001010100100",
    "_": "000000000000111",
    "[": "011010010010011",
    "]": "110010010010110",
    "?": "110001010000010",
    "*": "000101010101000",
    "^": "010101000000000",
    "'": "010010000000000",
    " ": "000000000000000",
}

# 95 glyphs (ASCII 32..126), 11 rows of one byte each (the top 6 bits are pixels), in hex.
_LABEL_GLYPHS = (
    "00000000000000000000000000006060606000600000000000505050000000000000005050f85050f8505000"
    "002078c8f07818d8f020000000e0a8f02078a838000000000070c060f8b0f800000000302040000000000000"
    "00001020606060602010000000402030303030204000000020f0609000000000000000002020f82020000000"
    "00000000000000003020400000000000f8000000000000000000000000006000000000080810102020404000"
    "000070d8d8d8d8d8700000000030f030303030fc0000000070d8183060d8f80000000070d8187018d8700000"
    "0000183858d8fc181800000000f8c0f0d81898f00000000070d8c0f0d8d87000000000f8d818303060600000"
    "000070d8d870d8d8700000000070d8d87818d870000000000000006000006000000000000000600000604080"
    "0000003060c0603000000000000000f000f00000000000000060301830600000000000007098306000600000"
    "000070c898a8a89cc07000000000f07050f8d8dc0000000000f0d8f0d8d8f0000000000078d8c0c0d8700000"
    "000000f0d8d8d8d8f00000000000f8c0f0c0d8f80000000000f8c0f0c0c0e0000000000070d8c0f8d8780000"
    "000000dcd8f8d8d8dc0000000000f060606060f00000000000783030b0b0e00000000000d8d0e0f0d8ec0000"
    "000000e0c0c0c0d8f8000000000088d8d8f8a8a80000000000dce8e8d8d8c8000000000070d8d8d8d8700000"
    "000000f0d8d8f0c0e0000000000070d8d8d8d8701800000000f0d8d8f0d8ec000000000078c8f03898f00000"
    "000000f868606060f00000000000dcd8d8d8d8700000000000dcd8507070200000000000aca8a8f870500000"
    "000000cc78303078cc0000000000cccc783030780000000000f8d83060d8f800000000706060606060607000"
    "0000808040402020101000000070303030303030700000002070d800000000000000000000000000000000fc"
    "00006020100000000000000000000070d878d8fc00000000c0c0f0d8d8d8f000000000000070d8c0d8700000"
    "0000381878d8d8d87c00000000000070d8f8c078000000003860f8606060f80000000000006cd8d8d87818f0"
    "0000c0c0f0d8d8d8d8000000003000f0303030fc000000003000f03030303030e00000c0c0d8f0e0f0dc0000"
    "0000f03030303030fc000000000000f0f8a8a8a8000000000000b0d8d8d8d800000000000070d8d8d8700000"
    "00000000f0d8d8d8f0c0e0000000006cd8d8d878183c00000000dc746060f000000000000078e0781cf80000"
    "00006060f860606c38000000000000d8d8d8d87c000000000000d8d8707020000000000000aca8f878500000"
    "00000000ec783078dc000000000000dcd8d8507060c000000000f8b060d8f800000000183030603030301800"
    "00000020202020202020000000c0606030606060c0000000000068b00000000000"
)


def _label_glyphs() -> dict:
    rows = np.frombuffer(bytes.fromhex(_LABEL_GLYPHS), np.uint8).reshape(95, 11, 1)
    bits = np.unpackbits(rows, axis=2)[:, :, :6].astype(bool)
    return {chr(32 + i): bits[i] for i in range(95)}


#: 3x5 pixels and a blank column: numbers in heatmap cells.
SMALL = BitmapFont(
    {c: np.array([int(b) for b in bits], bool).reshape(5, 3) for c, bits in _SMALL_GLYPHS.items()},
    gap=1,
    upper=True,
)
#: 6x11 pixels (the spacing is inside the glyphs): labels.
LABEL = BitmapFont(_label_glyphs(), gap=0)
