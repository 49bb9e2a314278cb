"""How the CLI group reports errors: one line, exit codes, --debug tracebacks."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from convcli.cli import ConvcliGroup
from convcli.errors import ImageError, KernelError


def make_group(exc):
    @click.group(cls=ConvcliGroup)
    @click.option("--debug", is_flag=True)
    def cli(debug):
        pass

    @cli.command()
    def boom():
        raise exc

    return cli


@pytest.mark.parametrize(
    "exc, code, line",
    [
        (ImageError("cannot read 'a.png': truncated"), 1, "Error: cannot read 'a.png': truncated"),
        (
            KernelError("unknown kernel 'gausian'; did you\nmean 'gaussian'?"),
            2,
            "Error: unknown kernel 'gausian'; did you mean 'gaussian'?",
        ),
        (
            RuntimeError("bug"),
            1,
            "Error: internal error: RuntimeError: bug (rerun with --debug "
            "for the traceback, and please report it)",
        ),
        (MemoryError(), 1, "Error: out of memory; try a smaller image, kernel or --jobs"),
    ],
)
def test_one_line_and_exit_code(exc, code, line):
    result = CliRunner().invoke(make_group(exc), ["boom"])
    assert result.exit_code == code
    assert result.stderr == line + "\n"


def test_debug_shows_the_traceback():
    result = CliRunner().invoke(make_group(RuntimeError("bug")), ["--debug", "boom"])
    assert isinstance(result.exception, RuntimeError)


def test_usage_error_is_one_line_with_help_hint():
    result = CliRunner().invoke(make_group(RuntimeError()), ["nope"])
    assert result.exit_code == 2
    assert result.stderr == "Error: No such command 'nope'. (see 'cli --help')\n"
