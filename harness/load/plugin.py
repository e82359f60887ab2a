"""Locust plugin: every request recorded exactly, acknowledgements, live progress, open model.

Loaded by the load runner beside any locustfile, unchanged (``locust -f theirs.py,plugin.py``);
it runs inside Locust's processes only — the harness never imports it (Locust monkey-patches
on import). Configured through the environment:

``GAMEDAY_RUN_DIR``            where to write (required; without it the plugin does nothing)
``GAMEDAY_OPEN_RATE``          open model: arrivals per second *in this process* (0 = off)
``GAMEDAY_OPEN_MAX_INFLIGHT``  bound on concurrent open-model arrivals per process (2000)

Each process that sends requests (local or worker) writes ``requests.<proc>.csv`` (t_start,
latency_ms as the exact float, name, method, status, ok, error, mission_id, t_intended,
latency_intended_ms) and ``acks.<proc>.csv`` (t_ack, mission_id, latency_ms): buffered,
flushed every second and at exit, so a clean shutdown loses no row. The master (or the local
process) writes ``load/progress.json`` every second for the live display.
"""

from __future__ import annotations

import atexit
import csv
import json
import os
import random
import time
from typing import Any

import gevent
import gevent.pool
from locust import events
from locust.clients import HttpSession
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

REQUEST_HEADER = ["t_start", "latency_ms", "name", "method", "status", "ok", "error", "mission_id",
                  "t_intended", "latency_intended_ms"]
ACK_HEADER = ["t_ack", "mission_id", "latency_ms"]
OPEN_NAME = "/v1/crews"

RUN_DIR = os.environ.get("GAMEDAY_RUN_DIR", "")
OPEN_RATE = float(os.environ.get("GAMEDAY_OPEN_RATE", "0") or 0)
OPEN_MAX_INFLIGHT = int(os.environ.get("GAMEDAY_OPEN_MAX_INFLIGHT", "2000") or 2000)
STOP_TIMEOUT = float(os.environ.get("GAMEDAY_STOP_TIMEOUT", "5") or 5)


class _Recorder:
    """Buffered CSV writers for one process; flushed by a greenlet and at exit."""

    def __init__(self, run_dir: str, proc: str) -> None:
        self._req_file = open(os.path.join(run_dir, f"requests.{proc}.csv"), "w", newline="",
                              buffering=1 << 20)
        self._ack_file = open(os.path.join(run_dir, f"acks.{proc}.csv"), "w", newline="",
                              buffering=1 << 16)
        self.requests = csv.writer(self._req_file)
        self.acks = csv.writer(self._ack_file)
        self.requests.writerow(REQUEST_HEADER)
        self.acks.writerow(ACK_HEADER)
        self.rows = 0

    def flush(self) -> None:
        for f in (self._req_file, self._ack_file):
            if not f.closed:
                f.flush()

    def close(self) -> None:
        global _recorder
        _recorder = None  # no row after this: the process is exiting
        for f in (self._req_file, self._ack_file):
            if not f.closed:
                f.flush()
                os.fsync(f.fileno())
                f.close()


_recorder: _Recorder | None = None
_open_driver: gevent.Greenlet | None = None
_open_pool: gevent.pool.Pool | None = None
_open_inflight: dict[gevent.Greenlet, float] = {}


def _mission_id(response: Any) -> str:
    try:
        body = response.json()
    except Exception:
        return ""
    mid = body.get("mission_id") if isinstance(body, dict) else None
    return str(mid) if mid else ""


@events.request.add_listener
def _on_request(request_type: str, name: str, response_time: float, response_length: int = 0,
                response: Any = None, context: Any = None, exception: Any = None,
                start_time: float | None = None, **_: Any) -> None:
    rec = _recorder
    if rec is None:
        return
    t_start = start_time if start_time is not None else time.time() - response_time / 1000.0
    status = int(getattr(response, "status_code", 0) or 0)
    mission = ""
    if status == 201 and exception is None and request_type == "POST":
        mission = _mission_id(response)
        if mission:
            rec.acks.writerow([f"{t_start + response_time / 1000.0:.6f}", mission, f"{response_time:.3f}"])
    error = ""
    if exception is not None:
        error = str(exception).replace("\n", " ").replace("\r", " ")[:300]
    t_intended = (context or {}).get("gameday_intended") if isinstance(context, dict) else None
    if t_intended is not None:
        intended = f"{t_intended:.6f}"
        lat_intended = f"{(t_start - t_intended) * 1000.0 + response_time:.3f}"
    else:
        intended = lat_intended = ""
    rec.requests.writerow([f"{t_start:.6f}", f"{response_time:.3f}", name, request_type, status,
                           1 if exception is None else 0, error, mission, intended, lat_intended])
    rec.rows += 1


def _flush_loop() -> None:
    while True:
        gevent.sleep(1.0)
        if _recorder is not None:
            _recorder.flush()


def _progress_loop(environment: Environment) -> None:
    path = os.path.join(RUN_DIR, "load", "progress.json")
    tmp = path + ".tmp"
    while True:
        gevent.sleep(1.0)
        runner = environment.runner
        if runner is None:
            continue
        total = runner.stats.total
        data = {
            "t": time.time(), "state": str(runner.state), "users": runner.user_count,
            "workers": len(runner.clients) if isinstance(runner, MasterRunner) else 0,
            "requests": total.num_requests, "failures": total.num_failures,
            "rps": round(total.current_rps, 2), "fail_per_s": round(total.current_fail_per_sec, 2),
            "p95_10s_ms": total.get_current_response_time_percentile(0.95) or 0,
        }
        try:
            with open(tmp, "w") as f:
                json.dump(data, f)
            os.replace(tmp, path)
        except OSError:
            pass


def _open_arrival(session: HttpSession, intended: float) -> None:
    body = {"mission": f"open-{random.randrange(1 << 30):x}", "agents": random.randint(1, 3),
            "priority": "normal"}
    try:
        session.post(OPEN_NAME, json=body, name=OPEN_NAME, context={"gameday_intended": intended},
                     timeout=30)
    finally:
        _open_inflight.pop(gevent.getcurrent(), None)


def _open_model(environment: Environment) -> None:
    """Arrivals on a fixed schedule that never waits for the target: a slow target gets more
    requests in flight, not fewer arrivals. Each carries its intended start time."""
    global _open_pool
    session = HttpSession(base_url=environment.host, request_event=environment.events.request, user=None)
    pool = _open_pool = gevent.pool.Pool(OPEN_MAX_INFLIGHT)
    interval = 1.0 / OPEN_RATE
    next_t = time.time() + random.uniform(0, interval)  # workers out of phase
    while True:
        delay = next_t - time.time()
        if delay > 0:
            gevent.sleep(delay)
        if pool.full():
            environment.events.request.fire(
                request_type="POST", name=OPEN_NAME, response_time=0.0, response_length=0,
                response=None, context={"gameday_intended": next_t},
                exception=RuntimeError("open model: in-flight limit reached, arrival dropped"),
                start_time=time.time())
        else:
            _open_inflight[pool.spawn(_open_arrival, session, next_t)] = next_t
        next_t += interval


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    global _recorder
    if not RUN_DIR:
        return
    runner = environment.runner
    if isinstance(runner, MasterRunner) or not isinstance(runner, WorkerRunner):
        os.makedirs(os.path.join(RUN_DIR, "load"), exist_ok=True)
        gevent.spawn(_progress_loop, environment)
    if isinstance(runner, MasterRunner):
        return
    role = "worker" if isinstance(runner, WorkerRunner) else "local"
    _recorder = _Recorder(RUN_DIR, f"{role}-{os.getpid()}")
    gevent.spawn(_flush_loop)
    atexit.register(_recorder.close)


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_: Any) -> None:
    global _open_driver
    if OPEN_RATE > 0 and _recorder is not None and _open_driver is None:
        _open_driver = gevent.spawn(_open_model, environment)


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_: Any) -> None:
    global _open_driver
    if _open_driver is not None:
        _open_driver.kill(block=True)
        _open_driver = None
        _finish_open_arrivals(environment)
    if _recorder is not None:
        _recorder.flush()


def _finish_open_arrivals(environment: Environment) -> None:
    """Arrivals already sent get the stop timeout to finish; any still open then is recorded
    as failed, never dropped: every arrival the schedule sent has its row."""
    if _open_pool is not None:
        _open_pool.join(timeout=STOP_TIMEOUT)
    for greenlet, intended in list(_open_inflight.items()):
        greenlet.kill(block=False)
        environment.events.request.fire(
            request_type="POST", name=OPEN_NAME, response_time=(time.time() - intended) * 1000.0,
            response_length=0, response=None, context={"gameday_intended": intended},
            exception=RuntimeError("open model: no answer before the load stopped"), start_time=intended)
    _open_inflight.clear()


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_: Any) -> None:
    # Locust fires quitting before it stops the users: rows may still come; atexit closes
    if _recorder is not None:
        _recorder.flush()
