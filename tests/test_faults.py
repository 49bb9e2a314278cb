"""Faults an operator meets, through the real ``convcli`` executable: full disks, odd outputs
(devices, FIFOs, descriptors, closed streams), frame, page and member bombs, signals,
unreadable and blocking inputs, metadata a format cannot hold, hostile names.

Hostile files are generated here. Full-disk and read-only cases mount a small tmpfs and
are skipped (with the reason) where the machine does not allow it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import shutil
import signal
import stat
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from convcli.images import ImageData, read_image, write_image

SAMPLES = Path(__file__).resolve().parent.parent / "sample_images"
CAMERA = SAMPLES / "camera.png"
ASTRONAUT = SAMPLES / "astronaut.png"
_EXE = Path(sys.executable).with_name("convcli")
CONVCLI = [str(_EXE)] if _EXE.exists() else [sys.executable, "-m", "convcli"]


def run(args, cwd=None, timeout=60, **kwargs):
    return subprocess.run(
        [*CONVCLI, *map(str, args)], cwd=cwd, capture_output=True, timeout=timeout, **kwargs
    )


def shell(script: str, cwd, timeout=60):
    """Run ``script`` in bash with ``convcli`` meaning the executable under test."""
    command = " ".join(f"'{part}'" for part in CONVCLI)
    return subprocess.run(
        ["bash", "-c", f'convcli() {{ {command} "$@"; }}\n{script}'],
        cwd=cwd,
        capture_output=True,
        timeout=timeout,
    )


def error_lines(proc) -> list[str]:
    return proc.stderr.decode(errors="replace").strip().splitlines()


@contextlib.contextmanager
def tmpfs(path: Path, options: str):
    """A tmpfs mounted at ``path`` (skipped where mounting is not allowed)."""
    path.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs (full and read-only file systems)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


# ---------------------------------------------------------------- hostile files, in code


def gif_frame_bomb(frames=2000, screen=4000) -> bytes:
    """``frames`` 1x1 frames on a ``screen`` x ``screen`` logical screen (~46 KB)."""
    head = b"GIF89a" + struct.pack("<HHBBB", screen, screen, 0x80, 0, 0) + bytes(6)
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    # LZW, minimum code size 2: clear (4), index 0, end (5) in 3-bit codes = 0x44 0x01
    frame = (
        b"\x21\xf9\x04\x00\x01\x00\x00\x00"
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
        + b"\x02\x02\x44\x01\x00"
    )
    return head + loop + frame * frames + b"\x3b"


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def apng_frame_bomb(frames=1000, size=4000) -> bytes:
    """An APNG announcing ``frames`` frames of ``size`` x ``size`` (~113 KB)."""
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    rows = zlib.compress(bytes(size + 1) * size, 9)
    out = [
        b"\x89PNG\r\n\x1a\n",
        _chunk(b"IHDR", ihdr),
        _chunk(b"acTL", struct.pack(">II", frames, 0)),
    ]
    sequence = 0
    for i in range(frames):
        w, h = (size, size) if i == 0 else (1, 1)
        fctl = struct.pack(">IIIIIHHBB", sequence, w, h, 0, 0, 1, 10, 0, 0)
        out.append(_chunk(b"fcTL", fctl))
        sequence += 1
        if i == 0:
            out.append(_chunk(b"IDAT", rows))
        else:
            out.append(_chunk(b"fdAT", struct.pack(">I", sequence) + zlib.compress(b"\x00\x00")))
            sequence += 1
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)


def tiff_page_bomb(pages=3000, size=4000, bits=8, samples=1) -> bytes:
    """``pages`` pages of ``size`` x ``size`` sharing one deflated strip (~346 KB)."""
    strip = zlib.compress(bytes(size * size * samples * bits // 8), 9)
    header = b"II*\x00" + struct.pack("<I", 8 + len(strip))
    blob = bytearray(header + strip)
    entries = 9 + (samples > 1)
    ifd_size = 2 + 12 * entries + 4 + 2 * samples
    for i in range(pages):
        at = len(blob)
        bits_at = at + 2 + 12 * entries + 4
        tags = [
            (256, 4, 1, size),
            (257, 4, 1, size),
            (258, 3, samples, bits if samples == 1 else bits_at),
            (259, 3, 1, 8),
            (262, 3, 1, 1 if samples == 1 else 2),
            (273, 4, 1, 8),
            (277, 3, 1, samples),
            (278, 4, 1, size),
            (279, 4, 1, len(strip)),
        ]
        if samples > 1:
            tags.append((284, 3, 1, 1))
        nxt = at + ifd_size if i < pages - 1 else 0
        blob += struct.pack("<H", len(tags))
        for tag, kind, count, value in sorted(tags):
            packed = (
                struct.pack("<H", value) + b"\0\0"
                if kind == 3 and count == 1
                else struct.pack("<I", value)
            )
            blob += struct.pack("<HHI", tag, kind, count) + packed
        blob += struct.pack("<I", nxt) + struct.pack("<H", bits) * samples
    return bytes(blob)


def json_bank(members=2000) -> str:
    return json.dumps({"members": [{"weight": [[1.0]]}] * members, "combine": "max"})


# ---------------------------------------------------------------- output side


def test_outdir_that_cannot_be_created(tmp_path):
    with tmpfs(tmp_path / "ro", "ro,size=64k") as ro:
        proc = run(["apply", "-k", "box", CAMERA, "-o", ro / "sub"], cwd=tmp_path)
    assert proc.returncode == 1
    assert error_lines(proc) == [
        f"Error: cannot create the output directory {ro / 'sub'}: Read-only file system"
    ]


def test_outdir_under_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    proc = run(["apply", "-k", "box", CAMERA, "-o", "file/sub"], cwd=tmp_path)
    assert proc.returncode == 1
    assert error_lines(proc) == [
        "Error: cannot create the output directory file/sub: Not a directory"
    ]


def test_stdout_to_a_full_disk_fails(tmp_path):
    with tmpfs(tmp_path / "full", "size=64k") as full:
        proc = shell(f"convcli apply -k box '{ASTRONAUT}' - > '{full}/out.png'", tmp_path)
    assert proc.returncode == 1
    assert error_lines(proc) == [
        "Error: cannot write standard output: No space left on device; free some space or "
        "write elsewhere"
    ]


def test_file_to_a_full_disk_leaves_nothing(tmp_path):
    with tmpfs(tmp_path / "full", "size=64k") as full:
        proc = run(["apply", "-k", "box", ASTRONAUT, full / "out.png"], cwd=tmp_path)
        left = sorted(p.name for p in full.iterdir())
    assert proc.returncode == 1
    assert error_lines(proc) == [
        f"Error: cannot write {full}/out.png: No space left on device; free some space or "
        "write elsewhere"
    ]
    assert left == []


def test_broken_pipe_is_quiet_but_not_success(tmp_path):
    proc = shell(
        f"convcli apply -k box '{ASTRONAUT}' - | head -c 10 > /dev/null; exit ${{PIPESTATUS[0]}}",
        tmp_path,
    )
    assert proc.returncode == 1
    assert proc.stderr == b""


def test_report_in_a_missing_directory_is_refused_before_any_work(tmp_path):
    proc = run(
        ["apply", "-k", "box", CAMERA, "-o", "out", "--report", "nodir/r.json"], cwd=tmp_path
    )
    assert proc.returncode == 1
    assert error_lines(proc) == [
        "Error: cannot write --report nodir/r.json: the directory nodir does not exist; "
        "create it first"
    ]
    assert not (tmp_path / "out").exists()


def test_report_on_a_full_disk_keeps_the_summary_and_leaves_no_report(tmp_path):
    with tmpfs(tmp_path / "full", "size=4k") as full:
        (full / "fill").write_bytes(bytes(4096))
        proc = run(
            ["apply", "-k", "box", CAMERA, "-o", "out", "--report", full / "r.json"], cwd=tmp_path
        )
        left = sorted(p.name for p in full.iterdir())
    lines = error_lines(proc)
    assert proc.returncode == 1
    assert lines[0].startswith("convcli: 1 done, 0 skipped, 0 failed in ")
    assert lines[1:] == [
        f"Error: cannot write --report {full}/r.json: No space left on device; free some "
        "space or write elsewhere"
    ]
    assert left == ["fill"]


def test_report_is_written(tmp_path):
    proc = run(["apply", "-k", "box", CAMERA, "-o", "out", "--report", "r.json"], cwd=tmp_path)
    assert proc.returncode == 0
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["done"] == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a character device needs root")
def test_character_device_output_is_written_not_replaced(tmp_path):
    os.mknod(tmp_path / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    (tmp_path / "link").symlink_to(tmp_path / "null")
    for name in ("null", "link"):
        proc = run(["apply", "-k", "box", CAMERA, name], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert stat.S_ISCHR(os.stat(tmp_path / "null").st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "null"]


def test_dev_stdout_and_proc_fd_are_written_directly(tmp_path):
    expected = run(["apply", "-k", "box", CAMERA, "ref.png"], cwd=tmp_path)
    assert expected.returncode == 0
    for target in ("/dev/stdout", "/proc/self/fd/1"):
        proc = shell(f"convcli apply -k box '{CAMERA}' {target} > got.png", tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / "got.png").read_bytes() == (tmp_path / "ref.png").read_bytes()


def test_process_substitution_and_fifo_outputs(tmp_path):
    run(["apply", "-k", "box", CAMERA, "ref.png"], cwd=tmp_path)
    proc = shell(f"convcli apply -k box '{CAMERA}' >(cat > got.png); wait", tmp_path)
    assert proc.returncode == 0, proc.stderr
    deadline = time.monotonic() + 10
    while (tmp_path / "got.png").stat().st_size == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "got.png").read_bytes() == (tmp_path / "ref.png").read_bytes()
    os.mkfifo(tmp_path / "fifo")
    proc = shell(f"convcli apply -k box '{CAMERA}' fifo & cat fifo > got2.png; wait", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "got2.png").read_bytes() == (tmp_path / "ref.png").read_bytes()
    assert stat.S_ISFIFO(os.stat(tmp_path / "fifo").st_mode)


def test_a_250_byte_output_name(tmp_path):
    name = "a" * 246 + ".png"
    proc = run(["apply", "-k", "box", CAMERA, name], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert read_image(str(tmp_path / name)).frames[0].shape == (256, 256, 1)


@pytest.mark.parametrize(
    "redirect, message",
    [
        (
            ">&-",
            "Error: standard output is closed ('>&-'); redirect it (e.g. '> out.png') or give a file name",
        ),
        (
            "<&-",
            "Error: standard input is closed ('<&-'); pipe an image in (e.g. '< photo.png') or give a file name",
        ),
    ],
)
def test_closed_standard_streams(tmp_path, redirect, message):
    args = f"- out.png {redirect}" if redirect == "<&-" else f"'{CAMERA}' - {redirect}"
    proc = shell(f"convcli apply -k box {args}", tmp_path)
    assert proc.returncode == 1
    assert error_lines(proc) == [message]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_sighup_mid_run_leaves_no_temporary(tmp_path):
    rng = np.random.default_rng(0)
    big = tmp_path / "big.png"
    write_image(
        ImageData([rng.integers(0, 256, (1500, 1500, 3), dtype=np.uint8)], "RGB", "PNG"), str(big)
    )
    proc = subprocess.Popen(
        [
            *CONVCLI,
            "apply",
            "-k",
            "motion-blur:length=41,angle=30",
            "-k",
            "gaussian:sigma=6",
            str(big),
            "out.png",
        ],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while _cpu_seconds(proc.pid) < 1.0 and time.monotonic() < deadline:
        time.sleep(0.05)  # past start-up (the handler is set), inside the filtering
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal")
    assert proc.returncode == 129
    assert err.decode().strip().splitlines() == ["Error: hung up (SIGHUP)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.png"]


# ---------------------------------------------------------------- input side


def test_fifo_in_a_batch_is_an_item_error_not_a_hang(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")
    shutil.copy(CAMERA, tmp_path / "a.png")
    proc = run(
        ["apply", "-k", "box", "pipe.png", "a.png", "-o", "out", "-j", "1"],
        cwd=tmp_path,
        timeout=30,
    )
    lines = error_lines(proc)
    assert proc.returncode == 1
    assert lines[0] == (
        "failed: cannot read 'pipe.png': it is a FIFO (named pipe), which a batch "
        "does not read (it could wait forever for a writer); give it alone as INPUT"
    )
    assert lines[-1].startswith("convcli: 1 done, 0 skipped, 1 failed in ")
    assert (tmp_path / "out" / "a.png").exists()


@pytest.mark.parametrize(
    "script",
    [
        "cat '{image}' > in.png & convcli apply -k box in.png got.png; wait",
        # the writer waits in open() first, and is done as soon as a reader arrives
        "cat '{image}' > in.png & sleep 0.5; convcli apply -k box in.png got.png; wait",
        # the reader waits first; the writer opens, pauses, writes
        "(sleep 0.5; exec 3> in.png; sleep 0.3; cat '{image}' >&3) & "
        "convcli apply -k box in.png got.png; wait",
    ],
    ids=["together", "writer first", "reader first"],
)
def test_fifo_named_alone_is_read(tmp_path, script):
    run(["apply", "-k", "box", CAMERA, "ref.png"], cwd=tmp_path)
    os.mkfifo(tmp_path / "in.png")
    proc = shell(script.format(image=CAMERA), tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "got.png").read_bytes() == (tmp_path / "ref.png").read_bytes()


@pytest.mark.parametrize("how", ["path", "stdin"])
def test_dev_zero_is_refused_after_sniffing(tmp_path, how):
    args = ["/dev/zero", "out.png"] if how == "path" else ["-", "out.png"]
    with open("/dev/zero", "rb") as zero:
        proc = subprocess.Popen(
            [*CONVCLI, "apply", "-k", "box", *args],
            cwd=tmp_path,
            stdin=zero,
            stderr=subprocess.PIPE,
        )
        with proc.stderr:
            err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    name = "/dev/zero" if how == "path" else "standard input"
    assert proc.returncode == 1
    assert err.decode().strip() == (
        f"Error: cannot read {name}: not an image convcli can read "
        "(PNG, JPEG, TIFF, BMP, WebP, GIF or .npy)"
    )
    assert usage.ru_maxrss < 1024 * 1024  # KiB: far from the gigabytes of reading it all
    assert not (tmp_path / "out.png").exists()


def test_endless_stream_under_an_address_space_limit_is_refused(tmp_path):
    # A PNG signature, then zeros for ever; RLIMIT_AS leaves ~600 MB: refused, not killed.
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))

    script = "(printf '\\211PNG\\r\\n\\032\\n'; cat /dev/zero)"
    proc = subprocess.run(
        ["bash", "-c", f"{script} | {' '.join(CONVCLI)} apply -k box - out.png"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        preexec_fn=limit,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "CONVCLI_THREADS": "1"},
    )
    lines = error_lines(proc)
    assert proc.returncode == 1, lines
    assert len(lines) == 1 and lines[0].startswith(
        "Error: cannot read standard input: it holds more than "
    )
    assert "a quarter of the memory available" in lines[0]


def test_memory_limit_follows_rlimits():
    code = (
        "import resource; from convcli._budget import memory_limit;"
        "resource.setrlimit(resource.RLIMIT_DATA, (2**31, 2**31));"
        "print(memory_limit())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True).stdout
    assert 0 <= int(out) <= 2**31


def _without_read_override() -> list[str]:
    """A command prefix under which a mode-000 file cannot be read, even by root."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("root reads every file, and setpriv (to drop that power) is missing")
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]


def test_unreadable_single_input_is_a_processing_error(tmp_path):
    prefix = _without_read_override()
    secret = tmp_path / "secret.png"
    shutil.copy(CAMERA, secret)
    secret.chmod(0)
    shutil.copy(CAMERA, tmp_path / "ok.png")

    def convcli(*args):
        return subprocess.run(
            [*prefix, *CONVCLI, *args], cwd=tmp_path, capture_output=True, timeout=60
        )

    proc = convcli("apply", "-k", "box", "secret.png", "out.png")
    assert proc.returncode == 1, proc.stderr
    assert error_lines(proc) == ["Error: cannot read secret.png: permission denied"]
    proc = convcli("apply", "-k", "box", "secret.png", "ok.png", "-o", "out", "-j", "1")
    lines = error_lines(proc)
    assert proc.returncode == 1
    assert lines[0] == "failed: cannot read secret.png: permission denied"
    assert lines[-1].startswith("convcli: 1 done, 0 skipped, 1 failed in ")
    assert (tmp_path / "out" / "ok.png").exists()


# ---------------------------------------------------------------- hostile files


@pytest.mark.parametrize(
    "name, make, frames, pixels",
    [
        ("bomb.gif", gif_frame_bomb, 2000, 4000 * 4000),
        ("bomb.png", apng_frame_bomb, 1000, 4000 * 4000),
        ("bomb.tif", tiff_page_bomb, 3000, 4000 * 4000),
    ],
)
def test_frame_and_page_bombs_are_refused_from_the_header(tmp_path, name, make, frames, pixels):
    (tmp_path / name).write_bytes(make())
    proc = run(["apply", "-k", "box", name, "out" + name[-4:]], cwd=tmp_path)
    total = 89478485 * 8
    assert proc.returncode == 1
    assert error_lines(proc) == [
        f"Error: cannot read {name}: its {frames} frames hold {frames * pixels} pixels in all, "
        f"more than the limit of {total} (8 x the per-frame limit of 89478485); if you trust "
        "the file, raise the limit with --max-pixels (max_pixels=)"
    ]


def test_tiff_page_bomb_through_tifffile_is_refused(tmp_path):
    # 16-bit RGB pages go through tifffile: counted page by page before any is decoded
    (tmp_path / "bomb.tif").write_bytes(tiff_page_bomb(pages=400, size=2000, bits=16, samples=3))
    proc = run(["apply", "-k", "box", "bomb.tif", "out.tif"], cwd=tmp_path)
    assert proc.returncode == 1
    assert error_lines(proc) == [
        f"Error: cannot read bomb.tif: its 179 frames hold {179 * 4 * 10**6} pixels in all, "
        "more than the limit of 715827880 (8 x the per-frame limit of 89478485); if you "
        "trust the file, raise the limit with --max-pixels (max_pixels=)"
    ]


def test_many_small_frames_still_read(tmp_path):
    (tmp_path / "small.gif").write_bytes(gif_frame_bomb(frames=40, screen=8))
    proc = run(["apply", "-k", "box", "small.gif", "out.gif"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(read_image(str(tmp_path / "out.gif")).frames) >= 1


def test_bank_of_2000_members_is_refused(tmp_path):
    (tmp_path / "bank.json").write_text(json_bank(2000))
    proc = run(["apply", "-k", "bank.json", CAMERA, "out.png"], cwd=tmp_path)
    assert proc.returncode == 2
    lines = error_lines(proc)
    assert len(lines) == 1 and "has 2000 members, more than the limit of 256" in lines[0]


def _peak_rss_kib(args, cwd) -> int:
    proc = subprocess.Popen([*CONVCLI, *map(str, args)], cwd=cwd, stderr=subprocess.PIPE)
    with proc.stderr:
        err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, err
    return usage.ru_maxrss


def test_bank_members_are_combined_as_they_come(tmp_path):
    # 512x512 grey: each member's float response is 1 MiB; stacking 250 would take 250 MiB.
    rng = np.random.default_rng(0)
    write_image(
        ImageData([rng.integers(0, 256, (512, 512, 1), dtype=np.uint8)], "L", "PNG"),
        str(tmp_path / "in.png"),
    )
    (tmp_path / "one.json").write_text(json_bank(1))
    (tmp_path / "many.json").write_text(json_bank(250))
    one = _peak_rss_kib(["apply", "-k", "one.json", "in.png", "one.png"], tmp_path)
    many = _peak_rss_kib(["apply", "-k", "many.json", "in.png", "many.png"], tmp_path)
    assert many - one < 100 * 1024, (one, many)
    assert (tmp_path / "one.png").read_bytes() == (tmp_path / "many.png").read_bytes()


@pytest.mark.parametrize("how", ["magnitude", "max", "min", "sum", "mean"])
def test_streamed_combine_is_bit_identical_to_the_stack(how):
    from convcli.filtering._responses import combine

    rng = np.random.default_rng(1)
    members = [rng.normal(size=(2, 9, 7)).astype(np.float32) for _ in range(13)]
    stack = np.stack(members)
    reference = {
        "magnitude": lambda s: np.sqrt(np.sum(s * s, axis=0)),
        "max": lambda s: np.max(s, axis=0),
        "min": lambda s: np.min(s, axis=0),
        "sum": lambda s: np.sum(s, axis=0),
        "mean": lambda s: np.mean(s, axis=0),
    }[how](stack)
    got = combine(iter(members), how)
    assert got.dtype == reference.dtype
    assert np.array_equal(got, reference)


def test_long_exif_into_jpeg_is_dropped_with_a_note(tmp_path):
    from PIL import Image

    exif = Image.Exif()
    exif[0x010E] = "x" * 200_000  # ImageDescription
    Image.open(CAMERA).convert("RGB").save(tmp_path / "big-exif.png", exif=exif.tobytes())
    proc = run(["apply", "-k", "box", "big-exif.png", "out.jpg"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = error_lines(proc)
    assert len(lines) == 1
    assert lines[0].startswith("convcli: note: out.jpg: EXIF of ")
    assert lines[0].endswith(" KiB dropped: a JPEG holds at most 65533 bytes of EXIF")
    assert "exif" not in read_image(str(tmp_path / "out.jpg")).metadata


def test_huge_icc_into_png_is_dropped_and_the_png_reads_back(tmp_path):
    from PIL import Image

    icc = bytes(128) + os.urandom(4 * 2**20)  # does not compress: 4 MiB in the iCCP chunk
    Image.open(CAMERA).convert("RGB").save(tmp_path / "icc.jpg", icc_profile=icc)
    assert read_image(str(tmp_path / "icc.jpg")).metadata["icc_profile"] == icc
    proc = run(["apply", "-k", "box", "icc.jpg", "out.png"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert error_lines(proc) == [
        "convcli: note: out.png: ICC profile of 4 MiB dropped: PNG readers (Pillow, and so "
        "convcli) refuse ICC profiles over 1 MiB"
    ]
    back = run(["apply", "-k", "box", "out.png", "again.png"], cwd=tmp_path)
    assert back.returncode == 0, back.stderr


def test_npz_with_20000_members_gives_a_bounded_error(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "k.npz", "w") as archive:
        buffer = io.BytesIO()
        np.save(buffer, np.ones((3, 3)))
        for i in range(20000):
            archive.writestr(f"m{i:05d}.npy", buffer.getvalue())
    proc = run(["apply", "-k", "k.npz", CAMERA, "out.png"], cwd=tmp_path)
    lines = error_lines(proc)
    assert proc.returncode == 2
    assert len(lines) == 1 and len(lines[0]) < 400
    assert (
        "holds arrays ['m00000', 'm00001', 'm00002', 'm00003', 'm00004' and 19995 more]" in lines[0]
    )


def test_newline_in_a_file_name_keeps_one_line_per_message(tmp_path):
    (tmp_path / "bad\nname.png").write_bytes(b"not an image")
    shutil.copy(CAMERA, tmp_path / "a.png")
    proc = run(
        ["apply", "-k", "box", "bad\nname.png", "a.png", "-o", "out", "-j", "1"], cwd=tmp_path
    )
    lines = error_lines(proc)
    assert proc.returncode == 1
    assert lines[0] == (
        "failed: cannot read bad\\nname.png: not an image convcli can read "
        "(PNG, JPEG, TIFF, BMP, WebP, GIF or .npy)"
    )
    assert len(lines) == 2
    assert lines[1].startswith("convcli: 1 done, 0 skipped, 1 failed in ")
    assert lines[1].endswith("; failed: bad\\nname.png")
