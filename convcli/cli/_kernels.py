"""``convcli kernels list|show``: what kernel names exist, and what a spec resolves to.

NumPy and the kernel registry are imported inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import json

import click

from convcli.cli._help import epilog

_PATH_HELP = (
    "Directory of user kernels (.json, .npy, .npz, .mat; found by file name without the "
    "suffix), searched before CONVCLI_KERNEL_PATH and the built-ins. Repeatable."
)


def kernel_path_option(func):
    """``--kernel-path DIR`` (repeatable), shared by every command that resolves kernels."""
    return click.option(
        "--kernel-path",
        "kernel_path",
        multiple=True,
        metavar="DIR",
        type=click.Path(exists=True, file_okay=False),
        help=_PATH_HELP,
    )(func)


@click.group("kernels", epilog=epilog("kernels"))
def kernels_group() -> None:
    """List the kernels and show what a kernel spec resolves to.

    \b
    A spec is a name (gaussian), a name with parameters (gaussian:sigma=2,size=7),
    a file (.json, .npy, .npz, libvips .mat), inline JSON ('[[0,-1,0],[-1,5,-1],[0,-1,0]]')
    or an ImageMagick kernel string ('3x3: 0,-1,0,-1,5,-1,0,-1,0').
    """


@kernels_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array for machines.")
@kernel_path_option
def list_command(as_json: bool, kernel_path: tuple[str, ...]) -> None:
    """List every kernel name: size (kH x kW), kind, source, description.

    User kernels that shadow a built-in (or another user kernel) are flagged.

    \b
    Examples:
      convcli kernels list
      convcli kernels list --kernel-path ./my-kernels --json
    """
    from convcli.kernels import list_kernels

    entries = list_kernels(list(kernel_path))
    if as_json:
        click.echo(json.dumps([e.to_json() for e in entries], indent=2))
        return
    rows = [("NAME", "SIZE", "KIND", "SOURCE", "DESCRIPTION")]
    for e in entries:
        notes = [f"shadows {e.shadows}"] if e.shadows else []
        notes += [f"shadowed by {e.shadowed_by}"] if e.shadowed_by else []
        params = ", ".join(f"{k}={p['default']}" for k, p in e.parameters.items())
        text = e.description + (f" [{params}]" if params else "")
        text = (f"({'; '.join(notes)}) " if notes else "") + text
        rows.append((e.name, e.size, e.kind, e.source, text))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo(
            "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        )


@kernels_group.command("show")
@click.argument("spec")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON: name, source, kind, shape, sum, and 'kernel' (a loadable kernel file).",
)
@click.option(
    "--png",
    "png",
    type=click.Path(dir_okay=False, writable=True),
    metavar="FILE",
    help="Also write a heatmap: one cell per tap, red positive, blue negative, "
    "with the shape and the sum in a caption.",
)
@kernel_path_option
def show_command(spec: str, as_json: bool, png: str | None, kernel_path) -> None:
    """Print the matrix (or matrices) of the kernel SPEC.

    \b
    Examples:
      convcli kernels show gaussian:sigma=1.5
      convcli kernels show sobel --png sobel.png
      convcli kernels show '3x3: 0,-1,0,-1,5,-1,0,-1,0' --json
    """
    from convcli.filtering import load_kernel  # image kernels readable
    from convcli.kernels._json import dumps, kernel_to_json
    from convcli.kernels._render import matrix_text

    kernel = load_kernel(spec, search_path=list(kernel_path))
    if png:
        from convcli.images import ImageData, write_image
        from convcli.kernels._render import heatmap

        write_image(ImageData([heatmap(kernel)], "RGB", "PNG", "RGB"), png, format="PNG")
    if as_json:
        data = {
            "name": kernel.name,
            "source": kernel.source,
            "kind": kernel.kind,
            "shape": list(kernel.shape),
            "sum": None if kernel.is_bank else float(kernel.weight.sum()),
            "kernel": kernel_to_json(kernel),
        }
        click.echo(dumps(data))
    else:
        click.echo(matrix_text(kernel))
