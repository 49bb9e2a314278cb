"""Fast start: `convcli --version`, `convcli --help` and `import convcli` load no NumPy, SciPy
or Pillow (checked in fresh interpreters through sys.modules; no timing assertions)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("numpy", "scipy", "PIL", "cv2", "torch", "dask", "tifffile", "imagecodecs")

PROBE = """
import json, sys
sys.argv = ["convcli", *{args!r}]
try:
    {code}
except SystemExit as exc:
    code = exc.code
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def heavy_modules_after(code: str, args=()) -> list[str]:
    """Run ``code`` in a fresh interpreter; the heavy modules it left in sys.modules."""
    script = PROBE.format(args=list(args), code=code, heavy=HEAVY)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--version"], ["-V"], ["--help"], ["-h"]])
def test_cli_start_imports_no_numpy_scipy_or_pillow(args):
    code = "from convcli.cli import run; run()"
    assert heavy_modules_after(code, args) == []


@pytest.mark.parametrize("command", ["apply", "kernels"])
def test_subcommand_help_imports_no_numpy_scipy_or_pillow(command):
    from convcli.cli import main

    if command not in main.commands:
        pytest.skip(f"no '{command}' command yet")
    assert heavy_modules_after("from convcli.cli import run; run()", [command, "--help"]) == []


def test_import_convcli_is_cheap():
    assert heavy_modules_after("import convcli; convcli.__version__") == []


def test_engine_imports_numpy_but_not_scipy_until_a_path_needs_it():
    # The direct and separable paths need NumPy only; SciPy's FFT loads with the FFT path.
    code = (
        "import numpy as np, convcli\n"
        "    convcli.conv2d(np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3)), method='direct')\n"
        "    convcli.conv2d(np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3)), method='separable')"
    )
    assert heavy_modules_after(code) == ["numpy"]
    fft = code + "\n    convcli.conv2d(np.ones((1, 1, 8, 8)), np.ones((1, 1, 3, 3)), method='fft')"
    assert heavy_modules_after(fft) == ["numpy", "scipy"]


def test_version_output_is_the_package_version():
    from convcli import __version__

    result = subprocess.run(
        [sys.executable, "-m", "convcli", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert __version__ in result.stdout


@pytest.mark.parametrize(
    "kernel,loads", [("random 15x15", True), ("gaussian:sigma=2", False), ("sobel", False)]
)
def test_scipy_fft_is_loaded_early_only_when_the_plan_needs_it(kernel, loads):
    """apply starts importing scipy.fft on a thread before decoding the image when the
    planner would use the FFT (a large full-rank kernel), and not otherwise."""
    script = f"""
import sys, threading, numpy as np
from convcli.engine import preload_fft
from convcli.filtering import chain_weights
from convcli.kernels import load_kernel
from convcli.kernels._kernel import Kernel
spec = {kernel!r}
k = (Kernel("random", np.random.default_rng(0).standard_normal((15, 15)))
     if spec.startswith("random") else load_kernel(spec))
preload_fft(chain_weights((k,)))
started = [t for t in threading.enumerate() if t.name == "convcli-load-fft"]
for t in started:
    t.join()
print("scipy.fft" in sys.modules)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(loads)]
