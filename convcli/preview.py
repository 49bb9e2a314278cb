"""Contact sheets for ``convcli preview``: tiles side by side, each with a label.

Composed in NumPy, with labels drawn from a small built-in 6x11 bitmap font, so the sheet
needs no font library and is byte-identical on every machine (FreeType rendering differs
between versions). The glyphs are those of Pillow's built-in bitmap font
(``PIL.ImageFont.load_default_imagefont()``, HPND licence), printable ASCII only.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from convcli.mapping import map_output, to_working

GLYPH_W, GLYPH_H = 6, 11
# 95 glyphs (ASCII 32..126), 11 rows of one byte each (the top 6 bits are pixels), in hex.
_GLYPHS = (
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
BACKGROUND = 255
INK = 0
MARGIN = 8
CHECKER = (204, 153)
LABEL_CHARS = 40  # longer labels are shortened with ...


@lru_cache(maxsize=1)
def _font() -> np.ndarray:
    rows = np.frombuffer(bytes.fromhex(_GLYPHS), np.uint8).reshape(95, GLYPH_H, 1)
    bits = np.unpackbits(rows, axis=2)[:, :, :GLYPH_W]
    return bits.astype(bool)


def render_text(text: str, scale: int = 1) -> np.ndarray:
    """``text`` as a boolean bitmap ``(11 * scale, 6 * scale * len(text))``; ink is True.

    Characters outside printable ASCII are drawn as ``?``.

    Examples
    --------
    >>> bitmap = render_text("T")
    >>> bitmap.shape
    (11, 6)
    >>> print("\\n".join("".join("#" if v else "-" for v in row) for row in bitmap[2:9]))
    ------
    #####-
    -##-#-
    -##---
    -##---
    -##---
    ####--
    """
    codes = [ord(c) if 32 <= ord(c) < 127 else ord("?") for c in text]
    if not codes:
        return np.zeros((GLYPH_H * scale, 0), bool)
    bitmap = np.concatenate([_font()[c - 32] for c in codes], axis=1)
    return np.kron(bitmap, np.ones((scale, scale), bool)).astype(bool)


def to_display(frame: np.ndarray, layout: str) -> np.ndarray:
    """Any frame as 8-bit RGB for viewing: grey repeated, alpha over a checkerboard.

    Examples
    --------
    >>> import numpy as np
    >>> to_display(np.full((1, 2, 2), 65535, np.uint16), "LA")[0, 0].tolist()
    [255, 255, 255]
    >>> to_display(np.array([[[255, 0, 0, 0]]], np.uint8), "RGBA")[0, 0].tolist()
    [204, 204, 204]
    """
    frame = np.asarray(frame)
    if frame.ndim == 2:
        frame = frame[:, :, None]
    work = to_working(frame, np.uint8, np.float32)
    if layout == "CMYK":
        work = (255 - work[..., :3]) * (255 - work[..., 3:]) / 255
        layout = "RGB"
    alpha = None
    if layout.endswith("A"):
        work, alpha = work[..., :-1], work[..., -1:] / 255
    rgb = np.repeat(work[..., :1], 3, axis=2) if work.shape[2] < 3 else work[..., :3]
    if alpha is not None:
        h, w = rgb.shape[:2]
        yy, xx = np.mgrid[:h, :w]
        board = np.where(((yy // 8) + (xx // 8)) % 2 == 0, *CHECKER)[..., None]
        rgb = rgb * alpha + board * (1 - alpha)
    return map_output(rgb, np.uint8)


def _label_bitmap(label: str, width: int, scale: int) -> np.ndarray:
    fits = max(1, width // (GLYPH_W * scale))
    if len(label) > fits:
        label = label[: max(0, fits - 3)] + "..." if fits > 3 else label[:fits]
    return render_text(label, scale)


def contact_sheet(tiles, labels, columns: int = 4) -> np.ndarray:
    """Tiles (8-bit RGB arrays) in a grid, each with its label above it.

    Cells are as large as the largest tile (and wide enough for labels of up to 40
    characters); smaller tiles are centred. Longer labels are shortened with ``...``.
    Labels grow (2x, 3x) on large tiles.

    Examples
    --------
    >>> import numpy as np
    >>> tiles = [np.zeros((20, 30, 3), np.uint8), np.full((10, 10, 3), 9, np.uint8)]
    >>> contact_sheet(tiles, ["a", "b"], columns=1).shape
    (94, 46, 3)
    """
    cell_h = max(t.shape[0] for t in tiles)
    cell_w = max(t.shape[1] for t in tiles)
    scale = int(min(3, max(1, cell_w // 320)))
    longest = min(LABEL_CHARS, max(len(label) for label in labels))
    cell_w = max(cell_w, longest * GLYPH_W * scale)  # room for labels on small images
    band = GLYPH_H * scale + MARGIN // 2
    columns = min(columns, len(tiles))
    rows = -(-len(tiles) // columns)
    height = MARGIN + rows * (band + cell_h + MARGIN)
    width = MARGIN + columns * (cell_w + MARGIN)
    sheet = np.full((height, width, 3), BACKGROUND, np.uint8)
    for index, (tile, label) in enumerate(zip(tiles, labels, strict=True)):
        top = MARGIN + (index // columns) * (band + cell_h + MARGIN)
        left = MARGIN + (index % columns) * (cell_w + MARGIN)
        text = _label_bitmap(label, cell_w, scale)
        sheet[top : top + text.shape[0], left : left + text.shape[1]][text] = INK
        y = top + band + (cell_h - tile.shape[0]) // 2
        x = left + (cell_w - tile.shape[1]) // 2
        sheet[y : y + tile.shape[0], x : x + tile.shape[1]] = tile
    return sheet


def preview_sheet(frame, layout, kernels, labels, options, columns: int = 4) -> np.ndarray:
    """The input and each kernel's result (each kernel alone), as a labelled sheet.

    Parameters
    ----------
    frame : ndarray
        ``(H, W, C)`` image.
    layout : str
        Its channel layout (``L``, ``RGB``, ``RGBA`` ...).
    kernels : sequence of Kernel
    labels : sequence of str
        One per kernel (the spec it came from).
    options : FilterOptions
        Shared by every tile; the sheet is 8-bit whatever ``options.depth`` says.
    columns : int
        Tiles per row.

    Returns
    -------
    ndarray
        ``(H', W', 3)`` uint8.

    Examples
    --------
    >>> import numpy as np
    >>> from convcli.pipeline import FilterOptions
    >>> img = np.zeros((16, 16, 1), np.uint8)
    >>> preview_sheet(img, "L", [np.ones((3, 3)) / 9], ["box"], FilterOptions()).shape
    (47, 84, 3)
    """
    import dataclasses

    from convcli.pipeline import as_kernels, filter_frame

    options = dataclasses.replace(options, depth="8")
    tiles = [to_display(frame, layout)]
    for kernel, label in zip(as_kernels(kernels), labels, strict=True):
        out, out_layout = filter_frame(frame, (kernel,), layout, options, f"'{label}'")
        tiles.append(to_display(out, out_layout))
    return contact_sheet(tiles, ["input", *labels], columns)
