"""Locust plugin: every request recorded exactly, acknowledgements, live progress, open model.

Loaded by the load runner beside any locustfile, unchanged (``locust -f theirs.py,plugin.py``);
it runs inside Locust's processes only — the harness never imports it (Locust monkey-patches
on import). Configured through the environment and one option:

``GAMEDAY_RUN_DIR``            where the local process or the master writes (without it, they
                               record nothing); a worker needs none
``--gameday-open-rate``        open model: arrivals per second *in each sending process* (0 = off;
                               default ``GAMEDAY_OPEN_RATE``); the master passes it to its workers
``GAMEDAY_OPEN_MAX_INFLIGHT``  bound on concurrent open-model arrivals per process (2000)

Rows: ``requests.*.arrows`` (t_start, latency_ms as the exact float, name, method, status, ok,
error, mission_id, t_intended, latency_intended_ms) and ``acks.*.arrows`` (t_ack, mission_id,
latency_ms, startup_ms, pool: the crew's start-up and pool exactly as its 201 said, empty when
the 201 did not say): Arrow IPC streams (``gameday.contract.columnar``), one batch a second, each batch
in one write, so a killed process leaves whole batches (a clean close rewrites a file of small
batches as large ones: ``gameday.contract.columnar``, about 12 bytes a request at the smoke rate instead
of 49). Per request the listener only appends the raw values to column lists; the encoding
(integers, dictionaries, zstd) is done once per batch. A local process writes
``requests.local-<pid>.arrows`` itself, every second and at exit.
A worker (local or remote, anywhere) encodes its batches and ships them to the master with
Locust's own worker→master messages (``gameday_rows``, every second and at stop, at most
``MAX_BATCH_ROWS`` rows each); the master appends them to ``requests.<worker id>.arrows``
(Locust's client id, made safe for a file name). ``gameday export`` turns the streams into CSV.
On stop the master asks every worker to stop and waits for each one's final batch (bounded)
before Locust sends ``quit``: the last second's rows land before the master exits. The master
(or the local process) also writes ``load/progress.json`` every second for the live display.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import random
import re
import time
from typing import Any

import gevent
import gevent.lock
import gevent.pool
from locust import events
from locust.clients import HttpSession
from locust.env import Environment
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner

from gameday.contract.columnar import (  # pyarrow and numpy, no harness import
    ACK_SCHEMA,
    REQUEST_SCHEMA,
    AckRows,
    RequestRows,
    StreamFile,
    batch_bytes,
    batches_of,
)
from gameday.contract.redact import scrub  # standard library only

OPEN_NAME = "/v1/crews"

RUN_DIR = os.environ.get("GAMEDAY_RUN_DIR", "")
OPEN_MAX_INFLIGHT = int(os.environ.get("GAMEDAY_OPEN_MAX_INFLIGHT", "2000") or 2000)
ROWS_MSG = "gameday_rows"  # worker -> master: {seq, requests, acks (Arrow stream bytes), n_requests, n_acks, final}
STOP_MSG = "gameday_stop"  # master -> worker: stop your users and send your final batch
MAX_BATCH_ROWS = 5000  # request rows (and ack rows) per message
MAX_PENDING_ROWS = 50_000  # a local process writes a batch early past this (bounded memory at any rate)
FINAL_ROWS_WAIT_S = 10.0  # beyond the stop timeout, the master's bound for every worker's final batch


class _Recorder:
    """The local process's rows, kept as columns and written as one batch a second and at exit."""

    def __init__(self, run_dir: str, proc: str) -> None:
        self._req_file = StreamFile(os.path.join(run_dir, f"requests.{proc}.arrows"), REQUEST_SCHEMA)
        self._ack_file = StreamFile(os.path.join(run_dir, f"acks.{proc}.arrows"), ACK_SCHEMA)
        self.requests = RequestRows.empty()
        self.acks = AckRows.empty()
        self.rows = 0
        self.closed = False

    def added(self) -> None:
        self.rows += 1
        if len(self.requests) >= MAX_PENDING_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.closed:
            return
        if len(self.requests):
            req, self.requests = self.requests, RequestRows.empty()
            self._req_file.write(req.batch())
        if len(self.acks):
            ack, self.acks = self.acks, AckRows.empty()
            self._ack_file.write(ack.batch())

    def close(self) -> None:
        global _recorder
        _recorder = None  # no row after this: the process is exiting
        self.flush()
        self.closed = True
        self._req_file.close()
        self._ack_file.close()


class _Shipper:
    """A worker's rows, encoded here as Arrow batches and sent to the master in bounded messages."""

    def __init__(self, runner: WorkerRunner) -> None:
        self.runner = runner
        self.requests = RequestRows.empty()
        self.acks = AckRows.empty()
        self.rows = 0
        self.seq = 0
        self.final_sent = False
        self._lock = gevent.lock.Semaphore()  # batches leave in order, one sender at a time

    def added(self) -> None:
        self.rows += 1

    def ship(self, final: bool = False) -> None:
        with self._lock:
            req, self.requests = self.requests, RequestRows.empty()
            ack, self.acks = self.acks, AckRows.empty()
            rb = req.batch() if len(req) else None
            ab = ack.batch() if len(ack) else None
            n_req, n_ack = len(req), len(ack)
            i = 0
            while True:
                r = rb.slice(i, MAX_BATCH_ROWS) if rb is not None and i < n_req else None
                a = ab.slice(i, MAX_BATCH_ROWS) if ab is not None and i < n_ack else None
                i += MAX_BATCH_ROWS
                last = i >= max(n_req, n_ack)
                if r is not None or a is not None or (final and last):
                    self.seq += 1
                    self.final_sent = final and last
                    self.runner.send_message(ROWS_MSG, {
                        "seq": self.seq, "requests": batch_bytes(r) if r is not None else b"",
                        "acks": batch_bytes(a) if a is not None else b"",
                        "n_requests": 0 if r is None else r.num_rows, "n_acks": 0 if a is None else a.num_rows,
                        "final": final and last})
                if last:
                    return

    def flush(self) -> None:
        self.ship()

    def close(self) -> None:
        """The final batch (once: again only if rows came after it)."""
        if not (self.final_sent and not len(self.requests) and not len(self.acks)):
            self.ship(final=True)


def _file_safe(client_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", client_id)[:150] or "worker"


class _Collector:
    """On the master: every worker's batches into ``requests.<worker>.arrows`` / ``acks.<worker>.arrows``."""

    def __init__(self, run_dir: str) -> None:
        self.run_dir = run_dir
        self.files: dict[str, tuple[StreamFile, StreamFile]] = {}
        self.workers: dict[str, dict[str, Any]] = {}
        self.finals: set[str] = set()
        self.closed = False

    def on_rows(self, environment: Environment, msg: Any, **_: Any) -> None:
        if self.closed:
            return
        wid = _file_safe(str(msg.node_id))
        data = msg.data
        files = self.files.get(wid)
        if files is None:
            req = StreamFile(os.path.join(self.run_dir, f"requests.{wid}.arrows"), REQUEST_SCHEMA)
            ack = StreamFile(os.path.join(self.run_dir, f"acks.{wid}.arrows"), ACK_SCHEMA)
            files = self.files[wid] = (req, ack)
            self.workers[wid] = {"client_id": str(msg.node_id), "batches": 0, "requests": 0, "acks": 0,
                                 "final": False, "seq_gaps": 0, "last_seq": 0}
        for f, key in ((files[0], "requests"), (files[1], "acks")):
            if data[key]:
                for batch in batches_of(data[key]):
                    f.write(batch)
        w = self.workers[wid]
        w["seq_gaps"] += int(data["seq"] != w["last_seq"] + 1)
        w["last_seq"] = data["seq"]
        w["batches"] += 1
        w["requests"] += data["n_requests"]
        w["acks"] += data["n_acks"]
        if data["final"]:
            w["final"] = True
            self.finals.add(str(msg.node_id))

    def collect_finals(self, runner: MasterRunner, timeout: float) -> None:
        """Ask every connected worker to stop and send its final batch; wait for each (bounded;
        a worker that leaves is not waited for). Locust sends ``quit`` only after this."""
        asked = {c.id for c in runner.clients.all if c.state != STATE_MISSING} - self.finals
        for cid in asked:
            runner.send_message(STOP_MSG, None, client_id=cid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not (asked & {c.id for c in runner.clients.all}) - self.finals:
                break
            gevent.sleep(0.05)
        self.flush()

    def flush(self) -> None:
        """Nothing buffered: each batch is on disk (one write) when it arrives."""

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for req, ack in self.files.values():
            req.close()
            ack.close()
        from gameday.contract.atomic import write_atomic  # standard library only: light enough for a Locust process

        try:
            write_atomic(os.path.join(self.run_dir, "load", "workers.json"),
                         json.dumps({wid: {k: v for k, v in w.items() if k != "last_seq"}
                                     for wid, w in self.workers.items()}, indent=1))
        except OSError:
            pass


_recorder: _Recorder | _Shipper | None = None
_collector: _Collector | None = None
_open_driver: gevent.Greenlet | None = None
_open_pool: gevent.pool.Pool | None = None
_open_inflight: dict[gevent.Greenlet, float] = {}


def _acknowledgement(response: Any) -> tuple[str, float, str]:
    """(mission id, start-up ms, pool) of a crew's 201; empty strings / NaN for what it did not say."""
    try:
        body = response.json()
    except Exception:
        return "", math.nan, ""
    if not isinstance(body, dict):
        return "", math.nan, ""
    mid = body.get("mission_id")
    startup = body.get("startup_ms")
    startup_ms = float(startup) if isinstance(startup, int | float) and not isinstance(startup, bool) else math.nan
    pool = body.get("pool")
    pool_text = pool if isinstance(pool, str) and pool in ("warm", "cold") else ""
    return (str(mid) if mid else ""), startup_ms, pool_text


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
        mission, startup_ms, pool = _acknowledgement(response)
        if mission:
            rec.acks.append(t_start + response_time / 1000.0, mission, response_time, startup_ms, pool)
    error = ""
    if exception is not None:
        # masked before it is written or shipped: an exception can quote a URL with its password, an
        # Authorization header, a key (gameday.contract.redact: secret shapes and the environment's secrets)
        error = scrub(str(exception)[:2000]).replace("\n", " ").replace("\r", " ")[:300]
    if "@" in name or "://" in name:
        name = scrub(name)  # a locustfile that names requests by their full URL, user-info included
    t_intended = context.get("gameday_intended") if isinstance(context, dict) else None
    rec.requests.append(t_start, response_time, name, request_type, status, 1 if exception is None else 0, error,
                        mission, math.nan if t_intended is None else t_intended)
    rec.added()


def _flush_loop() -> None:
    while True:
        gevent.sleep(1.0)
        try:
            if _recorder is not None:
                _recorder.flush()
            if _collector is not None:
                _collector.flush()
        except Exception as exc:  # the master gone, a full disk: said, and tried again next second
            logging.getLogger("gameday").error("gameday plugin: rows not flushed: %s", exc)


def _progress_loop(environment: Environment) -> None:
    from gameday.contract.atomic import write_atomic  # standard library only: light enough for a Locust process

    path = os.path.join(RUN_DIR, "load", "progress.json")
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
            write_atomic(path, json.dumps(data))
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


def _open_rate(environment: Environment) -> float:
    options = environment.parsed_options
    return float(getattr(options, "gameday_open_rate", 0) or 0)


def _stop_timeout(environment: Environment) -> float:
    return float(environment.stop_timeout or 0)


def _open_model(environment: Environment) -> None:
    """Arrivals on a fixed schedule that never waits for the target: a slow target gets more
    requests in flight, not fewer arrivals. Each carries its intended start time."""
    global _open_pool
    session = HttpSession(base_url=environment.host, request_event=environment.events.request, user=None)
    pool = _open_pool = gevent.pool.Pool(OPEN_MAX_INFLIGHT)
    interval = 1.0 / _open_rate(environment)
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


@events.init_command_line_parser.add_listener
def _on_parser(parser: Any, **_: Any) -> None:
    parser.add_argument("--gameday-open-rate", type=float, default=float(os.environ.get("GAMEDAY_OPEN_RATE", "0") or 0),
                        include_in_web_ui=False,
                        help="gameday open model: arrivals per second in each process that sends (0 = off)")


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    global _recorder, _collector
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        # no run directory here: the rows go to the master, wherever it is
        shipper = _recorder = _Shipper(runner)
        runner.register_message(STOP_MSG, _on_stop_msg)
        # registered after Locust's own quitting listener, so called before it (reverse order):
        # the rows so far leave before the worker's "quit"
        environment.events.quitting.add_listener(lambda **_: shipper.flush())
        gevent.spawn(_flush_loop)
        return
    if not RUN_DIR:
        if isinstance(runner, MasterRunner):
            runner.register_message(ROWS_MSG, lambda **_: None)
            print("gameday plugin: GAMEDAY_RUN_DIR is not set on the master: the workers' rows are not recorded")
        return
    os.makedirs(os.path.join(RUN_DIR, "load"), exist_ok=True)
    gevent.spawn(_progress_loop, environment)
    if isinstance(runner, MasterRunner):
        collector = _collector = _Collector(RUN_DIR)
        runner.register_message(ROWS_MSG, collector.on_rows)
        atexit.register(collector.close)
    else:
        _recorder = _Recorder(RUN_DIR, f"local-{os.getpid()}")
        atexit.register(_recorder.close)
    gevent.spawn(_flush_loop)


def _on_stop_msg(environment: Environment, msg: Any, **_: Any) -> None:
    """The master is stopping: stop the users now (Locust's own stop: in-flight requests get the
    stop timeout), then the final batch, before the master sends quit."""
    runner = environment.runner
    if runner is not None:
        runner.stop()  # fires test_stop (below) unless already stopped
    if isinstance(_recorder, _Shipper):
        _recorder.close()


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_: Any) -> None:
    global _open_driver
    if _open_rate(environment) > 0 and _recorder is not None and _open_driver is None:
        _open_driver = gevent.spawn(_open_model, environment)


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_: Any) -> None:
    global _open_driver
    if _open_driver is not None:
        _open_driver.kill(block=True)
        _open_driver = None
        _finish_open_arrivals(environment)
    if isinstance(_recorder, _Shipper):
        _recorder.close()  # the final batch leaves before Locust's client_stopped / final stats
    elif _recorder is not None:
        _recorder.flush()
    runner = environment.runner
    if _collector is not None and isinstance(runner, MasterRunner):
        _collector.collect_finals(runner, _stop_timeout(environment) + FINAL_ROWS_WAIT_S)


def _finish_open_arrivals(environment: Environment) -> None:
    """Arrivals already sent get the stop timeout to finish; any still open then is recorded
    as failed, never dropped: every arrival the schedule sent has its row."""
    if _open_pool is not None:
        _open_pool.join(timeout=_stop_timeout(environment))
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
