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
            "'local' / 'local:N' for an in-process cluster of N workers. Needs "
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
    """Whether an ``apply`` call is the batch form (else: one INPUT, one OUTPUT)."""
    if output_dir or files_from is not None or recursive:
        return True
    return len(inputs) == 2 and os.path.isdir(inputs[0])


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
    from convcli.parallel import available_cores

    inputs = list(inputs)
    if output_dir is None:
        if len(inputs) < 2 and files_from is None:
            raise click.UsageError(
                "the batch form needs an output directory: give DIR OUTDIR, or -o OUTDIR"
            )
        if files_from is None and len(inputs) != 2:
            raise click.UsageError("give -o OUTDIR to apply to several inputs")
        output_dir = inputs.pop()
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
    os.makedirs(output_dir, exist_ok=True)

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
        with open(report, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
    not_run = len(items) - len(results)
    tail = f", {not_run} not started (--fail-fast)" if not_run else ""
    failed = [r.source for r in results if r.status == "failed"]
    if failed:
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        tail += f"; failed: {', '.join(failed[:5])}{more}"
    click.echo(f"convcli: {summary.line()}{tail}", err=True)
    sys.stderr.flush()
    return 1 if summary.failed else 0
