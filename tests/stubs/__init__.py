"""Stand-ins for the cluster's APIs in tests: a Kubernetes API server, ElastiCache (the part moto
lacks), Prometheus, and moto's server for RDS and STS. Real HTTP servers on 127.0.0.1, ports
below 32768, each one a thread (moto a child process) that a fixture stops."""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PORTS = range(26000, 27000)  # our own slice; sandbox tests: 18000-19400 (+2000 per xdist worker)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that hung up (a watch stopped early): not the stub's failure
        super().handle_error(request, client_address)


def serve(handler: type[BaseHTTPRequestHandler],
          ports: range = PORTS) -> tuple[ThreadingHTTPServer, Callable[[], None]]:
    """Bind the first free port of ``ports`` and serve in a daemon thread; returns the server and
    its stop function."""
    last: OSError | None = None
    for port in ports:
        try:
            server = _Server(("127.0.0.1", port), handler)
        except OSError as exc:
            last = exc
            continue
        return server, _start(server)
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}: {last}")


def _start(server: ThreadingHTTPServer) -> Callable[[], None]:
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


@contextmanager
def refusing_port() -> Iterator[int]:
    """A port that refuses connections for the whole block: bound (by the kernel's choice), never
    listening. A port found free and released (:func:`free_port`) can be taken by another xdist worker's
    stub before the test connects; this one cannot."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


def free_port(ports: range = PORTS) -> int:
    """A port nothing listens on now (for a child process that binds it itself), tried in a random
    order: two xdist workers scanning from the bottom both found the same lowest port, and the loser's
    moto answered from the winner's (CI: ``DBInstanceAlreadyExists`` on seeding)."""
    for port in random.sample(ports, len(ports)):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")
