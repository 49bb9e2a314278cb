"""`convcli apply` over folders and file lists: trees, failures, reports, resumes, kills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from convcli.cli import main
from convcli.images import ImageData, read_image, write_image

RNG = np.random.default_rng(0)


def write_png(path: Path, size=(24, 32), channels=3):
    path.parent.mkdir(parents=True, exist_ok=True)
    layout = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    pixels = RNG.integers(0, 256, size=(*size, channels), dtype=np.uint8)
    write_image(ImageData([pixels], layout, "PNG"), str(path))


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "in"
    for rel in ["a.png", "b.png", "sub/c.png", "sub/deeper/d.png"]:
        write_png(src / rel, channels=1 if "c" in rel else 3)
    (src / "sub" / "broken.png").write_bytes(b"this is not a PNG")
    (src / "notes.txt").write_text("not an image, not picked up")
    return src


def run(args, input=None):
    result = CliRunner().invoke(main, args, input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def tree(root: Path):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_recursive_folder_with_broken_file(folder, tmp_path):
    out, report = tmp_path / "out", tmp_path / "report.json"
    code, _, err = run(
        ["apply", "-k", "box", "-r", str(folder), str(out), "--jobs", "2", "--report", str(report)]
    )
    assert code == 1
    assert tree(out) == ["a.png", "b.png", "sub/c.png", "sub/deeper/d.png"]
    lines = err.strip().splitlines()
    broken = str(folder / "sub" / "broken.png")
    assert lines[-1].startswith("convcli: 4 done, 0 skipped, 1 failed in ")
    assert lines[-1].endswith(f"; failed: {broken}")
    # the failure line names the file once (the error already says it)
    assert any(line.startswith(f"failed: cannot read {broken}: ") for line in lines)
    doc = json.loads(report.read_text())
    assert doc["summary"]["done"] == 4 and doc["summary"]["failed"] == 1
    assert doc["settings"]["kernels"] == ["box"]
    by_source = {f["source"]: f for f in doc["files"]}
    assert by_source[broken]["status"] == "failed"
    assert "not an image" in by_source[broken]["error"]
    assert [f["source"] for f in doc["files"]] == sorted(by_source)  # input order
    # the outputs are the real filter results, e.g. c.png (greyscale)
    single = tmp_path / "single.png"
    assert run(["apply", "-k", "box", str(folder / "sub" / "c.png"), str(single)])[0] == 0
    assert (out / "sub" / "c.png").read_bytes() == single.read_bytes()


def test_flat_folder_takes_only_top_level_images(folder, tmp_path):
    code, _, err = run(["apply", "-k", "box", str(folder), str(tmp_path / "out"), "-q"])
    assert code == 0, err
    assert tree(tmp_path / "out") == ["a.png", "b.png"]
    assert err.startswith("convcli: 2 done, 0 skipped, 0 failed in ")


def test_jobs_1_and_2_give_identical_bytes(folder, tmp_path):
    for jobs in ("1", "2"):
        code, _, _ = run(
            [
                "apply",
                "-k",
                "gaussian:sigma=1.5",
                "-k",
                "sharpen",
                "-r",
                "--glob",
                "[abcd].png",
                str(folder),
                str(tmp_path / jobs),
                "--jobs",
                jobs,
            ]
        )
        assert code == 0
    files = tree(tmp_path / "1")
    assert files == tree(tmp_path / "2") and len(files) == 4
    for rel in files:
        assert (tmp_path / "1" / rel).read_bytes() == (tmp_path / "2" / rel).read_bytes()


def test_files_from_stdin_null_separated_with_output_dir(folder, tmp_path):
    names = [folder / "a.png", folder / "sub" / "c.png"]
    data = b"".join(os.fsencode(n) + b"\0" for n in names)
    code, _, err = run(
        [
            "apply",
            "-k",
            "box",
            "--files-from",
            "-",
            "--null",
            "-o",
            str(tmp_path / "out"),
            "--suffix",
            "-box",
            "--format",
            "tiff",
        ],
        input=data,
    )
    assert code == 0, err
    assert tree(tmp_path / "out") == ["a-box.tif", "c-box.tif"]
    assert read_image(str(tmp_path / "out" / "c-box.tif")).layout == "L"


def test_files_as_arguments_with_output_dir(folder, tmp_path):
    code, _, err = run(
        [
            "apply",
            "-k",
            "box",
            str(folder / "a.png"),
            str(folder / "b.png"),
            "-o",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0, err
    assert tree(tmp_path / "out") == ["a.png", "b.png"]


def test_skip_existing_redoes_only_missing(folder, tmp_path):
    out = tmp_path / "out"
    assert run(["apply", "-k", "box", str(folder), str(out)])[0] == 0
    (out / "b.png").unlink()
    before = (out / "a.png").stat().st_mtime_ns
    code, _, err = run(["apply", "-k", "box", str(folder), str(out), "--skip-existing"])
    assert code == 0
    assert err.startswith("convcli: 1 done, 1 skipped, 0 failed")
    assert (out / "a.png").stat().st_mtime_ns == before
    assert (out / "b.png").exists()


def test_fail_fast_stops_and_says_how_many_did_not_start(tmp_path):
    src = tmp_path / "in"
    (src).mkdir()
    (src / "a.png").write_bytes(b"broken")
    for name in ("b.png", "c.png"):
        write_png(src / name)
    code, _, err = run(
        ["apply", "-k", "box", str(src), str(tmp_path / "out"), "--jobs", "1", "--fail-fast"]
    )
    assert code == 1
    assert ", 2 not started (--fail-fast); failed: " in err
    assert not (tmp_path / "out" / "b.png").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["apply", "-k", "box", "a.png"], "expected INPUT and OUTPUT, got 1 path(s)"),
        (
            ["apply", "-k", "box", "a.png", "b.png", "c.png"],
            "for several inputs end with an output folder (OUTDIR/) or give -o OUTDIR",
        ),
        (
            ["apply", "-k", "box", "a.png", "b.png", "--jobs", "2"],
            "--jobs, --report and --suffix apply to the batch form",
        ),
        (
            ["apply", "-k", "box", "-o", "out", "--format", "xcf", "a.png"],
            "unknown output format 'xcf'; convcli writes PNG, JPEG, TIFF, BMP, WEBP, GIF, NPY",
        ),
        (["apply", "-k", "box", "-o", "out", "missing.png"], "input 'missing.png' does not exist"),
        (["apply", "-k", "box", "-o", "out", "--jobs", "0", "a.png"], "--jobs"),
    ],
)
def test_batch_usage_errors(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    write_png(tmp_path / "a.png")
    code, _, err = run(args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("Error: ") and message in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_sigkill_mid_batch_leaves_only_complete_images(tmp_path):
    src, out, ref = tmp_path / "in", tmp_path / "out", tmp_path / "ref"
    for i in range(12):
        write_png(src / f"img{i:02d}.png", size=(700, 700))
    cmd = [
        sys.executable,
        "-m",
        "convcli",
        "apply",
        "-k",
        "gaussian:sigma=4",
        str(src),
        str(out),
        "--jobs",
        "2",
        "-q",
    ]
    proc = subprocess.Popen(cmd, start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("*.png"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole job: parent and workers
    proc.wait()
    finished = sorted(p.name for p in out.glob("*.png"))
    assert 2 <= len(finished) < 12
    # every image under a final name is complete: it equals a clean run's output
    subprocess.run(cmd[:-4] + [str(ref), "--jobs", "1", "-q"], check=True)
    for name in finished:
        assert (out / name).read_bytes() == (ref / name).read_bytes()
    # a resumed run completes the rest
    subprocess.run(cmd + ["--skip-existing"], check=True)
    for name in sorted(p.name for p in ref.glob("*.png")):
        assert (out / name).read_bytes() == (ref / name).read_bytes()


def test_scheduler_without_dask_says_what_to_install(folder, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    code, _, err = run(
        ["apply", "-k", "box", str(folder), str(tmp_path / "out"), "--scheduler", "local:2"]
    )
    assert code == 1
    assert err.startswith(
        "Error: --scheduler needs Dask's distributed scheduler, which is not installed"
    )
    assert err.rstrip().endswith('install it with: pip install "convcli[dask]"')
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "no input files with an image extension in {d} (use -r to look in subdirectories)"),
        (["-r", "--glob", "*.jpg"], "no input files matching --glob '*.jpg' in {d}"),
    ],
)
def test_empty_folder_is_an_error_not_a_silent_success(tmp_path, extra, message):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    write_png(tmp_path / "in" / "sub" / "a.png")
    code, _, err = run(["apply", "-k", "box", *extra, str(tmp_path / "in"), str(tmp_path / "out")])
    assert code == 2
    assert err == f"Error: {message.format(d=tmp_path / 'in')}\n"
    assert not (tmp_path / "out").exists()


def test_preview_takes_max_pixels(tmp_path):
    write_png(tmp_path / "a.png", size=(30, 40))
    code, _, err = run(
        [
            "preview",
            "-k",
            "box",
            "--max-pixels",
            "1000",
            str(tmp_path / "a.png"),
            str(tmp_path / "sheet.png"),
        ]
    )
    assert code == 1 and "--max-pixels" in err and err.count("\n") == 1
    assert not (tmp_path / "sheet.png").exists()
