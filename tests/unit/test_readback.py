"""The read-back against a real HTTP target speaking the contract (a stub of HyperCode's mission
API on 127.0.0.1): in-flight missions are awaited up to the bound, what stays in flight is
reported, mission times come from GETs, a target without the bulk lookup is read by GETs, and a
target that cannot be reached leaves every id unread."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from gameday.harness.readback import read_back
from tests.stubs import free_port, serve

T0 = 1_800_000_000.0


class Target:
    """Missions: id -> (final status, lookups before it is final, created, completed)."""

    def __init__(self, lookup: bool = True) -> None:
        self.lookup = lookup
        self.missions = {"done": ("completed", 0, T0, T0 + 2.0), "fail": ("failed", 0, T0 + 1, T0 + 1.5),
                         "slow": ("completed", 2, T0 + 3, T0 + 9.0), "stuck": ("running", 10**9, T0 + 4, None)}
        self.asked: dict[str, int] = {}
        self.gets = 0
        self.got: dict[str, int] = {}
        self.lock = threading.Lock()

    def status(self, m: str, count: bool) -> str | None:
        if m not in self.missions:
            return None
        final, after, _, _ = self.missions[m]
        with self.lock:
            n = self.asked.get(m, 0)
            if count:
                self.asked[m] = n + 1
        return final if n >= after else "running"

    def body(self, m: str) -> dict[str, Any]:
        status = self.status(m, count=not self.lookup)
        _, _, created, done = self.missions[m]
        ended = done is not None and status in ("completed", "failed")
        return {"mission_id": m, "status": status, "created_at": datetime.fromtimestamp(created, UTC).isoformat(),
                "completed_at": datetime.fromtimestamp(done, UTC).isoformat() if ended and done else None}


@pytest.fixture
def target() -> Iterator[tuple[Target, str]]:
    t = Target()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _send(self, code: int, body: Any) -> None:
            raw = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            if not t.lookup or self.path != "/v1/missions/lookup":
                self._send(404, {"error": "not found"})
                return
            ids = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["ids"]
            found = {m: s for m in ids if (s := t.status(m, count=True)) is not None}
            self._send(200, {"found": found, "missing": [m for m in ids if m not in found]})

        def do_GET(self) -> None:
            m = self.path.rsplit("/", 1)[-1]
            with t.lock:
                t.gets += 1
                t.got[m] = t.got.get(m, 0) + 1
            if m not in t.missions:
                self._send(404, {"error": "mission not found"})
            else:
                self._send(200, t.body(m))

    server, stop = serve(Handler)
    try:
        yield t, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop()


IDS = ["done", "fail", "slow", "stuck", "gone"]


def test_in_flight_missions_are_awaited_up_to_the_bound(target: tuple[Target, str], tmp_path: Path) -> None:
    t, api = target
    out = tmp_path / "readback.json"
    rb = read_back(api, IDS, out, settle_s=2.5)
    assert rb["found"] == {"done": "completed", "fail": "failed", "slow": "completed", "stuck": "running"}
    assert rb["missing"] == ["gone"] and rb["error"] is None and rb["unread"] == []
    s = rb["settle"]
    assert s["unsettled_at_first_read"] == 2 and s["unsettled"] == 1 and s["error"] is None
    assert 2.0 <= s["waited_s"] < 4.0  # the stuck one kept it waiting to the bound, not beyond
    assert rb["times"] == {"done": [T0, T0 + 2.0], "fail": [T0 + 1, T0 + 1.5], "slow": [T0 + 3, T0 + 9.0]}
    assert rb["times_of"] == rb["times_asked"] == 3 and rb["times_error"] is None
    assert json.loads(out.read_text()) == rb


def test_without_a_bound_nothing_is_awaited(target: tuple[Target, str], tmp_path: Path) -> None:
    _, api = target
    rb = read_back(api, IDS, tmp_path / "rb.json")
    assert rb["found"]["slow"] == "running" and rb["settle"]["unsettled"] == 2 and rb["settle"]["waited_s"] < 1


def test_times_of_many_missions_are_an_evenly_spaced_sample(target: tuple[Target, str], tmp_path: Path) -> None:
    t, api = target
    for i in range(10):
        t.missions[f"m{i}"] = ("completed", 0, T0, T0 + i)
    rb = read_back(api, [*IDS, *(f"m{i}" for i in range(10))], tmp_path / "rb.json", times_max=4)
    assert rb["times_of"] == 12 and rb["times_asked"] == 4 and len(rb["times"]) == 4
    assert t.gets == 4


def test_a_target_without_the_bulk_lookup_is_read_by_gets(target: tuple[Target, str], tmp_path: Path) -> None:
    t, api = target
    t.lookup = False
    rb = read_back(api, IDS, tmp_path / "rb.json", settle_s=2.5)
    assert rb["method"] == "get" and rb["missing"] == ["gone"]
    assert rb["found"] == {"done": "completed", "fail": "failed", "slow": "completed", "stuck": "running"}
    assert set(rb["times"]) == {"done", "fail", "slow"}  # from the bodies already read: no second GET each
    assert t.got["done"] == t.got["fail"] == 1 and t.got["slow"] == 3  # settled at its third read
    assert t.got["stuck"] >= 3  # asked again until the bound


def test_an_unreachable_target_leaves_every_id_unread(tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{free_port()}"
    rb = read_back(api, IDS, tmp_path / "rb.json", attempts=2, settle_s=30, sleep=lambda _: None)
    assert rb["error"] and "ConnectionError" in rb["error"]
    assert rb["found"] == {} and sorted(rb["unread"]) == sorted(IDS) and rb["times"] == {}
    assert rb["settle"]["waited_s"] < 5  # nothing to await when nothing could be read


@pytest.mark.parametrize(("sent", "seconds"), [
    ("2027-01-15T08:00:00", 1800000000.0), ("2027-01-15T08:00:00Z", 1800000000.0),
    ("2027-01-15T09:00:00+01:00", 1800000000.0), ("2027-01-15T08:00:00.250000+00:00", 1800000000.25),
    (1800000000, 1800000000.0), (1800000000.25, 1800000000.25), (1800000000250, 1800000000.25),
    (1800000000250000, 1800000000.25),
    (None, None), (True, None), ("", None), ("yesterday", None), (float("nan"), None), (-5, None), ([], None)])
def test_a_mission_timestamp_is_read_in_any_usual_form(sent: object, seconds: float | None) -> None:
    """A target written elsewhere may stamp missions as ISO 8601 or as unix s/ms/µs numbers: each
    reads as the same instant; anything else reads as no time (mission_time then says so)."""
    from gameday.harness.readback import _stamp
    got = _stamp(sent)
    assert got == pytest.approx(seconds) if seconds is not None else got is None
