"""GIF frames: palette quantization that is deterministic (same frame, same bytes)."""

from __future__ import annotations

import numpy as np
from PIL import Image

#: Pixels with alpha below this become the GIF's transparent index (GIF alpha is 1-bit).
ALPHA_THRESHOLD = 128
_TRANSPARENT = 255


def palette_frame(array: np.ndarray, layout: str) -> Image.Image:
    """An 8-bit ``(H, W, C)`` frame as a Pillow ``P`` image for GIF.

    Colour frames are quantized with median cut (255 colours and one transparent index
    when there is alpha, else 256) and Floyd-Steinberg dithering: both deterministic, and
    exact for a frame of at most that many colours. Grey frames without alpha keep all
    256 levels.
    """
    height, width, channels = array.shape
    if layout == "L":
        return Image.frombytes("L", (width, height), array[:, :, 0].tobytes())
    alpha = array[:, :, -1] if layout.endswith("A") else None
    colour = array[:, :, :3] if layout.startswith("RGB") else np.repeat(array[:, :, :1], 3, 2)
    rgb = Image.frombytes("RGB", (width, height), np.ascontiguousarray(colour).tobytes())
    if alpha is None:
        return rgb.quantize(
            256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG
        )
    transparent = alpha < ALPHA_THRESHOLD
    if transparent.all():
        quantized = Image.new("P", (width, height), 0)
        quantized.putpalette([0, 0, 0])
    else:
        # quantize only the visible pixels' colours: transparent ones must not take entries
        visible = colour[~transparent]
        strip = Image.frombytes("RGB", (visible.shape[0], 1), visible.tobytes())
        palette_image = strip.quantize(255, method=Image.Quantize.MEDIANCUT)
        quantized = rgb.quantize(palette=palette_image, dither=Image.Dither.FLOYDSTEINBERG)
    indices = np.asarray(quantized).copy()
    indices[transparent] = _TRANSPARENT
    palette = (quantized.getpalette() or [])[: 3 * _TRANSPARENT]
    palette += [0] * (3 * 256 - len(palette))
    frame = Image.frombytes("P", (width, height), indices.tobytes())
    frame.putpalette(palette)
    frame.info["transparency"] = _TRANSPARENT
    return frame
