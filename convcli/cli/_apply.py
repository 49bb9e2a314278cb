"""``convcli apply`` and ``convcli preview``: filter an image, or compare kernels by eye.

Thin: parse, resolve the kernels, call :func:`convcli.batch._job.apply_file` or
:func:`convcli.filtering._preview.preview_sheet`. NumPy, the pipeline and Pillow are imported inside
the command functions so ``convcli --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import warnings

import click

from convcli.choices import FORMATS, TIFF_COMPRESSIONS
from convcli.cli._batch import batch_options, is_batch, run_batch_command
from convcli.cli._help import epilog
from convcli.cli._options import KERNEL_HELP, conv_options
from convcli.errors import ClippedWarning

_DASH_PATH = click.Path(dir_okay=False, allow_dash=True, readable=False)

max_pixels_option = click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    metavar="N",
    help="Refuse images of more than N pixels (default: Pillow's ~89 million "
    "decompression-bomb limit; a larger N raises it).",
)

apply_max_pixels_option = click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    metavar="N",
    help="Refuse images of more than N pixels. Default: a TIFF or PNG filtered by bands of "
    "rows has no pixel limit (memory stays bounded) and is refused only when its header is "
    "hostile (more pixels than its compressed bytes can hold); images read whole keep "
    "Pillow's ~89 million decompression-bomb limit. N replaces both.",
)


def _stream(path: str, name: str, output: bool = False):
    """``path``, or for '-' the standard stream, refused when it is a terminal."""
    if path != "-":
        return path
    stream, what, hint = (
        (sys.stdout, "output", "redirect it (e.g. '> out.png')")
        if output
        else (sys.stdin, "input", "pipe an image in (e.g. '< photo.png')")
    )
    stream = _open_standard(stream, 1 if output else 0, what, hint)
    if stream.isatty():
        raise click.UsageError(
            f"{name} is '-' but standard {what} is a terminal; {hint} or give a file name"
        )
    return stream


def _open_standard(stream, fd: int, what: str, hint: str):
    """The binary side of a standard stream, or an error when it is closed (``>&-``)."""
    from convcli.errors import ImageError

    try:
        os.fstat(fd)
        if stream is None:
            raise OSError
        return stream.buffer
    except (OSError, AttributeError, ValueError):
        raise ImageError(
            f"standard {what} is closed ('{'>' if what == 'output' else '<'}&-'); {hint} "
            "or give a file name"
        ) from None


@click.command("apply", epilog=epilog("apply"))
@click.argument(
    "paths",
    nargs=-1,
    metavar="INPUT... OUTPUT",
    # readable=False: an unreadable input is a processing error (exit 1) naming the file,
    # and in a batch it fails that item only
    type=click.Path(allow_dash=True, readable=False),
)
@conv_options
@click.option(
    "--format",
    "-f",
    "format_",
    metavar="FORMAT",
    help="Output format: "
    + ", ".join(name.lower() for name in FORMATS)
    + " (default: from OUTPUT's extension, else the input's format; needed for '-' to "
    "change it).",
)
@click.option(
    "--quality",
    type=click.IntRange(1, 100),
    help="JPEG/WebP quality 1-100 (JPEG default 95, WebP default lossless).",
)
@click.option(
    "--compress-level",
    type=click.IntRange(0, 9),
    metavar="0-9",
    help="PNG deflate level (default 6, as Pillow and libvips): 4-5 write about "
    "twice as fast, files about 5% larger; 9 over ten times slower, about 9% "
    "smaller.",
)
@click.option(
    "--in-place",
    is_flag=True,
    help="Allow OUTPUT to be INPUT (replaced atomically once the result is ready).",
)
@click.option(
    "--mask",
    metavar="FILE|alpha",
    help="Greyscale image of INPUT's size: zero marks missing samples (see --nan-policy); "
    "'alpha': INPUT's alpha channel (alpha 0 = missing; alpha is kept).",
)
@click.option(
    "--compression",
    type=click.Choice(list(TIFF_COMPRESSIONS), case_sensitive=False),
    help="Compression of a one-image TIFF output (default: the input TIFF's, else deflate).",
)
@click.option(
    "--tile",
    type=click.IntRange(min=0),
    metavar="N",
    help="One-image TIFF output in N x N tiles (a multiple of 16), 0 for strips (default: the "
    "input TIFF's layout).",
)
@apply_max_pixels_option
@batch_options
def apply(
    paths,
    conv,
    format_,
    quality,
    compress_level,
    compression,
    tile,
    in_place,
    max_pixels,
    mask,
    **batch,
):
    """Filter INPUT with one or more kernels and write OUTPUT.

    Kernels apply in order, in floating point, with one rounding at the end. Bit depth,
    alpha, ICC profile, EXIF, DPI and animation frames are kept. '-' as INPUT reads
    standard input; '-' as OUTPUT writes standard output. The output is written to a
    temporary file and renamed into place, so an interrupted run leaves nothing behind.

    Big images: a TIFF or PNG file is read, filtered and written by bands of rows
    (memory does not grow with the image); a TIFF keeps its compression, tiling and
    GeoTIFF tags; a PNG output is encoded by bands. --debug says which path ran.

    \b
    Batch form, as cp: 'apply DIR OUTDIR', 'apply FILE... OUTDIR' (an existing folder
    or a name ending in '/') or 'apply FILE... -o OUTDIR' filters many files on
    --jobs worker processes (or a Dask --scheduler), with progress, a summary line, an
    optional JSON --report, and exit code 1 if any file failed.

    \b
    Examples:
      convcli apply -k gaussian:sigma=2 photo.png blurred.png
      convcli apply -k sobel --output-map abs photo.png edges.png
      convcli apply -k gaussian - - < a.png | convcli apply -k sobel - - > b.png
      convcli apply -k gaussian -r photos/ blurred/ --jobs 2 --report report.json
      convcli apply -k box *.png small/
    """
    from convcli.batch._job import ApplyJob

    if "" in paths:
        raise click.UsageError(
            f"path {paths.index('') + 1} is an empty name (an unset shell variable?); "
            "give a file name, or '-' for standard input/output"
        )
    if tile and tile % 16:
        raise click.UsageError(f"--tile {tile}: TIFF tiles are multiples of 16; give e.g. 256")
    job = ApplyJob(
        conv.load_kernels(),
        conv.options(),
        format=format_,
        quality=quality,
        in_place=in_place,
        max_pixels=max_pixels,
        compress_level=compress_level,
        mask=_mask_option(mask),
        compression=compression.lower() if compression else None,
        tile=tile,
    )
    if is_batch(paths, batch["output_dir"], batch["files_from"], batch["recursive"]):
        from convcli.batch._plan import output_extension

        settings = {
            "kernels": list(conv.kernels),
            "options": conv.filter_options,
            "format": format_,
            "quality": quality,
            "compress_level": compress_level,
            "mask": mask,
        }
        extension = output_extension(format_) if format_ else None
        code = run_batch_command(paths, job, extension=extension, settings=settings, **batch)
        click.get_current_context().exit(code)
    if len(paths) != 2:
        raise click.UsageError(
            f"expected INPUT and OUTPUT, got {len(paths)} path(s); for several inputs end "
            "with an output folder (OUTDIR/) or give -o OUTDIR"
        )
    # CONVCLI_SCHEDULER in the environment is for batches: only a --scheduler typed here clashes
    source = click.get_current_context().get_parameter_source("scheduler")
    typed = source == click.core.ParameterSource.COMMANDLINE
    if batch["jobs"] or batch["report"] or batch["suffix"]:
        raise click.UsageError(
            "--jobs, --report and --suffix apply to the batch form (a directory or -o OUTDIR)"
        )
    if batch["scheduler"] and typed:  # one image: its bands are filtered on the cluster
        job = dataclasses.replace(job, scheduler=batch["scheduler"])
    input, output = paths
    source = _stream(input, "INPUT")
    target = _stream(output, "OUTPUT", output=True)
    from convcli.cli._progress import RowProgress

    with RowProgress(quiet=batch["quiet"]) as progress:
        path = job(source, target, on_rows=progress.update)  # apply_file, notes on stderr
    if _debug():
        click.echo(f"convcli: {input}: {path}", err=True)


def _debug() -> bool:
    """``convcli --debug`` or CONVCLI_DEBUG set."""
    root = click.get_current_context().find_root()
    return bool(root.params.get("debug")) or os.environ.get("CONVCLI_DEBUG", "") not in ("", "0")


def _mask_option(mask: str | None) -> str | None:
    """``--mask``: a file name or 'alpha'; '-' is refused (standard input is the image's)."""
    if mask is None or mask.lower() == "alpha":
        return None if mask is None else "alpha"
    if mask in ("-", ""):
        raise click.BadParameter(
            f"{mask!r} is not a mask file: give a file name (standard input cannot carry the "
            "mask), or 'alpha' for INPUT's alpha channel",
            param_hint="'--mask'",
        )
    return mask


@click.command("preview", epilog=epilog("apply"))
@click.argument("input", type=_DASH_PATH)
@click.argument("sheet", type=click.Path(dir_okay=False))
@conv_options
@click.option(
    "--columns",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Tiles per row of the sheet.",
)
@max_pixels_option
def preview(input, sheet, conv, columns, max_pixels):
    """Write SHEET, a labelled contact sheet: INPUT beside each kernel's result.

    Every --kernel is applied to INPUT on its own (not in a chain), with the shared
    options; each tile is labelled with its kernel spec. The sheet is 8-bit RGB; alpha
    is shown over a checkerboard. For animations the first frame is used.

    \b
    Example:
      convcli preview -k box:size=5 -k gaussian:sigma=2 -k sharpen photo.png sheet.png
    """
    from convcli.batch._job import needs_srgb
    from convcli.filtering._preview import preview_sheet
    from convcli.images import ImageData, read_image, write_image

    source = _stream(input, "INPUT")
    image = read_image(source, max_pixels=max_pixels)
    kernels = conv.load_kernels()
    needs_srgb(image.metadata, conv.options(), f"'{input}'")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ClippedWarning)
        grid = preview_sheet(
            image.frames[0], image.layout, kernels, conv.kernels, conv.options(), columns=columns
        )
    for note in caught:
        click.echo(f"convcli: note: {note.message}", err=True)
    write_image(ImageData([grid], "RGB", "PNG", "RGB"), sheet)


for _param in preview.params:  # several kernels make several tiles, not a chain
    if _param.name == "kernels":
        _param.help = (
            KERNEL_HELP + " Repeat to compare several: each is applied alone, one tile each."
        )
