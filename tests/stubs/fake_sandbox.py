"""A fake sandbox made of real HTTP servers, for the sandbox's Chaos Toolkit extension: three
``http.server`` threads stand in for the ingress (base+0), the controller (base+1) and Prometheus
(base+2), serve canned answers and record every POST. Shared by the unit and CLI layers of
``test_sandbox_chaos_ext`` (fixtures ``fake`` and ``cfg``, registered in tests/conftest.py)."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gameday.sandbox import config

PORT_RANGE = range(25200, 25300)

STATUS: dict[str, Any] = {
    "state": "running",
    "nodes": [
        {"name": "node-a", "az": "az-1", "schedulable": True, "pods": ["api-0"]},
        {"name": "node-b", "az": "az-2", "schedulable": False, "pods": ["api-1", "worker-0"]},
        {"name": "node-c", "az": "az-3", "schedulable": True, "pods": ["api-2", "worker-1"]},
    ],
    "pods": [
        {
            "name": "api-0",
            "deployment": "core-api",
            "node": "node-a",
            "port": 17100,
            "revision": 3,
            "ready": True,
            "phase": "running",
        }
    ],
    "deployments": {
        "core-api": {
            "revision": 4,
            "good_revision": 3,
            "phase": "rolled_back",
            "ready": 3,
            "replicas": 3,
            "health_check_failures": 4,
            "rollbacks": 1,
        }
    },
    "db": {
        "primary": "db-b",
        "standby": "db-a",
        "replication": "sync",
        "standby_streaming": True,
        "instances": {
            "db-a": {"port": 17010, "role": "standby", "up": True},
            "db-b": {"port": 17011, "role": "primary", "up": True},
        },
    },
    "redis": {
        "primary": "redis-a",
        "instances": {
            "redis-a": {"port": 17020, "role": "primary", "up": True},
            "redis-b": {"port": 17021, "role": "replica", "up": False},
        },
    },
    "endpoints": {},
    "events": [],
}


class FakeSandbox:
    """Canned answers and a record of calls, shared by the three servers."""

    def __init__(self, base: int) -> None:
        self.base = base
        self.statuses: list[dict[str, Any]] = [copy.deepcopy(STATUS)]
        self.healthz: list[int] = [200]
        self.version: Any = {"version": "1.0.3", "revision": 3}
        self.prometheus_ready = 200
        self.failures: dict[str, tuple[int, bytes]] = {}
        self.posts: list[tuple[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def status(self) -> dict[str, Any]:
        return self.statuses[-1]

    def next_status(self) -> dict[str, Any]:
        """Serve the scripted statuses in order; the last one repeats."""
        with self.lock:
            return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]

    def next_healthz(self) -> int:
        with self.lock:
            return self.healthz.pop(0) if len(self.healthz) > 1 else self.healthz[0]


def _handler(fake: FakeSandbox, role: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: Any) -> None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            key = f"{role}:GET {self.path}"
            if key in fake.failures:
                self._send(*fake.failures[key])
            elif role == "control" and self.path == "/status":
                self._send(200, fake.next_status())
            elif role == "ingress" and self.path == "/healthz":
                self._send(fake.next_healthz(), {"ok": True})
            elif role == "ingress" and self.path == "/version":
                self._send(200, fake.version)
            elif role == "prometheus" and self.path == "/-/ready":
                self._send(fake.prometheus_ready, b"Prometheus is Ready.\n")
            else:
                self._send(404, {"error": f"no route {self.path}"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            fake.posts.append((self.path, body))
            key = f"{role}:POST {self.path}"
            if key in fake.failures:
                self._send(*fake.failures[key])
            else:
                self._send(200, {"ok": True, "path": self.path})

    return Handler


def _serve_three(fake_factory: type[FakeSandbox]) -> tuple[FakeSandbox, list[ThreadingHTTPServer]]:
    """Bind ingress, controller, Prometheus on base, base+1, base+2 in PORT_RANGE."""
    for base in range(PORT_RANGE.start, PORT_RANGE.stop - 2):
        fake = fake_factory(base)
        servers: list[ThreadingHTTPServer] = []
        try:
            for offset, role in enumerate(("ingress", "control", "prometheus")):
                servers.append(ThreadingHTTPServer(("127.0.0.1", base + offset), _handler(fake, role)))
        except OSError:
            for s in servers:
                s.server_close()
            continue
        return fake, servers
    raise RuntimeError(f"no three free consecutive ports in {PORT_RANGE}")


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeSandbox]:
    fake, servers = _serve_three(FakeSandbox)
    threads = [threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True) for s in servers]
    for t in threads:
        t.start()
    # the real file format: what `gameday sandbox up` writes
    config.save(config.SandboxConfig(state_dir=tmp_path, ports=config.Ports(base=fake.base)))
    try:
        yield fake
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()
        for t in threads:
            t.join(5)


@pytest.fixture
def cfg(fake: FakeSandbox, tmp_path: Path) -> dict[str, Any]:
    return {"sandbox_state_dir": str(tmp_path), "sandbox_http_timeout": 3}


def drain_experiment(cfg: dict[str, Any]) -> dict[str, Any]:
    """Drain node-a under the fake sandbox, the API's health as the hypothesis, uncordon as rollback."""
    def python(kind: str, name: str, module: str, func: str, **arguments: Any) -> dict[str, Any]:
        provider: dict[str, Any] = {"type": "python", "module": f"gameday.sandbox.chaos.{module}", "func": func}
        if arguments:
            provider["arguments"] = arguments
        return {"type": kind, "name": name, "provider": provider}

    return {
        "title": "a drained node costs no availability",
        "description": "drain node-a under the fake sandbox",
        "configuration": cfg,
        "steady-state-hypothesis": {
            "title": "the API is healthy",
            "probes": [
                {
                    **python("probe", "api-healthy", "probes", "component_healthy", component="api"),
                    "tolerance": True,
                }
            ],
        },
        "method": [
            python("action", "drain-node-a", "actions", "drain_node", node="node-a"),
            python("probe", "api-back", "waits", "wait_for_api_healthy", timeout=5, interval=0.05),
        ],
        "rollbacks": [python("action", "uncordon-all", "actions", "uncordon_node")],
    }
