"""What ``convcli kernels list`` shows: every name a spec can use, and what it shadows."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from convcli.errors import KernelError
from convcli.kernels._named import PARAMETRIC
from convcli.kernels._registry import (
    _kernel_files,
    builtin_files,
    load_builtin,
    load_file,
    search_dirs,
)


@dataclass(frozen=True)
class KernelEntry:
    """One row of the kernel list.

    ``kind`` is ``parametric``, ``matrix`` (2-D), ``layer`` (4-D), ``bank``, or
    ``unreadable`` (a user file that fails to load: ``description`` says why).
    ``shadows`` names what this entry hides (``builtin`` or user files further down the
    search path); ``shadowed_by`` the entry that hides this one.
    """

    name: str
    shape: tuple[int, ...] | None
    kind: str
    source: str
    description: str
    parameters: dict = field(default_factory=dict)
    members: int = 0
    shadows: str | None = None
    shadowed_by: str | None = None

    @property
    def size(self) -> str:
        """``3x3`` (kH x kW; a 4-D shape in full), with ``x2 members`` for a bank."""
        if self.shape is None:
            return "-"
        text = "x".join(str(n) for n in self.shape)
        return f"{text} ({self.members})" if self.members else text

    def to_json(self) -> dict:
        """A JSON-ready dict of every field."""
        return {
            "name": self.name,
            "shape": list(self.shape) if self.shape else None,
            "kind": self.kind,
            "source": self.source,
            "description": self.description,
            "parameters": self.parameters,
            "members": self.members,
            "shadows": self.shadows,
            "shadowed_by": self.shadowed_by,
        }


def _parameters(name: str) -> dict:
    return {
        key: {"type": p.kind.__name__, "default": p.describe_default(), "help": p.help}
        for key, p in PARAMETRIC[name].params.items()
    }


def _entry(name: str, load, source: str, kind: str | None = None, **extra) -> KernelEntry:
    try:
        kernel = load()
    except KernelError as exc:
        return KernelEntry(name, None, "unreadable", source, str(exc))
    return KernelEntry(
        name,
        kernel.shape,
        kind or kernel.kind,
        source,
        kernel.description,
        members=len(kernel.members),
        **extra,
    )


def list_kernels(search_path=None) -> list[KernelEntry]:
    """Every kernel a name resolves to, sorted by name; shadowed entries follow the winner.

    Examples
    --------
    >>> entries = {e.name: e for e in list_kernels()}
    >>> entries["gaussian"].kind, entries["gaussian"].shape, entries["sobel"].size
    ('parametric', (7, 7), '3x3 (2)')
    """
    by_name: dict[str, list[KernelEntry]] = {}
    for folder in search_dirs(search_path):
        if not folder.is_dir():
            continue
        for name, path in _kernel_files(folder).items():
            entry = _entry(name, lambda p=path, n=name: load_file(p, n, search_path), str(path))
            by_name.setdefault(name, []).append(entry)
    for name in PARAMETRIC:
        entry = _entry(
            name,
            lambda n=name: load_builtin(n),
            "builtin",
            "parametric",
            parameters=_parameters(name),
        )
        by_name.setdefault(name, []).append(entry)
    for name in builtin_files():
        entry = _entry(name, lambda n=name: load_builtin(n), "builtin")
        by_name.setdefault(name, []).append(entry)
    rows = []
    for name in sorted(by_name):
        first, *hidden = by_name[name]
        if hidden:
            first = replace(first, shadows=", ".join(e.source for e in hidden))
        rows.append(first)
        rows.extend(replace(e, shadowed_by=first.source) for e in hidden)
    return rows
