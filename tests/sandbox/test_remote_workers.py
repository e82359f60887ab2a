"""Remote Locust workers: ``gameday load`` runs a master that also waits for workers it did not
start, and every row reaches the master's run directory through Locust's own messages.

A "remote" worker here is started exactly as the Deployment in deploy/locust-workers.yaml starts
one: ``locust -f <locustfile>,<plugin> --worker --master-host H --master-port P``, in another
working directory, with no run directory of its own. Ports come from GAMEDAY_TEST_PORT_BASE
(+950..+999), below 32768.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gameday.analysis.recorded import read_acks, read_requests
from gameday.contract.columnar import read_stream
from gameday.harness.load.runner import PLUGIN, locust_binary
from tests.helpers import LOCUSTFILE, Sandbox, locust_count, lookup, no_process_matching, write_profile
from tests.remote_workers import finish, free_port, start_gameday


@pytest.fixture
def remote_worker(tmp_path: Path) -> Iterator[object]:
    """Starts workers as the Deployment does; kills any still running at the end (and says so)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(port: int, locustfile: Path = LOCUSTFILE) -> subprocess.Popen[bytes]:
        cwd = tmp_path / f"elsewhere{len(started)}"
        cwd.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEDAY_")}
        log = open(cwd / "worker.log", "wb")
        p = subprocess.Popen([locust_binary(), "-f", f"{locustfile},{PLUGIN}", "--worker", "--master-host",
                              "127.0.0.1", "--master-port", str(port), "--loglevel", "INFO"],
                             cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        log.close()
        started.append(p)
        return p

    yield start
    left = [p for p in started if p.poll() is None]
    for p in left:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
    assert not left, "a remote worker did not quit with its master"


def _remote_profile(tmp: Path, sb: Sandbox, port: int, load: str, locustfile: Path = LOCUSTFILE) -> Path:
    return write_profile(tmp, f"""
        name: remote
        target: {{kind: sandbox, sandbox: {{ports: {{base: {sb.base}}}}}}}
        load: {{locustfile: {locustfile}, master_bind: "127.0.0.1:{port}", workers_wait_s: 60, {load}}}
        """)


def _workers_json(run_dir: Path) -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads((run_dir / "load" / "workers.json").read_text())
    return data


# ---- the workers never come: a clear failure within the bound, nothing left running ----------------

@pytest.mark.parametrize("local", [0, 1])
def test_rows_of_a_remote_worker_reach_the_masters_run_directory(tmp_path: Path, sandbox: Sandbox,
                                                                 remote_worker: object, local: int) -> None:
    port = free_port()
    p = _remote_profile(tmp_path, sandbox, port, f"users: 20, spawn_rate: 20, workers: {local}, remote_workers: 1")
    run_dir = tmp_path / "run"
    g = start_gameday("load", str(p), "--duration", "8", "--out", str(run_dir))
    time.sleep(2)  # the master first: the worker connects to it later, as a pod would
    worker = remote_worker(port)  # type: ignore[operator]
    code, out, err = finish(g, 120)
    assert code == 0, err + out
    assert worker.wait(timeout=30) == 0  # it quit with its master
    files = sorted(run_dir.glob("requests.*.arrows"))
    assert len(files) == 1 + local
    names = {f.name.split(".")[1] for f in files}
    assert all(n.startswith(socket.gethostname()) for n in names), names  # Locust's client ids, not pids
    df = read_requests(run_dir)
    assert len(df) > 50
    assert len(df) == locust_count(run_dir)  # every row, the last second's included
    workers = _workers_json(run_dir)
    assert set(workers) == names and all(w["final"] and w["seq_gaps"] == 0 for w in workers.values()), workers
    assert sum(int(str(w["requests"])) for w in workers.values()) == len(df)
    acks = read_acks(run_dir)
    posted = df[(df["method"] == "POST") & (df["status"] == 201)]
    assert len(acks) > 0 and len(acks) == len(posted) and set(acks["mission_id"]) == set(posted["mission_id"])
    found, missing = lookup(sandbox.api, list(acks["mission_id"]))
    assert not missing and len(found) == len(acks)
    elsewhere = tmp_path / "elsewhere0"
    assert sorted(x.name for x in elsewhere.iterdir()) == ["worker.log"]  # the worker wrote no file of its own
    assert no_process_matching(str(run_dir)) and no_process_matching(f"--master-port {port}")


SLOW_STOP = """
import gevent
from locust import HttpUser, constant, task


class SlowStop(HttpUser):
    wait_time = constant(0)

    @task
    def two_requests(self):
        self.client.get("/healthz")
        gevent.sleep(3.0)  # at the stop the users are here: each still sends one request, seconds later
        self.client.get("/healthz")
"""


def _first_request_t(run_dir: Path, timeout: float) -> float:
    """t_start of the first request the master recorded (the files fill as batches arrive)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for f in run_dir.glob("requests.*.arrows"):
            batches = read_stream(f).batches  # the batches so far (the master appends as they arrive)
            if batches and batches[0].num_rows:
                return float(batches[0].column("t_start_us")[0].as_py()) / 1e6
        time.sleep(0.1)
    raise AssertionError(f"no request recorded in {run_dir} within {timeout} s")


@pytest.mark.parametrize("how", ["run-time", "interrupt"])
def test_rows_sent_while_the_workers_stop_are_recorded(tmp_path: Path, sandbox: Sandbox, remote_worker: object,
                                                       how: str) -> None:
    """Users finishing their task after the stop (up to the stop timeout) send requests seconds
    later than Locust's master waits for a quitting worker (0.5 s): the master asks each worker to
    stop and waits for its final batch first, so those rows and Locust's count both include them."""
    (tmp_path / "slow_stop.py").write_text(textwrap.dedent(SLOW_STOP))
    port = free_port()
    p = _remote_profile(tmp_path, sandbox, port, "users: 10, spawn_rate: 100, workers: 1, remote_workers: 1",
                        locustfile=tmp_path / "slow_stop.py")
    run_dir = tmp_path / "run"
    g = start_gameday("load", str(p), "--duration", "8" if how == "run-time" else "60", "--out", str(run_dir))
    worker = remote_worker(port, tmp_path / "slow_stop.py")  # type: ignore[operator]
    if how == "interrupt":
        t0 = _first_request_t(run_dir, 60)
        # every user started at once: they send at t0, t0+3, t0+6...; stop 0.5 s after a wave, so at the
        # stop they are all in their sleep and the next wave comes 2.5 s later, inside the stop timeout
        wave = max(1, math.ceil((time.time() - t0) / 3))
        time.sleep(max(0.0, t0 + 3 * wave + 0.5 - time.time()))
        stopped_at = time.time()
        os.kill(g.pid, signal.SIGINT)
    code, out, err = finish(g, 120)
    assert code == (0 if how == "run-time" else 3), err + out
    assert worker.wait(timeout=30) == 0
    df = read_requests(run_dir)
    assert len(df) == locust_count(run_dir) > 10
    if how == "run-time":
        stopped_at = df["t_start"].min() + 8
    late = df[df["t_start"] > stopped_at + 0.6]  # sent after the master would have quit without waiting
    assert len(late) >= 5, (stopped_at, df["t_start"].max())
    assert all(w["final"] for w in _workers_json(run_dir).values())
    assert no_process_matching(str(run_dir)) and no_process_matching(f"--master-port {port}")


def test_open_model_rate_is_shared_by_local_and_remote_workers(tmp_path: Path, sandbox: Sandbox,
                                                               remote_worker: object) -> None:
    """The master passes the per-worker arrival rate to every worker (a Locust option it forwards):
    a remote worker, without gameday's environment, sends its share."""
    port = free_port()
    p = _remote_profile(tmp_path, sandbox, port, "users: 0, arrival_rate_per_min: 600, workers: 1, remote_workers: 1")
    run_dir = tmp_path / "run"
    g = start_gameday("load", str(p), "--duration", "8", "--out", str(run_dir))
    worker = remote_worker(port)  # type: ignore[operator]
    code, out, err = finish(g, 120)
    assert code == 0, err + out
    assert worker.wait(timeout=30) == 0
    df = read_requests(run_dir)
    assert len(df) == locust_count(run_dir)
    assert 60 <= len(df) <= 100, len(df)  # ~10/s for 8 s in all
    assert df["t_intended"].notna().all()
    per_worker = [int(str(w["requests"])) for w in _workers_json(run_dir).values()]
    assert len(per_worker) == 2 and min(per_worker) >= 25, per_worker  # ~5/s each
