"""``convcli help [TOPIC]``: which documentation page answers a question.

The documentation is Markdown under ``docs/`` in the source tree (it is not installed with
the package); ``mkdocs serve`` shows it as a site. This command names the page for a topic,
as a path in the source tree and as the page's address under ``mkdocs serve``.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import click

SERVE_URL = "http://127.0.0.1:8000/"

#: topic -> (page under docs/, what it answers). The order is the order of `convcli help`.
TOPICS: dict[str, tuple[str, str]] = {
    "apply": ("guide/apply.md", "convcli apply: options by example, how a result is computed"),
    "kernels": ("guide/kernel-files.md", "kernel specs, built-in kernels, kernel files"),
    "gallery": ("gallery.md", "every built-in kernel's heatmap and effect (built site only)"),
    "channels": ("guide/channels.md", "channels, 4-D kernels, a PyTorch layer from a file"),
    "alpha": ("guide/alpha.md", "transparency: premultiply, preserve, channel"),
    "depth": ("guide/depth.md", "bit depth, modes, formats and metadata"),
    "output-maps": ("guide/output-maps.md", "clip, abs, normalize, offset; --scale, --offset"),
    "batches": ("guide/batches.md", "folders, file lists, jobs, reports, resuming"),
    "pipes": ("guide/pipes.md", "standard input and output"),
    "ci": ("guide/ci.md", "convcli in a CI job"),
    "dask": ("guide/dask.md", "Dask arrays and clusters, --scheduler"),
    "completion": ("guide/completion.md", "shell completion"),
    "big-images": ("guide/big-images.md", "images larger than the pixel limit or memory"),
    "missing-data": ("guide/missing-data.md", "NaN and missing samples"),
    "colour": ("guide/colour.md", "colour handling"),
    "limits": ("guide/limits-and-faults.md", "limits, faults and exit codes"),
    "cli": ("reference/cli.md", "every command and option (generated from --help)"),
    "api": ("reference/api.md", "the Python API: conv2d, filter_image, border modes"),
    "performance": ("performance.md", "speed and memory figures, and how to reproduce them"),
    "security": ("security.md", "what is refused and why, limits, reporting"),
}


def docs_dir() -> Path | None:
    """``docs/`` of the source tree convcli runs from, or None (an installed wheel)."""
    candidate = Path(__file__).resolve().parents[2] / "docs"
    return candidate if (candidate / "index.md").is_file() else None


def page_text(topic: str) -> str:
    """Where the page of ``topic`` is: its path in the source tree and under mkdocs serve.

    Examples
    --------
    >>> print(page_text("apply").splitlines()[-1])
    site: mkdocs serve, then http://127.0.0.1:8000/guide/apply/
    """
    page, _ = TOPICS[topic]
    folder = docs_dir()
    where = str(folder / page) if folder else f"docs/{page} in the convcli source tree"
    url = SERVE_URL + page.removesuffix(".md").removesuffix("index") + "/"
    return f"{topic}: {TOPICS[topic][1]}\nfile: {where}\nsite: mkdocs serve, then {url}"


def epilog(topic: str) -> str:
    """The last line of a command's --help: where its documentation is."""
    return f"Documentation: docs/{TOPICS[topic][0]} (convcli help {topic})."


@click.command("help")
@click.argument("topic", required=False)
def help_command(topic: str | None) -> None:
    """Name the documentation page for TOPIC, or list the topics.

    The pages are Markdown under docs/ in the convcli source tree; 'pip install
    ".[docs]" && mkdocs serve' shows them as a site with the kernel gallery.

    \b
    Examples:
      convcli help
      convcli help batches
    """
    if topic is None:
        width = max(map(len, TOPICS))
        click.echo("Topics (convcli help TOPIC names the page):")
        for name, (_, about) in TOPICS.items():
            click.echo(f"  {name.ljust(width)}  {about}")
        folder = docs_dir()
        click.echo(f"Pages: {folder if folder else 'docs/ in the convcli source tree'}")
        return
    if topic not in TOPICS:
        close = difflib.get_close_matches(topic, TOPICS, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise click.UsageError(f"no help topic '{topic}'; {hint}topics: {', '.join(TOPICS)}")
    click.echo(page_text(topic))
