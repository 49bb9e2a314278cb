"""NumPy ``.npy`` / ``.npz`` and libvips ``.mat`` kernel files: read and write.

NumPy files are never unpickled: the array header is read first, object arrays are
refused, the shape is checked against the size limits, and only then is the data read
with ``allow_pickle=False``. A ``.npz`` holds ``weight`` and optional ``bias`` (what
``np.savez(f, weight=conv.weight.detach().numpy(), bias=conv.bias.detach().numpy())``
writes for a PyTorch layer) and optional ``groups``.

A libvips matrix file is text: a header ``width height [scale [offset]]`` then
``height`` rows of ``width`` numbers; libvips computes ``sum / scale + offset``, so
the kernel's ``scale`` is ``1 / scale``.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from tokenize import TokenError
from typing import Any

import numpy as np

from convcli.errors import KernelError
from convcli.kernels._checks import (
    MAX_WEIGHTS,
    build_kernel,
    check_shape,
    check_side,
    parse_number,
)
from convcli.kernels._image_kernel import image_kernel, is_image_array
from convcli.kernels._kernel import Kernel

NPZ_ARRAYS = ("weight", "bias", "groups")


def _read_npy(open_fp, where: str, label: str, ranks=(2, 4)) -> np.ndarray:
    """Read one .npy stream (``open_fp()`` opens it afresh), checking the header first."""
    try:
        with open_fp() as fp:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
    except (ValueError, OSError, EOFError, SyntaxError, TokenError) as exc:
        # numpy parses the header dict with tokenize/ast: garbage raises those too
        raise KernelError(f"{where}: {label} is not a readable NumPy array ({exc})") from None
    if dtype.hasobject:
        raise KernelError(
            f"{where}: {label} holds Python objects (pickled data); convcli never "
            "unpickles files: save a numeric array"
        )
    if dtype.kind not in "biuf":
        raise KernelError(f"{where}: {label} has dtype {dtype}; a kernel needs real numbers")
    if ranks == (2, 4):
        check_shape(shape, where)
    elif len(shape) not in ranks or int(np.prod(shape)) > MAX_WEIGHTS:
        expected = "one whole number" if ranks == (0,) else "a 1-D array (C_out,)"
        raise KernelError(f"{where}: {label} has shape {shape}; expected {expected}")
    try:
        with open_fp() as fp:
            return np.lib.format.read_array(fp, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise KernelError(f"{where}: {label} is truncated or corrupt ({exc})") from None


def load_npy(path: Path, name: str, where: str) -> Kernel:
    """A kernel from a ``.npy`` file holding a 2-D or 4-D weight; a 2-D uint8 or uint16
    array is a greyscale image (a PSF: scaled to 0..1 and normalized)."""
    weight = _read_npy(lambda: open(path, "rb"), where, "the array")
    if is_image_array(weight):
        return image_kernel(weight, name, where, str(path))
    return build_kernel(name, weight, where=where, source=str(path))


def load_npz(path: Path, name: str, where: str) -> Kernel:
    """A kernel from a ``.npz`` archive with ``weight`` and optional ``bias``, ``groups``."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise KernelError(f"{where}: not a readable .npz archive ({exc})") from None
    with archive:
        members = {n.removesuffix(".npy"): n for n in archive.namelist()}
        unknown = sorted(set(members) - set(NPZ_ARRAYS))
        if unknown or "weight" not in members:
            raise KernelError(
                f"{where}: holds arrays {sorted(members)}; a kernel .npz holds 'weight' and "
                "optionally 'bias' and 'groups' (np.savez(f, weight=..., bias=...))"
            )

        def read(key, ranks=(2, 4)):
            if key not in members:
                return None
            return _read_npy(lambda: archive.open(members[key]), where, f"array {key!r}", ranks)

        weight, bias, groups = read("weight"), read("bias", (1,)), read("groups", (0,))
    if groups is None:
        groups = 1
    elif groups.dtype.kind not in "iu":
        raise KernelError(f"{where}: 'groups' must be a whole number, got dtype {groups.dtype}")
    return build_kernel(name, weight, where=where, bias=bias, groups=int(groups), source=str(path))


def save_npy(kernel: Kernel, path) -> None:
    """Write the weight of a kernel without bias or output mapping as ``.npy``."""
    if kernel.is_bank or kernel.bias is not None or kernel.groups != 1:
        raise KernelError(
            f"kernel {kernel.name!r}: a .npy file holds only a weight; save banks as .json "
            "and layers with bias or groups as .npz"
        )
    np.save(path, kernel.weight, allow_pickle=False)


def save_npz(kernel: Kernel, path) -> None:
    """Write ``weight`` (and ``bias``, ``groups`` when present) as ``.npz``."""
    if kernel.is_bank:
        raise KernelError(f"kernel {kernel.name!r}: save banks as .json")
    arrays: dict[str, Any] = {"weight": kernel.weight}
    if kernel.bias is not None:
        arrays["bias"] = kernel.bias
    if kernel.groups != 1:
        arrays["groups"] = np.array(kernel.groups)
    np.savez(path, **arrays)


_SEPARATORS = re.compile(r"[\s,]+")


def parse_vips_matrix(text: str, name: str, where: str, source: str) -> Kernel:
    """A kernel from libvips matrix text (``width height [scale [offset]]`` + rows).

    Examples
    --------
    >>> k = parse_vips_matrix("2 1 4 0.5\\n1 3\\n", "k", "test", "inline")
    >>> k.weight.tolist(), k.scale, k.offset
    ([[1.0, 3.0]], 0.25, 0.5)
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise KernelError(f"{where}: the file is empty; expected 'width height [scale [offset]]'")
    header = _SEPARATORS.split(lines[0].strip())
    if not 2 <= len(header) <= 4 or not all(t.isdigit() for t in header[:2]):
        raise KernelError(
            f"{where}: line 1 is {lines[0].strip()[:60]!r}; a libvips matrix starts with "
            "'width height [scale [offset]]' (whole numbers, then numbers)"
        )
    width, height = int(header[0]), int(header[1])
    if width < 1 or height < 1:
        raise KernelError(f"{where}: width and height must be at least 1")
    check_side(max(width, height), "kernel side", where)
    given = header[2:] + ["1", "0"][len(header) - 2 :]  # defaults: scale 1, offset 0
    scale = parse_number(given[0], where, "header scale")
    offset = parse_number(given[1], where, "header offset")
    if scale == 0:
        raise KernelError(f"{where}: scale is 0; libvips divides by it, so it must not be 0")
    rows = lines[1:]
    if len(rows) != height:
        raise KernelError(f"{where}: the header says {height} rows, the file has {len(rows)}")
    weight = np.empty((height, width))
    for r, line in enumerate(rows):
        tokens = _SEPARATORS.split(line.strip())
        if len(tokens) != width:
            raise KernelError(
                f"{where}: row {r + 1} has {len(tokens)} values, the header says {width}"
            )
        for c, token in enumerate(tokens):
            weight[r, c] = parse_number(token, where, f"row {r + 1}, value {c + 1}")
    return build_kernel(name, weight, where=where, scale=1.0 / scale, offset=offset, source=source)


def format_number(value: float) -> str:
    """Shortest text that reads back as the same float; integral values without ``.0``."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def to_vips_matrix(kernel: Kernel) -> str:
    """libvips matrix text for a 2-D kernel (``scale`` written as libvips' divisor).

    Examples
    --------
    >>> print(to_vips_matrix(Kernel("k", [[1, 2], [3, 4]], scale=0.5)), end="")
    2 2 2 0
    1 2
    3 4
    """
    if kernel.is_bank or not kernel.is_depthwise or kernel.normalize:
        raise KernelError(
            f"kernel {kernel.name!r}: a libvips matrix holds one 2-D kernel without "
            "'normalize'; save this one as .json"
        )
    divisor = 1.0 / kernel.scale if kernel.scale else float("inf")
    if not np.isfinite(divisor):
        raise KernelError(f"kernel {kernel.name!r}: scale {kernel.scale!r} has no libvips divisor")
    height, width = kernel.shape
    header = f"{width} {height}"
    if kernel.scale != 1.0 or kernel.offset != 0.0:
        header += f" {format_number(divisor)} {format_number(kernel.offset)}"
    rows = (" ".join(format_number(v) for v in row) for row in kernel.weight)
    out = io.StringIO()
    out.write(header + "\n")
    for row in rows:
        out.write(row + "\n")
    return out.getvalue()
