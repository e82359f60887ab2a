#!/usr/bin/env python3
"""Verdict stability: run the smoke certification N times on a healthy sandbox, report the GO rate.

A harness that says GO on a healthy target only most of the time trains its users to re-run
until green. This runs ``gameday run profiles/smoke.yaml`` N times in a row (each brings its
sandbox up and down, as CI does), keeps every run directory, and reports per run the verdict,
the duration and every check that did not pass, then the GO rate with its 95 % Wilson
interval (scipy) — and builds ``gameday history`` over the runs.

    .venv/bin/python benchmarks/go_rate.py [--runs 10] [--out runs/go-rate] [--port-base 17400]
                                           [--profile profiles/smoke.yaml] [--set path=value ...]
                                           [--lock /tmp/gameday-heavy.lock]
With --lock, each run holds an exclusive flock on that file (one run at a time on a shared
machine, others' heavy jobs in between), not the whole series.
Exit 0 when every run said GO, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scipy.stats import binomtest

ROOT = Path(__file__).resolve().parent.parent


def one_run(i: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    run_dir = out / f"run-{i:02d}"
    state = Path(tempfile.mkdtemp(prefix="gameday-go-rate-", dir="/tmp"))
    state.chmod(0o755)
    sets = [f"target.sandbox.ports.base={args.port_base}", f"target.sandbox_state_dir={state}", *args.set]
    argv = [sys.executable, "-m", "gameday", "run", args.profile, "--out", str(run_dir),
            *[a for s in sets for a in ("--set", s)]]
    t0 = time.monotonic()
    try:
        r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=args.timeout, check=False)
        code: int | str = r.returncode
        if run_dir.exists():
            (run_dir / "gameday.log").write_text(r.stdout + r.stderr)
    except subprocess.TimeoutExpired:
        code = "timeout"
    finally:
        subprocess.run([sys.executable, "-m", "gameday.sandbox", "--state-dir", str(state), "down"], cwd=ROOT,
                       capture_output=True, timeout=120, check=False)
        shutil.rmtree(state, ignore_errors=True)
    took = time.monotonic() - t0
    try:
        res = json.loads((run_dir / "results.json").read_text())
    except (OSError, ValueError):
        res = {"verdict": "NONE", "checks": []}
    not_passed = [f"{c['id']} [{c['window']}] {c['status']}: {c['message']}" for c in res["checks"]
                  if c["status"] != "PASS" and c["id"] in res.get("required", [c["id"]])]
    return {"run": run_dir.name, "exit": code, "verdict": res["verdict"], "seconds": round(took, 1),
            "not_passed": not_passed}


@contextlib.contextmanager
def _held(lock: Path | None) -> Iterator[None]:
    if lock is None:
        yield
        return
    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / f"go-rate-{stamp}")
    ap.add_argument("--profile", default="profiles/smoke.yaml")
    ap.add_argument("--port-base", type=int, default=17400)
    ap.add_argument("--timeout", type=float, default=600, help="per run (s)")
    ap.add_argument("--set", action="append", default=[], help="profile override, as for gameday run")
    ap.add_argument("--lock", type=Path, help="hold an exclusive flock on this file during each run")
    args = ap.parse_args()
    if not 1 <= args.runs <= 100:
        print("go_rate: --runs: expected 1..100", file=sys.stderr)
        return 64
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(1, args.runs + 1):
        with _held(args.lock):
            row = one_run(i, args, args.out)
        rows.append(row)
        print(f"{row['run']}  {row['verdict']:<12} exit {row['exit']}  {row['seconds']:6.1f} s", flush=True)
        for line in row["not_passed"]:
            print(f"    {line}", flush=True)
    go = sum(r["verdict"] == "GO" for r in rows)
    ci = binomtest(go, len(rows)).proportion_ci(confidence_level=0.95, method="wilson")
    summary = {"profile": args.profile, "runs": len(rows), "go": go, "go_rate": go / len(rows),
               "go_rate_ci95": [round(ci.low, 3), round(ci.high, 3)],
               "median_seconds": sorted(r["seconds"] for r in rows)[len(rows) // 2], "rows": rows}
    (args.out / "go_rate.json").write_text(json.dumps(summary, indent=2))
    print(f"GO {go}/{len(rows)} = {go / len(rows):.0%} (95 % Wilson interval {ci.low:.0%}-{ci.high:.0%}); "
          f"median {summary['median_seconds']} s per run; {args.out / 'go_rate.json'}")
    subprocess.run([sys.executable, "-m", "gameday", "history", str(args.out)], cwd=ROOT, check=False)
    return 0 if go == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
