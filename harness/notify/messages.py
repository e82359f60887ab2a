"""What a webhook says: pure functions from a timeline event (or the results) to a Slack-compatible
message ``{"text": ..., "attachments": [...]}``, or None for events nobody is told about.

    run_started        → run_started       chaos_done    → fault_ended (recovery, rollbacks)
    fault_injected     → fault_started     run_aborted / run_interrupted → the same, with the reason
    results.json       → verdict (with the report's path and URL); an exception → run_failed
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gameday.contract.events import Event
from gameday.harness.notify.config import NotifyEvent

Message = dict[str, Any]
COLORS = {"GO": "good", "NO-GO": "danger", "INCONCLUSIVE": "warning"}


@dataclass(frozen=True)
class Context:
    """What every message names: the profile and where the run lives."""

    profile: str
    run_dir: Path
    report_url: str | None = None  # the profile's template, {run} and {profile} not yet filled in

    @property
    def report(self) -> str:
        """Where the report is: its path, and the URL CI publishes it at when the profile gives one."""
        path = str(self.run_dir / "report.html")
        if not self.report_url:
            return path
        return f"{path} ({self.report_url.format(run=self.run_dir.name, profile=self.profile)})"


def _text(ctx: Context, body: str, color: str | None = None) -> Message:
    text = f"gameday {ctx.profile}: {body}"
    msg: Message = {"text": text}
    if color:
        msg["attachments"] = [{"color": color, "fallback": text, "text": text}]
    return msg


def _secs(v: Any) -> str:
    return "unknown" if v is None else f"{float(v):.1f} s"


def for_event(event: Mapping[str, Any], ctx: Context) -> tuple[NotifyEvent, Message] | None:
    """The announcement of one timeline event, or None."""
    name = event.get("event")
    fault = event.get("fault", "?")
    if name == Event.RUN_STARTED:
        faults = ", ".join(str(f) for f in event.get("faults") or []) or "none"
        return "run_started", _text(ctx, f"run started against {event.get('target', '?')}; faults: {faults}; "
                                         f"run directory {ctx.run_dir}")
    if name == Event.FAULT_INJECTED:
        return "fault_started", _text(ctx, f"fault {fault} injected ({event.get('action', '?')})")
    if name == Event.CHAOS_DONE:
        recovered = event.get("recovery_s") is not None
        how = f"recovered in {_secs(event.get('recovery_s'))}" if recovered else "NOT recovered"
        rb = "ok" if event.get("rollbacks_ok") else "FAILED"
        ok = bool(event.get("ok"))
        return "fault_ended", _text(ctx, f"fault {fault} ended ({event.get('status', '?')}): {how}, rollbacks {rb}",
                                    None if ok else "danger")
    if name == Event.RUN_ABORTED:
        return "run_aborted", _text(ctx, f"run ABORTED by the guard: {event.get('reason', '?')}", "danger")
    if name == Event.RUN_INTERRUPTED:
        return "run_interrupted", _text(ctx, f"run INTERRUPTED: {event.get('reason', '?')}", "warning")
    return None


def verdict(results: Mapping[str, Any] | None, ctx: Context) -> Message:
    """The verdict from ``results.json`` (None: it could not be read), with the report's location."""
    if results is None:
        return _text(ctx, f"no verdict: results.json could not be read; run directory {ctx.run_dir}", "warning")
    v = str(results.get("verdict", "?"))
    status = str(results.get("status", "?"))
    checks = list(results.get("checks") or [])
    passed = sum(1 for c in checks if c.get("status") == "PASS")
    bad = [f"{c.get('id')} {c.get('status')}" for c in checks if c.get("status") != "PASS"]
    # an incomplete run has no verdict: its status takes the verdict's place, so that nothing matching
    # "VERDICT GO" ever announces a run that did not finish
    head = (f"VERDICT {v}" if status == "completed"
            else f"VERDICT {status.upper()} (not a verdict: the checks judged so far say {v})")
    detail = f"{passed}/{len(checks)} checks PASS" + (f"; {', '.join(bad)}" if bad else "")
    color = COLORS.get(v, "warning") if status == "completed" else "warning"
    return _text(ctx, f"{head}: {detail}; report {ctx.report}", color)


def failed(error: str, ctx: Context) -> Message:
    """The run stopped with an error before a verdict (e.g. the target could not be brought up)."""
    return _text(ctx, f"run FAILED before a verdict: {error}; run directory {ctx.run_dir}", "danger")
