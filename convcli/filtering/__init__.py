"""Filtering one image: options, a frame through a kernel chain, sample levels, bands of rows.

Composes the engine (:mod:`convcli.engine`) and the kernels (:mod:`convcli.kernels`) for one
image held as arrays. It owns:

- :class:`FilterOptions`: every option of a filter run, validated once;
- :func:`filter_image`: the public entry point (``_image``), by bands as ``convcli apply``;
- :func:`filter_frame`: one frame through the chain (``_frame``), the responses of kernels
  and banks (``_responses``), sample levels and output maps (``_levels``);
- linear light and lightness-only filtering (``_light``, colour maths in ``_colour``) and
  the thresholded unsharp step (``_unsharp``);
- :func:`filter_frame_by_rows`: the same result band by band (``_bands``);
- :func:`preview_sheet`: the contact sheet of ``convcli preview`` (``_preview``);
- :func:`load_kernel`: the kernel registry's, with image kernels readable (``_kernel_images``).

No file I/O lives here: reading and writing is :mod:`convcli.images`, one file to another is
:mod:`convcli.batch`.
"""

from convcli.filtering import _kernel_images  # noqa: F401  (installs the image-kernel reader)
from convcli.filtering._bands import filter_frame_by_rows
from convcli.filtering._frame import as_kernels, filter_frame
from convcli.filtering._image import filter_image
from convcli.filtering._options import FilterOptions
from convcli.filtering._preview import preview_sheet
from convcli.filtering._responses import chain_weights
from convcli.kernels import load_kernel  # with the image-kernel reader installed

__all__ = [
    "FilterOptions",
    "as_kernels",
    "chain_weights",
    "filter_frame",
    "filter_frame_by_rows",
    "filter_image",
    "load_kernel",
    "preview_sheet",
]
