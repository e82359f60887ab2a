#!/usr/bin/env python3
"""One load run against the sandbox, p95 from four sources side by side.

* client, exact: gameday's raw per-request samples (nearest rank, no rounding)
* Locust: its own final p95 (response times rounded to 2 significant digits)
* server, exact: the ingress's access log, every request's ``$request_time`` (1 ms resolution)
* server, histogram: Prometheus ``histogram_quantile`` over http_request_duration_seconds

and what the sandbox cost: the CPU share of every sandbox process (those naming its state
directory, and their children) over the load, against the machine's cores.

    .venv/bin/python benchmarks/latency_sources.py [--users 100] [--seconds 60]

Brings the sandbox up on its default state dir (and down at the end unless --keep-up).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gameday.analysis.locust_stats import read_final  # noqa: E402
from gameday.analysis.recorded import percentile, read_requests  # noqa: E402

PY = sys.executable


def sandbox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-m", "gameday.sandbox", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def server_samples(log: Path, t0: float, t1: float) -> np.ndarray:
    """Request times (ms) of /v1/ requests that ended inside [t0, t1] per the ingress log."""
    out = []
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) < 6 or not parts[5].startswith("/v1/"):
            continue
        end = float(parts[0])
        if t0 <= end <= t1:
            out.append(float(parts[1]) * 1000)
    return np.asarray(out)


def sandbox_cpu_seconds(state_dir: str) -> float:
    total = 0.0
    seen: set[int] = set()
    for p in psutil.process_iter(["cmdline"]):
        try:
            if state_dir not in " ".join(p.info["cmdline"] or []):
                continue
            for q in [p, *p.children(recursive=True)]:
                if q.pid not in seen:
                    seen.add(q.pid)
                    t = q.cpu_times()
                    total += t.user + t.system
        except psutil.Error:
            continue
    return total


def prom_p95(prom: str, window_s: int, at: float) -> float:
    q = ('histogram_quantile(0.95, sum by (le) (increase('
         f'http_request_duration_seconds_bucket{{route=~"/v1/.*"}}[{window_s}s])))')
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": q, "time": f"{at:.3f}"})
    with urllib.request.urlopen(url, timeout=10) as r:
        res = json.loads(r.read())["data"]["result"]
    return float(res[0]["value"][1]) * 1000 if res else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--keep-up", action="store_true")
    args = ap.parse_args()
    if not (1 <= args.users <= 1000 and 5 <= args.seconds <= 600):
        print("bounds: --users 1..1000, --seconds 5..600", file=sys.stderr)
        return 64
    up = sandbox("up")
    if up.returncode != 0:
        print(up.stderr, file=sys.stderr)
        return 1
    try:
        st = json.loads(sandbox("status", "--json").stdout)
        with tempfile.TemporaryDirectory(prefix="gameday-lat-") as tmp:
            prof = Path(tmp) / "p.yaml"
            prof.write_text(f"name: latency\nload: {{locustfile: {ROOT}/loadtests/crew_spawn.py, "
                            f"users: {args.users}, spawn_rate: 20}}\n")
            run_dir = Path(tmp) / "run"
            cpu0, wall0 = sandbox_cpu_seconds(st["state_dir"]), time.monotonic()
            r = subprocess.run([PY, "-m", "gameday", "load", str(prof), "--duration", str(args.seconds),
                                "--out", str(run_dir)], cwd=ROOT, capture_output=True, text=True, check=False)
            if r.returncode != 0:
                print(r.stderr, file=sys.stderr)
                return 1
            share = (sandbox_cpu_seconds(st["state_dir"]) - cpu0) / ((time.monotonic() - wall0) * psutil.cpu_count())
            df = read_requests(run_dir)
            t0 = float(df["t_start"].min())
            t1 = float((df["t_start"] + df["latency_ms"] / 1000).max())
            time.sleep(3)  # the access log flushes every second; Prometheus scrapes every second
            server = server_samples(Path(st["state_dir"]) / "logs" / "ingress-access.log", t0 - 0.01, t1 + 0.01)
            final = read_final(run_dir)
            hist = prom_p95(st["endpoints"]["prometheus"], int(t1 - t0) + 2, t1 + 1.5)
        print(f"{args.users} users, {args.seconds} s, {len(df)} requests ({len(server)} in the ingress log)")
        print(f"  p95 client exact        {percentile(df['latency_ms'], 95):8.1f} ms")
        print(f"  p95 Locust (rounded)    {final.p95_ms if final else float('nan'):8.1f} ms")
        print(f"  p95 server exact (log)  {percentile(server, 95):8.1f} ms")
        print(f"  p95 server histogram    {hist:8.1f} ms  (Prometheus, bucket-interpolated)")
        print(f"  sandbox CPU share       {share:8.0%}  of {psutil.cpu_count()} cores (Locust not included)")
        return 0
    finally:
        if not args.keep_up:
            sandbox("down")


if __name__ == "__main__":
    sys.exit(main())
