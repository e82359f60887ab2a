#!/usr/bin/env python3
"""Cost of full capture: requests per CPU-second, gameday's load runner vs plain Locust.

Both drive the same locustfile (loadtests/crew_spawn.py, no think time) at the same local
endpoint: an nginx this script starts on 127.0.0.1 that answers the crew API from memory, so
the load generator, not the target, is what is measured. Runs alternate (plain, gameday,
plain, gameday, ...) so drift on the machine hits both alike. CPU is the user+system time of
every Locust process (psutil, sampled until exit). Then the same with 1 and 2 worker
processes (a master and local workers; plain Locust distributed the same way), checking that rows
recorded equal requests Locust counted.

    .venv/bin/python benchmarks/load_capture.py [--seconds 20] [--rounds 3] [--users 20]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gameday.analysis.locust_stats import read_final  # noqa: E402
from gameday.analysis.recorded import read_requests  # noqa: E402
from gameday.harness.load.runner import LoadRun, LoadSpec, locust_binary  # noqa: E402

PORT = 15790
NGINX_CONF = """
worker_processes 1; daemon off; pid {d}/nginx.pid; error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port};
    default_type application/json;
    location = /v1/crews {{ return 201 '{crew}'; }}
    location /v1/missions/ {{ return 200 '{mission}'; }}
  }}
}}
"""
MID = "6f1d7c1e-0000-4000-8000-000000000001"
CREW = json.dumps({"crew_id": "c", "mission_id": MID, "agents": ["a"], "startup_ms": 1.0, "pool": "warm"})
MISSION = json.dumps({"mission_id": MID, "status": "completed"})
ENV = {"CREW_THINK_MIN_S": "0", "CREW_THINK_MAX_S": "0"}


def cpu_of_tree(root: psutil.Process, seen: dict[int, float]) -> None:
    """Record the latest CPU time of ``root`` and every descendant (kept after they exit)."""
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return
    for p in procs:
        try:
            t = p.cpu_times()
            seen[p.pid] = t.user + t.system
        except psutil.Error:
            pass


def run_plain(locustfile: Path, host: str, users: int, seconds: int, out: Path, workers: int = 0) -> tuple[int, float]:
    out.mkdir(parents=True)
    argv = [locust_binary(), "-f", str(locustfile), "--headless", "-u", str(users), "-r", str(users),
            "-t", f"{seconds}s", "--host", host, "--only-summary", "--loglevel", "WARNING",
            "--json-file", str(out / "load" / "locust_final"), "--exit-code-on-error", "0"]
    if workers:
        argv += ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(PORT + 1),
                 "--expect-workers", str(workers), "--expect-workers-max-wait", "30"]
    (out / "load").mkdir()
    env = dict(os.environ, **ENV)
    procs = [subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                              start_new_session=True)]
    for _ in range(workers):
        procs.append(subprocess.Popen([locust_binary(), "-f", str(locustfile), "--worker", "--master-host",
                                       "127.0.0.1", "--master-port", str(PORT + 1), "--loglevel", "WARNING"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                                      start_new_session=True))
    seen: dict[int, float] = {}
    roots = [psutil.Process(p.pid) for p in procs]
    while procs[0].poll() is None:
        for r in roots:
            cpu_of_tree(r, seen)
        time.sleep(0.2)
    for p in procs[1:]:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
    final = read_final(out)
    assert final is not None, "plain Locust wrote no final stats"
    return final.requests, sum(seen.values())


def run_gameday(locustfile: Path, host: str, users: int, seconds: int, out: Path,
                workers: int = 0) -> tuple[int, float, int]:
    out.mkdir(parents=True)
    spec = LoadSpec(locustfile=locustfile, host=host, run_dir=out, duration_s=seconds, users=users,
                    spawn_rate=users, workers=workers, env=ENV, stop_timeout_s=0)
    seen: dict[int, float] = {}
    with LoadRun(spec) as load:
        roots = [psutil.Process(p.pid) for p in load.procs]
        while load.procs[0].poll() is None:
            for r in roots:
                cpu_of_tree(r, seen)
            time.sleep(0.2)
    final = read_final(out)
    assert final is not None, "gameday's Locust wrote no final stats"
    return final.requests, sum(seen.values()), len(read_requests(out))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--users", type=int, default=20)
    args = ap.parse_args()
    if not (1 <= args.seconds <= 300 and 1 <= args.rounds <= 10 and 1 <= args.users <= 500):
        print("bounds: --seconds 1..300, --rounds 1..10, --users 1..500", file=sys.stderr)
        return 64
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    locustfile = ROOT / "loadtests" / "crew_spawn.py"
    host = f"http://127.0.0.1:{PORT}"
    with tempfile.TemporaryDirectory(prefix="gameday-bench-") as tmp:
        d = Path(tmp)
        (d / "nginx.conf").write_text(NGINX_CONF.format(d=d, port=PORT, crew=CREW, mission=MISSION))
        server = subprocess.Popen([nginx, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")],
                                  start_new_session=True)
        try:
            time.sleep(0.5)
            plain, ours = [], []
            for i in range(args.rounds):
                n, cpu = run_plain(locustfile, host, args.users, args.seconds, d / f"plain{i}")
                plain.append(n / cpu)
                print(f"round {i + 1}: plain Locust   {n:7d} requests, {cpu:6.2f} CPU-s, {n / cpu:8.1f} req/CPU-s")
                n, cpu, rows = run_gameday(locustfile, host, args.users, args.seconds, d / f"ours{i}")
                ours.append(n / cpu)
                print(f"round {i + 1}: gameday runner {n:7d} requests, {cpu:6.2f} CPU-s, {n / cpu:8.1f} req/CPU-s,"
                      f" {rows} rows ({n - rows} lost)")
            ratio = sorted(ours)[len(ours) // 2] / sorted(plain)[len(plain) // 2]
            print(f"\nmedian requests per CPU-second: gameday / plain Locust = {ratio:.3f}")
            lost, ratio_w = {}, {}
            for workers in (1, 2):
                pn, pcpu = run_plain(locustfile, host, args.users, args.seconds, d / f"pw{workers}", workers)
                n, cpu, rows = run_gameday(locustfile, host, args.users, args.seconds, d / f"w{workers}", workers)
                lost[workers] = n - rows
                ratio_w[workers] = round((n / cpu) / (pn / pcpu), 3)
                print(f"{workers} worker process(es): plain {pn / pcpu:.1f} req/CPU-s, gameday {n / cpu:.1f} req/CPU-s"
                      f" (ratio {ratio_w[workers]:.3f}); {n} requests sent, {rows} rows recorded, {n - rows} lost")
            print(json.dumps({"ratio": round(ratio, 3), "plain_req_per_cpu_s": plain,
                              "gameday_req_per_cpu_s": ours, "lost_by_workers": lost,
                              "ratio_by_workers": ratio_w}))
        finally:
            server.send_signal(signal.SIGQUIT)
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
