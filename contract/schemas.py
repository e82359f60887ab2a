"""The shapes of ``results.json`` (``gameday run`` / ``judge`` / ``report``) and ``history.json``
(``gameday history``), as pydantic models, and their JSON Schemas generated from them.

The committed copies, ``docs/results.schema.json`` and ``docs/history.schema.json``, are what a CI
job or a dashboard that reads our output validates against; tests/unit/test_output_schemas.py
fails when a copy differs from what these models generate, and validates files written by a real
judge and a real ``gameday history`` against them. Regenerate after changing a model:

    .venv/bin/python -m gameday.contract.schemas            # rewrites both files in docs/
    .venv/bin/python -m gameday.contract.schemas --check    # exit 1 naming the stale file (CI)

The writers (``gameday.analysis.results``, ``gameday.analysis.render.history``) build plain dicts; these models
describe them and are not on the writers' path. Needs pydantic, unlike the rest of ``contract``:
import it only where a schema is wanted (never in the Locust plugin).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DOCS = Path(__file__).resolve().parents[1] / "docs"
BASE_ID = "https://github.com/hypercode/gameday/docs/"

Verdict = Literal["GO", "NO-GO", "INCONCLUSIVE"]
RunStatus = Literal["completed", "aborted", "interrupted", "failed"]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckRecord(_Doc):
    """One check over one window."""

    id: str = Field(description="the check's id (gameday.contract.checks.CheckId), or run_directory for damaged "
                                "evidence")
    status: Literal["PASS", "FAIL", "INCONCLUSIVE"]
    value: float | None = Field(description="what was measured; null when nothing could be")
    threshold: float | None = Field(description="the line it was judged against (the profile's, else the default)")
    window: str = Field(description="the phase or window judged: baseline, fault:<id>, cooldown, run, ...")
    evidence: str = Field(description="what the value was computed from")
    message: str
    details: dict[str, Any] = Field(description="check-specific figures (counts, offending items)")


class Results(_Doc):
    """``results.json``: every check, the verdict and how the run ended."""

    schema_version: Literal[1] = Field(
        description="gameday.contract.rundir.RESULTS_SCHEMA_VERSION (a test keeps them equal)")
    run: str = Field(description="the run directory's name")
    status: RunStatus = Field(description="how the collector ended; anything but completed is not a verdict")
    failure: str | None = Field(description="what stopped a run that could not be completed (status failed)")
    verdict: Verdict
    exit_code: Literal[0, 1, 2, 3, 4] = Field(description="gameday.contract.exitcodes.ExitCode for this run")
    required: list[str] = Field(description="the check ids that must pass for GO")
    checks: list[CheckRecord]


class Recovery(_Doc):
    """One fault's recovery in one run."""

    seconds: float | None = Field(description="injection until back within SLA; null: not recovered or no evidence")
    bound: float | None
    status: str


class HistoryRow(_Doc):
    """One run directory, as ``gameday history`` lists it."""

    run: str = Field(description="the directory's name")
    path: str = Field(description="relative to the runs directory")
    started: float | None = Field(description="unix seconds, from the timeline")
    started_utc: str | None
    kind: Literal["certification", "load", "fault"]
    profile: str | None
    target: str | None
    status: str = Field(description="completed | aborted | interrupted | failed")
    verdict: Verdict | None = Field(description="null when the run was not judged")
    exit_code: int | None
    source: Literal["results.json", "judged now", "not judged"]
    p95_baseline_ms: float | None
    p95_threshold_ms: float | None
    missions_per_min: float | None
    missions_threshold: float | None
    recovery: dict[str, Recovery] = Field(description="per fault id")
    lost_acks: float | None
    lost_acks_threshold: float | None
    failed_checks: int
    inconclusive_checks: int
    report: str | None = Field(description="relative link to report.html from the page's directory")
    note: str = Field(description="why a run was not judged, or what else the row should say")
    in_trends: bool = Field(description="a completed certification run with a verdict: the only kind charted")


class History(_Doc):
    """``history.json``: one row per run directory found under the runs directory."""

    schema_version: Literal[1] = Field(
        description="gameday.contract.rundir.HISTORY_SCHEMA_VERSION (a test keeps them equal)")
    runs_dir: str
    rows: list[HistoryRow]


SCHEMAS: dict[str, tuple[type[BaseModel], str]] = {
    "results.schema.json": (Results, "gameday results.json"),
    "history.schema.json": (History, "gameday history.json"),
}


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12, as pydantic writes it) committed as ``docs/<name>``."""
    model, title = SCHEMAS[name]
    doc: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": BASE_ID + name}
    doc.update(model.model_json_schema())
    doc["title"] = title
    return doc


def render(name: str) -> str:
    """As the committed file holds it: sorted keys, two-space indent, a final newline."""
    return json.dumps(schema(name), indent=2, sort_keys=True) + "\n"


def stale(docs: Path = DOCS) -> list[str]:
    """The committed schema files that differ from what the models generate."""
    out = []
    for name in SCHEMAS:
        f = docs / name
        if not f.is_file() or f.read_text(encoding="utf-8") != render(name):
            out.append(str(f))
    return out


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        bad = stale()
        for f in bad:
            print(f"{f}: stale; regenerate with: python -m gameday.contract.schemas", file=sys.stderr)
        return 1 if bad else 0
    if argv:
        print("usage: python -m gameday.contract.schemas [--check]", file=sys.stderr)
        return 64
    from gameday.contract.atomic import write_atomic

    for name in SCHEMAS:
        write_atomic(DOCS / name, render(name), redact=False)  # no secret in a schema; the file must equal it
        print(f"wrote {DOCS / name}")
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
