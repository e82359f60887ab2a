"""Runs Locust in its own processes — one local, or a master and N workers — bounded in time.

Locust monkey-patches the standard library on import, so the harness never imports it: it
starts ``locust`` with the user's locustfile unchanged plus our plugin (harness/load/plugin.py),
which records every request. This module owns those processes: it starts them, watches the
live progress file, stops them on time or on Ctrl-C, and makes sure none is left behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import Interrupted, TargetUnavailable

PLUGIN = Path(__file__).with_name("plugin.py")
MASTER_PORTS = range(15500, 15600)  # 127.0.0.1 only, below 32768
STOP_GRACE_S = 15.0


@dataclass(frozen=True)
class LoadSpec:
    """Everything one load run needs; built from the profile's ``load`` section."""

    locustfile: Path
    host: str
    run_dir: Path
    duration_s: float
    users: int = 100
    spawn_rate: float = 20.0
    workers: int = 0
    arrival_rate_per_min: float | None = None
    env: dict[str, str] = field(default_factory=dict)
    stop_timeout_s: float = 5.0


def locust_binary() -> str:
    candidate = Path(sys.executable).with_name("locust")
    return str(candidate) if candidate.exists() else "locust"


def _free_master_port() -> int:
    for port in MASTER_PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise TargetUnavailable(f"no free port for the Locust master in {MASTER_PORTS.start}-{MASTER_PORTS.stop - 1}")


def _argv_common(spec: LoadSpec) -> list[str]:
    return [locust_binary(), "-f", f"{spec.locustfile},{PLUGIN}", "--loglevel", "WARNING"]


def _env(spec: LoadSpec, processes: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(spec.env)
    env["GAMEDAY_RUN_DIR"] = str(spec.run_dir)
    rate = (spec.arrival_rate_per_min or 0.0) / 60.0 / max(1, processes)
    env["GAMEDAY_OPEN_RATE"] = f"{rate:.6f}"
    env["GAMEDAY_STOP_TIMEOUT"] = f"{spec.stop_timeout_s:g}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


class LoadRun:
    """One bounded Locust run. Use as a context manager: leaving it stops every process."""

    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        self.procs: list[subprocess.Popen[bytes]] = []
        self.log = spec.run_dir / "load" / "locust.log"
        self.started = 0.0
        self._interrupted = False

    def start(self) -> None:
        s = self.spec
        (s.run_dir / "load").mkdir(parents=True, exist_ok=True)
        seconds = max(1, round(s.duration_s))
        headless = ["--headless", "-u", str(s.users), "-r", f"{s.spawn_rate:g}", "-t", f"{seconds}s",
                    "--host", s.host, "--csv", str(s.run_dir / "load" / "locust"),
                    "--html", str(s.run_dir / "load" / "locust_report.html"), "--only-summary",
                    "--json-file", str(s.run_dir / "load" / "locust_final"),
                    "--stop-timeout", f"{s.stop_timeout_s:g}", "--exit-code-on-error", "0"]
        log = open(self.log, "ab")
        try:
            self.started = time.time()
            if s.workers == 0:
                self.procs.append(self._spawn(_argv_common(s) + headless, log, _env(s, 1)))
                return
            port = _free_master_port()
            master = (_argv_common(s) + headless
                      + ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                         "--expect-workers", str(s.workers), "--expect-workers-max-wait", "30"])
            env = _env(s, s.workers)
            self.procs.append(self._spawn(master, log, env))
            for _ in range(s.workers):
                worker = _argv_common(s) + ["--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
                self.procs.append(self._spawn(worker, log, env))
        finally:
            log.close()

    def _spawn(self, argv: list[str], log: Any, env: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True, cwd=str(self.spec.run_dir))

    def progress(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads((self.spec.run_dir / "load" / "progress.json").read_text())
            return data
        except (OSError, ValueError):
            return None

    def wait(self, on_tick: Callable[[LoadRun], None] | None = None, tick_s: float = 1.0) -> int | None:
        """Until the master exits (Locust's own -t bound) or a hard deadline passes."""
        deadline = time.monotonic() + self.spec.duration_s + 60 + (30 if self.spec.workers else 0)
        master = self.procs[0]
        while master.poll() is None:
            if time.monotonic() > deadline:
                self.stop()
                break
            if on_tick is not None:
                on_tick(self)
            time.sleep(tick_s)
        return master.returncode

    def stop(self, interrupted: bool = False) -> None:
        """SIGINT (Locust stops its users, writes its HTML report and final stats; our plugin
        flushes every row), SIGTERM if that hangs, SIGKILL whatever remains after the grace."""
        self._interrupted = self._interrupted or interrupted
        for sig, wait_s in ((signal.SIGINT, STOP_GRACE_S), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            alive = [p for p in self.procs if p.poll() is None]
            if not alive:
                return
            for p in alive:
                _signal(p, sig)
            deadline = time.monotonic() + wait_s
            for p in alive:
                try:
                    p.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass

    def __enter__(self) -> LoadRun:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        # workers outlive a master that died: always end them all
        self.stop()


def _signal(p: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(p.pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass


def run(spec: LoadSpec, on_tick: Callable[[LoadRun], None] | None = None) -> None:
    """Run the load to its end; Ctrl-C / SIGTERM stop it cleanly and raise Interrupted."""
    load = LoadRun(spec)
    previous = signal.getsignal(signal.SIGTERM)

    def _term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    try:
        with load:
            try:
                load.wait(on_tick)
            except KeyboardInterrupt:
                load.stop(interrupted=True)
                raise Interrupted("load interrupted; Locust stopped, every row written so far is on disk") from None
    finally:
        signal.signal(signal.SIGTERM, previous)
