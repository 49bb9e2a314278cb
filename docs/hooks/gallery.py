"""MkDocs hook: the kernel gallery, drawn from the kernel registry on every docs build.

For every built-in kernel (fixed, bank and parametric with its default parameters) in
:func:`convcli.kernels.list_kernels`, the build writes ``gallery/NAME-heatmap.png`` (what
``convcli kernels show NAME --png`` draws) and ``gallery/NAME.png`` (a sample photo before
and after ``convcli apply -k NAME``), and the page ``gallery.md`` that shows them. Nothing is
committed: a new kernel appears by itself, and a kernel whose pictures cannot be made fails
the build (``mkdocs build`` exits non-zero naming it). The same code and libraries give the
same bytes on every build.

The functions are plain so that ``tests/test_docs_examples.py`` can call them without MkDocs.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from convcli.filtering._image import filter_image
from convcli.images import ImageData, read_image, write_image
from convcli.kernels import Kernel, list_kernels
from convcli.kernels._registry import load_builtin
from convcli.kernels._render import heatmap

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = "sample_images/astronaut.png"
PAGE = "gallery.md"
FOLDER = "gallery"
_GAP = 8  # white pixels between "before" and "after"


def builtin_names() -> list[str]:
    """The names of every built-in kernel, sorted (user kernels on the search path excluded)."""
    return sorted({e.name for e in list_kernels([]) if e.source == "builtin"})


def output_map_for(kernel: Kernel) -> str:
    """``abs`` for a single kernel whose weights sum to 0 (an edge response has two signs,
    and the default ``clip`` would drop the negative half); ``clip`` (the default) otherwise."""
    if not kernel.is_bank and abs(float(kernel.weight.sum())) < 1e-9:
        return "abs"
    return "clip"


def command_for(name: str, kernel: Kernel) -> str:
    """The ``convcli apply`` command that makes the "after" half of the picture."""
    option = " --output-map abs" if output_map_for(kernel) == "abs" else ""
    return f"convcli apply -k {name}{option} {SAMPLE} out.png"


def _png(array: np.ndarray) -> bytes:
    stream = io.BytesIO()
    write_image(ImageData([array], "RGB", "PNG", "RGB"), stream, format="PNG")
    return stream.getvalue()


def pictures(name: str, before: np.ndarray) -> dict[str, bytes]:
    """``{path: png bytes}`` of one kernel: its heatmap and the photo before/after.

    Raises whatever the registry, the filter or the PNG writer raises, with the kernel's
    name added, so that the docs build stops on it.
    """
    try:
        kernel = load_builtin(name)
        after = filter_image(before, kernel, output_map=output_map_for(kernel))
        if after.shape != before.shape or after.dtype != np.uint8:
            raise ValueError(f"the result is {after.shape} {after.dtype}, not {before.shape}")
        h, w, _ = before.shape
        pair = np.full((h, 2 * w + _GAP, 3), 255, np.uint8)
        pair[:, :w] = before
        pair[:, w + _GAP :] = after
        return {
            f"{FOLDER}/{name}-heatmap.png": _png(heatmap(kernel)),
            f"{FOLDER}/{name}.png": _png(pair),
        }
    except Exception as exc:
        raise RuntimeError(f"kernel gallery: cannot draw kernel {name!r}: {exc}") from exc


def page(names: list[str]) -> str:
    """The Markdown of the gallery page."""
    entries = {e.name: e for e in list_kernels([]) if e.source == "builtin"}
    lines = [
        "# Kernel gallery",
        "",
        "Every built-in kernel, drawn from the kernel registry when the documentation is",
        "built (`docs/hooks/gallery.py`): a kernel added to convcli appears here by itself.",
        "Parametric kernels are shown with their default parameters. On the left of each",
        "row is the heatmap that `convcli kernels show NAME --png heatmap.png` draws (red",
        "positive, blue negative); on the right the sample photo",
        f"`{SAMPLE}` before and after the command under it. Kernels whose weights sum",
        "to 0 (edge detectors) are shown with `--output-map abs`, which keeps both signs of",
        "the response; see [output maps](guide/output-maps.md). The syntax of kernel specs",
        "and every parameter is in [Kernels and their syntax](guide/kernel-files.md).",
        "",
        "| kernel | kind | size | default parameters |",
        "|---|---|---|---|",
    ]
    for name in names:
        e = entries[name]
        params = ", ".join(f"`{k}={p['default']}`" for k, p in e.parameters.items()) or "-"
        lines.append(f"| [`{name}`](#{name}) | {e.kind} | {e.size} | {params} |")
    for name in names:
        e = entries[name]
        kernel = load_builtin(name)
        lines += [
            "",
            f"## {name} {{#{name}}}",
            "",
            f"{e.description}.",
            "",
            f"![{name} heatmap]({FOLDER}/{name}-heatmap.png){{ width=260 }}",
            f"![{SAMPLE} before and after {name}]({FOLDER}/{name}.png)",
            "",
            "```sh",
            command_for(name, kernel),
            "```",
        ]
    return "\n".join(lines) + "\n"


def build() -> dict[str, bytes]:
    """Every generated file of the gallery: ``{path relative to docs/: bytes}``."""
    before = read_image(ROOT / SAMPLE).frames[0]
    names = builtin_names()
    if not names:
        raise RuntimeError("kernel gallery: the registry lists no built-in kernel")
    files: dict[str, bytes] = {}
    for name in names:
        files.update(pictures(name, before))
    files[PAGE] = page(names).encode()
    return files


def on_files(files, config):
    """MkDocs event: add the gallery's page and pictures to the site's files."""
    # MkDocs only when the docs build runs: the tests import this module without it.
    from mkdocs.exceptions import PluginError  # noqa: PLC0415
    from mkdocs.structure.files import File  # noqa: PLC0415

    try:
        generated = build()
    except RuntimeError as exc:
        raise PluginError(str(exc)) from exc
    for path, content in generated.items():
        existing = files.get_file_from_path(path)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, path, content=content))
    return files
