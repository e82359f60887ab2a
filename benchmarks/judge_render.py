#!/usr/bin/env python3
"""Judge + render time and peak memory on synthetic run directories of N requests.

Each size runs in a fresh process (so peak RSS is that size's own): load the run directory,
judge it, write results.json, report.md, junit.xml, the charts and report.html.

    .venv/bin/python benchmarks/judge_render.py [--sizes 10000 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DURATION_S = 600.0
PHASES = (("warmup", 0, 60), ("baseline", 60, 240), ("fault:db-failover", 240, 330), ("fault:bad-release", 330, 420),
          ("cooldown", 420, 600))


def make(run_dir: Path, n: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, DURATION_S, n)) + 1.8e9
    lat = rng.lognormal(3.5, 0.6, n)
    status = np.where(rng.random(n) < 0.2, 201, 200)
    outage = (t - 1.8e9 > 245) & (t - 1.8e9 < 252)
    status[outage & (rng.random(n) < 0.5)] = 503
    mission = np.where(status == 201, np.char.add("m", np.arange(n).astype(str)), "")
    with open(run_dir / "requests.local-1.csv", "w") as f:
        f.write("t_start,latency_ms,name,method,status,ok,error,mission_id,t_intended,latency_intended_ms\n")
        ok = (status < 500).astype(int)
        method = np.where(status == 201, "POST", "GET")
        rows = np.column_stack([np.char.mod("%.6f", t), np.char.mod("%.3f", lat), np.full(n, "/v1/x"), method,
                                status.astype(str), ok.astype(str), np.full(n, ""), mission, np.full(n, ""),
                                np.full(n, "")])
        np.savetxt(f, rows, fmt="%s", delimiter=",")
    acked = mission[mission != ""]
    with open(run_dir / "acks.local-1.csv", "w") as f:
        f.write("t_ack,mission_id,latency_ms\n")
        f.writelines(f"1.8e9,{m},3.0\n" for m in acked)
    (run_dir / "readback.json").write_text(json.dumps({"found": dict.fromkeys(acked.tolist(), "completed"),
                                                       "missing": []}))
    (run_dir / "profile.yaml").write_text("name: bench\n")
    with open(run_dir / "timeline.jsonl", "w") as f:
        for name, a, b in PHASES:
            f.write(json.dumps({"t": 1.8e9 + a, "event": "phase_started", "phase": name}) + "\n")
            if name.startswith("fault:"):
                f.write(json.dumps({"t": 1.8e9 + a + 5, "event": "fault_injected", "phase": name,
                                    "fault": name[6:]}) + "\n")
            f.write(json.dumps({"t": 1.8e9 + b, "event": "phase_ended", "phase": name}) + "\n")
        f.write(json.dumps({"t": 1.8e9 + DURATION_S, "event": "run_finished", "status": "completed"}) + "\n")
    prom = run_dir / "prometheus"
    prom.mkdir()
    for name in ("missions_per_min", "latency_p95", "startup_p95", "warm_pool_size", "deployment_revision",
                 "health_check_failures", "deployment_rollbacks"):
        with open(prom / f"{name}.csv", "w") as f:
            f.write("timestamp,value,labels\n")
            f.writelines(f"{1.8e9 + s},1.0,{{}}\n" for s in range(int(DURATION_S)))
        (prom / f"{name}.json").write_text(json.dumps({"name": name, "query": "q", "error": None}))


def measure(run_dir: Path) -> dict[str, float]:
    from gameday.analysis import results
    from gameday.analysis.judge import judge
    from gameday.analysis.render import charts, html, junit, markdown
    from gameday.analysis.run import load_run

    t0 = time.perf_counter()
    run = load_run(run_dir)
    t1 = time.perf_counter()
    j = judge(run)
    t2 = time.perf_counter()
    results.write(run_dir, j, "completed")
    markdown.write(run_dir / "report.md", run, j, "completed")
    junit.write(run_dir / "junit.xml", j, run_dir.name, "completed")
    html.write(run_dir, run, j, "completed", charts.render(run))
    t3 = time.perf_counter()
    return {"load_s": t1 - t0, "judge_s": t2 - t1, "render_s": t3 - t2, "total_s": t3 - t0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "verdict": j.verdict.value}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return 0
    if any(not 1 <= n <= 5_000_000 for n in args.sizes):
        print("sizes: 1..5,000,000", file=sys.stderr)
        return 64
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="gameday-bench-") as tmp:
            make(Path(tmp), n)
            out = subprocess.run([sys.executable, __file__, "--one", tmp], capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append((n, r))
            print(f"{n:>9} requests: load {r['load_s']:.2f} s, judge {r['judge_s']:.2f} s, "
                  f"render {r['render_s']:.2f} s, total {r['total_s']:.2f} s, "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB ({r['verdict']})")
    if len(rows) >= 2:
        (n0, a), (n1, b) = rows[0], rows[-1]
        print(f"growth {n0}->{n1} requests (x{n1 / n0:.0f}): time x{b['total_s'] / a['total_s']:.1f}, "
              f"memory x{b['peak_rss_mb'] / a['peak_rss_mb']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
