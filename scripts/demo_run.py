#!/usr/bin/env python3
"""``make run`` until ``gameday run`` exists: sandbox up, a short bounded load, the figures, down.

Runs plain Locust (headless, in its own process) with the default crew-spawn scenario and
the raw-sample plugin, samples the CPU of every sandbox process meanwhile, and prints the
client's exact p95 next to Locust's own and the server's (Prometheus histogram), the
missions acknowledged and completed, and the sandbox's CPU share. Always brings the sandbox
down, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def sandbox(*args: str) -> int:
    return subprocess.call([PY, "-m", "sandbox", *args], cwd=ROOT)


def status() -> dict:
    out = subprocess.run([PY, "-m", "sandbox", "status", "--json"], cwd=ROOT, capture_output=True,
                         text=True, check=False)
    return json.loads(out.stdout)


def sandbox_processes(state_dir: str) -> list[psutil.Process]:
    """Every process of the sandbox: those naming the state dir, and all their children."""
    found: dict[int, psutil.Process] = {}
    for p in psutil.process_iter(["cmdline"]):
        try:
            if state_dir in " ".join(p.info["cmdline"] or []):
                found[p.pid] = p
                for c in p.children(recursive=True):
                    found[c.pid] = c
        except psutil.Error:
            continue
    return list(found.values())


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of the raw samples (exact: no rounding, no buckets)."""
    if not values:
        return math.nan
    s = sorted(values)
    k = max(0, math.ceil(q / 100 * len(s)) - 1)
    return s[k]


def prom_query(base: str, query: str, at: float) -> float:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": query, "time": f"{at:.3f}"})
    with urllib.request.urlopen(url, timeout=5) as r:
        data = json.loads(r.read())
    res = data["data"]["result"]
    return float(res[0]["value"][1]) if res else math.nan


def lookup(api: str, ids: list[str]) -> dict:
    found: dict[str, str] = {}
    missing: list[str] = []
    for i in range(0, len(ids), 1000):
        body = json.dumps({"ids": ids[i:i + 1000]}).encode()
        req = urllib.request.Request(f"{api}/v1/missions/lookup", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            data = json.loads(r.read())
        found.update(data["found"])
        missing += data["missing"]
    return {"found": found, "missing": missing}


def run_load(api: str, users: int, duration: int, out: Path) -> tuple[Path, float]:
    env = dict(os.environ, GAMEDAY_SAMPLES=str(out / "samples"))
    argv = [str(Path(PY).parent / "locust"), "-f",
            f"{ROOT}/loadtests/crew_spawn.py,{ROOT}/loadtests/record_samples.py",
            "--headless", "-u", str(users), "-r", str(max(1, users // 5)), "-t", f"{duration}s",
            "--host", api, "--csv", str(out / "locust"), "--only-summary", "--stop-timeout", "5",
            "--loglevel", "WARNING"]
    t0 = time.time()
    subprocess.run(argv, check=False, timeout=duration + 60, stdout=subprocess.DEVNULL, env=env)
    return out, t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--duration", type=int, default=30, help="seconds of load (bounded)")
    ap.add_argument("--keep-up", action="store_true", help="leave the sandbox running")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="sandbox setting, as for 'gameday sandbox up --set'")
    args = ap.parse_args()
    if not 1 <= args.duration <= 600 or not 1 <= args.users <= 1000:
        print("demo_run: --duration must be 1..600 s and --users 1..1000", file=sys.stderr)
        return 64
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if sandbox("up", *[a for kv in args.set for a in ("--set", kv)]) != 0:
        return 1
    try:
        st = status()
        api, prom = st["endpoints"]["api"], st["endpoints"]["prometheus"]
        procs = sandbox_processes(st["state_dir"])
        cpu0, wall0 = cpu_seconds(procs), time.monotonic()
        with tempfile.TemporaryDirectory(prefix="gameday-demo-") as tmp:
            out, t0 = run_load(api, args.users, args.duration, Path(tmp))
            cpu1, wall1 = cpu_seconds(sandbox_processes(st["state_dir"])), time.monotonic()
            t1 = time.time()
            rows = []
            for f in glob.glob(str(out / "samples.*.csv")):
                with open(f) as fh:
                    rows += list(csv.DictReader(fh))
            locust_p95 = math.nan
            with open(out / "locust_stats.csv") as fh:
                for r in csv.DictReader(fh):
                    if r["Name"] == "Aggregated":
                        locust_p95 = float(r["95%"])
            time.sleep(2.5)  # let Prometheus scrape the last second
            window = int(t1 - t0) + 2
            server_p95 = prom_query(prom, "histogram_quantile(0.95, sum by (le) (increase("
                                    f'http_request_duration_seconds_bucket{{route=~"/v1/.*"}}[{window}s])))',
                                    time.time()) * 1000
        lat = [float(r["latency_ms"]) for r in rows]
        errors = sum(1 for r in rows if r["ok"] != "1")
        fivexx = sum(1 for r in rows if str(r["status"]).startswith("5"))
        print(f"\nload: {args.users} users for {args.duration} s against {api}")
        print(f"  requests {len(rows)}  ({len(rows) / args.duration:.1f}/s)  errors {errors}  5xx {fivexx}")
        print(f"  p50 {percentile(lat, 50):.1f} ms  p95 {percentile(lat, 95):.1f} ms (exact, client)  "
              f"p99 {percentile(lat, 99):.1f} ms")
        print(f"  p95 Locust (rounded) {locust_p95:.0f} ms   p95 server (Prometheus histogram) "
              f"{server_p95:.1f} ms")
        acked = [r["mission_id"] for r in rows if r.get("mission_id")]
        time.sleep(3)  # missions in flight at the end get a moment to finish
        seen = lookup(api, acked)
        done = sum(1 for v in seen["found"].values() if v == "completed")
        print(f"  missions acknowledged {len(acked)}  completed {done}  "
              f"({done / args.duration * 60:.0f}/min)  missing {len(seen['missing'])}")
        share = (cpu1 - cpu0) / ((wall1 - wall0) * (os.cpu_count() or 1))
        print(f"  sandbox CPU share {share:.0%} of {os.cpu_count()} cores")
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 3
    finally:
        if not args.keep_up:
            sandbox("down")


if __name__ == "__main__":
    sys.exit(main())
