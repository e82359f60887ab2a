"""The alerting evidence of a run, read once into alert episodes (checklist §5.4).

Three sources, all in the run directory (``gameday.contract.rundir``):

* ``alerting/alertmanager.jsonl``: Alertmanager's ``GET /api/v2/alerts`` polled during the run
  (``gameday.harness.alerting``): each active alert with its labels, ``startsAt`` (Prometheus's firing
  time), state and the receivers Alertmanager routed it to;
* ``alerting/notifications.jsonl``: what the receivers got (the sandbox's webhook receiver), each
  notification with its arrival time, receiver and Alertmanager's payload;
* ``prometheus/alerts.csv``: Prometheus's ``ALERTS`` series, for when an alert went *pending*
  (and a firing alert Alertmanager never listed).

An :class:`Episode` is one alert (Alertmanager's fingerprint) from its firing to its resolution;
an alert that fires again later is a new episode (a new ``startsAt``). Its resolution is the
``endsAt`` of a resolved notification when a receiver got one, else the first poll that no longer
listed it (an upper bound), else unknown (still firing when the evidence ends).

A line that is not JSON, or not of the expected shape, is damage (:class:`AlertDamage`): the
alerting checks are INCONCLUSIVE with it, never judged on part of the file.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gameday.analysis.prom import read_series
from gameday.contract import rundir

_FRACTION = re.compile(r"\.(\d+)")


class AlertDamage(ValueError):
    """An alerting evidence file that cannot be read as written; names the file and line."""


def parse_time(text: Any) -> float | None:
    """An RFC 3339 time as Alertmanager writes it (nanoseconds, ``Z``) → unix seconds; the zero
    time (``0001-01-01T00:00:00Z``, "not set") and anything else unparseable → None."""
    if not isinstance(text, str) or text.startswith("0001-"):
        return None
    s = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text.replace("Z", "+00:00"), count=1)
    try:
        return dt.datetime.fromisoformat(s).timestamp()
    except ValueError:
        return None


@dataclass
class Episode:
    """One alert from firing to resolution, as Alertmanager, the receivers and Prometheus saw it."""

    fingerprint: str
    labels: dict[str, str]
    fired_at: float
    first_seen: float | None = None  # first poll listing it
    last_seen: float | None = None  # last poll listing it
    gone_at: float | None = None  # first successful poll after last_seen not listing it
    am_receivers: set[str] = field(default_factory=set)
    suppressed: bool = False
    notified: dict[str, float] = field(default_factory=dict)  # receiver -> first firing notification
    resolved_notified: dict[str, float] = field(default_factory=dict)  # receiver -> first resolved notification
    resolved_ends_at: float | None = None  # endsAt of a resolved notification
    pending_at: float | None = None  # from ALERTS{alertstate="pending"}

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "?")

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")

    @property
    def resolved_at(self) -> float | None:
        return self.resolved_ends_at if self.resolved_ends_at is not None else self.gone_at

    @property
    def first_notified(self) -> float | None:
        return min(self.notified.values()) if self.notified else None

    def matches(self, alertname: str | None, severity: str, matchers: dict[str, str]) -> bool:
        return ((alertname is None or self.name == alertname) and self.severity == severity
                and all(self.labels.get(k) == v for k, v in matchers.items()))


@dataclass(frozen=True)
class AlertEvidence:
    episodes: list[Episode]
    ok_polls: list[float]  # times of the successful polls
    failed_polls: int
    poll_errors: list[str]
    notifications: int | None  # None: no receiver evidence (a cluster's PagerDuty/Slack)
    notifications_error: str | None
    prometheus_firing: list[tuple[dict[str, str], float, float]]  # (labels, first, last firing sample), ALERTS
    alerts_series_error: str | None
    prometheus_pending: list[tuple[dict[str, str], float, float]] = field(default_factory=list)  # the same, pending

    @property
    def has_alertmanager(self) -> bool:
        return bool(self.ok_polls)

    def covered(self, start: float, end: float) -> bool:
        """A successful poll at or after ``end``-ish: the watch was still reading when the bound passed."""
        return any(t >= end for t in self.ok_polls) and any(t <= max(start, end) for t in self.ok_polls)

    @property
    def last_poll(self) -> float | None:
        return max(self.ok_polls) if self.ok_polls else None


def _lines(path: Path) -> list[tuple[int, Any]]:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise AlertDamage(f"{path.name}: unreadable ({type(exc).__name__})") from None
    out = []
    lines = raw.split("\n")
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append((i, json.loads(line)))
        except ValueError:
            if i == len(lines) and not raw.endswith("\n"):
                continue  # a torn last line: a writer killed mid-line
            raise AlertDamage(f"line {i}: not JSON") from None
    return out


def _key(fingerprint: Any, starts: float) -> tuple[str, int]:
    return str(fingerprint), round(starts * 10)  # 0.1 s: the API and the webhook print startsAt alike


def read(run_dir: Path) -> AlertEvidence | None:
    """The alerting evidence, or None when the run has no Alertmanager polls at all. Raises
    :class:`AlertDamage` (naming the file and line) for a file that is not what the harness writes."""
    polls_path = run_dir / rundir.ALERTMANAGER_POLLS
    if not polls_path.exists():
        return None
    episodes: dict[tuple[str, int], Episode] = {}
    ok_polls: list[float] = []
    failed, errors = 0, []
    try:
        polls = _lines(polls_path)
    except AlertDamage as exc:
        raise AlertDamage(f"{rundir.ALERTMANAGER_POLLS} {exc}") from None
    for line, rec in polls:
        if not isinstance(rec, dict) or not isinstance(rec.get("t"), int | float):
            raise AlertDamage(f"{rundir.ALERTMANAGER_POLLS} line {line}: expected an object with a time 't'")
        t = float(rec["t"])
        if "error" in rec:
            failed += 1
            errors.append(str(rec["error"]))
            continue
        alerts = rec.get("alerts")
        if not isinstance(alerts, list):
            raise AlertDamage(f"{rundir.ALERTMANAGER_POLLS} line {line}: 'alerts' is not a list")
        ok_polls.append(t)
        for a in alerts:
            if not isinstance(a, dict) or not isinstance(a.get("labels"), dict):
                raise AlertDamage(f"{rundir.ALERTMANAGER_POLLS} line {line}: an alert without labels")
            starts = parse_time(a.get("startsAt")) or t
            k = _key(a.get("fingerprint"), starts)
            ep = episodes.get(k)
            if ep is None:
                ep = episodes[k] = Episode(str(a.get("fingerprint")), {str(x): str(y) for x, y in a["labels"].items()},
                                           starts)
            ep.first_seen = t if ep.first_seen is None else min(ep.first_seen, t)
            ep.last_seen = t if ep.last_seen is None else max(ep.last_seen, t)
            ep.am_receivers.update(str(r) for r in a.get("receivers") or [])
            ep.suppressed = ep.suppressed or a.get("state") == "suppressed" or bool(a.get("silencedBy")) \
                or bool(a.get("inhibitedBy"))
    ok_polls.sort()
    for ep in episodes.values():
        after = [t for t in ok_polls if ep.last_seen is not None and t > ep.last_seen]
        ep.gone_at = after[0] if after else None
    notes, notes_error = _notifications(run_dir, episodes)
    firing, pending, series_error = _prometheus(run_dir, episodes)
    return AlertEvidence(sorted(episodes.values(), key=lambda e: e.fired_at), ok_polls, failed, errors[:5],
                         notes, notes_error, firing, series_error, pending)


def _collector(run_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((run_dir / rundir.ALERTING_COLLECTOR).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _notifications(run_dir: Path, episodes: dict[tuple[str, int], Episode]) -> tuple[int | None, str | None]:
    path = run_dir / rundir.ALERT_NOTIFICATIONS
    meta = _collector(run_dir)
    if not path.exists():
        why = meta.get("error") if meta else None
        return None, str(why) if why else f"no {rundir.ALERT_NOTIFICATIONS}"
    try:
        notes = _lines(path)
    except AlertDamage as exc:
        raise AlertDamage(f"{rundir.ALERT_NOTIFICATIONS} {exc}") from None
    for line, rec in notes:
        payload = rec.get("payload") if isinstance(rec, dict) else None
        if not isinstance(rec, dict) or not isinstance(rec.get("t"), int | float) or not isinstance(payload, dict) \
                or not isinstance(payload.get("alerts"), list):
            raise AlertDamage(f"{rundir.ALERT_NOTIFICATIONS} line {line}: expected {{t, receiver, payload: "
                              f"{{alerts: [...]}}}}")
        t, receiver = float(rec["t"]), str(rec.get("receiver"))
        for a in payload["alerts"]:
            if not isinstance(a, dict) or not isinstance(a.get("labels"), dict):
                raise AlertDamage(f"{rundir.ALERT_NOTIFICATIONS} line {line}: an alert without labels")
            starts = parse_time(a.get("startsAt"))
            if starts is None:
                continue
            k = _key(a.get("fingerprint"), starts)
            ep = episodes.get(k)
            if ep is None:  # fired and resolved between two polls: the receivers saw it
                ep = episodes[k] = Episode(str(a.get("fingerprint")), {str(x): str(y) for x, y in a["labels"].items()},
                                           starts)
            if a.get("status") == "resolved":
                ep.resolved_notified.setdefault(receiver, t)
                ends = parse_time(a.get("endsAt"))
                if ends is not None:
                    ep.resolved_ends_at = ends if ep.resolved_ends_at is None else min(ep.resolved_ends_at, ends)
            else:
                ep.notified.setdefault(receiver, t)
    return len(notes), None


Span = tuple[dict[str, str], float, float]


def _prometheus(run_dir: Path, episodes: dict[tuple[str, int], Episode]) -> tuple[list[Span], list[Span], str | None]:
    """Pending times for the episodes, and every firing and pending span, from ALERTS."""
    s = read_series(run_dir, "alerts")
    if s is None:
        return [], [], "no prometheus/alerts.csv (ALERTS not snapshotted)"
    if s.error:
        return [], [], s.error
    runs: dict[tuple[str, str], list[tuple[float, dict[str, str]]]] = {}
    for ts, value, text in zip(s.data["timestamp"], s.data["value"], s.data["labels"], strict=True):
        if not isinstance(ts, float) or not math.isfinite(ts) or value != 1:
            continue
        try:
            labels = {str(k): str(v) for k, v in json.loads(str(text)).items()}
        except (ValueError, AttributeError):
            continue
        state = labels.pop("alertstate", "")
        labels.pop("__name__", None)
        runs.setdefault((state, json.dumps(labels, sort_keys=True)), []).append((float(ts), labels))
    firing: list[Span] = []
    pending: list[Span] = []
    for (state, _), samples in runs.items():
        samples.sort(key=lambda x: x[0])
        gap = 3 * (s.step_s or 1)  # a run of samples broken longer than this is a new episode
        spans: list[tuple[float, float, dict[str, str]]] = []
        for t, labels in samples:
            if spans and t - spans[-1][1] <= gap:
                spans[-1] = (spans[-1][0], t, labels)
            else:
                spans.append((t, t, labels))
        if state == "firing":
            firing += [(labels, a, b) for a, b, labels in spans]
        elif state == "pending":
            pending += [(labels, a, b) for a, b, labels in spans]
            for t, _end, labels in spans:
                for ep in episodes.values():
                    same = all(ep.labels.get(k) == v for k, v in labels.items())
                    if same and t <= ep.fired_at and (ep.pending_at is None or t > ep.pending_at):
                        ep.pending_at = t
    return firing, pending, None
