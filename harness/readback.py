"""Reading back every acknowledged mission at the end of a run (the data-loss and outcome evidence).

Bulk through ``POST /v1/missions/lookup`` (1000 ids a call); a target that lacks it (404 or
405) is read with one ``GET /v1/missions/{id}`` per id. Ids the target could not be asked
about are listed as ``unread``, never counted as found.

Missions still ``queued`` or ``running`` at the first read are asked again, once a second,
until they settle or ``settle_s`` (the profile's ``checks.mission_settle_s``) has passed: what
is still in flight after that bound is *stuck*, not merely young.

Mission time (acknowledgement to completion) needs ``created_at`` and ``completed_at``, which
only ``GET /v1/missions/{id}`` gives (the bulk lookup answers statuses). Both timestamps come
from the target's own clock, so their difference carries no client/server clock skew. Every
settled mission is asked when there are at most ``TIMES_MAX`` of them (a smoke or certification
run acknowledges a few hundred to a few thousand: seconds of GETs at 16 in parallel); beyond
that an evenly spaced sample of ``TIMES_MAX`` ids in id order, which is unrelated to time, so
every window keeps its share. ``times_asked`` / ``times_of`` in ``readback.json`` say which.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from gameday.contract.atomic import write_atomic

CHUNK = 1000
SETTLED = ("completed", "failed")
TIMES_MAX = 2000
POLL_S = 1.0

Body = dict[str, Any]


def _bulk(session: requests.Session, api: str, ids: list[str]) -> tuple[dict[str, str], list[str]] | None:
    found: dict[str, str] = {}
    missing: list[str] = []
    for i in range(0, len(ids), CHUNK):
        r = session.post(f"{api}/v1/missions/lookup", json={"ids": ids[i:i + CHUNK]}, timeout=30)
        if r.status_code in (404, 405) and i == 0:
            return None
        r.raise_for_status()
        body = r.json()
        found.update({str(k): str(v) for k, v in body.get("found", {}).items()})
        missing += [str(m) for m in body.get("missing", [])]
    return found, missing


def _one(session: requests.Session, api: str, mission: str) -> tuple[str, Body | None]:
    r = session.get(f"{api}/v1/missions/{mission}", timeout=15)
    if r.status_code == 404:
        return mission, None
    r.raise_for_status()
    body = r.json()
    return mission, body if isinstance(body, dict) else {}


def _gets(session: requests.Session, api: str, ids: list[str]) -> dict[str, Body | None]:
    with ThreadPoolExecutor(max_workers=16) as pool:
        return dict(pool.map(lambda m: _one(session, api, m), ids))


def _stamp(v: Any) -> float | None:
    """A mission timestamp as unix seconds; None if absent or not a timestamp.

    The contract names the fields, not their form, and a target written elsewhere may send any
    of the usual ones: an ISO 8601 string (no offset = UTC; ``Z`` accepted), or a number of unix
    seconds, milliseconds or microseconds (told apart by size: 1e11 s is the year 5138). Both
    stamps of a mission come from the target's one clock, so only their difference is used."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        x = float(v)
        if not math.isfinite(x) or x <= 0:
            return None
        return x / 1e6 if x >= 1e14 else x / 1e3 if x >= 1e11 else x
    if not isinstance(v, str):
        return None
    try:
        dt = datetime.fromisoformat(v.strip())
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


class _Reader:
    """One target, asked with retries; remembers whether it has the bulk lookup and what GETs said."""

    def __init__(self, api: str, attempts: int, sleep: Callable[[float], None]) -> None:
        self.api, self.attempts, self.sleep = api, attempts, sleep
        self.session = requests.Session()
        self.method = "lookup"
        self.bodies: dict[str, Body] = {}

    def statuses(self, ids: list[str]) -> tuple[dict[str, str], list[str], str | None]:
        error: str | None = None
        for attempt in range(self.attempts):
            try:
                bulk = _bulk(self.session, self.api, ids) if self.method == "lookup" else None
                if bulk is not None:
                    return bulk[0], bulk[1], None
                self.method = "get"
                got = _gets(self.session, self.api, ids)
                self.bodies.update({m: b for m, b in got.items() if b is not None})
                return ({m: str(b.get("status", "unknown")) for m, b in got.items() if b is not None},
                        [m for m, b in got.items() if b is None], None)
            except (requests.exceptions.RequestException, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
                self.sleep(min(5.0, 1.0 + attempt * 2))
        return {}, [], error

    def times(self, ids: list[str]) -> tuple[dict[str, list[float | None]], str | None]:
        """created_at and completed_at of ``ids``, from GETs (reused when the read-back was by GET)."""
        ask = [m for m in ids if m not in self.bodies]
        error = None
        try:
            got = _gets(self.session, self.api, ask) if ask else {}
            self.bodies.update({m: b for m, b in got.items() if b is not None})
        except (requests.exceptions.RequestException, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        out = {m: [_stamp(self.bodies[m].get("created_at")), _stamp(self.bodies[m].get("completed_at"))]
               for m in ids if m in self.bodies}
        if error is None and ids and not any(c is not None and d is not None for c, d in out.values()):
            error = "GET /v1/missions/{id} gave no created_at/completed_at timestamps"
        return out, error


def _sample(ids: list[str], most: int) -> list[str]:
    if len(ids) <= most:
        return ids
    step = len(ids) / most
    return [ids[int(i * step)] for i in range(most)]


def read_back(api: str, ids: Iterable[str], out: Path, attempts: int = 3, settle_s: float = 0.0,
              clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
              times_max: int = TIMES_MAX) -> dict[str, Any]:
    todo = sorted(set(ids))
    reader = _Reader(api.rstrip("/"), attempts, sleep)
    t0 = clock()
    found, missing, error = reader.statuses(todo)
    pending = sorted(m for m, s in found.items() if s not in SETTLED)
    first_pending = len(pending)
    settle_error: str | None = None
    while error is None and pending and clock() - t0 < settle_s:
        sleep(min(POLL_S, max(0.0, settle_s - (clock() - t0))))
        again, gone, settle_error = reader.statuses(pending)
        if settle_error is not None:
            break  # the statuses of the first read stand; that they are stuck is then not known
        found.update(again)
        for m in gone:  # found once, then not: gone after its acknowledgement
            found.pop(m, None)
            missing.append(m)
        pending = sorted(m for m, s in found.items() if s not in SETTLED)
    waited = clock() - t0
    settled = sorted(m for m, s in found.items() if s in SETTLED)
    times_ids = _sample(settled, times_max)
    times, times_error = reader.times(times_ids) if error is None else ({}, None)
    unread = [] if error is None else todo
    data = {"read_at": time.time(), "method": reader.method, "asked": len(todo), "found": found,
            "missing": missing, "unread": unread, "error": error,
            "settle": {"bound_s": settle_s, "waited_s": round(waited, 3), "unsettled_at_first_read": first_pending,
                       "unsettled": len(pending), "error": settle_error},
            "times": times, "times_of": len(settled), "times_asked": len(times_ids), "times_error": times_error}
    write_atomic(out, json.dumps(data))
    return data
