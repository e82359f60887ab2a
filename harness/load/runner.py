"""Runs Locust in its own processes — one local, or a master and N workers — bounded in time.

Locust monkey-patches the standard library on import, so the harness never imports it: it
starts ``locust`` with the user's locustfile unchanged plus our plugin (harness/load/plugin.py),
which records every request. This module owns those processes: it starts them, watches the
live progress file, stops them on time or on Ctrl-C, and makes sure none is left behind.

Distributed, the master also waits for ``remote_workers`` started elsewhere (pods, hosts) on
``master_bind``; every worker, local or remote, sends its rows to the master with Locust's own
messages, and the master writes them into the run directory (see the plugin). Workers that do
not all connect within ``workers_wait_s`` fail the load (:class:`LoadFailed`), nothing left running.
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

from gameday.harness.errors import GamedayError, Interrupted, TargetUnavailable
from gameday.harness.shield import interruptible

PLUGIN = Path(__file__).with_name("plugin.py")
SHAPE = Path(__file__).with_name("shape.py")  # a LoadTestShape that follows the run's phases (a spike)
MASTER_PORTS = range(15500, 15600)  # 127.0.0.1 only, below 32768
STOP_GRACE_S = 15.0
FINAL_ROWS_WAIT_S = 10.0  # beyond the stop timeout: the master's bound for every worker's last rows (plugin)
GAVE_UP = "Gave up waiting for workers to connect"  # Locust's own log line (main.py)


class LoadFailed(GamedayError):
    """The load could not run as asked (e.g. its workers never connected): exit 1."""


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
    remote_workers: int = 0
    master_bind: str = "127.0.0.1:0"  # host:port; port 0 = a free one of MASTER_PORTS
    workers_wait_s: int = 300
    shape_file: Path | None = None  # the users wanted now, written by the orchestrator (harness/load/shape.py)

    @property
    def distributed(self) -> bool:
        return self.workers + self.remote_workers > 0


def locust_binary() -> str:
    candidate = Path(sys.executable).with_name("locust")
    return str(candidate) if candidate.exists() else "locust"


def _free_master_port(host: str = "127.0.0.1") -> int:
    for port in MASTER_PORTS:
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise TargetUnavailable(f"no free port for the Locust master in {MASTER_PORTS.start}-{MASTER_PORTS.stop - 1}")


def _argv_common(spec: LoadSpec) -> list[str]:
    files = f"{spec.locustfile},{PLUGIN}" + (f",{SHAPE}" if spec.shape_file else "")
    return [locust_binary(), "-f", files, "--loglevel", "WARNING"]


def _env(spec: LoadSpec) -> dict[str, str]:
    env = dict(os.environ)
    env.update(spec.env)
    env["GAMEDAY_RUN_DIR"] = str(spec.run_dir)
    if spec.shape_file:
        env["GAMEDAY_SHAPE_FILE"] = str(spec.shape_file)
    env.pop("GAMEDAY_OPEN_RATE", None)  # given on the command line: the master passes it to every worker
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _open_rate(spec: LoadSpec) -> list[str]:
    """Open-model arrivals per second in each process that sends (each worker, local or remote)."""
    rate = (spec.arrival_rate_per_min or 0.0) / 60.0 / max(1, spec.workers + spec.remote_workers)
    return ["--gameday-open-rate", f"{rate:.6f}"]


class LoadRun:
    """One bounded Locust run. Use as a context manager: leaving it stops every process."""

    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        self.procs: list[subprocess.Popen[bytes]] = []
        self.log = spec.run_dir / "load" / "locust.log"
        self.started = 0.0
        self._interrupted = False
        self.master_address = ""  # host:port the workers connect to (distributed)
        self.workers_wait_s = 0  # the master's --expect-workers-max-wait

    def start(self) -> None:
        s = self.spec
        (s.run_dir / "load").mkdir(parents=True, exist_ok=True)
        seconds = max(1, round(s.duration_s))
        headless = ["--headless", "-u", str(s.users), "-r", f"{s.spawn_rate:g}", "-t", f"{seconds}s",
                    "--host", s.host, "--csv", str(s.run_dir / "load" / "locust"),
                    "--html", str(s.run_dir / "load" / "locust_report.html"), "--only-summary",
                    "--json-file", str(s.run_dir / "load" / "locust_final"),
                    "--stop-timeout", f"{s.stop_timeout_s:g}", "--exit-code-on-error", "0"]
        headless += _open_rate(s)
        env = _env(s)
        log = open(self.log, "ab")
        try:
            self.started = time.time()
            if not s.distributed:
                self.procs.append(self._spawn(_argv_common(s) + headless, log, env))
                return
            host, _, port_text = s.master_bind.rpartition(":")
            port = int(port_text) or _free_master_port(host)
            self.master_address = f"{host}:{port}"
            wait_s = self.workers_wait_s = s.workers_wait_s if s.remote_workers else min(30, s.workers_wait_s)
            master = (_argv_common(s) + headless
                      + ["--master", "--master-bind-host", host, "--master-bind-port", str(port),
                         "--expect-workers", str(s.workers + s.remote_workers),
                         "--expect-workers-max-wait", str(wait_s)])
            self.procs.append(self._spawn(master, log, env))
            connect = "127.0.0.1" if host == "0.0.0.0" else host
            for _ in range(s.workers):
                worker = _argv_common(s) + ["--worker", "--master-host", connect, "--master-port", str(port)]
                self.procs.append(self._spawn(worker, log, env))
        finally:
            log.close()
        if s.remote_workers:
            try:
                self._wait_for_workers(wait_s)
            except BaseException:
                self.stop()
                raise

    def _wait_for_workers(self, wait_s: float) -> None:
        """Until the master has every worker and starts its users (the phases start then, not
        before); LoadFailed if it gives up (after ``wait_s``, Locust's own bound) or dies."""
        s = self.spec
        deadline = time.monotonic() + wait_s + 30
        master = self.procs[0]
        while master.poll() is None:
            p = self.progress()
            if p is not None and p.get("state") in ("spawning", "running"):
                return
            if time.monotonic() > deadline:
                break
            time.sleep(0.25)
        raise LoadFailed(self.failure() or f"load failed: the Locust master did not start its load within "
                         f"{wait_s + 30:g} s ({s.workers} local and {s.remote_workers} remote workers expected); "
                         f"see {self.log}")

    def failure(self) -> str | None:
        """Why the master exited without running the load, if it did (None: it did not)."""
        master = self.procs[0] if self.procs else None
        if master is None or master.poll() is None or master.returncode == 0:
            return None
        s = self.spec
        p = self.progress() or {}
        if p.get("state") not in (None, "ready"):
            return None  # it ran the load: its exit code is the load's own
        try:
            log = self.log.read_text(errors="replace")
        except OSError:
            log = ""
        if GAVE_UP in log:
            return (f"load failed: the Locust master gave up waiting for its workers after {self.workers_wait_s} s: "
                    f"{p.get('workers', 0)} of {s.workers + s.remote_workers} connected ({s.workers} local, "
                    f"{s.remote_workers} remote expected on {self.master_address}); see {self.log}")
        return (f"load failed: the Locust master exited with code {master.returncode} before the load started; "
                f"see {self.log}")

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
        s = self.spec
        deadline = (time.monotonic() + s.duration_s + 60 + s.stop_timeout_s + FINAL_ROWS_WAIT_S
                    + (min(30, s.workers_wait_s) if s.workers and not s.remote_workers else 0))
        master = self.procs[0]
        while master.poll() is None:
            if time.monotonic() > deadline:
                self.stop()
                break
            if on_tick is not None:
                on_tick(self)
            time.sleep(tick_s)
        why = self.failure() if s.distributed else None
        if why is not None:
            raise LoadFailed(why)
        return master.returncode

    def stop(self, interrupted: bool = False) -> None:
        """SIGINT (Locust stops its users, writes its HTML report and final stats; our plugin
        flushes every row), SIGTERM if that hangs, SIGKILL whatever remains after the grace.
        Distributed, the master first: it stops every worker, local or remote, and waits for their
        last rows before it quits (plugin); local workers left after that get the same sequence."""
        self._interrupted = self._interrupted or interrupted
        if len(self.procs) > 1 and self.procs[0].poll() is None:
            _signal(self.procs[0], signal.SIGINT)
            try:
                self.procs[0].wait(timeout=STOP_GRACE_S + self.spec.stop_timeout_s + FINAL_ROWS_WAIT_S)
            except subprocess.TimeoutExpired:
                pass
            deadline = time.monotonic() + 5.0  # local workers quit on the master's word
            while any(p.poll() is None for p in self.procs[1:]) and time.monotonic() < deadline:
                time.sleep(0.1)
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
    with interruptible():  # SIGINT stops it even when inherited ignored (a background job of a script)
        try:
            with load:  # start() waits for remote workers: Ctrl-C there is an interruption too
                load.wait(on_tick)
        except KeyboardInterrupt:
            load.stop(interrupted=True)
            raise Interrupted("load interrupted; Locust stopped, every row written so far is on disk") from None
