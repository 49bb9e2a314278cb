"""Option groups shared by ``apply``, ``preview`` and the batch form: one decorator.

``@conv_options`` adds the kernel, geometry, alpha and output-mapping options to a
command and hands the command one :class:`ConvSettings` argument (``conv``) instead of a
dozen keyword arguments. Nothing heavy is imported here: NumPy and the pipeline load when
``ConvSettings.resolve()`` runs, inside the command.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import click

from convcli.choices import (
    ALPHA_MODES,
    CHANNEL_MODES,
    DEPTHS,
    NAN_POLICIES,
    OUTPUT_MAPS,
    PADDING_ALIASES,
    PADDING_MODES,
    PADDING_WORDS,
)


class IntPair(click.ParamType):
    """``N`` or ``H,W`` (both integers), as an int or a pair; ``words`` also accepted."""

    def __init__(self, minimum: int, words: tuple[str, ...] = ()):
        self.minimum = minimum
        self.words = words
        self.name = "|".join((*words, "N", "H,W"))

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        text = value.strip().lower()
        if text in self.words:
            return text
        parts = text.replace("x", ",").split(",")
        try:
            numbers = [int(p) for p in parts]
        except ValueError:
            numbers = []
        if len(numbers) not in (1, 2) or min(numbers) < self.minimum:
            least = "positive" if self.minimum else "non-negative"
            words = "".join(f"'{w}', " for w in self.words)
            self.fail(f"{value!r} is not {words}a {least} integer N or a pair H,W", param, ctx)
        return numbers[0] if len(numbers) == 1 else tuple(numbers)

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        return [CompletionItem(w) for w in self.words if w.startswith(incomplete)]


class PaddingMode(click.ParamType):
    """A padding mode or alias, checked by the engine (which explains 'mirror')."""

    name = "|".join(PADDING_MODES)

    def convert(self, value, param, ctx):
        from convcli.engine._padding import normalize_padding_mode
        from convcli.errors import ParameterError

        try:
            return normalize_padding_mode(value)
        except ParameterError as exc:
            self.fail(str(exc), param, ctx)

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        return [CompletionItem(m) for m in PADDING_MODES if m.startswith(incomplete)]


def complete_kernel(ctx, param, incomplete):
    """Shell completion for ``--kernel``: kernel names (also from --kernel-path), or files."""
    from click.shell_completion import CompletionItem

    if "/" in incomplete or incomplete.startswith((".", "~")):
        return [CompletionItem(incomplete, type="file")]
    from convcli.kernels import list_kernels

    search = list(ctx.params.get("kernel_path") or ()) or None
    names = sorted({entry.name for entry in list_kernels(search)})
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


@dataclass(frozen=True)
class ConvSettings:
    """What the shared options say, before kernels are loaded."""

    kernels: tuple[str, ...]
    kernel_path: tuple[str, ...]
    filter_options: dict

    def load_kernels(self) -> tuple:
        """Resolve every ``--kernel`` spec (``--kernel-path`` directories searched first)."""
        from convcli.filtering import load_kernel  # image kernels readable

        search = list(self.kernel_path) or None
        return tuple(load_kernel(spec, search_path=search) for spec in self.kernels)

    def options(self, **changes):
        """The :class:`~convcli.filtering._frame.FilterOptions` (with ``changes`` applied)."""
        from convcli.filtering._frame import FilterOptions

        return FilterOptions.from_kwargs(**{**self.filter_options, **changes})


_OPTIONS = [
    click.option(
        "-k",
        "--kernel",
        "kernels",
        multiple=True,
        required=True,
        metavar="SPEC",
        shell_complete=complete_kernel,
        help="Kernel to apply: a name (gaussian:sigma=2, sobel), a file (.json, .npy, "
        ".npz, .mat) or inline ('[[1,2,1]]'). Repeat to apply several in order "
        "(one rounding at the end).",
    ),
    click.option(
        "--kernel-path",
        "kernel_path",
        multiple=True,
        metavar="DIR",
        type=click.Path(file_okay=False),
        help="Directory searched for kernel files before the built-ins (repeatable; "
        "also $CONVCLI_KERNEL_PATH).",
    ),
    click.option(
        "--padding-mode",
        "-m",
        type=PaddingMode(),
        default="reflect",
        metavar="MODE",
        show_default=True,
        help="Border handling, PyTorch names: zeros, reflect (cb|abcd|cb), replicate, "
        "circular, symmetric (ba|abcd|dc); aliases "
        + ", ".join(PADDING_ALIASES)
        + " (constant: see --pad-value).",
    ),
    click.option(
        "--pad-value",
        "padding_value",
        type=float,
        metavar="V",
        default=0.0,
        show_default=True,
        help="Border value of -m constant, in the input's grey levels (255 is white in "
        "8-bit, 65535 in 16-bit, 1.0 in float), whatever --depth.",
    ),
    click.option(
        "--convolve",
        is_flag=True,
        help="True convolution: turn every kernel by 180 degrees (as scipy.ndimage."
        "convolve, MATLAB conv2). Default: cross-correlation, as PyTorch, OpenCV filter2D.",
    ),
    click.option(
        "--padding",
        "-p",
        type=IntPair(0, PADDING_WORDS),
        default="same",
        show_default=True,
        help="Pixels added per side: 'same' keeps the size (with --stride S: "
        "ceil(size/S)), 'valid' adds none, N or H,W.",
    ),
    click.option(
        "--stride",
        "-s",
        type=IntPair(1),
        default="1",
        show_default=True,
        help="Step between output pixels: N or H,W (2 halves the size).",
    ),
    click.option(
        "--dilation",
        "-d",
        type=IntPair(1),
        default="1",
        show_default=True,
        help="Spacing between kernel taps: N or H,W (atrous convolution).",
    ),
    click.option(
        "--normalize/--no-normalize",
        default=None,
        help="Divide each kernel by its sum (default: as the kernel says).",
    ),
    click.option(
        "--channel-mode",
        type=click.Choice(CHANNEL_MODES),
        default="per-channel",
        show_default=True,
        help="per-channel: a 2-D kernel filters each channel alone; cross: it is "
        "expanded across channels (weight.expand(C, C, kH, kW)).",
    ),
    click.option(
        "--alpha",
        type=click.Choice(ALPHA_MODES),
        default=None,
        help="premultiply: filter colour*alpha with alpha (no dark fringes; default "
        "for blur-like kernels); preserve: keep alpha (default for edge "
        "kernels); channel: alpha is an ordinary channel (default for 4-D).",
    ),
    click.option(
        "--output-map",
        type=click.Choice(OUTPUT_MAPS),
        default="clip",
        show_default=True,
        help="Out-of-range values: clip, abs (edge magnitudes), normalize (min..max "
        "to the full range), offset (add mid-grey: 128 for 8-bit).",
    ),
    click.option(
        "--scale",
        type=float,
        metavar="S",
        default=1.0,
        show_default=True,
        help="Multiply the result by S before the output map.",
    ),
    click.option(
        "--offset",
        type=float,
        metavar="B",
        default=0.0,
        show_default=True,
        help="Add B (in output grey levels) after --scale, before the output map.",
    ),
    click.option(
        "--depth",
        type=click.Choice(DEPTHS),
        default=None,
        help="Output sample type: 8, 16 (bits) or 32f (float); default: the "
        "input's (.npy output: 32f).",
    ),
    click.option(
        "--nan-policy",
        type=click.Choice(NAN_POLICIES),
        default="propagate",
        show_default=True,
        help="Missing samples (NaN, --nodata, --mask): propagate (spread over the "
        "kernel's reach, as PyTorch), omit (filled from their valid neighbours: "
        "normalized convolution), raise (refuse the image).",
    ),
    click.option(
        "--nodata",
        type=float,
        metavar="V",
        default=None,
        help="Samples equal to V are missing, and missing output samples are written as V "
        "(default: a TIFF's GDAL_NODATA tag; written back on TIFF output).",
    ),
    click.option(
        "--preserve-missing/--fill-missing",
        "preserve_missing",
        default=True,
        help="Keep missing input samples missing in the output (default), or write the "
        "value filled from their neighbours (with --nan-policy omit).",
    ),
]


def filter_keys() -> tuple[str, ...]:
    """The names of the filter options: the fields of FilterOptions, so they cannot drift."""
    from convcli.filtering import FilterOptions  # lazy: --help must not load NumPy

    return tuple(FilterOptions.__dataclass_fields__)


def conv_options(command):
    """Add the shared options to ``command``; it receives them as ``conv`` (ConvSettings)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        kernels = kwargs.pop("kernels")
        kernel_path = kwargs.pop("kernel_path")
        filter_options = {key: kwargs.pop(key) for key in filter_keys() if key in kwargs}
        value = filter_options.get("padding_value")
        if value and filter_options["padding_mode"] != "zeros":
            raise click.UsageError(
                f"--pad-value {value:g} applies to --padding-mode constant only, not "
                f"{filter_options['padding_mode']!r}; add -m constant or drop --pad-value"
            )
        conv = ConvSettings(tuple(kernels), tuple(kernel_path), filter_options)
        return command(*args, conv=conv, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper
