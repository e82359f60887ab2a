"""The history of game days: one summary row per run directory found under a runs directory.

Pure: reads run directories, returns rows; ``gameday.analysis.render.history`` writes the page. Each
row comes from the run's ``results.json`` (what ``gameday run`` / ``gameday judge`` decided).
A certification run without ``results.json`` is judged now with the same judge, in memory:
the judge reads only the directory, so the row says what ``gameday judge`` would say, and
nothing is written into a directory that an index page has no business changing (it may be
evidence under review, or a collector may still be writing it). A run the judge cannot load
is listed as "not judged" with the reason rather than dropped: a missing game day is a fact
the page should show. Load-only and single-fault runs (``gameday load`` / ``gameday fault``)
have no verdict of their own; they are listed and never judged.

Only completed certification runs with a verdict feed the trend charts: an interrupted or
aborted run's numbers cover part of its windows and would read as a trend that is not one.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import urllib.parse
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gameday.analysis import results
from gameday.analysis.judge import judge
from gameday.analysis.run import load_run
from gameday.analysis.windows import first_event, read_timeline
from gameday.contract.events import Event

MAX_DEPTH = 2  # runs/<id>/ and runs/<group>/<id>/ (e.g. one folder per game day)

FROM_RESULTS = "results.json"
JUDGED_NOW = "judged now"
NOT_JUDGED = "not judged"


@dataclass(frozen=True)
class Recovery:
    """One fault's recovery in one run: seconds from injection until back within SLA."""

    seconds: float | None  # None: never recovered in its window, or no evidence
    bound: float | None
    status: str


@dataclass(frozen=True)
class Row:
    """One run, as the history page and ``history.json`` show it."""

    run: str                      # the directory's name
    path: str                     # relative to the runs directory
    started: float | None         # unix seconds, from the timeline
    started_utc: str | None
    kind: str                     # certification | load | fault
    profile: str | None
    target: str | None
    status: str                   # completed | aborted | interrupted (results.run_status)
    verdict: str | None           # GO | NO-GO | INCONCLUSIVE; None when not judged
    exit_code: int | None
    source: str                   # results.json | judged now | not judged
    p95_baseline_ms: float | None
    p95_threshold_ms: float | None
    missions_per_min: float | None
    missions_threshold: float | None
    recovery: dict[str, Recovery] = field(default_factory=dict)
    lost_acks: float | None = None
    lost_acks_threshold: float | None = None
    failed_checks: int = 0
    inconclusive_checks: int = 0
    report: str | None = None     # relative link to report.html, from the page's directory
    note: str = ""

    @property
    def in_trends(self) -> bool:
        """A completed certification run with a verdict: the only kind whose numbers make a trend."""
        return self.kind == "certification" and self.status == "completed" and self.verdict is not None \
            and self.started is not None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["in_trends"] = self.in_trends
        return d


def find_runs(runs_dir: Path, max_depth: int = MAX_DEPTH) -> list[Path]:
    """Every directory holding a ``timeline.jsonl`` down to ``max_depth`` levels below ``runs_dir``.

    A run directory is not searched further (its ``load/``, ``journals/`` are not runs); hidden
    directories are skipped (temp files, caches). A run reached twice (a ``latest`` symlink beside
    the run it points at) is listed once, under its real name."""
    found: dict[Path, Path] = {}
    for d in sorted(_walk(runs_dir, max_depth), key=lambda p: (p.is_symlink(), p)):
        found.setdefault(d.resolve(), d)
    return sorted(found.values())


def _walk(d: Path, depth: int) -> Iterator[Path]:
    if depth <= 0:
        return
    try:
        children = sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return
    for child in children:
        if (child / "timeline.jsonl").is_file():
            yield child
        else:
            yield from _walk(child, depth - 1)


def _started(events: list[dict[str, Any]]) -> float | None:
    first = first_event(events, Event.RUN_STARTED)
    times = [float(e["t"]) for e in events if isinstance(e.get("t"), int | float)]
    if first is not None and isinstance(first.get("t"), int | float):
        return float(first["t"])
    return min(times) if times else None


def utc(t: float | None) -> str | None:
    if t is None:
        return None
    try:
        return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):  # a time no calendar shows (the reader refuses these)
        return None


def _kind(events: list[dict[str, Any]]) -> str:
    """certification (``gameday run``: phases), fault (``gameday fault``), or load (``gameday load``)."""
    started = first_event(events, Event.RUN_STARTED)
    if started is not None and started.get("kind"):
        return str(started["kind"])
    if started is None and first_event(events, Event.LOAD_STARTED) is not None \
            and first_event(events, Event.PHASE_STARTED) is None:
        return "load"
    return "certification"


def _profile(run_dir: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load((run_dir / "profile.yaml").read_text())
    except (OSError, ValueError, yaml.YAMLError):  # UnicodeDecodeError is a ValueError
        return {}
    return data if isinstance(data, dict) else {}


def _identity(run_dir: Path, events: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    """Profile name and target kind: from ``run_started``, else from the resolved profile."""
    started = first_event(events, Event.RUN_STARTED) or {}
    prof = _profile(run_dir)
    target = prof.get("target")
    kind = target.get("kind") if isinstance(target, dict) else None
    name = started.get("profile") or prof.get("name")
    tgt = started.get("target") or kind
    return (None if name is None else str(name)), (None if tgt is None else str(tgt))


def _read_results(run_dir: Path) -> tuple[dict[str, Any] | None, str]:
    """``results.json`` parsed, or None and why (absent, torn, not an object)."""
    path = run_dir / "results.json"
    if not path.is_file():
        return None, "no results.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return None, f"results.json unreadable ({type(exc).__name__})"
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        return None, "results.json has no checks"
    return data, ""


def _judge_now(run_dir: Path) -> dict[str, Any]:
    """What ``gameday judge`` would write, computed in memory; nothing is written."""
    j = judge(load_run(run_dir))
    return results.to_dict(run_dir, j, results.run_status(run_dir))


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) else None


def _damaged_results(data: dict[str, Any]) -> str | None:
    """Why a parsed results.json cannot make a row (a hand edit, another tool's file), or None."""
    if data.get("verdict") not in (None, "GO", "NO-GO", "INCONCLUSIVE"):
        return f"verdict {data.get('verdict')!r} is not GO, NO-GO or INCONCLUSIVE"
    if not all(isinstance(c, dict) for c in data["checks"]):
        return "a check that is not an object"
    return None


def _baseline(checks: list[dict[str, Any]], check_id: str) -> dict[str, Any] | None:
    """The check's result over the baseline window (the first one, if a run had several)."""
    return next((c for c in checks if c.get("id") == check_id and str(c.get("window", "")).startswith("baseline")),
                None)


def _recoveries(checks: list[dict[str, Any]]) -> dict[str, Recovery]:
    out: dict[str, Recovery] = {}
    for c in checks:
        details = c.get("details") or {}
        fault = details.get("fault") if isinstance(details, dict) else None
        if c.get("id") == "recovery_time" and fault:
            out[str(fault)] = Recovery(_num(c.get("value")), _num(c.get("threshold")), str(c.get("status")))
    return out


def _metrics(data: dict[str, Any]) -> dict[str, Any]:
    """The row's numbers from a results.json document."""
    checks = [c for c in data["checks"] if isinstance(c, dict)]
    p95 = _baseline(checks, "latency_p95") or {}
    tput = _baseline(checks, "throughput") or {}
    lost = next((c for c in checks if c.get("id") == "lost_acks"), {})
    code, verdict = data.get("exit_code"), data.get("verdict")
    return {"status": str(data.get("status", "completed")), "verdict": None if verdict is None else str(verdict),
            "exit_code": code if isinstance(code, int) else None,
            "p95_baseline_ms": _num(p95.get("value")), "p95_threshold_ms": _num(p95.get("threshold")),
            "missions_per_min": _num(tput.get("value")), "missions_threshold": _num(tput.get("threshold")),
            "recovery": _recoveries(checks), "lost_acks": _num(lost.get("value")),
            "lost_acks_threshold": _num(lost.get("threshold")),
            "failed_checks": sum(c.get("status") == "FAIL" for c in checks),
            "inconclusive_checks": sum(c.get("status") == "INCONCLUSIVE" for c in checks)}


def link(target: Path, page_dir: Path) -> str:
    """A relative URL from the page's directory to ``target`` (posix separators, quoted)."""
    rel = Path(os.path.relpath(target.resolve(), page_dir.resolve())).as_posix()
    return urllib.parse.quote(rel)


def _empty_metrics(status: str) -> dict[str, Any]:
    return {"status": status, "verdict": None, "exit_code": None, "p95_baseline_ms": None, "p95_threshold_ms": None,
            "missions_per_min": None, "missions_threshold": None}


def summarize(run_dir: Path, runs_dir: Path, page_dir: Path) -> Row:
    """One run's row: from results.json, else judged now (certification runs), else not judged."""
    events = read_timeline(run_dir)
    started = _started(events)
    kind = _kind(events)
    profile, target = _identity(run_dir, events)
    data, why = _read_results(run_dir)
    source, note = FROM_RESULTS, ""
    if data is None and kind != "certification":
        source, note = NOT_JUDGED, f"gameday {kind} run: no verdict of its own"
    elif data is None:
        try:
            data, source, note = _judge_now(run_dir), JUDGED_NOW, f"{why}: judged now, nothing written"
        except Exception as exc:  # a directory the judge cannot load is listed, not dropped
            source, note = NOT_JUDGED, f"{why}; the judge could not load it: {type(exc).__name__}: {exc}"
    if data is not None and source == FROM_RESULTS and _damaged_results(data):
        source, note, data = NOT_JUDGED, f"results.json: {_damaged_results(data)}", None
    metrics = _metrics(data) if data is not None else _empty_metrics(_status_of(run_dir, kind))
    report = run_dir / "report.html"
    return Row(run=run_dir.name, path=run_dir.relative_to(runs_dir).as_posix(), started=started,
               started_utc=utc(started), kind=kind, profile=profile, target=target, source=source,
               report=link(report, page_dir) if report.is_file() else None, note=note, **metrics)


def _status_of(run_dir: Path, kind: str) -> str:
    """A load run ends with ``load_stopped``, not ``run_finished``: it is not 'interrupted'."""
    if kind == "load":
        events = read_timeline(run_dir)
        return "completed" if first_event(events, Event.LOAD_STOPPED) is not None else "interrupted"
    try:
        return results.run_status(run_dir)
    except (TypeError, ValueError):
        return "unknown"


def _order(row: Row) -> tuple[int, float, str]:
    """By start time from the timeline; runs whose timeline has no time go last, by path."""
    return (0, row.started, row.path) if row.started is not None else (1, 0.0, row.path)


def collect(runs_dir: Path, page_dir: Path | None = None) -> list[Row]:
    """Every run under ``runs_dir``, oldest first. Links are relative to ``page_dir`` (default ``runs_dir``)."""
    page = runs_dir if page_dir is None else page_dir
    return sorted((summarize(d, runs_dir, page) for d in find_runs(runs_dir)), key=_order)


def fault_ids(rows: list[Row]) -> list[str]:
    """Every fault id any run judged, in the order first seen (oldest run first)."""
    seen: dict[str, None] = {}
    for r in rows:
        seen.update(dict.fromkeys(r.recovery))
    return list(seen)
