"""GIF frames: palette quantization that is deterministic (same frame, same bytes)."""

from __future__ import annotations

import numpy as np
from PIL import Image

#: Pixels with alpha below this become the GIF's transparent index (GIF alpha is 1-bit).
ALPHA_THRESHOLD = 128
_TRANSPARENT = 255


def _palette_for(colours: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray | None]:
    """A palette of at most ``count`` entries for ``(N, 3)`` colours, and their indices
    when the palette is exact (None when the colours had to be quantized)."""
    unique, inverse = np.unique(colours, axis=0, return_inverse=True)
    if len(unique) <= count:
        return unique, inverse.reshape(-1)
    strip = Image.frombytes("RGB", (len(colours), 1), np.ascontiguousarray(colours).tobytes())
    reduced = strip.quantize(count, method=Image.Quantize.MEDIANCUT)
    entries = np.frombuffer(bytes(reduced.getpalette() or []), np.uint8).reshape(-1, 3)
    return entries[:count], None


def palette_frame(array: np.ndarray, layout: str) -> Image.Image:
    """An 8-bit ``(H, W, C)`` frame as a Pillow ``P`` image for GIF.

    A frame of at most 256 colours (255 and a transparent index when it has alpha) keeps
    them exactly; a frame of more is reduced by median cut with Floyd-Steinberg
    dithering. Both are deterministic. Alpha below :data:`ALPHA_THRESHOLD` becomes the
    transparent index.

    Examples
    --------
    >>> import numpy as np
    >>> frame = np.array([[[255, 0, 0, 255], [0, 0, 255, 0]]], np.uint8)
    >>> image = palette_frame(frame, "RGBA")
    >>> image.mode, image.info["transparency"], np.asarray(image.convert("RGBA")).tolist()
    ('P', 255, [[[255, 0, 0, 255], [0, 0, 0, 0]]])
    """
    height, width, _ = array.shape
    alpha = array[:, :, -1] if layout.endswith("A") else None
    colour = array[:, :, :3] if layout.startswith("RGB") else np.repeat(array[:, :, :1], 3, 2)
    transparent = np.zeros((height, width), bool) if alpha is None else alpha < ALPHA_THRESHOLD
    count = 256 if alpha is None else _TRANSPARENT
    visible = colour[~transparent]
    if len(visible):
        palette, exact = _palette_for(visible, count)
    else:
        palette, exact = np.zeros((1, 3), np.uint8), np.zeros(0, np.intp)
    indices = np.zeros((height, width), np.uint8)
    if exact is not None:
        indices[~transparent] = exact
    else:
        padded = np.concatenate([palette, np.repeat(palette[-1:], 256 - len(palette), 0)])
        target = Image.new("P", (1, 1))
        target.putpalette(padded.reshape(-1).tolist())
        rgb = Image.frombytes("RGB", (width, height), np.ascontiguousarray(colour).tobytes())
        mapped = np.asarray(rgb.quantize(palette=target, dither=Image.Dither.FLOYDSTEINBERG))
        indices = np.minimum(mapped, len(palette) - 1).astype(np.uint8)  # padding = last
    frame = Image.frombytes("P", (width, height), indices.tobytes())
    entries = np.zeros((256, 3), np.uint8)
    entries[: len(palette)] = palette
    frame.putpalette(entries.reshape(-1).tolist())
    if alpha is not None:
        indices[transparent] = _TRANSPARENT
        frame = Image.frombytes("P", (width, height), indices.tobytes())
        frame.putpalette(entries.reshape(-1).tolist())
        frame.info["transparency"] = _TRANSPARENT
    return frame
