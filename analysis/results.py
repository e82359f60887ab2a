"""``results.json``: every check, the verdict and how the run ended, written atomically.

Computed by the judge, written here (compute, then output). A run that did not complete is
never GO: it is reported with its status, and exits 3 (aborted, interrupted) or 4 (failed: the
harness or the target could not complete it), as gameday.contract.exitcodes decides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gameday.analysis.judge import Judgement
from gameday.analysis.windows import first_event, read_timeline
from gameday.contract.atomic import write_atomic
from gameday.contract.events import Event
from gameday.contract.exitcodes import ExitCode
from gameday.contract.rundir import RESULTS_SCHEMA_VERSION


def run_status(run_dir: Path) -> str:
    """completed | aborted | interrupted | failed (an error stopped the collector) — or interrupted when the
    collector never finished."""
    events = read_timeline(run_dir)
    done = first_event(events, Event.RUN_FINISHED)
    if done is None:
        return "interrupted"
    return str(done.get("status", "completed"))


def failure(run_dir: Path) -> str | None:
    """What stopped a run that could not be completed (its ``run_failed`` event), else None."""
    failed = first_event(read_timeline(run_dir), Event.RUN_FAILED)
    return None if failed is None else str(failed.get("reason") or "no reason recorded")


def exit_code(j: Judgement, status: str) -> int:
    return int(ExitCode.for_run(j.verdict.value, status))


def to_dict(run_dir: Path, j: Judgement, status: str) -> dict[str, Any]:
    return {"schema_version": RESULTS_SCHEMA_VERSION, "run": run_dir.name, "status": status,
            "failure": failure(run_dir), "verdict": j.verdict.value, "exit_code": exit_code(j, status),
            "required": j.required, "checks": [r.as_dict() for r in j.results]}


def write(run_dir: Path, j: Judgement, status: str) -> Path:
    return write_atomic(run_dir / "results.json", json.dumps(to_dict(run_dir, j, status), indent=2, default=str),
                        root=run_dir)


def lines(j: Judgement, status: str, run_dir: Path | None = None) -> list[str]:
    """The verdict and one line per check result, for the terminal."""
    out = [f"{'check':<20} {'status':<13} {'value':>10} {'threshold':>10}  window / message"]
    for r in j.results:
        v = "-" if r.value is None else f"{r.value:g}"
        t = "-" if r.threshold is None else f"{r.threshold:g}"
        out.append(f"{r.id:<20} {r.status.value:<13} {v:>10} {t:>10}  {r.window}: {r.message}")
    answered = {r.id for r in j.results}
    for cid in j.required:
        if cid not in answered:
            out.append(f"{cid:<20} {'INCONCLUSIVE':<13} {'-':>10} {'-':>10}  no checker answered")
    # an incomplete run has no verdict: its status takes the verdict's place (a grep for "VERDICT: GO"
    # never matches a run that did not finish), and what the checks say so far follows
    verdict = (j.verdict.value if status == "completed"
               else f"{status.upper()} (not a verdict: the checks judged so far say {j.verdict.value})")
    why = failure(run_dir) if run_dir is not None else None
    if why:
        out.append(f"the run could not be completed: {why}")
    out.append(f"VERDICT: {verdict}")
    return out
