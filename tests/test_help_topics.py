"""``convcli help [TOPIC]`` and the --help epilogs point to documentation pages that exist."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from convcli.cli import main
from convcli.cli._help import TOPICS, docs_dir

ROOT = Path(__file__).resolve().parents[1]
NAV = (ROOT / "mkdocs.yml").read_text()
# docs/ when convcli runs from this source tree (python -m pytest from the root, an
# editable install); an installed wheel has no docs and names the page in words.
DOCS = docs_dir()


def _file(page: str) -> str:
    return str(DOCS / page) if DOCS else f"docs/{page} in the convcli source tree"


def test_docs_dir_is_the_source_trees():
    import convcli

    if Path(convcli.__file__).resolve().parents[1] != ROOT:
        pytest.skip("convcli is imported from an installed copy, which has no docs/")
    assert DOCS == ROOT / "docs"


@pytest.mark.parametrize("topic", list(TOPICS))
def test_every_topic_names_a_page_of_the_site(topic):
    page, about = TOPICS[topic]
    assert about
    assert f": {page}\n" in NAV, f"{page} is not in mkdocs.yml's nav"
    if page == "gallery.md":  # drawn by the docs build
        assert (ROOT / "docs" / "hooks" / "gallery.py").is_file()
    else:
        assert (ROOT / "docs" / page).is_file()
    result = CliRunner().invoke(main, ["help", topic], prog_name="convcli")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"{topic}: {about}",
        f"file: {_file(page)}",
        f"site: mkdocs serve, then http://127.0.0.1:8000/{page[:-3]}/",
    ]


def test_help_lists_the_topics():
    result = CliRunner().invoke(main, ["help"], prog_name="convcli")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "Topics (convcli help TOPIC names the page):"
    assert [line.split()[0] for line in lines[1:-1]] == list(TOPICS)
    assert lines[-1] == f"Pages: {DOCS if DOCS else 'docs/ in the convcli source tree'}"


def test_unknown_topic_is_a_usage_error_with_a_suggestion():
    result = CliRunner().invoke(main, ["help", "batchs"], prog_name="convcli")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: no help topic 'batchs'; did you mean 'batches'? topics: "
        + ", ".join(TOPICS)
        + " (see 'convcli help --help')\n"
    )


@pytest.mark.parametrize(
    "args,page",
    [
        (["apply"], "docs/guide/apply.md"),
        (["preview"], "docs/guide/apply.md"),
        (["kernels"], "docs/guide/kernel-files.md"),
        ([], "docs/index.md"),
    ],
)
def test_help_ends_with_where_the_documentation_is(args, page):
    result = CliRunner().invoke(main, [*args, "--help"], prog_name="convcli")
    assert result.exit_code == 0
    assert f"Documentation: {page}" in result.output
    assert (ROOT / page).is_file()


def test_help_command_imports_no_numpy():
    code = (
        "import sys\n"
        "from convcli.cli import main\n"
        "try:\n"
        "    main(['help', 'apply'], prog_name='convcli')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('numpy', 'scipy', 'PIL') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().endswith("[]")
