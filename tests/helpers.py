"""Every shared test helper and builder, in one module (issue 15): import from ``tests.helpers``.

- ports and paths: ``ROOT``, ``BASE`` (``GAMEDAY_TEST_PORT_BASE``), ``MUTANT_BASE``, ``SCRATCH_BASE``;
- the sandbox: ``Sandbox`` (its CLI, controller, status, events), ``sandbox_up`` (a fixture body),
  ``http``, ``listening``, ``listening_ports``, ``quiet_port_base``, ``left_behind`` (what "nothing
  was started" checks, on the test's own ports rather than fixed ones);
- the real command line: ``gameday``, ``scratch_state``, ``target``, ``results``, ``events``,
  ``wait_for_phase``, ``NO_FAULTS``;
- load: ``BackgroundLoad`` (a bounded threaded load), ``lookup``, ``write_profile``, ``locust_count``;
- synthetic run directories for the judge: ``make_run``, ``steady``, ``series``, ``ramp``, ``inject``,
  ``server_run``, ``healthy_run`` (the base of the damaged-run corpus, tests/corpus/damaged_runs.py);
- judging in this process: ``gameday_in_process``, and ``charts_drawn_not_laid_out`` (charts drawn, not laid
  out or encoded: for tests about what a judge writes, not about the pictures);
- the stub cluster (tests/stubs): ``cluster_profile``, ``cluster_faults``, ``run_cluster_fault``,
  ``aurora_writer``.

The fixtures that bring sandboxes up stay in tests/conftest.py (session scope, shared by every layer).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.error
import urllib.request
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:
    from tests.stubs.cluster import Stack

ROOT = Path(__file__).resolve().parent.parent
# port bases of the test sandboxes; move them (GAMEDAY_TEST_PORT_BASE) to run two suites at once. Under
# pytest-xdist each worker (gw0, gw1, ...) takes its own block, GAMEDAY_TEST_WORKER_STRIDE ports apart
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
WORKER_INDEX = int(_WORKER[2:]) if _WORKER[2:].isdigit() else 0
BASE = (int(os.environ.get("GAMEDAY_TEST_PORT_BASE", "18000"))
        + WORKER_INDEX * int(os.environ.get("GAMEDAY_TEST_WORKER_STRIDE", "2000")))
MUTANT_BASE = BASE + 300
SCRATCH_BASE = BASE + 600  # throwaway sandboxes (busy port, down, crash); pods use +100..+199
FAST = ["timings.db_failover_detection_s=2", "timings.redis_restart_delay_s=3"]
# tests/sandbox files that need no real sandbox (the stub cluster, chaos validate): in no sandbox lane
# (tests/sandbox_lanes.py) and never rerun (tests/conftest.py)
NO_REAL_SANDBOX = {"test_chaos_cluster.py", "test_safety_corpus.py", "test_deploy.py", "test_rollback_k8s.py",
                   "test_chaos_validate.py", "test_fis_fault.py", "test_identity_before_rollback.py"}


# ---- HTTP and sockets ------------------------------------------------------------------------------
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
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def listening_ports() -> set[int]:
    """Every TCP port something listens on (any address), from /proc/net/tcp and tcp6: what "nothing
    was started" compares, without connecting to anything."""
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 3 and fields[3] == "0A":  # TCP_LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def quiet_port_base(span: int = 200, start: int = BASE + 1200) -> int:
    """The first base from ``start`` (in steps of ``span``, below 32768 and clear of the stubs' 26000-26999)
    whose ``span`` ports nobody listens on: a test's own ports, whatever else runs on the machine
    (a developer's sandbox on 17000, another suite on its own base)."""
    busy = listening_ports()
    for base in range(start, 32768 - span, span):
        if base < 27000 and base + span > 26000:
            continue
        if not busy & set(range(base, base + span)):
            return base
    raise RuntimeError(f"no {span} free ports from {start}")


def left_behind(state: Path, base: int, span: int = 200) -> list[str]:
    """What a refused command left behind on its own sandbox state directory and ports: empty if
    nothing was started (no file in ``state``, nothing listening on ``base``..``base + span``)."""
    left = [f"file {f}" for f in sorted(state.rglob("*"))] if state.exists() else []
    left += [f"port {p} listening" for p in sorted(listening_ports() & set(range(base, base + span)))]
    return left


# ---- the sandbox -----------------------------------------------------------------------------------
@dataclass
class Sandbox:
    state_dir: Path
    base: int

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gameday.sandbox", "--state-dir", str(self.state_dir),
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


def sandbox_up(name: str, base: int, extra: list[str]) -> Iterator[Sandbox]:
    """The body of a sandbox fixture: up on ``base`` in a fresh state directory, down afterwards."""
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


# ---- the real command line against a throwaway sandbox ---------------------------------------------
# Every such test brings its sandbox up on the scratch ports (SCRATCH_BASE) in a state directory of
# its own, through the profile (target.sandbox.ports.base, target.sandbox_state_dir), and takes it
# down afterwards whatever happened.
NO_FAULTS = ["--set", "faults=[]", "--set", "phases.warmup_s=8", "--set", "phases.baseline_s=20",
             "--set", "phases.cooldown_s=5", "--set", "load.users=50",
             "--set", "checks.required=[latency_p95, throughput, agent_startup_warm, error_rate_5xx, lost_acks]"]


@contextmanager
def scratch_state(prefix: str = "gameday-test-run-") -> Iterator[Path]:
    """A sandbox state directory under /tmp (pytest's tmp dirs are 0700: Postgres runs as postgres)."""
    state = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    state.chmod(0o755)
    try:
        yield state
    finally:
        sandbox_down(state)
        shutil.rmtree(state, ignore_errors=True)


def sandbox_down(state: Path) -> None:
    subprocess.run([sys.executable, "-m", "gameday.sandbox", "--state-dir", str(state), "down"], cwd=ROOT,
                   capture_output=True, timeout=120, check=False)


def target(state: Path, base: int = SCRATCH_BASE) -> list[str]:
    """``--set`` overrides pointing a profile's sandbox at ``state`` on the scratch ports."""
    return ["--set", f"target.sandbox.ports.base={base}", "--set", f"target.sandbox_state_dir={state}"]


# the niceness of a certification-grade run (see ``gameday``): CFS weighs nice -10 about 9 to 1 against 0
CERTIFY_NICE = -10


def gameday(*args: str, timeout: float = 400, env: dict[str, str] | None = None,
            certify: bool = False) -> subprocess.CompletedProcess[str]:
    """The real command line in a child process (``python -m gameday.harness.cli``).

    ``certify``: the run asserts a healthy target's GO (its p95 lines included), and under the sandbox
    lanes the other lanes' bursts (a sandbox's initdb, a judge drawing its charts) are not the target's
    latency: the run and everything it starts (sandbox, Locust) get the CPU first (``nice -n -10``,
    inherited by its children). A dedicated machine, as a certification has; the other lanes only wait
    while this run needs the CPU (~half a core). Without the right to raise priority (not root) nice(1)
    says so on stderr and runs it as it is."""
    argv = [sys.executable, "-m", "gameday", *args]
    if certify:
        argv = ["nice", "-n", str(CERTIFY_NICE), *argv]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False, env=env)


def results(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "results.json").read_text())
    return data


def events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "timeline.jsonl").read_text().splitlines() if line.strip()]


def wait_for_phase(run_dir: Path, phase: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tl = run_dir / "timeline.jsonl"
        if tl.exists() and f'"phase_started", "phase": "{phase}"' in tl.read_text():
            return True
        time.sleep(0.2)
    return False


# ---- load --------------------------------------------------------------------------------------------
LOCUSTFILE = ROOT / "loadtests" / "crew_spawn.py"


@dataclass
class Sample:
    t: float
    latency_s: float
    method: str
    status: int
    mission_id: str | None = None


@dataclass
class BackgroundLoad:
    """A small bounded background load for fault tests, every request and acknowledgement kept:
    ``clients`` threads, each posting a crew then reading it back, with ``think_s`` between.

    Not the product's load generator (that is Locust, in the harness): just enough steady traffic
    to see whether a fault fails requests or loses acknowledged missions."""

    api: str
    clients: int = 4
    think_s: float = 0.2
    max_seconds: float = 120.0
    post_only: bool = False
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, s: Sample) -> None:
        with self._lock:
            self.samples.append(s)

    def _client(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            t0 = time.time()
            code, body = http("POST", self.api + "/v1/crews",
                              {"mission": f"t-{uuid.uuid4().hex[:8]}", "agents": 1,
                               "priority": "normal"}, timeout=15)
            mid = body.get("mission_id") if code == 201 and isinstance(body, dict) else None
            self._record(Sample(t0, time.time() - t0, "POST", code, mid))
            if mid and not self.post_only:
                t1 = time.time()
                code, _ = http("GET", f"{self.api}/v1/missions/{mid}", timeout=15)
                self._record(Sample(t1, time.time() - t1, "GET", code))
            self._stop.wait(self.think_s)

    def __enter__(self) -> BackgroundLoad:
        for _ in range(self.clients):
            th = threading.Thread(target=self._client, daemon=True)
            th.start()
            self._threads.append(th)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for th in self._threads:
            th.join(timeout=30)

    @property
    def failed(self) -> list[Sample]:
        return [s for s in self.samples if s.status == 0 or s.status >= 500]

    @property
    def acked(self) -> list[str]:
        return [s.mission_id for s in self.samples if s.mission_id]

    def recovery_s(self, since: float) -> float:
        """From ``since`` until the first success after the last failure (0 if none failed)."""
        bad = [s.t + s.latency_s for s in self.failed if s.t + s.latency_s >= since]
        if not bad:
            return 0.0
        last_bad = max(bad)
        ok = [s.t + s.latency_s for s in self.samples
              if s.status and s.status < 500 and s.t + s.latency_s > last_bad]
        return (min(ok) if ok else float("inf")) - since


def lookup(api: str, ids: list[str]) -> tuple[dict[str, str], list[str]]:
    """The API's own record of ``ids``: (found id -> state, missing ids)."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for i in range(0, len(ids), 1000):
        code, body = http("POST", api + "/v1/missions/lookup", {"ids": ids[i:i + 1000]}, timeout=30)
        assert code == 200, f"lookup answered {code}: {body}"
        found.update(body["found"])
        missing += body["missing"]
    return found, missing


def write_profile(tmp: Path, body: str) -> Path:
    """``body`` (indented YAML) written as ``tmp/profile.yaml``."""
    p = tmp / "profile.yaml"
    p.write_text(textwrap.dedent(body))
    return p


def locust_count(run_dir: Path) -> int:
    """The requests Locust itself counted (its final stats in the run directory)."""
    from gameday.analysis.locust_stats import read_final

    final = read_final(run_dir)
    assert final is not None, "Locust wrote no final stats"
    return final.requests


def no_process_matching(marker: str) -> bool:
    """No process's command line contains ``marker`` (pgrep -f)."""
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True, check=False)
    return out.stdout.strip() == ""


# ---- synthetic run directories for the judge ---------------------------------------------------------
REQ_HEADER = "t_start,latency_ms,name,method,status,ok,error,mission_id,t_intended,latency_intended_ms\n"
ACK_HEADER = "t_ack,mission_id,latency_ms,startup_ms,pool\n"
CLIENT_PHASES = (("warmup", 0, 10), ("baseline", 10, 70), ("fault:db-failover", 70, 100), ("cooldown", 100, 130))
SERVER_PHASES = (("warmup", 0, 10), ("baseline", 10, 70), ("fault:bad-release", 70, 130),
                 ("fault:node-drain", 130, 160), ("cooldown", 160, 190))


def make_run(tmp: Path, rows: list[tuple[float, float, int, str]], acks: list[str] | None = None,
             readback: dict | None = None, phases: tuple[tuple[str, float, float], ...] = CLIENT_PHASES,
             required: list[str] | None = None) -> Path:
    """A run directory from request rows (t, latency ms, status, mission id), with a torn last line."""
    checks: dict[str, Any] = {"p95_ms": 200, "max_5xx_ratio": 0.05, "max_lost_acks": 0}
    if required is not None:
        checks["required"] = required
    (tmp / "profile.yaml").write_text(yaml.safe_dump({"name": "t", "checks": checks}))
    with open(tmp / "timeline.jsonl", "w") as f:
        for name, a, b in phases:
            f.write(json.dumps({"t": a, "event": "phase_started", "phase": name}) + "\n")
            f.write(json.dumps({"t": b, "event": "phase_ended", "phase": name}) + "\n")
    with open(tmp / "requests.local-1.csv", "w") as f:
        f.write(REQ_HEADER)
        for t, lat, status, mid in rows:
            f.write(f"{t},{lat},/v1/crews,POST,{status},{int(status and status < 400)},,{mid},,\n")
        f.write("131.0,12.5,/v1/cr")  # a torn last line, as a killed writer leaves
    with open(tmp / "acks.local-1.csv", "w") as f:
        f.write("t_ack,mission_id,latency_ms\n")
        for m in acks or []:
            f.write(f"1.0,{m},3.0\n")
    if readback is not None:
        (tmp / "readback.json").write_text(json.dumps(readback))
    return tmp


def steady(start: float, end: float, latency: float, status: int = 201) -> list[tuple[float, float, int, str]]:
    """Ten requests a second from ``start`` to ``end``."""
    n = int((end - start) * 10)
    # every 201 of a crew spawn acknowledges a mission
    return [(start + i / 10, latency + (i % 7), status, f"m{start:g}-{i}" if status == 201 else "") for i in range(n)]


def series(run: Path, name: str, points: list[tuple[float, float]], labels: dict | None = None,
           error: str | None = None) -> None:
    """A Prometheus series snapshot (``prometheus/NAME.csv`` + ``.json``), appended if it exists."""
    d = run / "prometheus"
    d.mkdir(exist_ok=True)
    lab = json.dumps(labels or {}).replace('"', '""')
    with open(d / f"{name}.csv", "a" if (d / f"{name}.csv").exists() else "w") as f:
        if f.tell() == 0:
            f.write("timestamp,value,labels\n")
        for t, v in points:
            f.write(f'{t},{v},"{lab}"\n')
    (d / f"{name}.json").write_text(json.dumps({"name": name, "query": f"q_{name}", "error": error}))


def ramp(a: float, b: float, value: float) -> list[tuple[float, float]]:
    return [(float(t), value) for t in range(int(a), int(b))]


def inject(run: Path, fault: str, t: float) -> None:
    with open(run / "timeline.jsonl", "a") as f:
        f.write(json.dumps({"t": t, "event": "fault_injected", "phase": f"fault:{fault}", "fault": fault}) + "\n")


def server_run(tmp: Path, rows: list | None = None) -> Path:
    """A run with a bad-release and a node-drain fault (SERVER_PHASES), for the Prometheus checks."""
    return make_run(tmp, rows if rows is not None else steady(10, 190, 40), phases=SERVER_PHASES)


HEALTHY_PHASES = (("warmup", 1000.0, 1010.0), ("baseline", 1010.0, 1070.0), ("fault:db-failover", 1070.0, 1100.0),
                  ("cooldown", 1100.0, 1130.0))


def healthy_run(d: Path) -> Path:
    """A completed run that judges cleanly on its client evidence (Prometheus evidence absent)."""
    d.mkdir(parents=True, exist_ok=True)
    prof = {"name": "corpus", "target": {"kind": "sandbox"},
            "checks": {"p95_ms": 200, "max_5xx_ratio": 0.05, "max_lost_acks": 0,
                       "required": ["latency_p95", "error_rate_5xx", "lost_acks"]},
            "faults": [{"id": "db-failover", "recovery_s": 120}]}
    (d / "profile.yaml").write_text(yaml.safe_dump(prof, sort_keys=False))
    evs: list[dict[str, Any]] = [{"t": 999.0, "event": "run_started", "profile": "corpus", "target": "sandbox",
                                  "faults": ["db-failover"]}]
    for name, a, b in HEALTHY_PHASES:
        evs.append({"t": a, "event": "phase_started", "phase": name})
        if name.startswith("fault:"):
            evs.append({"t": a + 0.5, "event": "fault_injected", "phase": name, "fault": name[6:]})
        evs.append({"t": b, "event": "phase_ended", "phase": name})
    evs.append({"t": 1131.0, "event": "run_finished", "status": "completed"})
    (d / "timeline.jsonl").write_text("".join(json.dumps(e) + "\n" for e in evs))
    reqs, acks, found = [REQ_HEADER], [ACK_HEADER], {}
    for i in range(1300):
        t = 1000.0 + i / 10
        mid = f"m{i}"
        reqs.append(f"{t:.1f},{40 + i % 7},/v1/crews,POST,201,1,,{mid},,\n")
        acks.append(f"{t + 0.04:.2f},{mid},{40 + i % 7},{300 + i % 11},warm\n")
        found[mid] = "completed"
    (d / "requests.local-1.csv").write_text("".join(reqs))
    (d / "acks.local-1.csv").write_text("".join(acks))
    (d / "readback.json").write_text(json.dumps({"read_at": 1132.0, "found": found, "missing": [], "error": None,
                                                 "settle": {"bound_s": 10, "error": None}}))
    return d


# ---- the stub cluster (tests/stubs) -------------------------------------------------------------------
CLUSTER_EXPERIMENTS = ROOT / "experiments" / "cluster"
CLUSTER_SECRET = "s3cr3t-profile-value"
CLUSTER_FAST = {"db-failover": {"db_az_before": "", "rds_change_grace_s": 0, "aws_poll_s": 0.2,
                                "api_token": CLUSTER_SECRET},  # moto ignores ForceFailover: no AZ change to wait for
                "redis-primary-kill": {"aws_poll_s": 0.2}}


def cluster_profile(tmp: Path, stubs: Stack, faults: list[dict[str, Any]], **cluster: Any) -> Path:
    """A cluster profile pointing at the stub stack, allowed to touch exactly its resources."""
    c: dict[str, Any] = {
        "kube_context": "hypercode-staging", "kubeconfig": str(stubs.kubeconfig), "aws_region": "eu-west-1",
        "aws_account_id": "123456789012", "db_instance": "hypercode-db", "db_cluster": "hypercode-aurora",
        "db_failover_target": "hypercode-aurora-2", "replication_group": "hypercode-redis",
        "node_group": "hypercode-workers", "bad_image": "ghcr.io/hypercode/core:bad",
        "rollback": {"mechanism": "hypercode-controller", "name": "hypercode-rollback-controller"},
        "redis_namespace": "hypercode-data", "redis_primary_selector": "redis-role=master",
        "allow": {"kube_contexts": ["hypercode-staging"], "aws_accounts": ["123456789012"],
                  "aws_regions": ["eu-west-1"]},
    }
    c.update(cluster)
    doc = {"name": "stubbed", "target": {"kind": "cluster", "api_url": "http://127.0.0.1:1",
                                         "prometheus_url": stubs.prom_url, "cluster": c},
           "load": {"locustfile": str(LOCUSTFILE)}, "faults": faults,
           "secrets": {"api_token": CLUSTER_SECRET}}
    path = tmp / "profile.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def cluster_faults(variant: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The four cluster faults (``variant`` swaps an experiment file), with quick polling."""
    files = {"db-failover": "db-failover.json", "redis-primary-kill": "redis-primary-kill.json",
             "node-drain": "node-drain.json", "bad-release": "bad-release.json", **(variant or {})}
    return [{"id": k, "experiment": str(CLUSTER_EXPERIMENTS / v), "configuration": CLUSTER_FAST.get(k, {})}
            for k, v in files.items()]


def run_cluster_fault(tmp: Path, profile_path: Path, fault_id: str) -> tuple[Any, list[dict[str, Any]], Path]:
    """One fault of the profile through gameday's runner: (result, timeline events, run directory)."""
    from gameday.analysis.windows import read_timeline_file
    from gameday.harness import profile as profile_mod
    from gameday.harness.chaos.runner import run_fault
    from gameday.harness.timeline import Timeline

    p = profile_mod.load(profile_path)
    fault = next(f for f in p.faults if f.id == fault_id)
    run_dir = tmp / f"run-{fault_id}"
    with Timeline(run_dir / "timeline.jsonl") as tl:
        result = run_fault(fault, tl, run_dir, p)
    return result, read_timeline_file(run_dir / "timeline.jsonl"), run_dir


def aurora_writer(rds: Any) -> str:
    """The Aurora cluster's writer instance, as RDS reports it."""
    members = rds.describe_db_clusters(DBClusterIdentifier="hypercode-aurora")["DBClusters"][0]["DBClusterMembers"]
    return str(next(m["DBInstanceIdentifier"] for m in members if m["IsClusterWriter"]))


def gameday_in_process(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                       *args: str) -> tuple[int, str, str]:
    """The real command line, in this process: (exit code, stdout, stderr). No interpreter start,
    so a corpus of fifty runs takes seconds rather than minutes as subprocesses."""
    from gameday.harness.cli import main

    monkeypatch.setattr(sys, "argv", ["gameday", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    out = capsys.readouterr()
    return int(exit_.value.code or 0), out.out, out.err


def _png_1x1() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff")) + chunk(b"IEND", b""))


PNG_1X1 = _png_1x1()


def charts_drawn_not_laid_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every chart of a judge still drawn from the run (``gameday.analysis.render.charts``: the code that reads
    the evidence), but not laid out or encoded: ``Figure.tight_layout`` does nothing and ``Figure.savefig``
    writes a 1-pixel PNG. Layout and encoding are about 0.8 s of a 1 s ``gameday judge``, the same work
    whatever the run holds; for tests about what a judge writes and where, not about the pictures
    (test_report_html.py and test_render.py draw them in full)."""
    from matplotlib.figure import Figure

    def savefig(self: Figure, fname: Any, *args: Any, **kwargs: Any) -> None:
        fname.write(PNG_1X1)  # charts.render saves into a BytesIO

    monkeypatch.setattr(Figure, "tight_layout", lambda self, *args, **kwargs: None)
    monkeypatch.setattr(Figure, "savefig", savefig)
