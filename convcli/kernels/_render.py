"""Showing a kernel: the matrix as text, and a heatmap as an RGB array (for ``--png``).

The heatmap has one square cell per tap on one colour scale for the whole kernel: red
for positive, blue for negative, white for zero (a kernel without negative taps uses the
white-to-red half). Bank members and the slices of a 4-D layer are drawn side by side
with their labels; the caption gives the name, the shape, the sum, the range, and a
colour bar. Pure NumPy, so the result is byte-identical for the same kernel; the CLI
writes it with :func:`convcli.images.write_image`.
"""

from __future__ import annotations

import numpy as np

from convcli._text import SMALL
from convcli.kernels._kernel import Kernel

_RED = np.array([178.0, 24.0, 43.0])
_BLUE = np.array([33.0, 102.0, 172.0])
_WHITE = np.array([255.0, 255.0, 255.0])
_INK = np.array([0, 0, 0], np.uint8)
_GRID = np.array([200, 200, 200], np.uint8)
_MARGIN, _GAP, _LINE = 10, 12, 2 * SMALL.height + 6


def number(value: float, digits: int = 6) -> str:
    """A tap value in at most ``digits`` significant digits (``-1``, ``0.0625``, ``1.5e-07``).

    Examples
    --------
    >>> number(-1.0), number(1 / 16), number(0.1 + 0.2), number(2 / 3, 3)
    ('-1', '0.0625', '0.3', '0.667')
    """
    text = f"{float(value):.{digits}g}"
    return "0" if text == "-0" else text


def stats(values: np.ndarray) -> str:
    """``sum S  min A  max B``; a sum within rounding of zero reads 0.

    Examples
    --------
    >>> stats(np.array([0.1, 0.2, -0.3]))
    'sum 0  min -0.3  max 0.2'
    """
    total = float(values.sum())
    if abs(total) <= 1e-12 * float(np.abs(values).sum()):
        total = 0.0
    return f"sum {number(total)}  min {number(values.min())}  max {number(values.max())}"


def tiles(kernel: Kernel) -> list[tuple[str, np.ndarray]]:
    """The 2-D matrices that make up ``kernel``, each with a label."""
    if kernel.is_bank:
        found = []
        for member in kernel.members:
            found += [(f"{member.name} {label}".strip(), w) for label, w in tiles(member)]
        return found
    if kernel.is_depthwise:
        return [("", kernel.weight)]
    return [
        (f"out {o} in {i}", kernel.weight[o, i])
        for o in range(kernel.shape[0])
        for i in range(kernel.shape[1])
    ]


def summary(kernel: Kernel) -> list[str]:
    """Header lines: name, shape, kind, source; description; sum and range."""
    shape = "x".join(str(n) for n in kernel.shape)
    lines = [f"{kernel.name}  {shape}  {kernel.kind}  ({kernel.source})"]
    if kernel.description:
        lines.append(kernel.description)
    if kernel.is_bank:
        lines.append(f"bank of {len(kernel.members)}, combine: {kernel.combine}")
    else:
        lines.append(stats(kernel.weight))
    extras = [f"normalize: {str(kernel.normalize).lower()}"] if kernel.normalize else []
    extras += [f"scale: {number(kernel.scale)}"] if kernel.scale != 1 else []
    extras += [f"offset: {number(kernel.offset)}"] if kernel.offset != 0 else []
    extras += [f"groups: {kernel.groups}"] if kernel.groups != 1 else []
    if kernel.bias is not None:
        extras.append("bias: " + " ".join(number(b) for b in kernel.bias))
    if extras:
        lines.append("  ".join(extras))
    return lines


def matrix_text(kernel: Kernel) -> str:
    """The kernel as text: :func:`summary` then every matrix, columns aligned.

    Examples
    --------
    >>> print(matrix_text(Kernel("k", [[0, -1], [2.5, 1]], source="inline")))
    k  2x2  matrix  (inline)
    sum 2.5  min -1  max 2.5
      0   -1
    2.5    1
    """
    out = summary(kernel)
    for label, w in tiles(kernel):
        if label:
            out += ["", f"[{label}]"]
        cells = [[number(v) for v in row] for row in w]
        width = max(len(c) for row in cells for c in row)
        out += ["  ".join(c.rjust(width) for c in row) for row in cells]
    return "\n".join(out)


def colours(values: np.ndarray, vmax: float) -> np.ndarray:
    """RGB floats for ``values`` on the diverging scale ``[-vmax, vmax]``.

    Examples
    --------
    >>> colours(np.array([-1.0, 0.0, 1.0]), 1.0).astype(int).tolist()
    [[33, 102, 172], [255, 255, 255], [178, 24, 43]]
    """
    t = np.clip(values / vmax, -1.0, 1.0)[..., None] if vmax > 0 else np.zeros(values.shape + (1,))
    ends = np.where(t < 0, _BLUE, _RED)
    return _WHITE + np.abs(t) * (ends - _WHITE)


def _draw_text(canvas: np.ndarray, text: str, top: int, left: int, scale: int = 2, ink=_INK):
    mask = SMALL.mask(text, scale)
    h, w = mask.shape
    w = min(w, canvas.shape[1] - left)
    canvas[top : top + h, left : left + w][mask[:, :w]] = ink


def fitted_labels(labels: list[str], width: int, scale: int) -> list[str]:
    """``labels`` that fit ``width`` pixels: the comma-separated parts every label shares
    are dropped (``gabor:...,theta=45,...`` becomes ``theta=45``), then, if still too wide,
    each keeps its end.

    Examples
    --------
    >>> fitted_labels(["g:s=3,theta=0,w=8", "g:s=3,theta=90,w=8"], 60, 1)
    ['theta=0', 'theta=90']
    """

    def fits(text: str) -> bool:
        return SMALL.text_width(text, scale) <= width

    if all(fits(label) for label in labels):
        return labels
    split = [label.split(",") for label in labels]
    common = set.intersection(*(set(parts) for parts in split)) if len(split) > 1 else set()
    short = [
        ",".join(p for p in parts if p not in common) or label
        for parts, label in zip(split, labels, strict=True)
    ]
    keep = max(1, (width // scale + 1) // (SMALL.width + SMALL.gap))
    return [text if fits(text) else text[-keep:] for text in short]


def heatmap(kernel: Kernel) -> np.ndarray:
    """An ``(H, W, 3)`` uint8 heatmap of ``kernel`` with a caption.

    Examples
    --------
    >>> image = heatmap(Kernel("k", [[-1.0, 0.0, 1.0]]))
    >>> image.dtype, image.shape[2]
    (dtype('uint8'), 3)
    """
    parts = tiles(kernel)
    rows = kernel.shape[0] if not kernel.is_bank and not kernel.is_depthwise else 1
    cols = len(parts) // rows
    kh = max(w.shape[0] for _, w in parts)
    kw = max(w.shape[1] for _, w in parts)
    cell = int(np.clip(480 // max(kh * rows, kw * cols, 1), 1, 48))
    labelled = any(label for label, _ in parts)
    # Values in the cells when every one fits (only small kernels have cells that wide).
    show_values = cell >= 12 and all(
        SMALL.text_width(number(v, 3)) <= cell - 4 for _, w in parts for v in w.ravel()
    )
    tile_h, tile_w = kh * cell + (_LINE if labelled else 0), kw * cell
    values = np.concatenate([w.ravel() for _, w in parts])
    vmax = float(np.abs(values).max())
    if kernel.is_bank:
        second = (
            f"{kernel.combine} of {len(kernel.members)}  min {number(values.min())}  "
            f"max {number(values.max())}"
        )
    else:
        second = stats(values)
    caption = summary(kernel)[:1] + [second]
    caption_w = max(SMALL.text_width(line, 2) for line in caption)
    width = 2 * _MARGIN + max(cols * tile_w + (cols - 1) * _GAP, caption_w, 200)
    height = 2 * _MARGIN + rows * tile_h + (rows - 1) * _GAP + _GAP + 3 * _LINE + 10
    canvas = np.full((height, width, 3), 255, np.uint8)
    scale = 1 if cell * kw < 80 else 2
    labels = fitted_labels([label for label, _ in parts], tile_w + _GAP - 4, scale)
    for n, ((_, w), label) in enumerate(zip(parts, labels, strict=True)):
        top = _MARGIN + (n // cols) * (tile_h + _GAP)
        left = _MARGIN + (n % cols) * (tile_w + _GAP)
        if labelled:
            _draw_text(canvas, label, top, left, scale=scale)
            top += _LINE
        _draw_cells(canvas, w, vmax, cell, top, left, show_values)
    top = _MARGIN + rows * tile_h + (rows - 1) * _GAP + _GAP
    for line in caption:
        _draw_text(canvas, line, top, _MARGIN)
        top += _LINE
    _colour_bar(canvas, vmax, top, _MARGIN, signed=bool(values.min() < 0))
    return canvas


def _draw_cells(canvas, w, vmax, cell, top, left, show_values):
    rgb = np.rint(colours(w, vmax)).astype(np.uint8)
    block = rgb.repeat(cell, axis=0).repeat(cell, axis=1)
    if cell >= 6:  # a grid line between taps
        block[::cell, :] = _GRID
        block[:, ::cell] = _GRID
    canvas[top : top + block.shape[0], left : left + block.shape[1]] = block
    if cell >= 6:
        canvas[top + block.shape[0], left : left + block.shape[1] + 1] = _GRID
        canvas[top : top + block.shape[0] + 1, left + block.shape[1]] = _GRID
    if not show_values:
        return
    for (r, c), v in np.ndenumerate(w):
        text = number(v, 3)
        ink = np.array([255, 255, 255] if abs(v) > 0.6 * vmax else [0, 0, 0], np.uint8)
        x = left + c * cell + (cell - SMALL.text_width(text)) // 2
        _draw_text(canvas, text, top + r * cell + (cell - SMALL.height) // 2, x, 1, ink)


def _colour_bar(canvas, vmax, top, left, signed):
    low = -vmax if signed else 0.0
    ramp = np.linspace(low, vmax, 160)
    bar = np.rint(colours(ramp, vmax)).astype(np.uint8)
    label = number(low)
    _draw_text(canvas, label, top + 1, left)
    x = left + SMALL.text_width(label, 2) + 6
    canvas[top : top + 12, x : x + ramp.size] = bar[None, :, :]
    _draw_text(canvas, number(vmax), top + 1, x + ramp.size + 6)
