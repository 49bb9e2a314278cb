"""Contact sheets for ``convcli preview``: tiles side by side, each with a label.

Composed in NumPy, with labels in the 6x11 bitmap font of :mod:`convcli._text`, so the
sheet needs no font library and is byte-identical on every machine.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from convcli._text import LABEL
from convcli.filtering._frame import as_kernels, filter_frame
from convcli.filtering._levels import map_output, to_working

BACKGROUND = 255
INK = 0
MARGIN = 8
CHECKER = (204, 153)
LABEL_CHARS = 40  # longer labels are shortened with ...


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
    fits = max(1, width // (LABEL.width * scale))
    if len(label) > fits:
        label = label[: max(0, fits - 3)] + "..." if fits > 3 else label[:fits]
    return LABEL.mask(label, scale)


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
    cell_w = max(cell_w, longest * LABEL.width * scale)  # room for labels on small images
    band = LABEL.height * scale + MARGIN // 2
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
    >>> from convcli.filtering._frame import FilterOptions
    >>> img = np.zeros((16, 16, 1), np.uint8)
    >>> preview_sheet(img, "L", [np.ones((3, 3)) / 9], ["box"], FilterOptions()).shape
    (47, 84, 3)
    """
    options = dataclasses.replace(options, depth="8")
    tiles = [to_display(frame, layout)]
    for kernel, label in zip(as_kernels(kernels), labels, strict=True):
        out, out_layout = filter_frame(frame, (kernel,), layout, options, f"'{label}'")
        tiles.append(to_display(out, out_layout))
    return contact_sheet(tiles, ["input", *labels], columns)
