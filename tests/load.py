"""A small bounded background load for fault tests: every request and acknowledgement kept.

Not the product's load generator (that is Locust, in the harness): just enough steady
traffic, from threads, to see whether a fault fails requests or loses acknowledged missions.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

from tests.conftest import http


@dataclass
class Sample:
    t: float
    latency_s: float
    method: str
    status: int
    mission_id: str | None = None


@dataclass
class BackgroundLoad:
    """``clients`` threads, each posting a crew then reading it back, with ``think_s`` between."""

    api: str
    clients: int = 4
    think_s: float = 0.2
    max_seconds: float = 120.0
    post_only: bool = False
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, s: Sample) -> None:
        with self._lock:
            self.samples.append(s)

    def _client(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            t0 = time.time()
            code, body = http("POST", self.api + "/v1/crews",
                              {"mission": f"t-{uuid.uuid4().hex[:8]}", "agents": 1,
                               "priority": "normal"}, timeout=15)
            mid = body.get("mission_id") if code == 201 and isinstance(body, dict) else None
            self._record(Sample(t0, time.time() - t0, "POST", code, mid))
            if mid and not self.post_only:
                t1 = time.time()
                code, _ = http("GET", f"{self.api}/v1/missions/{mid}", timeout=15)
                self._record(Sample(t1, time.time() - t1, "GET", code))
            self._stop.wait(self.think_s)

    def __enter__(self) -> BackgroundLoad:
        for _ in range(self.clients):
            th = threading.Thread(target=self._client, daemon=True)
            th.start()
            self._threads.append(th)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for th in self._threads:
            th.join(timeout=30)

    @property
    def failed(self) -> list[Sample]:
        return [s for s in self.samples if s.status == 0 or s.status >= 500]

    @property
    def acked(self) -> list[str]:
        return [s.mission_id for s in self.samples if s.mission_id]

    def recovery_s(self, since: float) -> float:
        """From ``since`` until the first success after the last failure (0 if none failed)."""
        bad = [s.t + s.latency_s for s in self.failed if s.t + s.latency_s >= since]
        if not bad:
            return 0.0
        last_bad = max(bad)
        ok = [s.t + s.latency_s for s in self.samples
              if s.status and s.status < 500 and s.t + s.latency_s > last_bad]
        return (min(ok) if ok else float("inf")) - since


def lookup(api: str, ids: list[str]) -> tuple[dict[str, str], list[str]]:
    found: dict[str, str] = {}
    missing: list[str] = []
    for i in range(0, len(ids), 1000):
        code, body = http("POST", api + "/v1/missions/lookup", {"ids": ids[i:i + 1000]}, timeout=30)
        assert code == 200, f"lookup answered {code}: {body}"
        found.update(body["found"])
        missing += body["missing"]
    return found, missing
