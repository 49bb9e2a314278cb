"""Is an image's colour sRGB? The ICC check behind ``--linear`` and ``--channels lightness``.

Linear light and lightness decode the samples with the sRGB curve. That is right for an
image without an ICC profile (the web's default) or with an sRGB profile, and wrong for
Adobe RGB, Display P3, ProPhoto, a gamma-1.8 grey ... convcli refuses those with a message
saying how to convert them, rather than converting through the profile itself: Pillow's
LittleCMS transforms work on 8-bit samples (a 16-bit image would pass through 8 bits,
the banding the issue forbids) and a wide-gamut image would lose its gamut in sRGB.

Whether a profile is sRGB is decided by LittleCMS (Pillow's ``ImageCms``), not by its
name: a test pattern (every grey level and a 9x9x9 colour cube) is transformed from the
profile to LittleCMS's built-in sRGB (relative colorimetric); the profile is sRGB when no
sample moves by more than 2 levels of 255 (sRGB profiles store their curves as tables, so
they differ from the formula by a level here and there).
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image, ImageCms

from convcli.errors import ImageError

#: Largest difference (8-bit levels) between a profile and sRGB that still counts as sRGB.
TOLERANCE = 2


def _pattern() -> np.ndarray:
    grey = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    steps = np.linspace(0, 255, 9).round().astype(np.uint8)
    cube = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), axis=-1).reshape(-1, 3)
    return np.concatenate([grey, cube])[None]  # (1, N, 3)


@functools.lru_cache(maxsize=16)
def profile_problem(icc: bytes) -> str | None:
    """None when ``icc`` (an ICC profile's bytes) describes sRGB colour (RGB or grey with
    the sRGB curve), else why not, in a few words naming the profile.

    Examples
    --------
    >>> from PIL import ImageCms
    >>> srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    >>> profile_problem(srgb) is None
    True
    >>> profile_problem(b"not a profile")
    'an ICC profile that cannot be read'
    """
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = ImageCms.getProfileDescription(profile).strip() or "unnamed"
    except (OSError, ImageCms.PyCMSError, ValueError, TypeError):
        return "an ICC profile that cannot be read"
    space = bytes(icc[16:20])
    srgb = ImageCms.createProfile("sRGB")
    pattern = _pattern()
    try:
        if space == b"GRAY":
            source = Image.fromarray(np.ascontiguousarray(pattern[..., 0]), "L")
            transform = ImageCms.buildTransform(
                profile, srgb, "L", "RGB", ImageCms.Intent.RELATIVE_COLORIMETRIC
            )
            expected = pattern[..., :1].repeat(3, axis=2)
        elif space == b"RGB ":
            source = Image.fromarray(pattern, "RGB")
            transform = ImageCms.buildTransform(
                profile, srgb, "RGB", "RGB", ImageCms.Intent.RELATIVE_COLORIMETRIC
            )
            expected = pattern
        else:
            return f"the {space.decode('latin-1').strip()} ICC profile {description!r}"
        result = np.asarray(ImageCms.applyTransform(source, transform))
    except (OSError, ImageCms.PyCMSError, ValueError) as exc:
        return f"the ICC profile {description!r}, which LittleCMS cannot use ({exc})"
    difference = int(np.abs(result.astype(np.int16) - expected).max())
    if difference > TOLERANCE:
        return f"the ICC profile {description!r}, which is not sRGB"
    return None


def check_srgb(metadata: dict, name: str, what: str) -> None:
    """Refuse an image whose ICC profile (``metadata['icc_profile']``) is not sRGB.

    Parameters
    ----------
    metadata : dict
        The :class:`~convcli.images.ImageData` metadata.
    name : str
        How the message names the image.
    what : str
        The option that needs sRGB (``--linear``).

    Raises
    ------
    ImageError
        One line naming the image, its profile, and how to convert it.
    """
    icc = metadata.get("icc_profile")
    if not icc:
        return
    problem = profile_problem(bytes(icc))
    if problem:
        raise ImageError(
            f"{name} has {problem}; {what} decodes sRGB only: convert the image to sRGB "
            "first (e.g. 'convert IN -profile sRGB.icc OUT' with ImageMagick, or Pillow's "
            f"ImageCms.profileToProfile), or leave out {what}"
        )
