"""A Prometheus HTTP API stub answering instant queries with fixed values: the SLA probes'
view of a healthy cluster (p95 40 ms, 1200 requests, no 5xx series), adjustable per test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.stubs import serve


@dataclass
class PromState:
    p95_s: float | None = 0.040
    requests: float | None = 1200.0
    errors: float | None = None  # None: no 5xx series at all
    queries: list[str] = field(default_factory=list)
    scrape_interval: str = "15s"  # /api/v1/status/config (the harness learns the window from it)

    def answer(self, query: str) -> float | None:
        if query.startswith("histogram_quantile"):
            return self.p95_s
        if 'status=~"5' in query:
            return self.errors
        if query.startswith("count("):
            return 1.0
        return self.requests


def handler(state: PromState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query).get("query", [""])[0]
            state.queries.append(query)
            if url.path == "/api/v1/status/config":  # as Prometheus answers it: its configuration as YAML
                body, code = {"status": "success", "data": {"yaml": f"global:\n  scrape_interval: "
                                                                     f"{state.scrape_interval}\n"}}, 200
            elif url.path == "/-/ready":
                body, code = {"status": "success"}, 200
            elif url.path == "/api/v1/query_range":  # no series over time: a Prometheus without the contract's
                body, code = {"status": "success", "data": {"resultType": "matrix", "result": []}}, 200
            elif url.path != "/api/v1/query":
                body: dict[str, Any] = {"status": "error", "error": "not found"}
                code = 404
            else:
                value = state.answer(query)
                result = [] if value is None else [{"metric": {}, "value": [1.0, repr(value)]}]
                body, code = {"status": "success", "data": {"resultType": "vector", "result": result}}, 200
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def running(state: PromState | None = None) -> Iterator[tuple[PromState, str]]:
    state = state or PromState()
    server, stop = serve(handler(state))
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop()
