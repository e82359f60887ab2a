"""Shared fixtures: a real sandbox, brought up once per test session and shared.

The sandbox under test lives in its own state directory on its own ports (base 18000 and
18300 by default), so a developer's sandbox on the default ports is left alone. Timings are shortened
(DB detection 2 s, Redis restart 3 s) to keep fault tests quick; everything else is the
default the product ships.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# port bases of the test sandboxes; move them (GAMEDAY_TEST_PORT_BASE) to run two suites at once
BASE = int(os.environ.get("GAMEDAY_TEST_PORT_BASE", "18000"))
MUTANT_BASE = BASE + 300
SCRATCH_BASE = BASE + 600  # throwaway sandboxes (busy port, down, crash); pods use +100..+199
FAST = ["timings.db_failover_detection_s=2", "timings.redis_restart_delay_s=3"]


def http(method: str, url: str, body: Any = None, timeout: float = 10.0) -> tuple[int, Any]:
    """One HTTP call; returns (status, parsed JSON or text). Connection errors give status 0."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    except (urllib.error.URLError, OSError, TimeoutError):
        return 0, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def listening(port: int) -> bool:
    """Something accepts connections on 127.0.0.1:port."""
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class Sandbox:
    state_dir: Path
    base: int

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sandbox", "--state-dir", str(self.state_dir),
                               *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                              check=False)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.base}"

    @property
    def control(self) -> str:
        return f"http://127.0.0.1:{self.base + 1}"

    @property
    def prometheus(self) -> str:
        return f"http://127.0.0.1:{self.base + 2}"

    def status(self) -> dict[str, Any]:
        code, st = http("GET", self.control + "/status")
        assert code == 200, f"controller status answered {code}"
        assert isinstance(st, dict)
        return st

    def post(self, path: str, body: Any = None, timeout: float = 120) -> Any:
        code, data = http("POST", self.control + path, body or {}, timeout=timeout)
        assert code == 200, f"POST {path} -> {code}: {data}"
        return data

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        evs = [json.loads(line) for line in (self.state_dir / "events.jsonl").read_text().splitlines()
               if line.strip()]
        return [e for e in evs if name is None or e["event"] == name]

    def wait(self, pred: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = pred()
            if last:
                return last
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout} s waiting for {what} (last {last!r})")

    def healthy(self) -> bool:
        """The healed state: nodes uncordoned, one DB primary + streaming standby, one Redis
        primary, the good revision serving on every API pod."""
        st = self.status()
        dep = st["deployments"]["core-api"]
        db_roles = [i["role"] for i in st["db"]["instances"].values() if i["up"]]
        return (st["state"] == "ready"
                and all(n["schedulable"] for n in st["nodes"])
                and db_roles.count("primary") == 1 and st["db"]["standby_streaming"]
                and st["redis"]["primary"] is not None
                and [i["role"] for i in st["redis"]["instances"].values()].count("primary") == 1
                and dep["phase"] in ("stable", "rolled_back") and dep["ready"] == dep["replicas"])


def _up(name: str, base: int, extra: list[str]) -> Iterator[Sandbox]:
    # not under pytest's tmp_path: that is 0700 and the postgres user must reach its data dir
    tmp = Path(tempfile.mkdtemp(prefix=f"gameday-test-{name}-", dir="/tmp"))
    tmp.chmod(0o755)
    sb = Sandbox(tmp, base)
    r = sb.cli("up", "--set", f"ports.base={base}", *[a for s in FAST + extra for a in ("--set", s)])
    if r.returncode != 0:
        sb.cli("down")
        pytest.fail(f"sandbox up failed ({r.returncode}): {r.stderr}{r.stdout}")
    try:
        yield sb
    finally:
        down = sb.cli("down")
        assert down.returncode == 0, down.stderr
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """The default sandbox (sync replication, auto-rollback on, warm pool on)."""
    yield from _up("sandbox", BASE, [])


@pytest.fixture(scope="session")
def mutant() -> Iterator[Sandbox]:
    """A sandbox with every knob turned to break it."""
    yield from _up("mutant", MUTANT_BASE,
                   ["knobs.replication=async", "knobs.auto_rollback=false",
                    "knobs.warm_pool_size=0", "knobs.extra_latency_ms=250"])
