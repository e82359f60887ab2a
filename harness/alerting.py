"""Alerting evidence (checklist §5.4): Alertmanager's view during the run, and what the receivers got.

Alertmanager's v2 API lists only the alerts active *now* (a resolved one drops out), so one read
at the end would miss every alert that fired and resolved during a fault. :class:`AlertWatch`
polls ``GET /api/v2/alerts`` every ``poll_s`` seconds from the target being ready to the end of
the run, appending each answer (or the error) as one JSON line to ``alerting/alertmanager.jsonl``;
each alert keeps its labels, ``startsAt`` / ``endsAt``, state and the receivers Alertmanager routed
it to. At the end :func:`collect_notifications` reads what the receivers got, when the target
has an endpoint listing it (the sandbox's receiver), into ``alerting/notifications.jsonl``, and
``alerting/collector.json`` says what was read, from where, and every error: the judge says
INCONCLUSIVE from it rather than reading an unreachable Alertmanager as "no alert".

Bounded: at most ``max_s / poll_s`` polls, each with a 3 s timeout.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import requests

from gameday.contract import rundir
from gameday.contract.atomic import write_atomic
from gameday.harness.alert_config import AlertmanagerAccess

TIMEOUT_S = 3.0


def _slim(alert: dict[str, Any]) -> dict[str, Any]:
    """What the judge needs of one v2 alert (annotations other than the summary left out)."""
    status = alert.get("status") or {}
    return {
        "fingerprint": alert.get("fingerprint"),
        "labels": alert.get("labels") or {},
        "summary": (alert.get("annotations") or {}).get("summary"),
        "startsAt": alert.get("startsAt"),
        "endsAt": alert.get("endsAt"),
        "updatedAt": alert.get("updatedAt"),
        "state": status.get("state"),
        "silencedBy": status.get("silencedBy") or [],
        "inhibitedBy": status.get("inhibitedBy") or [],
        "receivers": [r.get("name") for r in alert.get("receivers") or [] if isinstance(r, dict)],
    }


class AlertWatch:
    """Polls Alertmanager in a daemon thread until :meth:`stop` (or ``max_s``)."""

    def __init__(self, access: AlertmanagerAccess, run_dir: Path, max_s: float) -> None:
        self.access = access
        self.headers = access.headers()  # an unset ${VAR} is bad input now, before any load
        self.run_dir = run_dir
        self.max_polls = max(1, int(max_s / access.poll_s) + 1)
        self.polls = 0
        self.failed = 0
        self.last_error: str | None = None
        self.first_ok: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="alert-watch", daemon=True)
        (run_dir / rundir.ALERTING).mkdir(parents=True, exist_ok=True)
        self._out = open(run_dir / rundir.ALERTMANAGER_POLLS, "a", buffering=1)

    def start(self) -> AlertWatch:
        self._thread.start()
        return self

    def poll_once(self) -> dict[str, Any]:
        url = self.access.url.rstrip("/") + "/api/v2/alerts"
        t = time.time()
        try:
            r = requests.get(url, headers=self.headers, timeout=TIMEOUT_S)
            r.raise_for_status()
            data = r.json()
            if not isinstance(data, list):
                raise ValueError(f"expected a JSON list of alerts, got {type(data).__name__}")
            rec: dict[str, Any] = {"t": t, "alerts": [_slim(a) for a in data if isinstance(a, dict)]}
            self.first_ok = self.first_ok or t
        except (requests.exceptions.RequestException, ValueError) as exc:
            self.failed += 1
            self.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
            rec = {"t": t, "error": self.last_error}
        self.polls += 1
        self._out.write(json.dumps(rec, separators=(",", ":")) + "\n")
        return rec

    def _loop(self) -> None:
        while not self._stop.is_set() and self.polls < self.max_polls:
            started = time.monotonic()
            self.poll_once()
            self._stop.wait(max(0.0, self.access.poll_s - (time.monotonic() - started)))

    def stop(self) -> None:
        """Stop polling after one last read (the end of the run's alerts), and close the file."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=TIMEOUT_S + 2)
        if not self._thread.is_alive() and not self._out.closed:
            self.poll_once()
            self._out.close()

    def summary(self) -> dict[str, Any]:
        return {"url": self.access.url, "poll_s": self.access.poll_s, "polls": self.polls, "failed": self.failed,
                "first_ok": self.first_ok, "last_error": self.last_error}


def collect_notifications(access: AlertmanagerAccess, run_dir: Path) -> dict[str, Any]:
    """What the receivers got, from ``receivers_url``/notifications, into the run directory."""
    if access.receivers_url is None:
        return {"receivers_url": None, "notifications": None,
                "error": "no receivers endpoint on this target: notification times are unknown"}
    url = access.receivers_url.rstrip("/") + "/notifications"
    try:
        r = requests.get(url, headers=access.headers(), timeout=10)
        r.raise_for_status()
        data = r.json()
        if not isinstance(data, list):
            raise ValueError(f"expected a JSON list, got {type(data).__name__}")
    except (requests.exceptions.RequestException, ValueError) as exc:
        return {"receivers_url": access.receivers_url, "notifications": None,
                "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    text = "".join(json.dumps(n, separators=(",", ":")) + "\n" for n in data)
    write_atomic(run_dir / rundir.ALERT_NOTIFICATIONS, text)
    return {"receivers_url": access.receivers_url, "notifications": len(data), "error": None}


def finish(watch: AlertWatch, run_dir: Path) -> dict[str, Any]:
    """Stop the watch, read the receivers, write ``alerting/collector.json``; returns it."""
    watch.stop()
    meta = {**watch.summary(), **collect_notifications(watch.access, run_dir), "collected_at": time.time()}
    write_atomic(run_dir / rundir.ALERTING_COLLECTOR, json.dumps(meta, indent=2))
    return meta
