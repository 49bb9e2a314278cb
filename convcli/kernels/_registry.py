"""Resolving kernel specs: names, parameters, files, inline text, and the search path.

A spec is, in the order tried: inline JSON (starts with ``[`` or ``{``); an ImageMagick
string (``3x3: ...``); a path (has a ``/`` or ends in ``.json``, ``.npy``, ``.npz``,
``.mat``); otherwise ``NAME`` or ``NAME:key=value,...``. Names are looked up in the
directories of ``search_path`` (``--kernel-path``), then of ``CONVCLI_KERNEL_PATH``, then
among the built-ins, so a user kernel can shadow a built-in (``kernels list`` flags it).
"""

from __future__ import annotations

import functools
import importlib.resources
import os
from dataclasses import replace
from pathlib import Path

from convcli.errors import KernelError
from convcli.kernels import _arrays as arrays
from convcli.kernels import _json as jsonfmt
from convcli.kernels._checks import MAX_TEXT_BYTES, build_kernel, suggest
from convcli.kernels._image_kernel import IMAGE_SUFFIXES, load_image_kernel
from convcli.kernels._imagemagick import is_imagemagick, parse_imagemagick
from convcli.kernels._kernel import Kernel
from convcli.kernels._named import PARAMETRIC
from convcli.kernels._params import parse_params
from convcli.kernels._rotations import ROTATIONS, rotated_bank
from convcli.kernels._safetensors import SUFFIX as SAFETENSORS
from convcli.kernels._safetensors import load_safetensors, save_safetensors, split_spec

#: File suffixes searched for a name, in order of preference.
SUFFIXES = (".json", ".npy", ".npz", ".mat")
#: The environment variable listing user kernel directories (``os.pathsep``-separated).
ENV_VAR = "CONVCLI_KERNEL_PATH"
#: Further suffixes read as kernel files when given as a path (not searched by name).
PATH_SUFFIXES = (SAFETENSORS, *IMAGE_SUFFIXES)
#: PyTorch pickles: refused, with how to export them.
PICKLE_SUFFIXES = (".pt", ".pth")
_MAX_DEPTH = 8


def builtin_dir():
    """The folder of shipped JSON kernels: the top-level ``kernels/`` folder of the project,
    installed as the data package ``convcli.kernels.builtin`` (see pyproject.toml)."""
    return importlib.resources.files("convcli.kernels.builtin")


def _kernel_files(folder) -> dict:
    """``{name: file}`` of the kernel files in ``folder`` (first suffix in SUFFIXES wins)."""
    found: dict = {}
    entries = sorted(folder.iterdir(), key=lambda p: p.name)
    for suffix in SUFFIXES:
        for entry in entries:
            name, dot, ext = entry.name.rpartition(".")
            if dot and "." + ext.lower() == suffix and not name.endswith(".schema"):
                if entry.is_file() and name not in found:
                    found[name] = entry
    return found


@functools.lru_cache(maxsize=1)
def builtin_files() -> dict:
    """``{name: resource}`` of the shipped JSON kernels."""
    return _kernel_files(builtin_dir())


def search_dirs(search_path=None) -> list[Path]:
    """The user kernel directories: ``search_path`` first, then ``CONVCLI_KERNEL_PATH``.

    Examples
    --------
    >>> [d.name for d in search_dirs(["/a", "/b"])[:2]]
    ['a', 'b']
    """
    if isinstance(search_path, (str, os.PathLike)):
        search_path = [search_path]
    env = os.environ.get(ENV_VAR, "").split(os.pathsep)
    return [_expand(d) for d in [*(search_path or []), *env] if str(d)]


def _expand(path) -> Path:
    """``path`` with a leading ``~`` or ``~user`` expanded, when there is such a home."""
    try:
        return Path(path).expanduser()
    except RuntimeError:  # "~nosuchuser"
        return Path(path)


def _looks_like_path(text: str) -> bool:
    separators = {s for s in ("/", os.sep, os.altsep) if s}
    return (
        any(s in text for s in separators)
        or text.lower().endswith((*SUFFIXES, *PATH_SUFFIXES, *PICKLE_SUFFIXES))
        or text.startswith(("~", "."))
    )


def load_kernel(spec, search_path=None) -> Kernel:
    """Resolve a kernel spec (name, ``name:key=value``, file, inline JSON/ImageMagick).

    Parameters
    ----------
    spec : str or path-like
        ``gaussian:sigma=2``, ``edges.json``, ``'[[0,-1,0],[-1,5,-1],[0,-1,0]]'``,
        ``'3x3: 0,-1,0,-1,5,-1,0,-1,0'`` ...
    search_path : list of str or Path, optional
        Directories searched for user kernels by name, before ``CONVCLI_KERNEL_PATH``.

    Returns
    -------
    Kernel

    Raises
    ------
    KernelError
        The spec cannot be resolved; the message names it and what is accepted.

    Examples
    --------
    >>> load_kernel("sobel-x").weight.tolist()
    [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]
    >>> load_kernel("gaussian:sigma=0.5").shape
    (5, 5)
    >>> load_kernel("gausian")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    convcli.errors.KernelError: unknown kernel 'gausian' (did you mean 'gaussian'?); run ...
    """
    return _Resolver(search_dirs(search_path)).load(spec)


def load_builtin(name: str) -> Kernel:
    """The built-in kernel ``name`` (with default parameters), ignoring user kernels."""
    return _Resolver([]).named(name)


def load_file(path, name: str | None = None, search_path=None) -> Kernel:
    """Load a kernel file (``.json``, ``.npy``, ``.npz`` or libvips ``.mat``)."""
    return _Resolver(search_dirs(search_path)).file(Path(path), name)


def save_kernel(kernel: Kernel, path) -> None:
    """Write ``kernel`` to ``path`` in the format its suffix names (round-trips).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     save_kernel(load_kernel("sharpen"), Path(d, "s.mat"))
    ...     load_file(Path(d, "s.mat")).weight.tolist()[1]
    [-1.0, 5.0, -1.0]
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        path.write_text(jsonfmt.dumps(jsonfmt.kernel_to_json(kernel)) + "\n", encoding="utf-8")
    elif suffix == ".npy":
        arrays.save_npy(kernel, path)
    elif suffix == ".npz":
        arrays.save_npz(kernel, path)
    elif suffix == ".mat":
        path.write_text(arrays.to_vips_matrix(kernel), encoding="utf-8")
    elif suffix == SAFETENSORS:
        save_safetensors(kernel, path)
    else:
        accepted = ", ".join((*SUFFIXES, SAFETENSORS))
        raise KernelError(f"cannot write {str(path)!r}: accepted suffixes: {accepted}")


def all_names(search_path=None) -> list[str]:
    """Every name a spec can use: user kernels and built-ins."""
    users = [n for d in search_dirs(search_path) if d.is_dir() for n in _kernel_files(d)]
    return sorted({*users, *PARAMETRIC, *builtin_files()})


class _Resolver:
    """One resolution: the search directories, and the banks being resolved (for cycles)."""

    def __init__(self, dirs: list[Path]):
        self.dirs = dirs
        self.stack: list[str] = []

    def load(self, spec, base: Path | None = None) -> Kernel:
        if isinstance(spec, os.PathLike):
            return self.file(Path(spec))
        if not isinstance(spec, str):
            raise KernelError(f"a kernel spec is a string or a path, got {type(spec).__name__}")
        text = spec.strip()
        if not text:
            raise KernelError(
                "empty kernel spec: give a name (see 'convcli kernels list'), "
                "a file, a JSON matrix or an ImageMagick kernel string"
            )
        short = text if len(text) <= 60 else text[:57] + "..."
        head, colon, rest = text.partition(":")
        if colon and head.strip() in ROTATIONS:  # compass:SPEC, rot90:SPEC (reserved words)
            where, inner = f"kernel {short!r}", rest.strip()
            if not inner:
                raise KernelError(f"{where}: give the kernel to turn, e.g. '{head}:sobel-x'")
            return self._guard(
                text, lambda: rotated_bank(head.strip(), self.load(inner, base), inner, where)
            )
        if text[0] in "[{":
            where = f"inline kernel {short!r}"
            data = jsonfmt.parse_json(text, where)
            return self._guard(
                text,
                lambda: jsonfmt.kernel_from_json(
                    data, name="inline", source="inline", where=where, resolve=self.load
                ),
            )
        if is_imagemagick(text):
            return parse_imagemagick(text, f"inline ImageMagick kernel {short!r}")
        weights = split_spec(text)
        if weights is not None:  # model.safetensors:conv1.weight
            path = _expand(weights[0])
            if base is not None and not path.is_absolute():
                path = base / path
            return load_safetensors(path, weights[1])
        if _looks_like_path(text):
            path = _expand(text)
            if base is not None and not path.is_absolute():
                path = base / path
            return self.file(path)
        return self.named(text)

    def _guard(self, key: str, build):
        if key in self.stack or len(self.stack) >= _MAX_DEPTH:
            chain = " -> ".join([*self.stack, key])
            raise KernelError(f"kernel {key!r} refers to itself or nests too deeply: {chain}")
        self.stack.append(key)
        try:
            return build()
        finally:
            self.stack.pop()

    def find_user(self, name: str):
        for folder in self.dirs:
            if folder.is_dir():
                found = _kernel_files(folder).get(name)
                if found is not None:
                    return found
        return None

    def named(self, text: str) -> Kernel:
        name, colon, params = text.partition(":")
        name = name.strip()
        where = f"kernel {text!r}"
        user = self.find_user(name)
        if user is not None or name in builtin_files():
            if colon and params.strip():
                raise KernelError(f"{where}: {name} takes no parameters")
            if user is not None:
                return self.file(user, name)
            resource = builtin_files()[name]
            return self._guard(
                name,
                lambda: self._json(
                    resource.read_text(encoding="utf-8"),
                    name,
                    "builtin",
                    f"kernel {name!r}",
                    base=None,
                ),
            )
        if name in PARAMETRIC:
            kind = PARAMETRIC[name]
            values = parse_params(params, kind.params, where, name)
            built = kind.build(**values, where=where)
            if isinstance(built, Kernel):  # a bank (gabor-bank)
                return replace(built, name=text, description=kind.description)
            return build_kernel(
                text,
                built,
                where=where,
                description=kind.description,
                source="builtin",
            )
        if Path(text).is_file():  # a file, but not of a kernel type (an image given as -k)
            return self.file(Path(text))
        raise KernelError(
            f"unknown kernel {name!r}{suggest(name, all_names(self.dirs))}; run "
            "'convcli kernels list' to see the kernels, or give a file path"
        )

    def file(self, path: Path, name: str | None = None) -> Kernel:
        where = f"kernel file {str(path)!r}"
        suffix = path.suffix.lower()
        if suffix in PICKLE_SUFFIXES:
            raise KernelError(
                f"{where}: a PyTorch pickle, which convcli never loads (unpickling runs code "
                "from the file); export the weights to safetensors: "
                "safetensors.torch.save_file(model.state_dict(), 'model.safetensors'), then "
                "use -k 'model.safetensors:LAYER.weight'"
            )
        if suffix not in (*SUFFIXES, *PATH_SUFFIXES):
            accepted = ", ".join((*SUFFIXES, *PATH_SUFFIXES))
            raise KernelError(f"{where}: unsupported file type; accepted: {accepted}")
        if suffix == SAFETENSORS:
            return load_safetensors(path, None, name)
        if not path.is_file():
            problem = "is not a file" if path.exists() else "not found"
            raise KernelError(f"{where} {problem}")
        name = name or path.stem
        if suffix in IMAGE_SUFFIXES:
            return load_image_kernel(path, name, where)
        if suffix == ".npy":
            return arrays.load_npy(path, name, where)
        if suffix == ".npz":
            return arrays.load_npz(path, name, where)
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise KernelError(f"{where}: {size} bytes is over the limit of {MAX_TEXT_BYTES}")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise KernelError(
                f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from None
        if suffix == ".mat":
            return arrays.parse_vips_matrix(text, name, where, str(path))
        key = str(path.resolve())
        return self._guard(key, lambda: self._json(text, name, str(path), where, path.parent))

    def _json(self, text: str, name: str, source: str, where: str, base) -> Kernel:
        data = jsonfmt.parse_json(text, where)
        return jsonfmt.kernel_from_json(
            data,
            name=name,
            source=source,
            where=where,
            resolve=lambda spec: self.load(spec, base),
        )
