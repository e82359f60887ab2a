#!/usr/bin/env python3
"""A local stand-in for Slack and Grafana, to try a profile's ``notify:`` section (and to test it).

    scripts/webhook_receiver.py [--port 22090] [--out notify.jsonl] [--status 200] [--delay 0]

Listens on 127.0.0.1 only. Every POST (any path: a webhook path, Grafana's /api/annotations) is
printed with its arrival time and appended to ``--out`` as one JSON line
``{"t", "path", "authorization", "body"}`` (the Authorization value masked: "Bearer ***").
Answers ``--status`` (Grafana's ``{"message": "Annotation added", "id": N}`` on 2xx) after
``--delay`` seconds. Point a profile at it:

    gameday run profiles/smoke.yaml \\
      --set 'notify.webhooks=[{url: "http://127.0.0.1:22090/hook"}]' \\
      --set 'notify.grafana={url: "http://127.0.0.1:22090", token: "${GRAFANA_TOKEN}"}'

Standard library only; importable (``Receiver``) for tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Receiver:
    """An HTTP server in a daemon thread that records every POST (see the module docstring)."""

    def __init__(self, port: int = 0, status: int = 200, delay_s: float = 0.0, out: Path | None = None,
                 echo: bool = False) -> None:
        self.status, self.delay_s, self.out, self.echo = status, delay_s, out, echo
        self.requests: list[dict[str, Any]] = []  # in memory: headers unmasked, for tests
        self.released = threading.Event()  # set to let delayed answers go at once (shutdown)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.time()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                n = receiver._record(arrived, self.path, dict(self.headers), body)
                receiver.released.wait(receiver.delay_s)
                answer = json.dumps({"message": "Annotation added", "id": n} if receiver.status < 300
                                    else {"message": "receiver told to fail"}).encode()
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _record(self, t: float, path: str, headers: dict[str, str], body: Any) -> int:
        auth = headers.get("Authorization")
        shown = {"t": t, "path": path, "authorization": auth.split(" ")[0] + " ***" if auth else None, "body": body}
        with self._lock:
            self.requests.append({"t": t, "path": path, "headers": headers, "body": body})
            n = len(self.requests)
            if self.out is not None:
                with self.out.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(shown) + "\n")
        if self.echo:
            text = body.get("text") if isinstance(body, dict) else body
            stamp = dt.datetime.fromtimestamp(t).strftime("%H:%M:%S.%f")[:-3]
            print(f"{stamp} {path} {text}", flush=True)
        return n

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=22090, help="on 127.0.0.1 (0: any free port)")
    ap.add_argument("--out", type=Path, help="append each request as a JSON line here")
    ap.add_argument("--status", type=int, default=200, help="HTTP status to answer (e.g. 500 to try failures)")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds to wait before answering")
    args = ap.parse_args(argv)
    r = Receiver(args.port, args.status, args.delay, args.out, echo=True).start()
    print(f"listening on {r.url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        r.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
