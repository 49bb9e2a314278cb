"""The documentation's examples run as written, and the generated parts cannot go stale.

Every fenced block of README.md, SECURITY.md, CONTRIBUTING.md and docs/**/*.md is taken in page order:

- ``console`` blocks: every ``$ `` line is run (setup lines such as ``$ mkdir`` too);
- ``sh`` blocks: every line that runs ``convcli`` (``convcli ...`` or ``VAR=x convcli ...``);
- ``python`` blocks: the whole block, as a script.

They run through bash (or Python) in one temporary directory per page, holding a copy of
``sample_images/`` and the few files the pages name without making them (``FIXTURES``), with
the installed ``convcli`` first on PATH. Each command must exit 0, unless the block is
preceded by ``<!-- expect-exit: N -->``; a documented ``Error: ...`` line under a command is
compared with what it prints. A block preceded by ``<!-- not-run: reason -->`` is skipped,
and must give its reason; a block that imports a package that is not installed (PyTorch,
safetensors, ...) is skipped with the rest of its section.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(
    [ROOT / "README.md", ROOT / "SECURITY.md", ROOT / "CONTRIBUTING.md"]
    + [p for p in DOCS.rglob("*.md") if "hooks" not in p.parts]
)
RUN_LANGS = {"console", "sh", "shell", "bash"}
FENCE = re.compile(r"^(\s*)(`{3,})\s*([\w-]*)")
MARKER = re.compile(r"^\s*<!--\s*(not-run|expect-exit)\s*:\s*(.*?)\s*-->\s*$")
CONVCLI_LINE = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*convcli(?:\s|$)")
TIMEOUT = 120
SHELL_SYNTAX = set("|<>;&$*?`(){}\\")


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    marker: tuple[str, str] | None = None
    section: int = 0  # how many headings come before it on the page
    commands: list[tuple[str, list[str]]] = field(default_factory=list)  # (command, error lines)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _commands(block: Block) -> list[tuple[str, list[str]]]:
    """``(command, documented Error: lines)`` for a shell block; continuations joined."""
    commands: list[tuple[str, list[str]]] = []
    lines = block.text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        if block.lang == "console":
            if not raw.startswith("$ "):
                if raw.startswith("Error:") and commands:
                    commands[-1][1].append(raw)
                continue
            command = raw[2:]
        else:
            if not CONVCLI_LINE.match(raw.strip()):
                continue
            command = raw.strip()
        while command.endswith("\\") and i < len(lines):
            command = command[:-1] + " " + lines[i].strip()
            i += 1
        commands.append((command, []))
    return commands


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page`` with the marker comment right above it, if any."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    section = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            section += lines[i].startswith("#")
            i += 1
            continue
        indent, fence, lang = match.groups()
        start = i
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            line = lines[i]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            i += 1
        i += 1
        above = start - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        marker = MARKER.match(lines[above]) if above >= 0 else None
        block = Block(
            page,
            start + 1,
            lang.lower(),
            "\n".join(body) + "\n",
            marker.groups() if marker else None,
            section,
        )
        if block.lang in RUN_LANGS:
            block.lang = "console" if block.lang == "console" else "sh"
            block.commands = _commands(block)
        found.append(block)
    return found


def _make_fixtures(folder: Path) -> None:
    """The files the pages use without making them: an input tree and a few inputs."""
    shutil.copytree(ROOT / "sample_images", folder / "sample_images")
    (folder / "edge.json").write_text(
        '{"description": "my edge detector", "weight": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],'
        ' "normalize": false, "scale": 0.5, "offset": 128}\n'
    )
    rng = np.random.default_rng(0)
    weight = (rng.standard_normal((8, 3, 3, 3)) * 0.1).astype(np.float32)  # nn.Conv2d(3, 8, 3)
    np.savez(folder / "conv1.npz", weight=weight, bias=np.zeros(8, np.float32))
    from convcli.images import ImageData, write_image

    y, x = np.mgrid[0:1024, 0:1024]
    grey = ((x * 7 + y * 3) % 256).astype(np.uint8)[:, :, None]
    write_image(ImageData([grey], "L", "TIFF", "L"), folder / "big.tif")  # the "20k x 20k" TIFF
    rgb = np.repeat(grey[:512, :512], 3, axis=2)
    write_image(ImageData([rgb], "RGB", "PNG", "RGB"), folder / "big.png")


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("CONVCLI_KERNEL_PATH", "CONVCLI_SCHEDULER", "CONVCLI_DEBUG"):
        env.pop(name, None)
    # The convcli and python of this interpreter's environment come first.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(ROOT)
    return env


IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", re.M)


def _needs_missing_extra(block: Block) -> str | None:
    """Why the block cannot run here: an optional package it uses is not installed."""
    text = block.text
    if block.lang == "python":
        for module in IMPORT.findall(text):
            if importlib.util.find_spec(module) is None:
                return f"needs {module}, which is not installed"
    elif ("dask" in text or "--scheduler" in text) and importlib.util.find_spec("dask") is None:
        return "needs the dask extra"
    return None


def _plain_convcli(command: str) -> list[str] | None:
    """The arguments of a plain ``convcli ...`` command (no pipe, redirection, glob,
    variable or environment prefix, no Dask scheduler), else None: such a command runs in
    a shell of its own."""
    unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", "''", command).split(" #")[0]
    if SHELL_SYNTAX & set(unquoted):
        return None
    tokens = shlex.split(command, comments=True)
    if "--scheduler" in tokens:  # a Dask cluster: keep its processes out of the test run
        return None
    return tokens[1:] if tokens and tokens[0] == "convcli" else None


@contextlib.contextmanager
def _inside(folder: Path):
    old = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def _run(command: str, folder: Path, env: dict[str, str]) -> tuple[int, str]:
    """Exit code and standard error of one command. Plain convcli commands run in this
    process through click's CliRunner (the same code as the installed command, without
    Python's start-up per example); the rest through bash with the installed convcli."""
    args = _plain_convcli(command)
    if args is not None:
        from click.testing import CliRunner

        from convcli.cli import main

        with _inside(folder):
            result = CliRunner().invoke(main, args, prog_name="convcli")
        return result.exit_code, result.stderr
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    return done.returncode, done.stderr


def _run_block(block: Block, folder: Path, env: dict[str, str]) -> None:
    expected = int(block.marker[1]) if block.marker and block.marker[0] == "expect-exit" else 0
    if block.lang == "python":
        # In this process too, each block in a fresh namespace, run from the page's folder.
        with _inside(folder), contextlib.redirect_stdout(io.StringIO()):
            exec(compile(block.text, block.where, "exec"), {"__name__": "__main__"})
        return
    for command, errors in block.commands:
        is_convcli = bool(CONVCLI_LINE.match(command)) or " convcli " in f" {command} "
        code, stderr = _run(command, folder, env)
        want = expected if is_convcli else 0
        assert code == want, (
            f"{block.where}: `{command}` exited {code} (documented: {want}):\n{stderr}"
        )
        for error in errors:
            printed = stderr.strip().splitlines()
            head = error.split("...")[0].rstrip()
            assert any(line.startswith(head) for line in printed), (
                f"{block.where}: `{command}` printed {printed!r}, the page shows {error!r}"
            )


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_examples_run(page, tmp_path, monkeypatch):
    runnable = [
        b
        for b in blocks(page)
        if (b.lang == "python" or b.commands) and not (b.marker and b.marker[0] == "not-run")
    ]
    if not runnable:
        pytest.skip("no runnable example on this page")
    _make_fixtures(tmp_path)
    env = _environment()
    for name in ("CONVCLI_KERNEL_PATH", "CONVCLI_SCHEDULER", "CONVCLI_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    skipped_sections = set()
    for block in runnable:
        # A block that needs a package not installed here is skipped, and so is the rest
        # of its section, which may use what it makes.
        if _needs_missing_extra(block):
            skipped_sections.add(block.section)
        if block.section in skipped_sections:
            continue
        _run_block(block, tmp_path, env)


def test_every_skipped_block_says_why():
    for page in PAGES:
        for block in blocks(page):
            if block.marker and block.marker[0] == "not-run":
                assert len(block.marker[1]) >= 10, f"{block.where}: not-run needs a reason"
            if block.marker and block.marker[0] == "expect-exit":
                assert block.marker[1].isdigit(), f"{block.where}: expect-exit needs a number"


def test_the_readme_shows_the_five_jobs_and_they_are_run():
    readme = blocks(ROOT / "README.md")
    commands = [c for b in readme if b.marker is None for c, _ in b.commands]
    joined = "\n".join(commands)
    for job in ("-k gaussian", "-k sobel", ".npz", "blurred/", "big.tif"):
        assert job in joined, f"the README's examples lost {job!r}"
    text = (ROOT / "README.md").read_text()
    assert "pip install . && convcli apply -k gaussian:sigma=2 sample_images/astronaut.png" in text
    assert 'pip install ".[test,dask]" && python -m pytest -q' in text
    assert len(text.splitlines()) <= 160, "README.md is the front door: keep it short"


def test_the_extractor_finds_commands_and_markers():
    page = ROOT / "docs" / "guide" / "apply.md"
    found = blocks(page)
    commands = [c for b in found for c, _ in b.commands]
    assert sum(c.startswith("convcli apply") for c in commands) >= 10
    errors = [e for b in found for _, es in b.commands for e in es]
    assert errors == ["Error: kernel 'gaussian:sigma=-1': sigma must be at least 0.01, got -1"]
    assert ("expect-exit", "2") in [b.marker for b in found]


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("name", ["README.md", "SECURITY.md", "CHANGELOG.md", "CONTRIBUTING.md"])
def test_links_of_the_top_level_files_resolve(name):
    # The docs' own links are checked by mkdocs build --strict; these files are not built.
    for target in LINK.findall((ROOT / name).read_text()):
        if "://" in target:
            continue
        assert (ROOT / target).exists(), f"{name} links to {target}, which does not exist"


def _gallery():
    spec = importlib.util.spec_from_file_location("gallery_hook", DOCS / "hooks" / "gallery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gallery_has_every_builtin_kernel_in_the_same_bytes_every_time():
    from convcli.kernels import list_kernels

    gallery = _gallery()
    names = {e.name for e in list_kernels([]) if e.source == "builtin"}
    first, second = gallery.build(), gallery.build()
    assert first == second
    for name in names:
        assert first[f"gallery/{name}.png"].startswith(b"\x89PNG")
        assert first[f"gallery/{name}-heatmap.png"].startswith(b"\x89PNG")
        assert f"## {name} {{#{name}}}" in first["gallery.md"].decode()
    assert len(first) == 2 * len(names) + 1


def test_gallery_after_is_the_command_it_names(tmp_path):
    from convcli.images import read_image
    from convcli.kernels._registry import load_builtin

    gallery = _gallery()
    before = read_image(ROOT / gallery.SAMPLE).frames[0]
    pictures = gallery.pictures("sobel-x", before)
    pair = read_image(_write(tmp_path / "pair.png", pictures["gallery/sobel-x.png"])).frames[0]
    command = gallery.command_for("sobel-x", load_builtin("sobel-x"))
    assert "--output-map abs" in command
    shutil.copytree(ROOT / "sample_images", tmp_path / "sample_images")
    subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, env=_environment(), check=True, timeout=TIMEOUT
    )
    after = read_image(tmp_path / "out.png").frames[0]
    width = before.shape[1]
    assert np.array_equal(pair[:, :width], before)
    assert np.array_equal(pair[:, -width:], after)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_gallery_names_a_kernel_whose_picture_cannot_be_made(monkeypatch):
    gallery = _gallery()
    before = np.zeros((8, 8, 3), np.uint8)

    def broken(name):
        raise ValueError("no weights")

    monkeypatch.setattr(gallery, "load_builtin", broken)
    with pytest.raises(RuntimeError, match="cannot draw kernel 'box': no weights"):
        gallery.pictures("box", before)


def test_every_builtin_kernel_is_described_in_the_guide():
    from convcli.kernels import list_kernels

    text = (DOCS / "guide" / "kernel-files.md").read_text()
    more = DOCS / "guide" / "kernels.md"
    text += more.read_text() if more.exists() else ""
    for entry in list_kernels([]):
        if entry.source == "builtin":
            assert f"`{entry.name}`" in text, f"kernel {entry.name} is not in the kernel guide"


def test_readme_picture_is_what_its_command_makes(tmp_path):
    from convcli.images import read_image

    readme = (ROOT / "README.md").read_text()
    command = re.search(r"Made by `(convcli preview [^`]+)`", readme).group(1)
    picture = command.split()[-1]
    shutil.copytree(ROOT / "sample_images", tmp_path / "sample_images")
    (tmp_path / Path(picture).parent).mkdir(parents=True)
    subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, env=_environment(), check=True, timeout=TIMEOUT
    )
    made = read_image(tmp_path / picture).frames[0].astype(int)
    shipped = read_image(ROOT / picture).frames[0].astype(int)
    assert made.shape == shipped.shape
    assert np.abs(made - shipped).max() <= 1  # the FFT may round the last bit differently


def test_every_apply_option_is_in_the_guide():
    # The reference lists every option by construction; the guide must say what each is for.
    from convcli.cli import main

    guide = "".join(p.read_text() for p in (DOCS / "guide").glob("*.md"))
    missing = []
    for param in main.commands["apply"].params:
        names = [n for n in param.opts + param.secondary_opts if n.startswith("--")]
        if names and names != ["--help"] and not any(n in guide for n in names):
            missing.append(names[0])
    assert not missing, f"convcli apply options not in docs/guide/: {missing}"
