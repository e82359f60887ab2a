"""gameday's own Grafana annotations, derived from the timeline:

* one region per phase (``phase_started`` → ``phase_ended``) and per fault (``fault_injected`` →
  ``fault_recovered`` / ``fault_not_recovered``), posted once the region has ended;
* a point for an abort or an interruption (regions still open are closed there), and one for
  the verdict.

``POST <url>/api/annotations`` with ``time`` / ``timeEnd`` in epoch milliseconds, ``tags``,
``text`` and ``dashboardUID`` when the profile names a dashboard (else the annotation belongs to
the organization and shows on any dashboard whose annotation query matches its tags);
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gameday.contract.events import Event
from gameday.harness.notify.webhook import post_json

Annotation = dict[str, Any]


def ms(t: float) -> int:
    return int(round(t * 1000))


@dataclass
class _Open:
    start: float
    text: str
    tags: list[str]


@dataclass
class Annotator:
    """Timeline events in, finished annotations out; it keeps only the regions still open."""

    profile: str
    tags: Sequence[str]
    dashboard_uid: str | None = None
    _open: dict[str, _Open] = field(default_factory=dict)

    def _ann(self, text: str, tags: list[str], t: float, end: float | None = None) -> Annotation:
        a: Annotation = {"time": ms(t), "tags": [*self.tags, *tags], "text": f"gameday {self.profile}: {text}"}
        if end is not None:
            a["timeEnd"] = ms(max(end, t))
        if self.dashboard_uid:
            a["dashboardUID"] = self.dashboard_uid
        return a

    def _close(self, key: str, t: float, suffix: str = "") -> list[Annotation]:
        o = self._open.pop(key, None)
        return [] if o is None else [self._ann(o.text + suffix, o.tags, o.start, t)]

    def close_all(self, t: float, suffix: str) -> list[Annotation]:
        return [a for key in list(self._open) for a in self._close(key, t, suffix)]

    def feed(self, event: Mapping[str, Any]) -> list[Annotation]:
        name, t = event.get("event"), float(event.get("t", 0.0))
        phase, fault = event.get("phase"), event.get("fault")
        if name == Event.PHASE_STARTED and phase:
            self._open[f"phase:{phase}"] = _Open(t, f"phase {phase}", ["phase", str(phase)])
        elif name == Event.PHASE_ENDED and phase:
            ok = event.get("ok")
            return self._close(f"phase:{phase}", t, "" if ok is None else (" ok" if ok else " NOT ok"))
        elif name == Event.FAULT_INJECTED and fault:
            action = event.get("action", "?")
            self._open[f"fault:{fault}"] = _Open(t, f"fault {fault} ({action})", ["fault", str(fault)])
        elif name == Event.FAULT_RECOVERED and fault:
            return self._close(f"fault:{fault}", t, f": recovered in {float(event.get('recovery_s') or 0):.1f} s")
        elif name in (Event.FAULT_NOT_RECOVERED, Event.CHAOS_DONE) and fault:
            return self._close(f"fault:{fault}", t, ": NOT recovered")
        elif name in (Event.RUN_ABORTED, Event.RUN_INTERRUPTED):
            kind = "aborted" if name == Event.RUN_ABORTED else "interrupted"
            return [*self.close_all(t, f" (run {kind})"),
                    self._ann(f"run {kind.upper()}: {event.get('reason', '?')}", [kind], t)]
        elif name == Event.RUN_FINISHED:
            return self.close_all(t, " (run ended)")
        return []

    def verdict(self, results: Mapping[str, Any] | None, t: float, report: str) -> Annotation:
        if results is None:
            return self._ann(f"no verdict (results.json unreadable); report {report}", ["verdict"], t)
        v, status = str(results.get("verdict", "?")), str(results.get("status", "?"))
        head = f"VERDICT {v}" if status == "completed" else f"VERDICT {status.upper()} (so far {v})"
        return self._ann(f"{head}; report {report}", ["verdict", v if status == "completed" else status.upper()], t)

    def failed(self, error: str, t: float) -> Annotation:
        return self._ann(f"run FAILED before a verdict: {error}", ["failed"], t)


def post_annotation(base_url: str, token: str, annotation: Mapping[str, Any], timeout_s: float) -> None:
    post_json(base_url.rstrip("/") + "/api/annotations", annotation, timeout_s,
              {"Authorization": f"Bearer {token}"})
