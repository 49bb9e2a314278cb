"""Regenerate the kernel pictures of docs/guide/kernels.md: ``python make_pictures.py``.

One heatmap per built-in kernel (default parameters) and per example spec in EXAMPLES,
written by ``convcli kernels show SPEC --png`` (red positive, blue negative).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from convcli.kernels import list_kernels

#: Pictures of specs beyond the defaults: file stem -> spec.
EXAMPLES = {
    "gaussian-rotated": "gaussian:sigma=3,sigma_y=1,theta=30",
    "gaussian-dx": "gaussian:sigma=1.5,order_x=1",
    "gaussian-dyy": "gaussian:sigma=1.5,order_y=2",
    "gabor-odd": "gabor:theta=45,psi=90",
    "compass-sobel": "compass:sobel-x",
    "rot90-ramp": "rot90:[[1,2],[3,4]]",
}


def main() -> None:
    here = Path(__file__).parent
    specs = {e.name: e.name for e in list_kernels([]) if e.source == "builtin"}
    specs.update(EXAMPLES)
    for stem, spec in sorted(specs.items()):
        target = here / f"{stem}.png"
        subprocess.run(
            [sys.executable, "-m", "convcli", "kernels", "show", spec, "--png", str(target)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(target.name)


if __name__ == "__main__":
    main()
