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

from convcli._notes import show_notes
from convcli._version import __version__
from convcli.errors import ConvcliError

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
EXIT_HANGUP = 129


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwind like Ctrl-C (temporaries removed, workers stopped)."""


class HungUp(Terminated):
    """SIGHUP arrived (the terminal or the session went away): unwind like SIGTERM."""


def _debug_requested(args) -> bool:
    argv = sys.argv[1:] if args is None else list(args)
    # --debug is the group's flag, before the command name: later it is some option's value
    group_flags = itertools.takewhile(lambda arg: arg.startswith("-"), argv)
    return "--debug" in group_flags or os.environ.get("CONVCLI_DEBUG", "") not in ("", "0")


def _fail(message: str, code: int) -> None:
    # One printable line of bounded length, whatever the message carries (a newline or an
    # escape sequence in a file name, a list of 20000 archive members).
    from convcli._messages import fold

    text = fold(" ".join(str(message).split()))
    try:
        click.echo(f"Error: {text}", err=True)
    except (OSError, ValueError):  # stderr closed as well: the exit code says it
        pass
    sys.exit(code)


def _signal_exit(exc: BaseException | None) -> None:
    """Exit for a signal that unwound the command, when ``exc`` is one of ours."""
    if isinstance(exc, HungUp):
        _fail("hung up (SIGHUP)", EXIT_HANGUP)
    if isinstance(exc, Terminated):
        _fail("terminated (SIGTERM)", EXIT_TERMINATED)


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
            _signal_exit(exc.__context__)
            _fail("interrupted", EXIT_INTERRUPTED)
        except Terminated as exc:
            _signal_exit(exc)
        except KeyboardInterrupt:
            if debug:
                raise
            _fail("interrupted", EXIT_INTERRUPTED)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()  # the normal multi-line help (on stderr, exit 2, as click does)
            sys.exit(exc.exit_code)
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
            # The reader of our stdout went away (e.g. `| head`): quiet, but not success.
            # stdout points at /dev/null so that the exit's flush cannot complain.
            _quiet_stdout()
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

    def resolve_command(self, ctx, args):
        """As click does; a file name where a command was expected suggests ``apply``."""
        name = args[0] if args else ""
        if name and self.get_command(ctx, name) is None and _looks_like_file(name):
            rest = " ".join(args[1:2]) or "OUTPUT"
            raise click.UsageError(
                f"No such command {name!r}; to filter an image: "
                f"{ctx.command_path} apply -k KERNEL {name} {rest}",
                ctx,
            )
        return super().resolve_command(ctx, args)


def _looks_like_file(name: str) -> bool:
    """An existing path, or a name with a separator or an extension (``in.png``)."""
    return os.path.exists(name) or os.sep in name or "." in name.lstrip(".")


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
    show_notes()  # the library's notes (ConvcliNote warnings): one "convcli: note:" line each
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


def _quiet_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass


def _on_sigterm(signum, frame):
    raise Terminated()


def _on_sighup(signum, frame):
    raise HungUp()


def run() -> None:
    """Console-script entry point: SIGTERM and SIGHUP unwind like Ctrl-C (temporaries
    removed, workers stopped), then exit 143 and 129."""
    import signal

    signal.signal(signal.SIGTERM, _on_sigterm)
    if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signal.signal(signal.SIGHUP, _on_sighup)  # nohup's "ignore" stays
    main(prog_name="convcli")


from convcli.cli._kernels import kernels_group  # noqa: E402

main.add_command(kernels_group)

from convcli.cli._apply import apply, preview  # noqa: E402

main.add_command(apply)
main.add_command(preview)

from convcli.cli._help import help_command  # noqa: E402

main.add_command(help_command)
