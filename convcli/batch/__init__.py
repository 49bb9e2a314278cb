"""Files to files: one job per input, output names planned, executors that run the jobs.

- ``_job``: :class:`ApplyJob` and :func:`apply_file`, one input file to one output file
  (read with :mod:`convcli.images`, filter with :mod:`convcli.filtering`, write atomically);
- ``_plan``: expanding folders and file lists into items, output names, reports;
- ``_executors``: running the items inline, on a process pool or on Dask (dask.distributed).
"""

from convcli.batch._job import ApplyJob, apply_file

__all__ = ["ApplyJob", "apply_file"]
