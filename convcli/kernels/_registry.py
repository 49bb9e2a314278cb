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
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from importlib.abc import Traversable
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

#: Kernel directories to search first: one path, several, or None.
SearchPath = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None

#: File suffixes searched for a name, in order of preference.
SUFFIXES = (".json", ".npy", ".npz", ".mat")
#: The environment variable listing user kernel directories (``os.pathsep``-separated).
ENV_VAR = "CONVCLI_KERNEL_PATH"
#: Further suffixes read as kernel files when given as a path (not searched by name).
PATH_SUFFIXES = (SAFETENSORS, *IMAGE_SUFFIXES)
#: PyTorch pickles: refused, with how to export them.
PICKLE_SUFFIXES = (".pt", ".pth")
_MAX_DEPTH = 8

#: Common names people type for a kernel, to the kernel's name here. Data: a synonym works
#: once its target exists (``difference-of-gaussians`` when a ``dog`` kernel is defined).
SYNONYMS = {
    "blur": "gaussian",
    "gauss": "gaussian",
    "mean": "box",
    "average": "box",
    "avg": "box",
    "edge": "sobel",
    "edges": "sobel",
    "laplace": "laplacian",
    "sharp": "sharpen",
    "difference-of-gaussians": "dog",
    "difference-of-gaussian": "dog",
    "laplacian-of-gaussian": "log",
}

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_CALL = re.compile(r"^\s*([A-Za-z][\w-]*)\s*\((.*)\)\s*$", re.DOTALL)


def builtin_dir() -> Traversable:
    """The folder of shipped JSON kernels: the top-level ``kernels/`` folder of the project,
    installed as the data package ``convcli.kernels.builtin`` (see pyproject.toml). In a
    checkout, ``convcli/kernels/builtin`` is a link to that folder, so the same package
    import finds it when the tests run on the source tree."""
    return importlib.resources.files("convcli.kernels.builtin")


def _kernel_files(folder: Traversable) -> dict[str, Traversable]:
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


def search_dirs(search_path: SearchPath = None) -> list[Path]:
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


def _expand(path: str | os.PathLike[str]) -> Path:
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


def load_kernel(spec: str | os.PathLike[str], search_path: SearchPath = None) -> Kernel:
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
    _check_search_path(search_path)
    return _Resolver(search_dirs(search_path)).load(spec)


def _check_search_path(search_path: SearchPath) -> None:
    """Refuse a ``search_path`` folder that does not exist (a typo would shadow nothing)."""
    if isinstance(search_path, (str, os.PathLike)):
        search_path = [search_path]
    for folder in search_path or []:
        if not _expand(folder).is_dir():
            what = "is not a folder" if _expand(folder).exists() else "does not exist"
            raise KernelError(
                f"kernel folder {str(folder)!r} {what}; give an existing folder of kernel "
                "files (--kernel-path)"
            )


def load_builtin(name: str) -> Kernel:
    """The built-in kernel ``name`` (with default parameters), ignoring user kernels."""
    return _Resolver([]).named(name)


def load_file(
    path: str | os.PathLike[str], name: str | None = None, search_path: SearchPath = None
) -> Kernel:
    """Load a kernel file (``.json``, ``.npy``, ``.npz`` or libvips ``.mat``)."""
    return _Resolver(search_dirs(search_path)).file(Path(path), name)


def save_kernel(kernel: Kernel, path: str | os.PathLike[str]) -> None:
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


def all_names(search_path: SearchPath = None) -> list[str]:
    """Every name a spec can use: user kernels and built-ins."""
    users = [n for d in search_dirs(search_path) if d.is_dir() for n in _kernel_files(d)]
    return sorted({*users, *PARAMETRIC, *builtin_files()})


class _Resolver:
    """One resolution: the search directories, and the banks being resolved (for cycles)."""

    def __init__(self, dirs: list[Path]):
        self.dirs = dirs
        self.stack: list[str] = []

    def load(self, spec: str | os.PathLike[str], base: Path | None = None) -> Kernel:
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
        if _URL.match(text):
            raise KernelError(
                f"kernel spec {short!r} is a URL; convcli does not download kernels: "
                "download the file first (curl -O URL) and give its path"
            )
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

    def _guard(self, key: str, build: Callable[[], Kernel]) -> Kernel:
        if key in self.stack or len(self.stack) >= _MAX_DEPTH:
            chain = " -> ".join([*self.stack, key])
            raise KernelError(f"kernel {key!r} refers to itself or nests too deeply: {chain}")
        self.stack.append(key)
        try:
            return build()
        finally:
            self.stack.pop()

    def canonical(self, name: str) -> str:
        """``name`` as known here: itself, else its lower case, else the kernel a synonym
        (``blur``, ``mean``, ``edge`` ...) names, when that kernel exists."""
        known = set(PARAMETRIC) | set(builtin_files())
        if name in known or self.find_user(name) is not None:
            return name
        lower = name.lower()
        if lower in known or self.find_user(lower) is not None:
            return lower
        target = SYNONYMS.get(lower)
        if target is not None and (target in known or self.find_user(target) is not None):
            return target
        return name

    def find_user(self, name: str) -> Path | None:
        for folder in self.dirs:
            if folder.is_dir():
                found = _kernel_files(folder).get(name)
                if found is not None:
                    return Path(str(found))  # a user folder is on disk
        return None

    def named(self, text: str) -> Kernel:
        call = _CALL.match(text)
        if call:
            fixed = f"{call[1]}:{call[2].replace(' ', '')}" if call[2].strip() else call[1]
            raise KernelError(
                f"kernel {text!r}: parameters are written NAME:key=value,key=value, "
                f"not NAME(key=value); use {fixed!r}"
            )
        name, colon, params = text.partition(":")
        name = self.canonical(name.strip())
        text = name + colon + params
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
            kernel = build_kernel(
                text,
                built,
                where=where,
                description=kind.description,
                source="builtin",
            )
            kernel = kind.finish(kernel, values) if kind.finish else kernel
            return replace(kernel, output_map=kind.output_map) if kind.output_map else kernel
        if Path(text).is_file():  # a file, but not of a kernel type (an image given as -k)
            return self.file(Path(text))
        names = all_names(self.dirs)
        # synonyms of existing kernels are candidates; a name defined nowhere yet (dog
        # before a dog kernel exists) gets no look-alike (log is not a DoG)
        synonyms = [k for k, v in SYNONYMS.items() if v in names]
        hint = suggest(name, names) or suggest(name, synonyms)
        hint = "" if name.lower() in SYNONYMS.values() else hint
        raise KernelError(
            f"unknown kernel {name!r}{hint}; run "
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

    def _json(self, text: str, name: str, source: str, where: str, base: Path | None) -> Kernel:
        data = jsonfmt.parse_json(text, where)
        return jsonfmt.kernel_from_json(
            data,
            name=name,
            source=source,
            where=where,
            resolve=lambda spec: self.load(spec, base),
        )
