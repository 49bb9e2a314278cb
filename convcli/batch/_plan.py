"""Batch runs: many input files to many output files, on an executor.

This module knows paths and outcomes, not pixels: ``collect_inputs`` finds the files,
``plan_outputs`` names the results, and ``run_batch`` runs a picklable ``work(source,
target)`` callable per item on an executor (:mod:`convcli.batch._executors`), turning every
per-file failure into an :class:`ItemResult` instead of stopping the run.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from convcli.errors import ConvcliError, ImageError, ParameterError
from convcli.images._data import FORMATS, format_for
from convcli.images._outputs import is_temporary_of
from convcli.images._sources import describe, refuse_pipe


@dataclass(frozen=True)
class BatchItem:
    """One unit of work: filter ``source`` into ``target``."""

    source: str
    target: str


@dataclass(frozen=True)
class ItemResult:
    """What happened to one item: status is ``done``, ``skipped`` or ``failed``."""

    source: str
    target: str
    status: str
    error: str | None = None
    seconds: float = 0.0
    path: str | None = None  # how ``apply`` ran: streamed by bands or in memory, and why

    def as_dict(self) -> dict:
        return asdict(self)


def _matches(path: Path, pattern: str | None) -> bool:
    if pattern is None:  # every image extension convcli reads
        return format_for(path.name) is not None
    return fnmatch.fnmatch(path.name, pattern)


def output_extension(format: str) -> str:
    """The usual extension for an output ``--format`` name (``jpeg`` -> ``.jpg``).

    Raises
    ------
    ParameterError
        For a format convcli does not write (the message lists those it does).
    """

    key = format.strip().lstrip(".")
    name = key.upper() if key.upper() in FORMATS else format_for("x." + key)
    if name is None:
        raise ParameterError(
            f"unknown output format {format!r}; convcli writes {', '.join(FORMATS)}"
        )
    return FORMATS[name][0]


def read_file_list(data: bytes, *, null: bool = False) -> list[str]:
    """Paths from ``--files-from`` content: one per line, or NUL-separated with ``null``
    (as ``find -print0`` writes, so names may hold newlines)."""
    if null:
        return [os.fsdecode(p) for p in data.split(b"\0") if p]
    return [os.fsdecode(p) for p in data.splitlines() if p.strip()]


def collect_inputs(
    paths: Iterable[str], *, recursive: bool = False, pattern: str | None = None
) -> list[tuple[Path, Path]]:
    """Expand files and directories into ``(source, relative_path)`` pairs, sorted.

    A file given by name is taken whatever its extension; a directory contributes the
    files that match ``pattern`` (default: every image extension convcli reads), and with
    ``recursive`` those of its subdirectories, keeping their path relative to it.

    Raises
    ------
    ParameterError
        For a path that does not exist.
    """
    found: list[tuple[Path, Path]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            walker = path.rglob("*") if recursive else path.glob("*")
            for child in sorted(walker):
                if child.is_file() and _matches(child, pattern):
                    found.append((child, child.relative_to(path)))
        elif path.exists() or path.is_symlink():
            found.append((path, Path(path.name)))
        else:
            raise ParameterError(f"input '{raw}' does not exist")
    return found


def plan_outputs(
    inputs: list[tuple[Path, Path]],
    outdir: str | os.PathLike,
    *,
    suffix: str = "",
    extension: str | None = None,
) -> list[BatchItem]:
    """Name every output under ``outdir``: same relative path, ``suffix`` before the
    extension, ``extension`` (e.g. ``.png``) replacing the input's when given.

    Raises
    ------
    ParameterError
        When two inputs would be written to the same output (e.g. ``a.jpg`` and
        ``a.png`` with ``--format png``), or an output would overwrite its input.
    """
    outdir = Path(outdir)
    items: list[BatchItem] = []
    seen: dict[Path, Path] = {}
    for source, rel in inputs:
        ext = extension if extension is not None else rel.suffix
        target = outdir / rel.parent / f"{rel.stem}{suffix}{ext}"
        if target in seen:
            raise ParameterError(
                f"inputs '{seen[target]}' and '{source}' would both be written to '{target}'; "
                "use --suffix or keep the input formats"
            )
        if target.resolve() == source.resolve():
            raise ParameterError(
                f"output '{target}' would overwrite its input; choose another output directory "
                "or a --suffix"
            )
        seen[target] = source
        items.append(BatchItem(str(source), str(target)))
    return items


def sweep_temporaries(targets: Iterable[str]) -> None:
    """Remove temporary files that interrupted writes of ``targets`` may have left.

    :func:`convcli.images.write_image` writes ``.<name>.<random>.part`` beside the target
    (``<name>``: the first bytes of the target's name)
    and renames it into place; a worker killed mid-write leaves that file behind. Each
    directory is listed once, however many targets it holds.
    """
    by_dir: dict[Path, set[str]] = {}
    for target in targets:
        path = Path(target)
        by_dir.setdefault(path.parent, set()).add(path.name)
    for directory, names in by_dir.items():
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") and any(is_temporary_of(entry.name, n) for n in names):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def run_item(work: Callable[[str, str], str | None], item: BatchItem) -> ItemResult:
    """Run ``work`` on one item and describe the outcome; never raises for a bad file.

    A :class:`ConvcliError` (bad input, bad kernel for this image) gives its own message;
    any other exception is reported as unexpected with its type, so one broken file never
    stops the batch. KeyboardInterrupt and SystemExit propagate.
    """
    start = time.perf_counter()
    try:
        # a FIFO with no writer would block the batch forever: refused, without opening it
        refuse_pipe(item.source, f"'{describe(item.source)}'")
        folder = Path(item.target).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImageError(
                f"cannot create the folder '{describe(folder)}' for "
                f"'{describe(item.target)}': {exc.strerror or exc}"
            ) from None
        path = work(item.source, item.target)
    except ConvcliError as exc:
        return ItemResult(item.source, item.target, "failed", str(exc), time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - reported per file, the batch goes on
        message = f"unexpected {type(exc).__name__} on '{describe(item.source)}': {exc}"
        return ItemResult(item.source, item.target, "failed", message, time.perf_counter() - start)
    path = path if isinstance(path, str) else None
    return ItemResult(item.source, item.target, "done", None, time.perf_counter() - start, path)


def run_batch(
    items: list[BatchItem],
    work: Callable[[str, str], str | None],
    executor,
    *,
    skip_existing: bool = False,
    fail_fast: bool = False,
) -> Iterator[ItemResult]:
    """Run ``work`` over ``items`` on ``executor``, yielding each result as it completes.

    Items whose target exists are yielded as ``skipped`` first when ``skip_existing``.
    With ``fail_fast`` the run stops after the first failure: nothing new is started and
    the executor is shut down.
    """
    todo = []
    for item in items:
        if skip_existing and os.path.exists(item.target):
            yield ItemResult(item.source, item.target, "skipped")
        else:
            todo.append(item)
    results = executor.run(work, todo)
    try:
        for result in results:
            yield result
            if fail_fast and result.status == "failed":
                break
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()


@dataclass
class Summary:
    """Counts for the closing line and the report."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0

    def add(self, result: ItemResult) -> None:
        setattr(self, result.status, getattr(self, result.status) + 1)

    def line(self) -> str:
        return (
            f"{self.done} done, {self.skipped} skipped, {self.failed} failed "
            f"in {self.seconds:.1f} s"
        )


def build_report(results: list[ItemResult], summary: Summary, settings: dict) -> dict:
    """The ``--report`` JSON document: settings used, per-file outcomes in input order."""
    return {
        "convcli_report": 1,
        "settings": settings,
        "summary": {
            "done": summary.done,
            "skipped": summary.skipped,
            "failed": summary.failed,
            "seconds": round(summary.seconds, 3),
        },
        "files": [r.as_dict() for r in results],
    }
