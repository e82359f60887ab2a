"""``results.json``: every check, the verdict and how the run ended, written atomically.

Computed by the judge, written here (compute, then output). A run that did not complete is
never GO: it is reported with its status, and exits 3.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from analysis.judge import Judgement
from analysis.windows import first_event, read_timeline


def run_status(run_dir: Path) -> str:
    """completed | aborted | interrupted | failed (an error stopped the collector) — or interrupted when the
    collector never finished."""
    events = read_timeline(run_dir)
    done = first_event(events, "run_finished")
    if done is None:
        return "interrupted"
    return str(done.get("status", "completed"))


def exit_code(j: Judgement, status: str) -> int:
    return 3 if status != "completed" else j.verdict.exit_code


def to_dict(run_dir: Path, j: Judgement, status: str) -> dict[str, Any]:
    return {"run": run_dir.name, "status": status, "verdict": j.verdict.value, "exit_code": exit_code(j, status),
            "required": j.required, "checks": [r.as_dict() for r in j.results]}


def write(run_dir: Path, j: Judgement, status: str) -> Path:
    path = run_dir / "results.json"
    tmp = path.with_name(".results.json.tmp")
    tmp.write_text(json.dumps(to_dict(run_dir, j, status), indent=2, default=str))
    os.replace(tmp, path)
    return path


def lines(j: Judgement, status: str) -> list[str]:
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
    verdict = j.verdict.value if status == "completed" else f"{j.verdict.value} (run {status.upper()}: not a verdict)"
    out.append(f"VERDICT: {verdict}")
    return out
