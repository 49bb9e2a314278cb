"""docs/guide/kernels.md: its examples run as written, and its table covers every kernel."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from convcli.kernels import list_kernels

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "guide" / "kernels.md"
BLOCK = re.compile(r"```(console|python)\n(.*?)```", re.S)


def test_every_builtin_kernel_has_a_row_and_a_picture():
    text = DOC.read_text(encoding="utf-8")
    rows = [r for r in text.splitlines() if r.startswith("| `") and "](kernels/" in r]
    for entry in list_kernels([]):
        if entry.source != "builtin":
            continue
        row = [r for r in rows if f"`{entry.name}`" in r.split("|")[1]]
        assert row, f"no table row for {entry.name}"
        assert f"(kernels/{entry.name}.png)" in row[0]
    for picture in re.findall(r"\]\((kernels/[^)]+\.png)\)", text):
        assert (DOC.parent / picture).is_file(), picture


def test_examples_run_as_written(tmp_path):
    (tmp_path / "sample_images").symlink_to(ROOT / "sample_images")
    convcli = Path(sys.executable).with_name("convcli")
    ran = 0
    for kind, body in BLOCK.findall(DOC.read_text(encoding="utf-8")):
        if kind == "python":
            if "import torch" in body:
                continue  # the PyTorch export recipe: torch is not a dependency
            if "safetensors" in body:
                pytest.importorskip("safetensors")
            subprocess.run([sys.executable, "-c", body], cwd=tmp_path, check=True)
            continue
        for line in body.splitlines():
            if not line.startswith("$ convcli "):
                continue
            command = str(convcli) + line[len("$ convcli") :]
            result = subprocess.run(
                command, shell=True, cwd=tmp_path, capture_output=True, text=True
            )
            assert result.returncode == 0, (line, result.stderr)
            ran += 1
    assert ran >= 12
    assert (tmp_path / "white-border.png").is_file() and (tmp_path / "features.png").is_file()


def test_documented_errors_are_the_real_ones(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    colour = re.search(r"Error: kernel file 'sample_images/astronaut.png'.*", text).group(0)
    (tmp_path / "sample_images").symlink_to(ROOT / "sample_images")
    convcli = Path(sys.executable).with_name("convcli")
    result = subprocess.run(
        [str(convcli), "kernels", "show", "sample_images/astronaut.png"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and result.stderr.strip() == colour
