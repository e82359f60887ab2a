#!/usr/bin/env python3
"""How long the sandbox takes to come up and to go down: the fixed cost every ``gameday run`` on the
sandbox pays twice, and every whole-run test of ``make test`` with it (about 45 of them).

Each cycle is ``python -m gameday.sandbox up`` then ``down`` on a fresh state directory, timed from
the outside (wall) and from the controller's own events (``sandbox_ready``'s seconds; ``sandbox_stopping``
to ``sandbox_stopped``). With ``--before DIR`` (another source tree, e.g. ``git archive REV | tar -x -C
DIR``) both trees run in turn, cycle by cycle, so that a busy machine slows both alike, and the ratios
before/after are printed. Each tree's own code runs: ``PYTHONPATH=TREE/src`` reaches the controller and
the pods it starts.

    .venv/bin/python benchmarks/sandbox_cycle.py [--runs 5] [--before DIR] [--port-base 25600]

Exit 0 when every cycle came up and went down, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(tree: Path, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m gameday.sandbox --state-dir STATE ARGS`` with ``tree``'s code."""
    return subprocess.run([sys.executable, "-m", "gameday.sandbox", "--state-dir", str(state), *args], cwd=tree,
                          env={**os.environ, "PYTHONPATH": str(tree / "src")}, capture_output=True, text=True,
                          timeout=180, check=False)


def _timed(tree: Path, state: Path, *args: str) -> float:
    """Seconds for one :func:`_run` that must succeed."""
    t0 = time.perf_counter()
    proc = _run(tree, state, *args)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{tree}: sandbox {args[0]} exited {proc.returncode}: {proc.stderr.strip()[-400:]}")
    return elapsed


def _events(state: Path) -> dict[str, float]:
    """The controller's own figures: bring-up seconds, and stopping -> stopped."""
    rows = [json.loads(line) for line in (state / "events.jsonl").read_text().splitlines() if line.strip()]
    at = {r["event"]: float(r["t"]) for r in rows}
    ready = next(float(r["seconds"]) for r in rows if r["event"] == "sandbox_ready")
    return {"ready_s": ready, "stop_s": at["sandbox_stopped"] - at["sandbox_stopping"]}


def cycle(tree: Path, port_base: int) -> dict[str, float]:
    """One up and down of a fresh sandbox; always taken down, even when up failed half-way."""
    state = Path(tempfile.mkdtemp(prefix="gameday-bench-cycle-", dir="/tmp"))
    state.chmod(0o755)
    try:
        up = _timed(tree, state, "up", "--set", f"ports.base={port_base}")
        down = _timed(tree, state, "down")
        return {"up_wall_s": up, "down_wall_s": down, **_events(state)}
    except BaseException:
        _run(tree, state, "down")  # whatever came up of a failed cycle goes down
        raise
    finally:
        shutil.rmtree(state, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="cycles per tree (default 5, at most 20)")
    ap.add_argument("--before", type=Path, help="another source tree to measure in turn with this one")
    ap.add_argument("--port-base", type=int, default=25600, help="the sandbox's port base (default 25600)")
    a = ap.parse_args()
    if not 1 <= a.runs <= 20:
        ap.error("--runs: expected 1..20")
    if not 1024 <= a.port_base <= 32768 - 300:
        ap.error("--port-base: expected 1024..32468 (the sandbox takes ~300 ports from it)")
    trees = {"after": ROOT} if a.before is None else {"before": a.before.resolve(), "after": ROOT}
    for name, tree in trees.items():
        if not (tree / "src" / "gameday" / "sandbox").exists():
            ap.error(f"--before {tree}: no src/gameday/sandbox there" if name == "before"
                     else f"{tree}: not a checkout")
    samples: dict[str, list[dict[str, float]]] = {t: [] for t in trees}
    try:
        for _ in range(a.runs):  # in turn: load on the machine hits both alike
            for tname, tree in trees.items():
                samples[tname].append(cycle(tree, a.port_base))
    except RuntimeError as exc:
        print(f"sandbox_cycle: {exc}", file=sys.stderr)
        return 1
    print(f"{a.runs} cycles each (median, min-max)")
    keys = ("up_wall_s", "ready_s", "down_wall_s", "stop_s")
    for key in keys:
        medians = {}
        for tname in trees:
            values = [s[key] for s in samples[tname]]
            medians[tname] = statistics.median(values)
            print(f"{tname:<6} {key:<12} {medians[tname]:6.2f} s  ({min(values):.2f}-{max(values):.2f})")
        if "before" in medians:
            print(f"       {key:<12} before/after {medians['before'] / medians['after']:.2f}x, "
                  f"{medians['before'] - medians['after']:+.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
