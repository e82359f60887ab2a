#!/usr/bin/env python3
"""Cost of full capture at Locust's highest rate: requests per CPU-second with the gameday
recorder (Arrow batches) vs plain Locust, for ``HttpUser`` (loadtests/crew_spawn.py) and
``FastHttpUser`` (benchmarks/fast_crew.py), no think time, one Locust process each, against the
tiny local nginx of benchmarks/load_capture.py (answers from memory: the load generator is what
is measured). Three kinds of run alternate per user class: plain Locust; the same Locust command
with the recorder plugin added (``-f theirs.py,harness/load/plugin.py``: the capture alone); and
gameday's load runner (the capture plus what the runner adds: Locust's CSV stats, its HTML
report, the live progress file). CPU is user+system of every Locust process; every run with the
recorder must have recorded one row per request Locust counted.

    .venv/bin/python benchmarks/capture_fast.py [--seconds 20] [--rounds 3] [--users 20]
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from load_capture import CREW, MISSION, NGINX_CONF, PORT, run_gameday, run_plain  # noqa: E402

from gameday.analysis.recorded import read_requests  # noqa: E402
from gameday.harness.load.runner import PLUGIN  # noqa: E402


def run_plugin(locustfile: Path, host: str, users: int, seconds: int, out: Path) -> tuple[int, float, int]:
    """Plain Locust's command with the recorder plugin beside the locustfile, recording into ``out``."""
    os.environ["GAMEDAY_RUN_DIR"] = str(out)
    try:
        n, cpu = run_plain(Path(f"{locustfile},{PLUGIN}"), host, users, seconds, out)
    finally:
        del os.environ["GAMEDAY_RUN_DIR"]
    return n, cpu, len(read_requests(out))


CLASSES = (("HttpUser", HERE.parent / "loadtests" / "crew_spawn.py"), ("FastHttpUser", HERE / "fast_crew.py"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--only", choices=[c for c, _ in CLASSES], help="one user class only")
    args = ap.parse_args()
    if not (1 <= args.seconds <= 300 and 1 <= args.rounds <= 10 and 1 <= args.users <= 500):
        print("bounds: --seconds 1..300, --rounds 1..10, --users 1..500", file=sys.stderr)
        return 64
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    host = f"http://127.0.0.1:{PORT}"
    summary: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="gameday-capture-") as tmp:
        d = Path(tmp)
        (d / "nginx.conf").write_text(NGINX_CONF.format(d=d, port=PORT, crew=CREW, mission=MISSION))
        server = subprocess.Popen([nginx, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")],
                                  start_new_session=True)
        try:
            time.sleep(0.5)
            for label, locustfile in CLASSES:
                if args.only and label != args.only:
                    continue
                plain, plug, ours, lost = [], [], [], []
                for i in range(args.rounds):
                    n, cpu = run_plain(locustfile, host, args.users, args.seconds, d / f"{label}-plain{i}")
                    plain.append(n / cpu)
                    print(f"{label:<12} round {i + 1}: plain Locust      {n:7d} requests, {cpu:6.2f} CPU-s, "
                          f"{n / cpu:8.1f} req/CPU-s", flush=True)
                    n, cpu, rows = run_plugin(locustfile, host, args.users, args.seconds, d / f"{label}-plugin{i}")
                    plug.append(n / cpu)
                    lost.append(n - rows)
                    print(f"{label:<12} round {i + 1}: Locust + recorder {n:7d} requests, {cpu:6.2f} CPU-s, "
                          f"{n / cpu:8.1f} req/CPU-s, {rows} rows ({n - rows} requests without a row)", flush=True)
                    n, cpu, rows = run_gameday(locustfile, host, args.users, args.seconds, d / f"{label}-ours{i}")
                    ours.append(n / cpu)
                    lost.append(n - rows)
                    print(f"{label:<12} round {i + 1}: gameday runner    {n:7d} requests, {cpu:6.2f} CPU-s, "
                          f"{n / cpu:8.1f} req/CPU-s, {rows} rows ({n - rows} requests without a row)", flush=True)
                base = sorted(plain)[len(plain) // 2]
                ratio_plug = sorted(plug)[len(plug) // 2] / base
                ratio = sorted(ours)[len(ours) // 2] / base
                summary[label] = {"capture_ratio": round(ratio_plug, 3), "runner_ratio": round(ratio, 3),
                                  "plain_req_per_cpu_s": [round(x, 1) for x in plain],
                                  "recorder_req_per_cpu_s": [round(x, 1) for x in plug],
                                  "runner_req_per_cpu_s": [round(x, 1) for x in ours], "rows_missing": lost}
                print(f"{label}: median requests per CPU-second / plain Locust's: with the recorder {ratio_plug:.3f}, "
                      f"gameday's runner {ratio:.3f}\n", flush=True)
            print(json.dumps(summary))
        finally:
            server.send_signal(signal.SIGQUIT)
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
