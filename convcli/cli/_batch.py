"""The batch form of ``convcli apply``: folders and file lists in, a folder out.

``batch_options`` adds the batch options to a command; :func:`run_batch_command` turns
them into a run: collect the inputs, name the outputs, run the per-file work on the
chosen executor with progress, then print one summary line, write the ``--report`` and
return the exit code (1 when any file failed).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time

import click

from convcli._messages import fold_name, name_list
from convcli.cli._progress import Progress


def batch_options(command):
    """Options of the batch form, shared by every command that runs over many files."""
    options = [
        click.option(
            "-o",
            "--output-dir",
            type=click.Path(file_okay=False),
            help="Write results into this directory (every positional argument is "
            "then an input). Example: convcli apply -k box *.png -o out/",
        ),
        click.option(
            "-r",
            "--recursive",
            is_flag=True,
            help="Descend into subdirectories of input directories, keeping the "
            "relative tree in the output directory.",
        ),
        click.option(
            "--glob",
            "pattern",
            metavar="PATTERN",
            help="Only files whose name matches PATTERN in input directories "
            "(default: every image extension convcli reads). Example: "
            "--glob '*.png'",
        ),
        click.option(
            "--files-from",
            type=click.File("rb"),
            metavar="FILE",
            help="Read input paths from FILE ('-' for stdin), one per line. "
            "Example: find . -name '*.jpg' | convcli apply -k box "
            "--files-from - -o out/",
        ),
        click.option(
            "--null",
            "-0",
            "null",
            is_flag=True,
            help="With --files-from: paths are NUL-separated (find -print0).",
        ),
        click.option(
            "--suffix",
            default="",
            metavar="TEXT",
            help="Add TEXT before each output's extension: a.png -> a-blur.png "
            "with --suffix -blur.",
        ),
        click.option(
            "-j",
            "--jobs",
            type=click.IntRange(min=1),
            default=None,
            help="Worker processes (default: the number of cores). Output is "
            "byte-identical for any value.",
        ),
        click.option(
            "--scheduler",
            envvar="CONVCLI_SCHEDULER",
            metavar="ADDRESS",
            help="Run the files as tasks on a Dask scheduler (tcp://host:8786), or "
            "'local' / 'local:N' for an in-process cluster of N workers; with one INPUT "
            "(typed, not from the environment), filter its bands there. Needs "
            'pip install "convcli[dask]". Env: CONVCLI_SCHEDULER.',
        ),
        click.option(
            "-q",
            "--quiet",
            is_flag=True,
            help="No progress output (failures and the summary still print).",
        ),
        click.option("--fail-fast", is_flag=True, help="Stop at the first file that fails."),
        click.option(
            "--skip-existing",
            is_flag=True,
            help="Skip inputs whose output already exists (resume a run).",
        ),
        click.option(
            "--report",
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="Write a JSON report: per file the input, output, status, error "
            "and time, plus the kernels and options used.",
        ),
    ]
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


def is_batch(inputs, output_dir, files_from, recursive) -> bool:
    """Whether an ``apply`` call is the batch form (else: one INPUT, one OUTPUT).

    As ``cp``: the last argument names a folder when it is an existing directory or ends
    with ``/``; a folder as the first of two arguments is a folder of inputs.
    """
    if output_dir or files_from is not None or recursive:
        return True
    if len(inputs) >= 2 and names_folder(inputs[-1]):
        return True
    return len(inputs) == 2 and os.path.isdir(inputs[0])


def names_folder(path: str) -> bool:
    """An existing directory, or a name ending with a path separator (``out/``)."""
    seps = tuple(s for s in {"/", os.sep, os.altsep} if s)
    return path != "-" and (path.endswith(seps) or os.path.isdir(path))


def _refuse_file_like_folder(output_dir: str, inputs, option: bool) -> None:
    """Refuse an output folder named like an image file (``x.png``) that is not a folder
    yet: ``apply photos/ out/x.png`` would create a directory called ``x.png``."""
    from convcli.images._data import format_for

    if os.path.isdir(output_dir) or format_for(os.path.basename(output_dir)) is None:
        return
    what = "-o" if option else "OUTPUT"
    folders = [p for p in inputs if os.path.isdir(p)]
    why = f"INPUT '{folders[0]}' is a folder" if folders else "there are several inputs"
    raise click.UsageError(
        f"{why}, so {what} must be a folder, but '{output_dir}' looks like an image file "
        f"name; give a folder (e.g. '{os.path.dirname(output_dir) or 'out'}/')"
    )


def run_batch_command(
    inputs,
    work,
    *,
    output_dir,
    recursive,
    pattern,
    files_from,
    null,
    suffix,
    extension,
    jobs,
    scheduler,
    quiet,
    fail_fast,
    skip_existing,
    report,
    settings,
) -> int:
    """Run the batch; returns the process exit code (0, or 1 if any file failed)."""
    from convcli.batch._executors import DaskExecutor, make_executor
    from convcli.batch._plan import (
        Summary,
        build_report,
        collect_inputs,
        plan_outputs,
        read_file_list,
        run_batch,
    )
    from convcli.errors import ParameterError
    from convcli.images._outputs import check_output_path, write_output
    from convcli.parallel import available_cores

    inputs = list(inputs)
    option = output_dir is not None
    if output_dir is None:
        if len(inputs) < 2 and files_from is None:
            raise click.UsageError(
                "the batch form needs an output folder: give DIR OUTDIR, FILE... OUTDIR/, "
                "or -o OUTDIR"
            )
        if files_from is None and len(inputs) > 2 and not names_folder(inputs[-1]):
            raise click.UsageError(
                f"several inputs go into a folder, but '{inputs[-1]}' is not one; end it "
                "with '/' to create it, or give -o OUTDIR"
            )
        output_dir = inputs.pop()
    _refuse_file_like_folder(output_dir, inputs, option)
    if files_from is not None:
        inputs += read_file_list(files_from.read(), null=null)
    if not inputs:
        raise ParameterError("no input files given")
    found = collect_inputs(inputs, recursive=recursive, pattern=pattern)
    if not found:
        what = f"matching --glob {pattern!r}" if pattern else "with an image extension"
        deeper = "" if recursive else " (use -r to look in subdirectories)"
        raise ParameterError(f"no input files {what} in {', '.join(inputs)}{deeper}")
    items = plan_outputs(found, output_dir, suffix=suffix, extension=extension)
    if report:  # before any work: a report that cannot be written is known now
        check_output_path(report, f"--report {report}")
    make_output_dir(output_dir)

    executor = DaskExecutor(scheduler) if scheduler else make_executor(jobs or available_cores())
    summary = Summary()
    progress = Progress(len(items), quiet=quiet)
    results = []
    start = time.perf_counter()
    try:
        for result in run_batch(
            items, work, executor, skip_existing=skip_existing, fail_fast=fail_fast
        ):
            results.append(result)
            summary.add(result)
            progress.update(result)
    finally:
        progress.close()
    summary.seconds = time.perf_counter() - start
    if report:
        order = {item.source: i for i, item in enumerate(items)}
        results.sort(key=lambda r: order[r.source])
        document = build_report(results, summary, settings)
        text = json.dumps(document, indent=2) + "\n"
    not_run = len(items) - len(results)
    tail = f", {not_run} not started (--fail-fast)" if not_run else ""
    failed = [r.source for r in results if r.status == "failed"]
    if failed:
        tail += f"; failed: {name_list(failed)}"
    click.echo(f"convcli: {summary.line()}{tail}", err=True)
    sys.stderr.flush()
    if report:  # after the summary, so a full disk here still leaves the summary
        write_output(
            report, lambda stream: stream.write(text.encode("utf-8")), f"--report {report}"
        )
    return 1 if summary.failed else 0


def make_output_dir(output_dir: str) -> None:
    """Create the batch's output directory (and its parents), or one clear error."""
    from convcli.errors import ImageError

    try:
        os.makedirs(output_dir, exist_ok=True)
    except FileExistsError:
        raise ImageError(
            f"cannot create the output directory {fold_name(output_dir)}: a file of that name "
            "exists; give a directory"
        ) from None
    except OSError as exc:
        raise ImageError(
            f"cannot create the output directory {fold_name(output_dir)}: {exc.strerror or exc}"
        ) from None
