"""Start-up cost of one small image: ``convcli apply`` against ``import numpy, PIL.Image``.

People filter folders with ``find -exec`` and ``xargs -P`` as often as with the batch
form, so one small image pays the whole interpreter and import cost every time. This
runs, interleaved and best of N (a busy machine only ever adds time):

* the peer: ``python -c "import numpy, PIL.Image"`` (the floor for any NumPy + Pillow tool);
* ``convcli apply -k gaussian:sigma=2 small.png out.png`` (512x512 RGB PNG, 13x13 kernel);
* ``convcli --version`` (the interpreter plus click, for reference).

Run: ``python benchmarks/bench_startup.py [--repeat 15] [--size 512]``. Prints each best
wall and CPU time and the ratios convcli / peer (the target is at most 1.3); on a shared
machine the CPU time (user + system of the child) is the steadier figure.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _sample(path: Path, size: int) -> None:
    """A size x size RGB photo: the astronaut sample scaled (else a noisy gradient)."""
    import numpy as np
    from PIL import Image

    photo = Path(__file__).resolve().parent.parent / "sample_images" / "astronaut.png"
    if photo.is_file():
        Image.open(photo).convert("RGB").resize((size, size), Image.LANCZOS).save(path)
        return
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    base = np.stack([xx * 255 // size, yy * 255 // size, (xx ^ yy) & 255], axis=2)
    noise = rng.integers(0, 32, base.shape)
    Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8), "RGB").save(path)


def _run(command: list[str], env: dict) -> tuple[float, float]:
    """Wall time and CPU time (user + system of the child) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs of each (best of)")
    parser.add_argument("--size", type=int, default=512, help="side of the test image")
    args = parser.parse_args()
    exe = shutil.which("convcli") or ""
    convcli = [exe] if exe else [sys.executable, "-m", "convcli"]
    # .pyc files written on the warm-up run, as pip writes them for an installed package
    # (an editable install under PYTHONDONTWRITEBYTECODE would compile every module anew)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp, "small.png"), Path(tmp, "out.png")
        _sample(src, args.size)
        commands = {
            "import numpy, PIL.Image": [sys.executable, "-c", "import numpy, PIL.Image"],
            "convcli apply (one image)": [
                *convcli,
                "apply",
                "-k",
                "gaussian:sigma=2",
                str(src),
                str(dst),
            ],
            "convcli --version": [*convcli, "--version"],
        }
        for command in commands.values():  # warm the file cache and .pyc files
            subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
        wall = {name: float("inf") for name in commands}
        cpu = dict(wall)
        for _ in range(args.repeat):  # interleaved: load changes hit every command alike
            for name, command in commands.items():
                w, c = _run(command, env)
                wall[name], cpu[name] = min(wall[name], w), min(cpu[name], c)
    print(f"{'best of ' + str(args.repeat):28s} {'wall':>9s} {'cpu':>9s}")
    for name in commands:
        print(f"{name:28s} {wall[name] * 1000:6.1f} ms {cpu[name] * 1000:6.1f} ms")
    one, peer = "convcli apply (one image)", "import numpy, PIL.Image"
    print(
        f"ratio convcli apply / import numpy, PIL.Image: wall {wall[one] / wall[peer]:.2f}, "
        f"cpu {cpu[one] / cpu[peer]:.2f} (target <= 1.3)"
    )


if __name__ == "__main__":
    main()
