"""The test stand-ins must never mistake another worker's server for their own: CI's second xdist
worker seeded RDS into the first worker's moto (``DBInstanceAlreadyExists``) because both took the
lowest free port and the loser's readiness poll was answered by the winner."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from tests import stubs
from tests.stubs import aws


class _Foreign(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # answers /moto-api/ as a moto would: 200
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def test_moto_never_takes_a_port_another_server_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    server, stop = stubs.serve(_Foreign)
    taken = int(server.server_address[1])
    offered: Iterator[int] = iter([taken, stubs.free_port()])
    monkeypatch.setattr(aws, "free_port", lambda: next(offered))
    try:
        with aws.moto_server() as url:
            assert url != f"http://127.0.0.1:{taken}", "moto's readiness was answered by another server"
            body = urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=5).read()
            assert body.startswith(b"{")
    finally:
        stop()


def test_free_ports_are_not_handed_out_from_the_bottom() -> None:
    picks = {stubs.free_port() for _ in range(20)}
    assert len(picks) > 1, f"20 calls gave one port: {picks}"
