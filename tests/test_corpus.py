"""The broken and hostile input corpus, through the real ``convcli apply``.

Every case is generated here, in ``tmp_path``, from real files that convcli writes (then
truncated, corrupted or hand-forged) and from hostile kernel files and options. Each must
be refused with: a non-zero exit code; exactly one short stderr line starting ``Error:``
that names the input or value and the problem; no traceback; no output file and no stray
temporary (``.*.part``); every input file byte-identical afterwards. Most cases run in
process through CliRunner; the ones whose proof needs a real process (C libraries writing
to file descriptor 2, a real stdin, a pickle payload that would really run) run
``python -m convcli`` as a subprocess.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from convcli.cli import main
from convcli.images import ImageData, read_image, write_image

CONVCLI = [sys.executable, "-m", "convcli"]
RNG = np.random.default_rng(0)
#: What "short" means for the one error line.
MAX_LINE = 400
MEMORY = r"would need about [0-9.e+]+ GiB, more than the [0-9.]+ GiB of memory available; use less "


def image_bytes(fmt: str, shape=(16, 16, 3), layout="RGB", frames=1, **metadata) -> bytes:
    pictures = [RNG.integers(0, 256, shape, dtype=np.uint8) for _ in range(frames)]
    buffer = io.BytesIO()
    write_image(ImageData(pictures, layout, fmt, metadata=metadata), buffer)
    return buffer.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_chunk_offset(data: bytes, kind: bytes) -> int:
    """Offset of the length field of the first ``kind`` chunk."""
    return data.index(kind) - 4


def gif_frame_offsets(data: bytes) -> list[int]:
    """Offsets of every image descriptor (0x2C) of a GIF, walking its block structure."""
    pos = 13
    if data[10] & 0x80:
        pos += 3 * 2 ** ((data[10] & 7) + 1)
    offsets = []
    while data[pos] != 0x3B:
        if data[pos] == 0x21:  # extension: label, then sub-blocks
            pos += 2
        else:
            offsets.append(pos)
            flags = data[pos + 9]
            pos += 10 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0) + 1
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
    return offsets


class Payload:
    """Unpickling this creates the directory ``path``: proof that a pickle was executed."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def pickled_npy(path: Path, marker: Path) -> None:
    np.save(path, np.array([Payload(marker)], dtype=object), allow_pickle=True)


def npy_header(shape, descr="<u1") -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (63 - len(header) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()


# --- the corpus: name -> (files to write, extra arguments, exit code, error pattern) -----
# Files are {name: bytes}; "in.png" is the input unless the arguments name another.
# Patterns are matched against the whole line after "Error: "; {d} is the directory.

_PNG = image_bytes("PNG")
_JPEG = image_bytes("JPEG")
_GIF = image_bytes("GIF", frames=3, durations=[80, 80, 80], loop=0)
_IDAT = png_chunk_offset(_PNG, b"IDAT")
_IDAT_LEN = struct.unpack(">I", _PNG[_IDAT : _IDAT + 4])[0]
_SECOND = gif_frame_offsets(_GIF)[1]


def _flip(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= 0xFF
    return bytes(out)


def _gif_second_frame(**changes) -> bytes:
    data = bytearray(_GIF)
    if "size" in changes:
        data[_SECOND + 5 : _SECOND + 9] = struct.pack("<HH", *changes["size"])
    if "lzw" in changes:
        flags = data[_SECOND + 9]
        table = 3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0
        data[_SECOND + 10 + table] = changes["lzw"]
    return bytes(data)


def _idat_data_broken_crc_fixed() -> bytes:
    body = bytearray(_PNG[_IDAT + 8 : _IDAT + 8 + _IDAT_LEN])
    body[2:12] = b"\xff" * 10
    return _PNG[:_IDAT] + chunk(b"IDAT", bytes(body)) + _PNG[_IDAT + 12 + _IDAT_LEN :]


_BOMB_PNG = (
    b"\x89PNG\r\n\x1a\n"
    + chunk(b"IHDR", struct.pack(">IIBBBBB", 200000, 200000, 8, 2, 0, 0, 0))
    + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
    + chunk(b"IEND", b"")
)

IMAGE_CASES = {
    "missing file": ({}, ["{d}/nosuch.png"], 1, r"cannot read {d}/nosuch\.png: no such file"),
    "zero-byte file": (
        {"in.png": b""},
        [],
        1,
        r"cannot read {d}/in\.png: it is empty, not an image",
    ),
    "text with an image extension": (
        {"in.png": b"just some text\n"},
        [],
        1,
        r"cannot read {d}/in\.png: not an image convcli can read \(PNG, JPEG, TIFF, BMP, "
        r"WebP, GIF or \.npy\)",
    ),
    "truncated PNG": (
        {"in.png": _PNG[: len(_PNG) // 2]},
        [],
        1,
        r"cannot read {d}/in\.png: truncated or corrupt image data \(.+\); "
        r"re-export or re-download it",
    ),
    "PNG cut inside its header": (
        {"in.png": _PNG[:30]},
        [],
        1,
        r"cannot read {d}/in\.png: it starts like a PNG file but its "
        r"header is truncated or corrupt; re-export or re-download it",
    ),
    "corrupt PNG chunk CRC (IDAT)": (
        {"in.png": _flip(_PNG, _IDAT + 8 + _IDAT_LEN)},
        [],
        1,
        r"cannot read {d}/in\.png: truncated or corrupt image data \(PNG chunk IDAT at byte "
        r"\d+ fails its CRC check\); re-export or re-download it",
    ),
    "corrupt PNG chunk CRC (IHDR)": (
        {"in.png": _flip(_PNG, 29)},
        [],
        1,
        r"cannot read {d}/in\.png: truncated or corrupt image data \(PNG chunk IHDR at byte 8 "
        r"fails its CRC check\); re-export or re-download it",
    ),
    "corrupt PNG data with a valid CRC": (
        {"in.png": _idat_data_broken_crc_fixed()},
        [],
        1,
        r"cannot read {d}/in\.png: truncated or corrupt image data \(.+\); re-export or "
        r"re-download it",
    ),
    "truncated JPEG": (
        {"in.jpg": _JPEG[: len(_JPEG) // 2]},
        ["{d}/in.jpg"],
        1,
        r"cannot read {d}/in\.jpg: (corrupt or unsupported image|truncated or "
        r"corrupt image data) \(.+\).*",
    ),
    "JPEG cut after its header": (
        {"in.jpg": _JPEG[:200]},
        ["{d}/in.jpg"],
        1,
        r"cannot read {d}/in\.jpg: (corrupt or unsupported image|"
        r"truncated or corrupt image data) \(.+\).*",
    ),
    "decompression-bomb PNG header (200000x200000)": (
        {"in.png": _BOMB_PNG},
        [],
        1,
        # read by bands: refused from the header, its 17 bytes of IDAT cannot hold it
        r"cannot read {d}/in\.png: it declares 200000x200000 pixels \(120000200000 bytes "
        r"decoded\) but stores only 17 bytes of image data, more than its compression can "
        r"expand \(a guard against decompression bombs\); if you trust the file, give "
        r"--max-pixels \(max_pixels=\) to allow it",
    ),
    "image over --max-pixels": (
        {"in.png": _PNG},
        ["--max-pixels", "100"],
        1,
        r"cannot read {d}/in\.png: it has 256 pixels, more than the limit of 100 .*",
    ),
    "decompression-bomb .npy header": (
        {"in.npy": npy_header((200000, 200000, 3)) + bytes(64)},
        ["{d}/in.npy"],
        1,
        r"cannot read {d}/in\.npy: it has 40000000000 pixels, more than the limit of 89478485 "
        r".*--max-pixels.*",
    ),
    ".npy header longer than the file, limit raised": (
        {"in.npy": npy_header((200000, 200000, 3)) + bytes(64)},
        ["--max-pixels", str(10**12), "{d}/in.npy"],
        1,
        r"cannot read {d}/in\.npy: truncated or corrupt \.npy file \(the header says "
        r"\(200000, 200000, 3\) uint8, but only 64 bytes of data follow\)",
    ),
    "GIF with a truncated later frame": (
        {"in.gif": _GIF[: _SECOND + 40]},
        ["{d}/in.gif"],
        1,
        r"cannot read {d}/in\.gif: truncated or corrupt image data \(.+\); re-export or "
        r"re-download it",
    ),
    "GIF whose later frame claims 60000x60000": (
        {"in.gif": _gif_second_frame(size=(60000, 60000))},
        ["{d}/in.gif"],
        1,
        r"cannot read {d}/in\.gif: it is larger than the limit of 89478485 pixels .*",
    ),
    "GIF whose later frame has a broken LZW code size": (
        {"in.gif": _gif_second_frame(lzw=15)},
        ["{d}/in.gif"],
        1,
        r"cannot read {d}/in\.gif: truncated or corrupt image data \(.+\); re-export or "
        r"re-download it",
    ),
    "GIF cut inside a later frame header": (
        {"in.gif": _GIF[: _SECOND + 3]},
        ["{d}/in.gif"],
        1,
        r"cannot read {d}/in\.gif: truncated or corrupt image data \(.+\); re-export or "
        r"re-download it",
    ),
    "truncated TIFF": (
        {"in.tif": image_bytes("TIFF")[:60]},
        ["{d}/in.tif"],
        1,
        r"cannot read {d}/in\.tif: it starts like a TIFF file but its header is "
        r"truncated or corrupt; re-export or re-download it",
    ),
    "truncated .npy image": (
        {"in.npy": image_bytes("NPY")[:300]},
        ["{d}/in.npy"],
        1,
        r"cannot read {d}/in\.npy: truncated or corrupt \.npy file .*",
    ),
}


def _json(text: str) -> dict:
    return {"k.json": text.encode()}


_K = "kernel file '{d}/k.json'"
KERNEL_CASES = {
    "empty JSON file": (_json(""), 2, _K + r": .*"),
    "JSON null": (_json("null"), 2, _K + r": .*"),
    "JSON number": (_json("3"), 2, _K + r": .*"),
    "JSON string": (_json('"box"'), 2, _K + r": .*"),
    "JSON empty list": (_json("[]"), 2, _K + r": weight is empty .*"),
    "JSON empty rows": (_json("[[]]"), 2, _K + r": weight is empty .*"),
    "JSON empty object": (_json("{}"), 2, _K + r": a kernel needs 'weight' .*"),
    "missing weight": (
        _json('{"description": "x", "scale": 2}'),
        2,
        _K + r": a kernel needs 'weight' .*",
    ),
    "weight null": (_json('{"weight": null}'), 2, _K + r": weight must be a list, got null"),
    "weight a string": (_json('{"weight": "[[1]]"}'), 2, _K + r": weight must be a list, .*"),
    "weight an object": (_json('{"weight": {"a": 1}}'), 2, _K + r": weight must be a list, .*"),
    "strings in the weight": (
        _json('{"weight": [["1", "2"]]}'),
        2,
        _K + r': weight\[0\]\[0\] must be a number, got "1"',
    ),
    "booleans in the weight": (
        _json('{"weight": [[true, false]]}'),
        2,
        _K + r": weight\[0\]\[0\] must be a number, got true",
    ),
    "ragged rows": (_json('{"weight": [[1, 2], [3]]}'), 2, _K + r": weight\[1\] .*ragged.*"),
    "NaN": (_json('{"weight": [[1, NaN]]}'), 2, _K + r": NaN is not a number convcli .*"),
    "Infinity": (_json('{"weight": [[Infinity]]}'), 2, _K + r": Infinity is not a number .*"),
    "number too large for a float": (
        _json('{"weight": [[1e400]]}'),
        2,
        _K + r": weight\[0\]\[0\] is too large; .*finite",
    ),
    "NaN scale": (_json('{"weight": [[1]], "scale": NaN}'), 2, _K + r": NaN is not .*"),
    "rank 1": (_json('{"weight": [1, 2, 3]}'), 2, _K + r": weight: the weight has 1 dim.*"),
    "rank 3": (_json('{"weight": [[[1]]]}'), 2, _K + r": weight: the weight has 3 dim.*"),
    "rank 5": (_json('{"weight": [[[[[1]]]]]}'), 2, _K + r": weight: the weight has 5 dim.*"),
    "unknown field": (
        _json('{"weight": [[1]], "exec": "rm -rf /"}'),
        2,
        _K + r": unknown field 'exec'; a kernel accepts: .*",
    ),
    "syntax error": (_json('{"weight": [[1, 2]'), 2, _K + r": invalid JSON at line 1, .*"),
    "trailing data": (_json('{"weight": [[1]]} x'), 2, _K + r": invalid JSON at line 1, .*"),
    "nesting bomb": (_json("[" * 100000 + "]" * 100000), 2, _K + r": the JSON is nested too .*"),
    "not UTF-8": ({"k.json": b"\xff\xfe\x00{\x00"}, 2, _K + r": not UTF-8 text .*"),
    "empty bank": (_json('{"members": [], "combine": "sum"}'), 2, _K + r": members must .*"),
    "unknown combine": (
        _json('{"members": [{"weight": [[1]]}], "combine": "xor"}'),
        2,
        _K + r": combine must be one of .*'xor'.*",
    ),
    "groups 0": (
        _json('{"weight": [[[[1]]]], "groups": 0}'),
        2,
        _K + r": groups must be a whole number >= 1, got 0",
    ),
    "absurd size in JSON": (
        _json('{"weight": [' + ",".join(["[1]"] * 2000) + "]}"),
        2,
        _K + r": weight: kernel side 2000 is over the limit of 1025 .*",
    ),
    "channel mismatch (4-D kernel for 2 channels on RGB)": (
        _json('{"weight": [[[[1]], [[1]]]]}'),
        2,
        r"kernel '{d}/k\.json' expects 2 input channels but '{d}/in\.png' has 3 \(RGB\); use a "
        r"kernel with matching input channels",
    ),
    "weights that overflow float32": (
        _json('{"weight": [[1e38, 1e38]]}'),
        2,
        r"kernel '{d}/k\.json' could turn the values of '{d}/in\.png' \(up to 255\) into more "
        r"than 3\.4e\+38, the range of float32 that convcli computes in; use smaller weights",
    ),
}

SPEC_CASES = {
    "unknown name": (
        ["-k", "gausian"],
        2,
        r"unknown kernel 'gausian' \(did you mean 'gaussian'\?\); run 'convcli "
        r"kernels list' to see the kernels, or give a file path",
    ),
    "unknown parameter": (
        ["-k", "gaussian:radius=2"],
        2,
        r"kernel 'gaussian:radius=2': unknown parameter 'radius'; gaussian "
        r"accepts: sigma, sigma_y, theta, order_y, order_x, size",
    ),
    "parameter not a number": (
        ["-k", "gaussian:sigma=abc"],
        2,
        r"kernel 'gaussian:sigma=abc': sigma must be a number, got 'abc'",
    ),
    "parameter NaN": (["-k", "gaussian:sigma=nan"], 2, r"kernel 'gaussian:sigma=nan': sigma .*"),
    "size zero": (["-k", "box:size=0"], 2, r"kernel 'box:size=0': size must be greater .*"),
    "size negative": (["-k", "box:size=-3"], 2, r"kernel 'box:size=-3': size must be .*"),
    "absurd size": (
        ["-k", f"box:size={10**9}"],
        2,
        rf"kernel 'box:size={10**9}': size {10**9} is over the limit of 1025 taps "
        r"per side",
    ),
    "absurd sigma": (
        ["-k", "gaussian:sigma=1e9"],
        2,
        r"kernel 'gaussian:sigma=1e9': .*over the limit of 1025 taps per side.*",
    ),
    "absurd ImageMagick size": (
        ["-k", "1000000x1000000:1"],
        2,
        r"inline ImageMagick kernel .*: kernel side 1000000 is over the "
        r"limit of 1025 taps per side",
    ),
    "parameter that overflows float32": (
        ["-k", "unsharp:amount=1e300"],
        2,
        r"kernel 'unsharp:amount=1e300' could turn the values of '{d}/in\.png' .*",
    ),
    "empty spec": (["-k", ""], 2, r"empty kernel spec: .*"),
    "inline NaN": (["-k", "[[nan]]"], 2, r"inline kernel '\[\[nan\]\]': .*"),
}

_USAGE = r" \(see 'convcli apply --help'\)"
OPTION_CASES = {
    "ambiguous padding mode 'mirror'": (
        ["--padding-mode", "mirror"],
        2,
        r"Invalid value for '--padding-mode' / '-m': padding_mode 'mirror' is ambiguous: .*"
        r"Choose 'reflect' or 'symmetric'\." + _USAGE,
    ),
    "bogus padding mode": (
        ["--padding-mode", "refl"],
        2,
        r"Invalid value for '--padding-mode' / '-m': unknown padding_mode "
        r"'refl'; accepted: zeros, .*" + _USAGE,
    ),
    "empty padding mode": (["--padding-mode", ""], 2, r".*unknown padding_mode ''.*"),
    "padding mode that looks like the --debug flag": (
        ["--padding-mode", "--debug"],
        2,
        r".*unknown padding_mode '--debug'.*" + _USAGE,
    ),
    "stride zero": (
        ["--stride", "0"],
        2,
        r"Invalid value for '--stride' / '-s': '0' is not a positive integer N or a "
        r"pair H,W" + _USAGE,
    ),
    "stride negative": (["--stride", "-2"], 2, r".*'--stride'.*'-2' is not a positive .*"),
    "stride of three numbers": (["--stride", "1,2,3"], 2, r".*'--stride'.*'1,2,3' is not .*"),
    "dilation zero": (["--dilation", "0"], 2, r".*'--dilation'.*'0' is not a positive .*"),
    "dilation negative": (["--dilation", "-1,2"], 2, r".*'--dilation'.*'-1,2' is not a .*"),
    "padding negative": (["--padding", "-1"], 2, r".*'--padding'.*'-1' is not 'same', .*"),
    "huge padding": (
        ["--padding", str(10**9)],
        2,
        r"a 2000000016x2000000016 padded input .*" + MEMORY + r"padding or dilation",
    ),
    "huge dilation": (
        ["--dilation", str(10**9)],
        2,
        r"a 2000000016x2000000016 padded input .*" + MEMORY + r"padding or dilation",
    ),
    "dilated kernel larger than the image": (
        ["--dilation", "1000", "--padding", "valid"],
        2,
        r"kernel spans 2001x2001 \(size 3x3, dilation \(1000, 1000\)\) but the padded input is "
        r"only 16x16 .*",
    ),
    "scale that overflows float32": (
        ["--scale", "1e300"],
        2,
        r"scale 1e\+300 and offset 0 could turn the values of '{d}/in\.png' into more than "
        r"3\.4e\+38, .*--scale or --offset",
    ),
    "unknown output format": (
        ["--format", "xyz"],
        1,
        r"cannot write {d}/out\.png: unknown image format 'xyz'; convcli "
        r"writes PNG, JPEG, TIFF, BMP, WEBP, GIF, NPY",
    ),
    "quality out of range": (["--quality", "0"], 2, r"Invalid value for '--quality': .*"),
    "--max-pixels zero": (["--max-pixels", "0"], 2, r"Invalid value for '--max-pixels': .*"),
}


def _snapshot(directory: Path) -> dict:
    return {p: p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def _write(directory: Path, files: dict) -> None:
    for name, data in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def assert_refused(code, stdout, stderr, *, want_code, pattern, d: Path, before: dict):
    """The contract: exit code, one short Error line matching ``pattern``, nothing lost."""
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith("Error: ") and len(line) <= MAX_LINE, line
    assert re.fullmatch(pattern.replace("{d}", re.escape(str(d))), line[len("Error: ") :]), line
    assert code == want_code, (code, line)
    assert not stdout
    assert _snapshot(d) == before  # inputs unchanged; no output; no temporary
    assert not list(d.rglob(".*.part"))


def invoke(args, d: Path, env=None, input=None):
    result = CliRunner(env=env).invoke(
        main, [a.format(d=d) for a in args], prog_name="convcli", input=input
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def d(tmp_path) -> Path:
    (tmp_path / "in.png").write_bytes(_PNG)
    return tmp_path


@pytest.mark.parametrize("case", list(IMAGE_CASES))
def test_broken_images(case, d):
    files, extra, want_code, pattern = IMAGE_CASES[case]
    _write(d, files)
    named = [a for a in extra if a.startswith("{d}/")]
    options = [a for a in extra if not a.startswith("{d}/")]
    source = named[0] if named else "{d}/in.png"
    before = _snapshot(d)
    code, out, err = invoke(["apply", "-k", "box", *options, source, "{d}/out.png"], d)
    assert_refused(code, out, err, want_code=want_code, pattern=pattern, d=d, before=before)


@pytest.mark.parametrize("case", list(KERNEL_CASES))
def test_broken_kernel_files(case, d):
    files, want_code, pattern = KERNEL_CASES[case]
    _write(d, files)
    before = _snapshot(d)
    code, out, err = invoke(["apply", "-k", "{d}/k.json", "{d}/in.png", "{d}/out.png"], d)
    assert_refused(code, out, err, want_code=want_code, pattern=pattern, d=d, before=before)


@pytest.mark.parametrize("case", list(SPEC_CASES))
def test_hostile_kernel_specs(case, d):
    args, want_code, pattern = SPEC_CASES[case]
    before = _snapshot(d)
    code, out, err = invoke(["apply", *args, "{d}/in.png", "{d}/out.png"], d)
    assert_refused(code, out, err, want_code=want_code, pattern=pattern, d=d, before=before)


@pytest.mark.parametrize("case", list(OPTION_CASES))
def test_bad_options(case, d):
    args, want_code, pattern = OPTION_CASES[case]
    before = _snapshot(d)
    code, out, err = invoke(["apply", "-k", "box", *args, "{d}/in.png", "{d}/out.png"], d)
    assert_refused(code, out, err, want_code=want_code, pattern=pattern, d=d, before=before)


def _npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name, data, pattern",
    [
        (
            "k.mat",
            b"3 3\n1 2 3\n4 5\n",
            r"kernel file '{d}/k\.mat': the header says 3 rows, the "
            r"file has 2",
        ),
        (
            "k.mat",
            b"3 3 0\n1 2 3\n4 5 6\n7 8 9\n",
            r"kernel file '{d}/k\.mat': scale is 0; libvips divides by it, so it must not be 0",
        ),
        ("k.npz", b"not a zip", r"kernel file '{d}/k\.npz': not a readable \.npz archive .*"),
        (
            "k.npz",
            _npz_bytes(weight=np.ones((3, 3)), evil=np.ones(2)),
            r"kernel file '{d}/k\.npz': holds arrays \['evil', 'weight'\]; a kernel \.npz holds "
            r"'weight' and optionally 'bias' and 'groups' .*",
        ),
        (
            "k.npy",
            _npy_bytes(np.ones((3, 3)))[:100],
            r"kernel file '{d}/k\.npy': the array is not a readable NumPy array .*",
        ),
        (
            "k.npy",
            _npy_bytes(np.ones((3, 3), np.complex64)),
            r"kernel file '{d}/k\.npy': the array has dtype complex64; a kernel needs real numbers",
        ),
        (
            "k.txt",
            b"[[1]]",
            r"kernel file '{d}/k\.txt': unsupported file type; accepted: \.json, "
            r"\.npy, \.npz, \.mat, \.safetensors, \.png, \.tif, \.tiff",
        ),
    ],
    ids=[
        "mat rows",
        "mat scale 0",
        "npz not a zip",
        "npz extra array",
        "npy truncated",
        "npy complex",
        "unknown suffix",
    ],
)
def test_broken_kernel_files_of_every_format(name, data, pattern, d):
    (d / name).write_bytes(data)
    before = _snapshot(d)
    code, out, err = invoke(["apply", "-k", f"{{d}}/{name}", "{d}/in.png", "{d}/out.png"], d)
    assert_refused(code, out, err, want_code=2, pattern=pattern, d=d, before=before)


def test_an_image_given_as_the_kernel(d, monkeypatch):
    monkeypatch.chdir(d)
    before = _snapshot(d)
    code, out, err = invoke(["apply", "-k", "in.png", "in.png", "out.png"], d)
    assert_refused(
        code,
        out,
        err,
        want_code=2,
        d=d,
        before=before,
        # a colour image: only greyscale images are kernels (a PSF)
        pattern=r"kernel file 'in\.png': the image is RGB; a kernel image must be greyscale "
        r"\(one channel, no alpha\): convert it first, e\.g\. with Pillow's "
        r"Image\.convert\('L'\)",
    )


@pytest.mark.parametrize(
    "suffix, source, pattern",
    [
        (
            ".npz",
            "{d}/k.npz",
            r"kernel file '{d}/k\.npz': array 'weight' holds Python objects "
            r"\(pickled data\); convcli never unpickles files: save a numeric "
            r"array",
        ),
        (
            ".npy",
            "{d}/k.npy",
            r"kernel file '{d}/k\.npy': the array holds Python objects "
            r"\(pickled data\); convcli never unpickles files: save a numeric "
            r"array",
        ),
    ],
    ids=["npz", "npy"],
)
def test_pickled_kernel_is_never_executed(suffix, source, pattern, d):
    marker = d / "PWNED"
    if suffix == ".npy":
        pickled_npy(d / "k.npy", marker)
    else:
        np.savez(d / "k.npz", weight=np.array([Payload(marker)], dtype=object))
    # the payload works: unpickling it would create the marker
    pickle.loads(pickle.dumps(Payload(d / "probe")))
    assert (d / "probe").is_dir()
    (d / "probe").rmdir()
    before = _snapshot(d)
    code, out, err = invoke(["apply", "-k", source, "{d}/in.png", "{d}/out.png"], d)
    assert_refused(code, out, err, want_code=2, pattern=pattern, d=d, before=before)
    assert not marker.exists()


def test_huge_npy_kernel_header_is_refused_from_the_header(d):
    (d / "k.npy").write_bytes(npy_header((1000000, 1000000), "<f8") + bytes(64))
    before = _snapshot(d)
    code, out, err = invoke(["apply", "-k", "{d}/k.npy", "{d}/in.png", "{d}/out.png"], d)
    assert_refused(
        code,
        out,
        err,
        want_code=2,
        d=d,
        before=before,
        pattern=r"kernel file '{d}/k\.npy': kernel side 1000000 is over the limit of "
        r"1025 taps per side",
    )


@pytest.mark.parametrize(
    "source, target, extra, code, pattern",
    [
        (
            "in.png",
            "in.png",
            [],
            2,
            r"OUTPUT '{d}/in\.png' is the INPUT file; give another output name, or --in-place to "
            r"replace the input",
        ),
        (
            "in.png",
            "link.png",
            [],
            2,
            r"OUTPUT '{d}/link\.png' is the INPUT file; give another output name, or --in-place to "
            r"replace the input",
        ),
        (
            "five.npy",
            "out.png",
            [],
            2,  # a result the format cannot hold: a usage error
            r"cannot write {d}/out\.png: PNG holds 1 to 4 channels; this image has 5 \(arbitrary "
            r"channels\): write \.npy or TIFF, which hold any number",
        ),
        (
            "rgba.png",
            "out.jpg",
            [],
            2,  # a result the format cannot hold: a usage error
            r"cannot write {d}/out\.jpg: JPEG cannot hold an alpha channel \(RGBA\); write PNG, TIFF, "
            r"WebP or GIF to keep it, or drop the alpha",
        ),
        (
            "in.png",
            "out.xyz",
            [],
            1,
            r"cannot write {d}/out\.xyz: unknown image format for extension '\.xyz'; .*",
        ),
        (
            "in.png",
            "nodir/out.png",
            [],
            1,
            r"cannot write {d}/nodir/out\.png: the directory {d}/nodir does not exist; create it "
            r"first",
        ),
        (
            "in.png",
            "",
            [],
            2,
            r"path 2 is an empty name \(an unset shell variable\?\); give a file name, or '-' for "
            r"standard input/output" + _USAGE,
        ),
    ],
)
def test_outputs_that_cannot_be(source, target, extra, code, pattern, d):
    np.save(d / "five.npy", RNG.random((8, 8, 5)).astype(np.float32))
    (d / "rgba.png").write_bytes(image_bytes("PNG", (8, 8, 4), "RGBA"))
    (d / "link.png").symlink_to(d / "in.png")
    before = _snapshot(d)
    args = ["apply", "-k", "box", *extra, f"{{d}}/{source}", f"{{d}}/{target}" if target else ""]
    code_, out, err = invoke(args, d)
    assert_refused(code_, out, err, want_code=code, pattern=pattern, d=d, before=before)
    assert (d / "link.png").is_symlink()


@pytest.mark.parametrize("value", ["abc", "0", "-3"])
def test_bad_thread_count_in_the_environment(value, d):
    before = _snapshot(d)
    code, out, err = invoke(
        ["apply", "-k", "box", "{d}/in.png", "{d}/out.png"], d, env={"CONVCLI_THREADS": value}
    )
    assert_refused(
        code,
        out,
        err,
        want_code=2,
        d=d,
        before=before,
        pattern=rf"CONVCLI_THREADS='{value}' is not a positive integer; set it to "
        r"e\.g\. 1 or 4, or unset it to use every core",
    )


def test_scheduler_in_the_environment_leaves_single_files_alone(d):
    """CONVCLI_SCHEDULER is for batches: set in a CI environment, it must not break
    'convcli apply in out' (it used to be refused as a batch-only option)."""
    code, out, err = invoke(
        ["apply", "-k", "box", "{d}/in.png", "{d}/out.png"],
        d,
        env={"CONVCLI_SCHEDULER": "tcp://127.0.0.1:1"},
    )
    assert (code, err) == (0, "")
    assert read_image(d / "out.png").frames[0].shape == (16, 16, 3)


def test_huge_stride_is_computed_not_allocated(d):
    """--stride 10**12 is legal: one output pixel, nothing huge allocated on the way."""
    code, out, err = invoke(
        ["apply", "-k", "box", "--stride", str(10**12), "{d}/in.png", "{d}/out.png"], d
    )
    assert (code, err) == (0, "")
    assert read_image(d / "out.png").frames[0].shape == (1, 1, 3)


@pytest.mark.parametrize(
    "source, make",
    [
        ("/dev/zero", None),
        ("{d}/sparse.png", lambda d: os.truncate(d / "sparse.png", 8 * 2**20)),
        ("-", None),
    ],
    ids=["endless device", "file larger than the memory", "stdin larger than the memory"],
)
def test_inputs_larger_than_memory_are_refused_unread(source, make, d, monkeypatch):
    """With 4 MiB "available", any input over 1 MiB is refused: /dev/zero from its first
    bytes (no format claims them), a file from its size alone, a pipe once it has sent too
    much."""
    import convcli._memory

    monkeypatch.setattr(convcli._memory, "available_memory", lambda: 4 * 2**20)
    if make:
        (d / "sparse.png").write_bytes(b"")
        make(d)
    before = _snapshot(d)
    code, out, err = invoke(
        ["apply", "-k", "box", source, "{d}/out.png"],
        d,
        input=b"\x89PNG\r\n\x1a\n" + bytes(2**21) if source == "-" else None,
    )
    name = {"-": r"the stream", "/dev/zero": r"/dev/zero"}.get(source, r"{d}/sparse\.png")
    pattern = (
        rf"cannot read {name}: not an image convcli can read \(PNG, JPEG, TIFF, BMP, WebP, "
        r"GIF or \.npy\)"
        if source == "/dev/zero"
        else rf"cannot read {name}: it holds more than 0\.000977 GiB, a quarter of "
        r"the memory available, which decoding and filtering it would need "
        r"\(an endless stream or device\?\)"
    )
    assert_refused(code, out, err, want_code=1, d=d, before=before, pattern=pattern)


def test_padding_is_checked_against_the_memory_before_allocating(d, monkeypatch):
    """The limit is the memory available: with 1 MiB, padding a 16x16 RGB image by 100
    (2 x 216 x 216 x 3 float32 + the result) is refused, by 2 it is done."""
    import convcli.engine._padding

    monkeypatch.setattr(convcli.engine._padding, "available_memory", lambda: 2**20)
    before = _snapshot(d)
    code, out, err = invoke(
        ["apply", "-k", "box", "--padding", "100", "{d}/in.png", "{d}/out.png"], d
    )
    assert_refused(
        code,
        out,
        err,
        want_code=2,
        d=d,
        before=before,
        pattern=r"a 216x216 padded input \(input 16x16, padding \(100, 100, 100, "
        r"100\)\) and a 214x214 result " + MEMORY + r"padding or dilation",
    )
    code, out, err = invoke(
        ["apply", "-k", "box", "--padding", "2", "{d}/in.png", "{d}/out.png"], d
    )
    assert (code, err) == (0, "")
    assert read_image(d / "out.png").frames[0].shape == (18, 18, 3)


# --- real processes: what CliRunner cannot see -----------------------------------------


def run(args, cwd, stdin=b""):
    proc = subprocess.run([*CONVCLI, *args], cwd=cwd, input=stdin, capture_output=True, timeout=120)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode()


def _tiff_with_broken_strips() -> bytes:
    """A deflate TIFF (as convcli writes it) whose compressed strip is overwritten: libtiff,
    in C, complains on file descriptor 2."""
    data = bytearray(image_bytes("TIFF", (32, 32, 3)))
    assert data[:4] == b"II*\x00"
    first_ifd = struct.unpack("<I", data[4:8])[0]
    data[8 : min(first_ifd, 8 + 200)] = bytes(range(200))[: min(first_ifd, 208) - 8]
    return bytes(data)


@pytest.mark.parametrize(
    "name, data, pattern",
    [
        (
            "in.tif",
            _tiff_with_broken_strips(),
            r"cannot read {d}/in\.tif: truncated or corrupt image data \(.+\); re-export or "
            r"re-download it",
        ),
        (
            "in.png",
            _BOMB_PNG,  # read by bands: refused from the header (17 bytes of IDAT)
            r"cannot read {d}/in\.png: it declares 200000x200000 pixels .* but stores only 17 "
            r"bytes of image data, more than its compression can expand .*",
        ),
    ],
    ids=["libtiff writes to fd 2", "decompression bomb"],
)
def test_real_process_one_line(name, data, pattern, tmp_path):
    (tmp_path / name).write_bytes(data)
    before = _snapshot(tmp_path)
    code, out, err = run(
        ["apply", "-k", "box", str(tmp_path / name), str(tmp_path / "o.png")], tmp_path
    )
    assert_refused(code, out, err, want_code=1, pattern=pattern, d=tmp_path, before=before)


@pytest.mark.parametrize(
    "stdin, pattern",
    [
        (b"", r"cannot read standard input: it is empty, not an image"),
        (b"\x00garbage\xff" * 50, r"cannot read standard input: not an image convcli can read .*"),
        (
            _PNG[:30],
            r"cannot read standard input: it starts like a PNG file but its header is "
            r"truncated or corrupt; re-export or re-download it",
        ),
        (
            _PNG[:100],
            r"cannot read standard input: truncated or corrupt image data \(.+\); "
            r"re-export or re-download it",
        ),
    ],
    ids=["empty", "garbage", "PNG header cut", "PNG data cut"],
)
def test_empty_and_garbage_stdin(stdin, pattern, tmp_path):
    before = _snapshot(tmp_path)
    code, out, err = run(["apply", "-k", "box", "-", "-"], tmp_path, stdin=stdin)
    assert_refused(code, out, err, want_code=1, pattern=pattern, d=tmp_path, before=before)


def test_pickled_image_payload_never_runs_in_a_real_process(tmp_path):
    marker = tmp_path / "PWNED"
    pickled_npy(tmp_path / "in.npy", marker)
    before = _snapshot(tmp_path)
    code, out, err = run(
        ["apply", "-k", "box", str(tmp_path / "in.npy"), str(tmp_path / "o.npy")], tmp_path
    )
    assert_refused(
        code,
        out,
        err,
        want_code=1,
        d=tmp_path,
        before=before,
        pattern=r"cannot read {d}/in\.npy: it holds Python objects, which convcli "
        r"does not load \(allow_pickle=False\); save a numeric array",
    )
    assert not marker.exists()
