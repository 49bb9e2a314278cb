"""The house rules of the code base, checked: layers point one way, no import cycles.

Reads the source with ``ast`` (nothing is imported), so a rule broken anywhere fails here
with the module and the import named.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "convcli"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(path: Path, top_level_only: bool) -> set[str]:
    """Modules imported by ``path`` (``from a import b`` counts ``a.b`` when it is a module)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "convcli"


def test_no_import_cycles_between_convcli_modules():
    graph = {
        name: {m for m in _imports(path, top_level_only=True) if m in MODULES and m != name}
        for name, path in MODULES.items()
    }
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycle = trail[trail.index(name) :] + [name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for target in sorted(graph[name]):
            # a package's __init__ importing its own submodules is not a cycle
            if not name.startswith(target + ".") and not target.startswith(name + "."):
                visit(target, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


# layer -> the convcli layers it may import from (the ground floor is always allowed)
ALLOWED = {
    "engine": set(),
    "kernels": {"engine"},
    "images": set(),
    "filtering": {"engine", "kernels", "images"},
    "batch": {"filtering", "engine", "kernels", "images"},
    "cli": {"batch", "filtering", "engine", "kernels", "images"},
}
GROUND = {"choices", "errors", "parallel", "_memory", "_text", "_version", "convcli"}
ENTRY = {"__main__"}  # python -m convcli: the CLI


@pytest.mark.parametrize("name", sorted(MODULES))
def test_layers_import_only_downwards(name):
    layer = _layer(name)
    if layer in ENTRY:
        return
    if layer in GROUND:
        allowed = GROUND
    else:
        allowed = GROUND | ALLOWED[layer] | {layer}
    for target in _imports(MODULES[name], top_level_only=False):
        if target.startswith("convcli") and target in MODULES:
            assert _layer(target) in allowed, f"{name} imports {target} ({layer} is below it)"


THIRD_PARTY_HOMES = {"PIL": "images", "tifffile": "images", "imagecodecs": "images", "click": "cli"}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_codecs_only_in_images_and_click_only_in_cli(name):
    for target in _imports(MODULES[name], top_level_only=False):
        home = THIRD_PARTY_HOMES.get(target.split(".")[0])
        if home is not None:
            assert _layer(name) == home, f"{name} imports {target}: only {home}/ may"


def test_no_module_is_too_long_to_read():
    long = {n: len(p.read_text().splitlines()) for n, p in MODULES.items()}
    assert {n: c for n, c in long.items() if c > 450} == {}
