"""The report's tables, computed once for both renderers (HTML and Markdown): the operations of
each window, like Locust's statistics table (exact figures, failed operations first), and the
faults with their outage as the clients lived it beside the experiment's own recovery time."""

from __future__ import annotations

from dataclasses import dataclass

from gameday.analysis.checks.samples import in_window
from gameday.analysis.judge import Judgement
from gameday.analysis.operations import OperationStats, stats
from gameday.analysis.run import Run
from gameday.contract.events import Event


@dataclass(frozen=True)
class WindowOperations:
    window: str
    rows: list[OperationStats]


def operations(run: Run) -> list[WindowOperations]:
    """Every window's operations (warm-up included: shown, never judged); computed once per loaded
    run, though both renderers ask (a pass over every request: 0.15 s a million)."""
    global _last
    if _last is None or _last[0] is not run:
        _last = (run, [WindowOperations(w.label(), stats(in_window(run.requests, w))) for w in run.windows])
    return _last[1]


_last: tuple[Run, list[WindowOperations]] | None = None


@dataclass(frozen=True)
class FaultRow:
    fault: str
    detect: str  # time to detect: the first failure a client saw after the injection
    outage: str  # first to last failed request
    recovery: str  # back within every SLA (and stayed), from the injection
    experiment: str  # the experiment's own injection-to-recovery (its method's end)
    bound: str
    failed: str
    lost: str  # acknowledged in this fault's window, then lost
    status: str
    alerts: str = "-"  # each expected alert's lifecycle from the injection (alert_fired's evidence)


def _s(v: object) -> str:
    return "-" if v is None else f"{float(v):.1f}"  # type: ignore[arg-type]


def _rel(details: dict[str, object], key: str, t0: float) -> float | None:
    v = details.get(key)
    return float(v) - t0 if isinstance(v, int | float) and not isinstance(v, bool) else None


def _alert_line(details: dict[str, object]) -> str:
    """``HyperCodeDatabaseDown P1: pending +1.3, firing +2.9, pager +3.9, resolved +7.9`` (s from the injection)."""
    t0 = details.get("injected_at")
    if not isinstance(t0, int | float):
        return ""
    parts = [f"{k} +{v:.1f}" for k, v in (("pending", _rel(details, "pending_at", t0)),
                                           ("firing", _rel(details, "fired_at", t0))) if v is not None]
    notified = details.get("notified")
    if isinstance(notified, dict):
        parts += [f"{r} +{float(t) - t0:.1f}" for r, t in sorted(notified.items(), key=lambda x: float(x[1]))]
    resolved = _rel(details, "resolved_at", t0)
    parts.append(f"resolved +{resolved:.1f}" if resolved is not None else "not resolved")
    return f"{details.get('alertname', '?')} {details.get('severity', '')}: {', '.join(parts)}"


def _alerts(j: Judgement, fault: str) -> str:
    """The lifecycle of the alerts this fault had to raise; what alert_fired says when one did not."""
    out = []
    for r in j.results:
        if r.id != "alert_fired" or not r.window.startswith(f"fault:{fault} "):
            continue
        line = _alert_line(r.details) if r.details.get("fired_at") is not None else ""
        out.append(line or f"{r.status.value}: {r.message}")
    return "; ".join(out) or "-"


def faults(j: Judgement) -> list[FaultRow]:
    lost = next((r for r in j.results if r.id == "lost_acks" and r.details.get("lost_by_window") is not None), None)
    by_window = lost.details.get("lost_by_window", {}) if lost is not None else {}
    out = []
    for r in j.results:
        if r.id != "recovery_time" or not r.details.get("fault"):
            continue
        d = r.details
        fault = str(d["fault"])
        n_lost = by_window.get(f"fault:{fault}") if isinstance(by_window, dict) else None
        out.append(FaultRow(
            fault=fault, detect=_s(d.get("time_to_detect_s")), outage=_s(d.get("outage_s")), recovery=_s(r.value),
            experiment=_s(d.get("experiment_recovery_s")), bound=_s(r.threshold),
            failed=str(d.get("failed_requests", "-")),
            lost="-" if lost is None else str(n_lost or 0), status=r.status.value, alerts=_alerts(j, fault)))
    return out


@dataclass(frozen=True)
class Resolution:
    """How fine the evidence is: the client figures are exact; Prometheus figures are as fine as
    the target's scrape interval and the query ranges it forced (the ``scrape_interval`` event)."""

    interval_s: float | None
    source: str
    min_range_s: float | None
    step_s: float | None
    recovery_window_s: float
    queries: dict[str, str]


def resolution(run: Run) -> Resolution:
    e = next((x for x in run.events if x.get("event") == Event.SCRAPE_INTERVAL), None) or {}

    def num(key: str) -> float | None:
        v = e.get(key)
        return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None

    queries = e.get("queries")
    return Resolution(
        interval_s=num("interval_s"), source=str(e.get("source", "not recorded")), min_range_s=num("min_range_s"),
        step_s=num("step_s"), recovery_window_s=run.threshold("recovery_window_s"),
        queries={str(k): str(v) for k, v in queries.items()} if isinstance(queries, dict) else {})
