"""The sandbox's pager, ops channel and log: one webhook endpoint that records every notification.

Alertmanager posts each notification to ``/<receiver>`` (``pager``, ``ops-channel``, ``log``,
``unrouted``); each is appended, with the time it arrived and the receiver it was addressed to, as
one JSON line to ``<state>/alerting/notifications.jsonl`` (flushed and fsynced, so what a pager
"got" survives the sandbox). ``GET /notifications`` returns them all, for the harness, which
reads the target over HTTP only.

Run as ``python -m gameday.sandbox.app.alert_receiver --state DIR --port P`` by the controller.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RECEIVERS = ("pager", "ops-channel", "log", "unrouted")
MAX_BODY = 4 * 1024 * 1024


class Recorder:
    """Appends notifications to one file; one lock so concurrent posts never interleave a line."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()

    def record(self, receiver: str, payload: Any) -> dict[str, Any]:
        rec = {"t": time.time(), "receiver": receiver, "payload": payload}
        line = json.dumps(rec, separators=(",", ":")) + "\n"
        with self._lock, open(self.path, "a") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        return rec

    def all(self) -> list[Any]:
        with self._lock:
            try:
                text = self.path.read_text()
            except FileNotFoundError:
                return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def handler(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/notifications":
                self._reply(200, recorder.all())
            elif self.path == "/-/healthy":
                self._reply(200, {"ok": True})
            else:
                self._reply(404, {"error": f"unknown path {self.path}"})

        def do_POST(self) -> None:
            name = self.path.strip("/")
            if name not in RECEIVERS:
                self._reply(404, {"error": f"unknown receiver {name!r}; expected one of {', '.join(RECEIVERS)}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY:
                self._reply(400, {"error": "body: expected a JSON notification"})
                return
            try:
                payload = json.loads(self.rfile.read(length))
            except ValueError:
                self._reply(400, {"error": "body: not JSON"})
                return
            recorder.record(name, payload)
            self._reply(200, {"recorded": name})

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m gameday.sandbox.app.alert_receiver")
    ap.add_argument("--state", type=Path, required=True)
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    recorder = Recorder(args.state / "alerting" / "notifications.jsonl")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(recorder))
    server.daemon_threads = True
    server.serve_forever(poll_interval=0.5)


if __name__ == "__main__":
    main()
