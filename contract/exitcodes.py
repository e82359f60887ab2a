"""gameday's exit codes, decided here and nowhere else (the CLI, the verdict, results.json and
``gameday compare`` all ask this module).

=====  =====================================================================================
0      GO: every required check passed (``compare``: no regression)
1      NO-GO: a required check failed (``compare``: a regression)
2      INCONCLUSIVE: evidence missing or damaged for a required check
3      aborted by the guard, or interrupted (signal): the evidence it left is judged, not certified
4      could not be completed: the harness or the target failed (target unreachable, a tool
       crashed); results.json and the reports still say what failed
64     bad input: profile, experiment, arguments, or a directory that is not a run (EX_USAGE)
=====  =====================================================================================
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    GO = 0
    NO_GO = 1
    INCONCLUSIVE = 2
    ABORTED = 3
    NOT_COMPLETED = 4
    BAD_INPUT = 64

    # ``gameday compare`` speaks of regressions; the numbers are the verdict's
    NO_REGRESSION = 0
    REGRESSION = 1

    @classmethod
    def for_verdict(cls, verdict: str) -> ExitCode:
        return {"GO": cls.GO, "NO-GO": cls.NO_GO, "INCONCLUSIVE": cls.INCONCLUSIVE}[verdict]

    @classmethod
    def for_run(cls, verdict: str, status: str) -> ExitCode:
        """A completed run exits with its verdict; an aborted or interrupted one with 3; one that
        failed for the harness's or the target's own reasons with 4 (never 1, which is NO-GO)."""
        if status == "completed":
            return cls.for_verdict(verdict)
        if status == "failed":
            return cls.NOT_COMPLETED
        return cls.ABORTED
