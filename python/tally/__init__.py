"""tally's results in Python: read, check and plot the HDF5 files `tally run` writes.

    >>> import tally
    >>> r = tally.Results("run.h5")          # a results file or a checkpoint
    >>> r.total, r.task_sums[0], r.status    # exact Python ints
    >>> r.z_scores()                         # exact-integer statistics

`tally.reference` is an independent NumPy implementation of both streams;
`tally.plot` makes the figures of `scripts/analyze` (it needs matplotlib, so it is
imported on demand). docs/python.md has a session.
"""
from . import reference, stats
from .results import FormatError, Results, check_in_subprocess
from .stats import z_score

__all__ = ["FormatError", "Results", "check_in_subprocess", "reference", "stats", "z_score"]
