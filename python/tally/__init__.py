"""tally's results in Python: read, check, tabulate and plot the HDF5 files `tally run` writes.

    >>> import tally
    >>> with tally.Results("run.h5") as r:     # a results file or a checkpoint; read lazily
    ...     r.total, r.task_sums[0], r.status  # exact Python ints
    ...     r.z_scores()                       # exact-integer statistics
    ...     r.validate()                       # every reading rule (and a checkpoint's seal)
    >>> tally.runs("sweep/tally-*.h5")         # many files as one pandas DataFrame

`tally.reference` is an independent NumPy implementation of both streams;
`tally.plot` makes the figures of `tally-analyze` and `tally.report` its HTML page
(both need matplotlib, so they are imported on demand). docs/python.md has a session.
"""
from . import reference, stats
from .results import Config, FormatError, Results, check_in_subprocess
from .stats import z_score
from .table import runs

__version__ = "0.1.0"  # the project's version (CMakeLists.txt); tests check they agree
__all__ = ["Config", "FormatError", "Results", "check_in_subprocess", "reference", "runs", "stats", "z_score"]
