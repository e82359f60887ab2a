"""An Alertmanager v2 API stub behind authentication: ``GET /api/v2/alerts`` answers the alerts a
test scripts (each active between two times on the stub's clock), in Alertmanager's own shape
(fingerprint, labels, startsAt/endsAt, status, receivers); any request without the expected
``Authorization`` header is answered 401, as an Alertmanager behind an authenticating proxy does.
A real cluster's receivers (PagerDuty, Slack) have no API: this stub has none either."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.stubs import serve


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class StubAlert:
    name: str
    severity: str
    active_from: float  # unix s
    active_to: float | None
    receiver: str

    def v2(self) -> dict[str, Any]:
        return {"fingerprint": f"fp{abs(hash(self.name)) % 10**8:08d}",
                "labels": {"alertname": self.name, "severity": self.severity},
                "annotations": {"summary": f"{self.name} (stub)"},
                "startsAt": iso(self.active_from), "endsAt": iso(self.active_from + 240),
                "updatedAt": iso(self.active_from), "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
                "receivers": [{"name": self.receiver}], "generatorURL": "http://prometheus.example/graph"}


@dataclass
class AmState:
    authorization: str  # the header value every request must carry
    alerts: list[StubAlert] = field(default_factory=list)
    requests: int = 0
    refused: int = 0

    def active(self, now: float) -> list[dict[str, Any]]:
        return [a.v2() for a in self.alerts if a.active_from <= now and (a.active_to is None or now < a.active_to)]


def handler(state: AmState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            state.requests += 1
            if self.headers.get("Authorization") != state.authorization:
                state.refused += 1
                body: Any = {"code": 401, "message": "unauthorized"}
                code = 401
            elif self.path.split("?")[0] == "/api/v2/alerts":
                body, code = state.active(time.time()), 200
            else:
                body, code = {"code": 404, "message": "not found"}, 404
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def running(state: AmState) -> Iterator[tuple[AmState, str]]:
    server, stop = serve(handler(state))
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop()
