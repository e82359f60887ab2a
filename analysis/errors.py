"""Errors of the analysis side that the CLI must recognise without importing the judge.

Kept apart from :mod:`gameday.analysis.run` (which imports pandas) so that ``gameday.harness.cli`` can map them
to exit codes while ``gameday --help`` stays light.
"""

from __future__ import annotations


class NotARun(ValueError):
    """The directory is not a run directory at all (no timeline): bad input, exit 64."""
