#!/usr/bin/env python3
"""How long the CLI takes to answer before it does any work: ``gameday --help`` and
``gameday validate PROFILE``, each run N times in fresh processes, the median against the
0.5 s budget of issue 15.

Start-up is what a user waits for on every command, and what the CLI tests pay once per
subprocess. It is dominated by imports: a command module that imports pandas, scipy or
matplotlib at its top makes ``--help`` pay for them. With ``--before DIR`` (another copy of the
source tree, e.g. one extracted with ``git archive``) both trees run side by side, interleaved
so that a busy machine slows both alike, and the ratio before/after is printed.

    .venv/bin/python benchmarks/cli_startup.py [--runs 10] [--before DIR] [--profile profiles/sandbox.yaml]

Exit 0 when every command of this tree has a median within the budget, 1 otherwise.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S = 0.5


def once(tree: Path, args: list[str]) -> float:
    """Seconds for one ``python -m gameday.harness.cli ARGS`` in ``tree`` (its sources first on sys.path)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gameday", *args], cwd=tree, capture_output=True, text=True,
                          timeout=60, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{tree}: gameday {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()[-400:]}")
    return elapsed


def interpreter_floor(runs: int) -> float:
    """Median seconds for a bare ``python -c pass``: what no import work can go below."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10, help="runs per command and tree (default 10)")
    ap.add_argument("--before", type=Path, help="another source tree to measure side by side")
    ap.add_argument("--profile", default="profiles/sandbox.yaml", help="profile for validate (relative to the tree)")
    a = ap.parse_args()
    if a.runs < 1 or a.runs > 100:
        ap.error("--runs: expected 1..100")
    trees = {"after": ROOT} if a.before is None else {"before": a.before.resolve(), "after": ROOT}
    for name, tree in trees.items():
        if not (tree / "harness" / "cli.py").is_file():
            ap.error(f"--before {tree}: no harness/cli.py there" if name == "before" else f"{tree}: not a checkout")
    commands = {"--help": ["--help"], "validate": ["validate", a.profile]}
    samples: dict[tuple[str, str], list[float]] = {(t, c): [] for t in trees for c in commands}
    for _ in range(a.runs):  # interleaved: load on the machine hits every series alike
        for cname, args in commands.items():
            for tname, tree in trees.items():
                samples[(tname, cname)].append(once(tree, args))
    floor = interpreter_floor(a.runs)
    print(f"{a.runs} runs each; python -c pass: median {floor:.3f} s; budget {BUDGET_S} s")
    ok = True
    for cname in commands:
        medians = {}
        for tname in trees:
            s = samples[(tname, cname)]
            medians[tname] = statistics.median(s)
            print(f"{tname:<6} gameday {cname:<9} median {medians[tname]:.3f} s  min {min(s):.3f}  max {max(s):.3f}")
        if "before" in medians:
            print(f"       gameday {cname:<9} before/after {medians['before'] / medians['after']:.1f}x")
        within = medians["after"] <= BUDGET_S
        ok = ok and within
        print(f"       gameday {cname:<9} {'within' if within else 'OVER'} the {BUDGET_S} s budget")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
