"""Filtering one image: options, a frame through a kernel chain, sample levels, bands of rows.

Composes the engine (:mod:`convcli.engine`) and the kernels (:mod:`convcli.kernels`) for one
image held as arrays. It owns:

- :class:`FilterOptions`: every option of a filter run, validated once;
- :func:`filter_image` / :func:`filter_frame`: one frame through the chain (``_frame``), the
  responses of kernels and banks (``_responses``), sample levels and output maps (``_levels``);
- linear light and lightness-only filtering (``_light``, colour maths in ``_colour``) and
  the thresholded unsharp step (``_unsharp``);
- :func:`filter_frame_by_rows`: the same result band by band (``_bands``);
- :func:`preview_sheet`: the contact sheet of ``convcli preview`` (``_preview``).

No file I/O lives here: reading and writing is :mod:`convcli.images`, one file to another is
:mod:`convcli.batch`.
"""

from convcli.filtering._bands import filter_frame_by_rows
from convcli.filtering._frame import FilterOptions, as_kernels, filter_frame, filter_image
from convcli.filtering._preview import preview_sheet

__all__ = [
    "FilterOptions",
    "as_kernels",
    "filter_frame",
    "filter_frame_by_rows",
    "filter_image",
    "preview_sheet",
]
