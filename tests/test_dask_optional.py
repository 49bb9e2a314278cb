"""Dask is optional: importing convcli never imports it, and convcli.engine.dask without it says
what to install. Runs in fresh interpreters, so it holds with or without Dask installed."""

from __future__ import annotations

import subprocess
import sys

from convcli.errors import ConvcliError, MissingDependencyError


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_importing_convcli_never_imports_dask():
    result = _run(
        "import sys\n"
        "import numpy as np\n"
        "import convcli, convcli.engine, convcli.errors, convcli.cli\n"
        "convcli.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), padding='same')\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
        "print(loaded)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_convcli_dask_without_dask_says_what_to_install():
    # sys.modules[name] = None makes `import name` fail as if it were not installed.
    result = _run(
        "import sys\n"
        "sys.modules['dask'] = None\n"
        "sys.modules['dask.array'] = None\n"
        "from convcli.errors import ConvcliError, MissingDependencyError\n"
        "try:\n"
        "    import convcli.engine.dask\n"
        "except MissingDependencyError as exc:\n"
        "    assert isinstance(exc, ConvcliError) and isinstance(exc, ImportError)\n"
        "    print(exc.name, exc.exit_code)\n"
        "    print(exc)\n"
        "else:\n"
        "    raise SystemExit('convcli.engine.dask imported without dask')\n"
    )
    assert result.returncode == 0, result.stderr
    first, message = result.stdout.splitlines()
    assert first == "dask 1"
    assert message.startswith("convcli.engine.dask needs Dask, which is not installed")
    assert message.endswith('install it with: pip install "convcli[dask]"')


def test_missing_dependency_error_is_both_kinds():
    exc = MissingDependencyError("x", name="dask")
    assert isinstance(exc, ConvcliError) and isinstance(exc, ImportError)
    assert exc.name == "dask" and exc.exit_code == 1
