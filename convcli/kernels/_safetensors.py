"""Conv weights from ``.safetensors`` files: ``model.safetensors:conv1.weight``.

A strict reader of its own (no dependency; PyTorch and the ``safetensors`` package write
the format this reads). The file is an 8-byte little-endian header length ``N``, ``N``
bytes of JSON ``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
{...}}``, then the data. Everything is checked before a byte of tensor data is read or an
array allocated, as strictly as the ``safetensors`` library does:

- ``N`` at most :data:`MAX_HEADER` and inside the file; the header is a JSON object;
- every dtype in the whitelist :data:`DTYPES`; every shape a list of non-negative ints
  whose element count times the item size equals ``end - begin``;
- offsets ``0 <= begin <= end``, the tensors tile the data exactly (no overlap, no gap,
  ending at the end of the file);
- the tensor read has at most :data:`~convcli.kernels._checks.MAX_WEIGHTS` values, and
  only its bytes are read.

float16 and bfloat16 weights are converted to float64 (exactly: both are subsets).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from convcli.errors import KernelError
from convcli.kernels._checks import MAX_WEIGHTS, build_kernel, check_shape
from convcli.kernels._kernel import Kernel

#: The largest header read (the ``safetensors`` library's limit is 100 MB).
MAX_HEADER = 100_000_000

#: safetensors dtype -> (NumPy dtype of the stored bytes, item size in bytes).
DTYPES = {
    "F64": ("<f8", 8),
    "F32": ("<f4", 4),
    "F16": ("<f2", 2),
    "BF16": ("<u2", 2),  # the top half of a float32
    "I64": ("<i8", 8),
    "I32": ("<i4", 4),
    "I16": ("<i2", 2),
    "I8": ("i1", 1),
    "U8": ("u1", 1),
}

#: The spec's separator between the file and the key.
SUFFIX = ".safetensors"


def split_spec(text: str) -> tuple[str, str | None] | None:
    """``(path, key)`` for ``model.safetensors:key`` (key None when absent), else None.

    Examples
    --------
    >>> split_spec("m/model.safetensors:conv1.weight")
    ('m/model.safetensors', 'conv1.weight')
    >>> split_spec("model.safetensors"), split_spec("sobel")
    (('model.safetensors', None), None)
    """
    lower = text.lower()
    if lower.endswith(SUFFIX):
        return text, None
    at = lower.find(SUFFIX + ":")
    if at < 0:
        return None
    cut = at + len(SUFFIX)
    return text[:cut], text[cut + 1 :].strip() or None


class _Entry:
    """One checked header entry."""

    def __init__(self, key: str, info, data_size: int, where: str):
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise KernelError(
                f"{where}: tensor {key!r} is not described by dtype, shape and data_offsets"
            )
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPES:
            raise KernelError(
                f"{where}: tensor {key!r} has dtype {str(dtype)[:20]!r}; accepted: "
                f"{', '.join(DTYPES)}"
            )
        if not isinstance(shape, list) or not all(_whole(n) and n >= 0 for n in shape):
            raise KernelError(f"{where}: tensor {key!r} has shape {str(shape)[:60]}; not a shape")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_whole(n) for n in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_size
        ):
            raise KernelError(
                f"{where}: tensor {key!r} has data_offsets {str(offsets)[:60]} outside the "
                f"{data_size} bytes of data; the file is damaged or not safetensors"
            )
        self.key, self.dtype, self.shape = key, dtype, tuple(shape)
        self.begin, self.end = offsets
        self.count = math.prod(self.shape)  # Python ints: no overflow
        if self.count * DTYPES[dtype][1] != self.end - self.begin:
            raise KernelError(
                f"{where}: tensor {key!r} of shape {self.shape} and dtype {dtype} needs "
                f"{self.count * DTYPES[dtype][1]} bytes but its offsets span "
                f"{self.end - self.begin}; the file is damaged"
            )

    @property
    def conv_shaped(self) -> bool:
        return len(self.shape) in (2, 4) and self.count > 0


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_header(path: Path, where: str) -> tuple[dict[str, _Entry], int]:
    """The checked entries of ``path`` and the file offset where the data starts."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fp:
            head = fp.read(8)
            if len(head) < 8:
                raise KernelError(f"{where}: {size} bytes is too short for a safetensors file")
            n = int.from_bytes(head, "little")
            if n > MAX_HEADER or 8 + n > size:
                raise KernelError(
                    f"{where}: the header claims {n} bytes but the file has {size - 8} after "
                    f"its length field (limit {MAX_HEADER}); the file is damaged or not "
                    "safetensors"
                )
            raw = fp.read(n)
    except OSError as exc:
        raise KernelError(f"{where}: cannot read it ({exc.strerror or exc})") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise KernelError(f"{where}: the header is not JSON; not a safetensors file") from None
    if not isinstance(header, dict):
        raise KernelError(f"{where}: the header is not a JSON object; not a safetensors file")
    data_size = size - 8 - n
    entries = {
        key: _Entry(key, info, data_size, where)
        for key, info in header.items()
        if key != "__metadata__"
    }
    position = 0
    for entry in sorted(entries.values(), key=lambda e: (e.begin, e.end)):
        if entry.begin != position:
            problem = "overlaps another" if entry.begin < position else "leaves a gap before it"
            raise KernelError(
                f"{where}: tensor {entry.key!r} (bytes {entry.begin}-{entry.end}) {problem}; "
                "the file is damaged"
            )
        position = entry.end
    if position != data_size:
        raise KernelError(
            f"{where}: the tensors cover {position} of the {data_size} data bytes; "
            "the file is damaged"
        )
    return entries, 8 + n


def _read_tensor(path: Path, entry: _Entry, start: int, where: str) -> np.ndarray:
    if entry.count > MAX_WEIGHTS:
        raise KernelError(
            f"{where}: tensor {entry.key!r} has {entry.count} values, over the limit of "
            f"{MAX_WEIGHTS}"
        )
    stored, _ = DTYPES[entry.dtype]
    with open(path, "rb") as fp:
        fp.seek(start + entry.begin)
        data = fp.read(entry.end - entry.begin)
    if len(data) != entry.end - entry.begin:
        raise KernelError(f"{where}: tensor {entry.key!r} is cut short; the file is damaged")
    array = np.frombuffer(data, dtype=stored).reshape(entry.shape)
    if entry.dtype == "BF16":
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return array.astype(np.float64)


def _listing(entries: dict[str, _Entry]) -> str:
    shaped = [f"{e.key} {list(e.shape)}" for e in entries.values() if e.conv_shaped]
    if not shaped:
        return "it holds no 2-D or 4-D tensor"
    more = f" and {len(shaped) - 20} more" if len(shaped) > 20 else ""
    return "its conv-shaped tensors: " + ", ".join(shaped[:20]) + more


def load_safetensors(path: Path, key: str | None, name: str | None = None) -> Kernel:
    """The kernel stored under ``key`` in ``path``: a 4-D ``(C_out, C_in, kH, kW)`` weight
    (with ``<layer>.bias`` beside ``<layer>.weight`` when present) or a 2-D ``(kH, kW)`` one.

    Raises
    ------
    KernelError
        No key (the message lists the conv-shaped keys), an unknown key, a tensor that is
        not 2-D or 4-D, or a file that fails any check of :func:`read_header`.
    """
    where = f"kernel file {str(path)!r}"
    if not path.is_file():
        problem = "is not a file" if path.exists() else "not found"
        raise KernelError(f"{where} {problem}")
    entries, start = read_header(path, where)
    if key is None:
        raise KernelError(
            f"{where}: name the tensor to use, as '{path.name}:KEY'; {_listing(entries)}"
        )
    if key not in entries:
        raise KernelError(f"{where}: no tensor {key!r}; {_listing(entries)}")
    entry = entries[key]
    check_shape(entry.shape, f"{where} tensor {key!r}")
    weight = _read_tensor(path, entry, start, where)
    bias = None
    if len(entry.shape) == 4 and key.endswith("weight"):
        bias_key = key[: -len("weight")] + "bias"
        found = entries.get(bias_key)
        if found is not None and found.shape == entry.shape[:1]:
            bias = _read_tensor(path, found, start, where)
    return build_kernel(
        name or f"{path.name}:{key}",
        weight,
        where=f"{where} tensor {key!r}",
        bias=bias,
        source=str(path),
    )


def save_safetensors(kernel: Kernel, path: Path) -> None:
    """Write ``kernel``'s weight (and bias) as float64 tensors ``weight`` and ``bias``:
    ``-k file.safetensors:weight`` loads it back. Banks are saved as JSON only.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     save_safetensors(Kernel("k", [[1.0, 2.0]]), Path(d, "k.safetensors"))
    ...     load_safetensors(Path(d, "k.safetensors"), "weight").weight.tolist()
    [[1.0, 2.0]]
    """
    if kernel.is_bank:
        raise KernelError(f"kernel {kernel.name!r}: save banks as .json")
    tensors = {"weight": kernel.weight}
    if kernel.bias is not None:
        tensors["bias"] = kernel.bias
    header: dict = {"__metadata__": {"format": "convcli"}}
    chunks, offset = [], 0
    for key, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f8").tobytes()
        header[key] = {
            "dtype": "F64",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as the library writes
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"".join(chunks))
