"""The ``convcli`` command line: the only layer that imports click.

Commands parse their options, call the library, and let :class:`ConvcliError` propagate;
:class:`ConvcliGroup` turns every error into one ``Error: ...`` line on stderr and an exit
code (2 for usage errors, 1 for processing errors, 130 for Ctrl-C). ``--debug`` shows the
traceback instead. Command modules import NumPy, SciPy and Pillow inside their functions,
so ``convcli --help`` and ``convcli --version`` stay fast.
"""

from __future__ import annotations

import itertools
import os
import sys

import click

from convcli._version import __version__
from convcli.errors import ConvcliError

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwind like Ctrl-C (temporaries removed, workers stopped)."""


def _debug_requested(args) -> bool:
    argv = sys.argv[1:] if args is None else list(args)
    # --debug is the group's flag, before the command name: later it is some option's value
    group_flags = itertools.takewhile(lambda arg: arg.startswith("-"), argv)
    return "--debug" in group_flags or os.environ.get("CONVCLI_DEBUG", "") not in ("", "0")


def _fail(message: str, code: int) -> None:
    # One line: fold whatever the message carries onto it.
    text = " ".join(str(message).split())
    click.echo(f"Error: {text}", err=True)
    sys.exit(code)


class ConvcliGroup(click.Group):
    """A click group that reports errors as one ``Error:`` line with convcli's exit codes."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        debug = _debug_requested(args)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort as exc:
            # click turns KeyboardInterrupt (and so our Terminated) into Abort.
            if isinstance(exc.__context__, Terminated):
                _fail("terminated (SIGTERM)", EXIT_TERMINATED)
            _fail("interrupted", EXIT_INTERRUPTED)
        except Terminated:
            _fail("terminated (SIGTERM)", EXIT_TERMINATED)
        except KeyboardInterrupt:
            if debug:
                raise
            _fail("interrupted", EXIT_INTERRUPTED)
        except click.ClickException as exc:
            if debug:
                raise
            hint = ""
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            _fail(exc.format_message() + hint, exc.exit_code)
        except ConvcliError as exc:
            if debug:
                raise
            _fail(str(exc), exc.exit_code)
        except BrokenPipeError:
            # The reader of our stdout went away (e.g. `| head`): not an error of ours.
            sys.stderr.close()
            sys.exit(1)
        except MemoryError:
            if debug:
                raise
            _fail("out of memory; try a smaller image, kernel or --jobs", 1)
        except Exception as exc:  # a bug: still one line, the traceback on request
            if debug:
                raise
            _fail(
                f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the "
                "traceback, and please report it)",
                1,
            )
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=ConvcliGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="convcli")
@click.option(
    "--debug", is_flag=True, help="Show the full traceback on errors, and what convcli notes."
)
def main(debug: bool) -> None:
    """Convolve images with kernels (PyTorch's conv2d semantics, in NumPy).

    \b
    Examples:
      convcli apply --kernel gaussian:sigma=2 photo.png blurred.png
      convcli kernels list
      convcli help

    \b
    Documentation: docs/index.md ('mkdocs serve' shows it as a site).
    """
    if debug or os.environ.get("CONVCLI_DEBUG", "") not in ("", "0"):
        _show_notes()


def _show_notes() -> None:
    """Print the library's notes (the ``convcli`` logger: e.g. a TIFF's no-data value used)."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("convcli: %(message)s"))
    logger = logging.getLogger("convcli")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _on_sigterm(signum, frame):
    raise Terminated()


def run() -> None:
    """Console-script entry point: SIGTERM unwinds like Ctrl-C, then exits 143."""
    import signal

    signal.signal(signal.SIGTERM, _on_sigterm)
    main(prog_name="convcli")


from convcli.cli._kernels import kernels_group  # noqa: E402

main.add_command(kernels_group)

from convcli.cli._apply import apply, preview  # noqa: E402

main.add_command(apply)
main.add_command(preview)

from convcli.cli._help import help_command  # noqa: E402

main.add_command(help_command)
