"""The JSON kernel format (``kernels/kernel.schema.json``): parse, check, and write.

A kernel is an object ``{"weight": [[...]], "bias": [...], "groups": 1, "normalize":
false, "scale": 1, "offset": 0, "description": "..."}`` or, for a bank, ``{"members":
[...], "combine": "magnitude"}`` where each member is a kernel object or a spec string
(``"sobel-x"``, ``"edges/my.npy"``). A bare matrix ``[[...]]`` is a kernel too.

Python's ``json`` accepts ``NaN`` and ``Infinity``; this parser refuses them, and
refuses numbers that overflow to infinity (``1e999``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np

from convcli.errors import KernelError
from convcli.kernels._checks import build_bank, build_kernel, check_shape, suggest
from convcli.kernels._kernel import Kernel

KERNEL_FIELDS = ("description", "weight", "bias", "groups", "normalize", "scale", "offset")
BANK_FIELDS = ("description", "members", "combine", "scale", "offset")
#: Every field a kernel JSON object may have ("name" only in bank members).
FIELDS = ("$schema", "name", *KERNEL_FIELDS, "members", "combine")


def _refuse_constant(word: str):
    raise KernelError(
        f"{word} is not a number convcli accepts: every value must be finite (no NaN or Infinity)"
    )


def parse_json(text: str, where: str):
    """Parse JSON text, refusing NaN/Infinity; syntax errors give line and column.

    Examples
    --------
    >>> parse_json('[[1, 2]]', "inline kernel")
    [[1, 2]]
    >>> parse_json('[[1, 2]', "inline kernel")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    convcli.errors.KernelError: inline kernel: invalid JSON at line 1, column 8: Expecting ','...
    """
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise KernelError(
            f"{where}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except KernelError as exc:
        raise KernelError(f"{where}: {exc}") from None
    except RecursionError:
        raise KernelError(f"{where}: the JSON is nested too deeply") from None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(value, label: str, where: str) -> float:
    if not _is_number(value):
        raise KernelError(f"{where}: {label} must be a number, got {json.dumps(value)[:40]}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise KernelError(f"{where}: {label} is too large; every value must be finite")
    return number


def nested_array(data, label: str, where: str, ranks=(2, 4)):
    """Nested lists -> (flat float list, shape); refuse ragged, empty, non-numeric data."""
    shape: list[int] = []
    node = data
    while isinstance(node, list) and len(shape) <= 4:
        if not node:
            raise KernelError(f"{where}: {label} is empty (a kernel needs at least one value)")
        shape.append(len(node))
        node = node[0]
    if not shape:
        raise KernelError(f"{where}: {label} must be a list, got {json.dumps(data)[:40]}")
    if ranks == (1,):
        if len(shape) != 1:
            raise KernelError(f"{where}: {label} must be a flat list of numbers")
    else:
        check_shape(shape, f"{where}: {label}")
    flat: list[float] = []

    def walk(node, depth, path):
        if depth == len(shape):
            flat.append(_number(node, path, where))
            return
        if not isinstance(node, list):
            raise KernelError(
                f"{where}: {path} is not a list; {label} must be a "
                f"{len(shape)}-D nested list of shape {tuple(shape)}"
            )
        if len(node) != shape[depth]:
            raise KernelError(
                f"{where}: {path} has {len(node)} values, expected {shape[depth]}: "
                f"{label} is ragged (every row must have the same length)"
            )
        for i, child in enumerate(node):
            walk(child, depth + 1, f"{path}[{i}]")

    walk(data, 0, label)
    return flat, tuple(shape)


def _array(data, label, where, ranks=(2, 4)):
    flat, shape = nested_array(data, label, where, ranks)
    return np.array(flat, dtype=np.float64).reshape(shape)


def _check_fields(data: dict, allowed, where: str, what: str) -> None:
    for key in data:
        if key not in allowed:
            raise KernelError(
                f"{where}: unknown field {key!r}{suggest(str(key), allowed)}; {what} "
                f"accepts: {', '.join(a for a in allowed if a != '$schema')}"
            )


def kernel_from_json(
    data,
    *,
    name: str,
    source: str,
    where: str,
    resolve: Callable[[str], Kernel] | None = None,
    member: bool = False,
) -> Kernel:
    """A :class:`Kernel` from parsed JSON ``data`` (an object or a bare matrix).

    ``resolve`` turns a member spec string into a kernel (the registry passes its
    resolver); without it, string members are refused.

    Examples
    --------
    >>> k = kernel_from_json({"weight": [[1, 1]], "normalize": True}, name="pair",
    ...                      source="inline", where="inline kernel")
    >>> k.weight.tolist(), k.normalize
    ([[1.0, 1.0]], True)
    """
    if isinstance(data, list):
        data = {"weight": data}
    if not isinstance(data, dict):
        raise KernelError(
            f"{where}: a kernel is a JSON object with 'weight' (or 'members' for a bank) "
            f"or a bare matrix [[...]], got {json.dumps(data)[:40]}"
        )
    extra = ("name",) if member else ("$schema",)
    is_bank = "members" in data
    allowed = (*extra, *(BANK_FIELDS if is_bank else KERNEL_FIELDS))
    _check_fields(data, allowed, where, "a bank" if is_bank else "a kernel")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise KernelError(f"{where}: description must be a string")
    scale = _number(data.get("scale", 1.0), "scale", where)
    offset = _number(data.get("offset", 0.0), "offset", where)
    if is_bank:
        if member:
            raise KernelError(f"{where}: a bank member cannot itself be a bank")
        members = data["members"]
        if not isinstance(members, list) or not members:
            raise KernelError(f"{where}: members must be a non-empty list of kernels")
        if "combine" not in data:
            raise KernelError(f"{where}: a bank needs 'combine' (how to join the responses)")
        kernels = [
            _member(m, i, name=name, source=source, where=where, resolve=resolve)
            for i, m in enumerate(members)
        ]
        return build_bank(
            name,
            kernels,
            data["combine"],
            where=where,
            scale=scale,
            offset=offset,
            description=description,
            source=source,
        )
    if "weight" not in data:
        raise KernelError(f"{where}: a kernel needs 'weight' (a 2-D or 4-D nested list)")
    bias = data.get("bias")
    groups = data.get("groups", 1)
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise KernelError(f"{where}: groups must be a whole number >= 1, got {groups!r}")
    normalize = data.get("normalize", False)
    if not isinstance(normalize, bool):
        raise KernelError(f"{where}: normalize must be true or false, got {normalize!r}")
    return build_kernel(
        name,
        _array(data["weight"], "weight", where),
        where=where,
        bias=None if bias is None else _array(bias, "bias", where, ranks=(1,)),
        groups=groups,
        normalize=normalize,
        scale=scale,
        offset=offset,
        description=description,
        source=source,
    )


def _member(data, i, *, name, source, where, resolve) -> Kernel:
    if isinstance(data, str):
        if resolve is None:
            raise KernelError(
                f"{where}: member {i} names {data!r}, but names cannot be "
                "resolved here; give the member as an object with 'weight'"
            )
        return resolve(data)
    label = data.get("name", f"{name}[{i}]") if isinstance(data, dict) else f"{name}[{i}]"
    if not isinstance(label, str):
        raise KernelError(f"{where}: member {i}: name must be a string")
    return kernel_from_json(
        data, name=label, source=source, where=f"{where} member {i}", resolve=resolve, member=True
    )


def _plain(value: float):
    """An integral float as an int (``1`` not ``1.0``), otherwise the float."""
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def kernel_to_json(kernel: Kernel, member: bool = False) -> dict:
    """The JSON object for ``kernel`` (round-trips through :func:`kernel_from_json`).

    Examples
    --------
    >>> kernel_to_json(Kernel("k", [[0.5, 1.0]], description="demo"))
    {'description': 'demo', 'weight': [[0.5, 1]]}
    """
    out: dict = {"name": kernel.name} if member else {}
    if kernel.description:
        out["description"] = kernel.description
    if kernel.is_bank:
        out["members"] = [kernel_to_json(m, member=True) for m in kernel.members]
        out["combine"] = kernel.combine
    else:
        out["weight"] = _nested(kernel.weight)
        if kernel.bias is not None:
            out["bias"] = _nested(kernel.bias)
        if kernel.groups != 1:
            out["groups"] = kernel.groups
        if kernel.normalize:
            out["normalize"] = True
    if kernel.scale != 1.0:
        out["scale"] = _plain(kernel.scale)
    if kernel.offset != 0.0:
        out["offset"] = _plain(kernel.offset)
    return out


def _nested(array):
    if array.ndim == 1:
        return [_plain(float(v)) for v in array]
    return [_nested(a) for a in array]


def dumps(data, indent: str = "") -> str:
    """JSON text with each innermost list (a matrix row) on one line.

    Examples
    --------
    >>> print(dumps({"weight": [[1, 2], [3, 4]]}))
    {
      "weight": [
        [1, 2],
        [3, 4]
      ]
    }
    """
    inner = indent + "  "
    if isinstance(data, dict) and data:
        items = [f"{inner}{json.dumps(k)}: {dumps(v, inner)}" for k, v in data.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(data, list) and any(isinstance(v, (list, dict)) for v in data):
        return "[\n" + ",\n".join(inner + dumps(v, inner) for v in data) + "\n" + indent + "]"
    return json.dumps(data, allow_nan=False)
