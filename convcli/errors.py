"""Exceptions raised by the convcli library.

Every error the library raises on purpose derives from :class:`ConvcliError`, so a caller
(and ``convcli.cli``) can tell "the input or the options are wrong" from a bug. Each class
carries the process exit code the command line uses for it.
"""

from __future__ import annotations

from convcli._notes import ConvcliNote


class ConvcliError(Exception):
    """Base class: something the user gave (a value, a file, a stream) cannot be used.

    The message is one line that names the offending value or file and says what to do.
    """

    exit_code = 1


class ParameterError(ConvcliError, ValueError):
    """A parameter value is invalid: a shape, a stride, a padding mode, an option.

    Also a :class:`ValueError`, so library callers can catch it the NumPy way.
    """

    exit_code = 2


class KernelError(ConvcliError, ValueError):
    """A kernel spec, kernel file or kernel parameter cannot be turned into a kernel."""

    exit_code = 2


class ImageError(ConvcliError):
    """An image file or stream cannot be read or written (missing, corrupt, unsupported)."""

    exit_code = 1


class UnfitOutputError(ImageError):
    """The output format cannot hold the result (more channels than it takes, alpha where it
    has none): the kernel or the format chosen does not fit, a usage error (exit 2)."""

    exit_code = 2


class MissingDependencyError(ConvcliError, ImportError):
    """An optional dependency (an extra such as ``convcli[dask]``) is needed but not installed.

    Also an :class:`ImportError` whose ``name`` is the missing top-level module; the message
    says which ``pip install`` command brings it.
    """

    exit_code = 1


class ClippedWarning(ConvcliNote):
    """More than half of a result clipped to black under the default output map.

    Typical of a kernel whose weights sum to 0 (an edge or Laplacian kernel) written with
    ``clip``: its negative half is lost. The message says which ``--output-map`` shows it.
    """
