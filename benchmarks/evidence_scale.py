#!/usr/bin/env python3
"""Evidence at game-day scale: judge + render time, peak RSS and bytes on disk per request,
before (CSV rows, the format runs had until issue 19) and after (Arrow IPC streams), side by side.

Each (format, size) is one synthetic run directory (600 s, five phases, a 7 s outage, 20 % crew
spawns each with an ack) judged and rendered in a fresh process, so its peak RSS is its own:
load the run directory, judge, write results.json, report.md, junit.xml, charts and report.html.
The Arrow run is written as the Locust plugin writes it: one batch per ``--batch-rows`` rows (a
second at 3,000 requests/s), each by ``gameday.contract.columnar``'s encoder. The CSV run has the rows
the plugin used to write. ``--before-tree DIR`` judges the CSV runs with the code in DIR (e.g. an
``git archive HEAD`` of the tree before the change) instead of this tree's CSV reader. Also: the
judged baseline p95 against numpy's nearest rank over the same samples.

``--base-tree DIR`` (e.g. ``git worktree add /tmp/base <commit>``) adds, beside each Arrow row of
this tree, the same synthetic run written *and* judged by DIR's code: before and after side by
side in one run of the benchmark, on the same machine at the same time. ``--replay RUN_DIR``
re-writes a recorded run's streams batch for batch (as its Locust process wrote them, a batch a
second) with each tree's ``StreamFile`` and reports the bytes per request of each: what a run at
that rate costs on disk, before and after.

Peak RSS is printed in MB = 10^6 bytes (``VmHWM`` of the judging process alone).

    .venv/bin/python benchmarks/evidence_scale.py [--after 1000000 10000000] [--before 100000 1000000]
        [--base-tree DIR] [--replay RUN_DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

T0 = 1.8e9
DURATION_S = 600.0
PHASES = (("warmup", 0, 60), ("baseline", 60, 240), ("fault:db-failover", 240, 330), ("fault:bad-release", 330, 420),
          ("cooldown", 420, 600))
CHUNK = 1_000_000
HEADER = "t_start,latency_ms,name,method,status,ok,error,mission_id,t_intended,latency_intended_ms\n"
NAMES = np.array(["/v1/missions/{id}", "/v1/crews"])


def _chunks(n: int, seed: int):  # type: ignore[no-untyped-def]
    """The synthetic requests in time order, a million at a time: (t, latency ms, status, mission ids)."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < n:
        k = min(CHUNK, n - done)
        # evenly spread start times with jitter, in order, over the run
        t = T0 + (np.arange(done, done + k) + rng.random(k)) * (DURATION_S / n)
        lat = np.round(rng.lognormal(3.5, 0.6, k), 3)
        status = np.where(rng.random(k) < 0.2, 201, 200)
        outage = (t - T0 > 245) & (t - T0 < 252)
        status[outage & (rng.random(k) < 0.5)] = 503
        mission = np.where(status == 201, np.char.add("m", np.arange(done, done + k).astype(str)), "")
        yield t, lat, status, mission
        done += k


def _common(run_dir: Path) -> None:
    (run_dir / "profile.yaml").write_text("name: bench\n")
    with open(run_dir / "timeline.jsonl", "w") as f:
        for name, a, b in PHASES:
            f.write(json.dumps({"t": T0 + a, "event": "phase_started", "phase": name}) + "\n")
            if name.startswith("fault:"):
                f.write(json.dumps({"t": T0 + a + 5, "event": "fault_injected", "phase": name,
                                    "fault": name[6:]}) + "\n")
            f.write(json.dumps({"t": T0 + b, "event": "phase_ended", "phase": name}) + "\n")
        f.write(json.dumps({"t": T0 + DURATION_S, "event": "run_finished", "status": "completed"}) + "\n")
    prom = run_dir / "prometheus"
    prom.mkdir()
    for name in ("missions_per_min", "latency_p95", "startup_p95", "warm_pool_size", "deployment_revision",
                 "health_check_failures", "deployment_rollbacks"):
        with open(prom / f"{name}.csv", "w") as f:
            f.write("timestamp,value,labels\n")
            f.writelines(f"{T0 + s},1.0,{{}}\n" for s in range(int(DURATION_S)))
        (prom / f"{name}.json").write_text(json.dumps({"name": name, "query": "q", "error": None}))


def _readback(run_dir: Path, acked: list[str]) -> None:
    with open(run_dir / "readback.json", "w") as f:
        f.write('{"missing": [], "found": {')
        f.write(",".join(f'"{m}": "completed"' for m in acked))
        f.write("}}")


def make_csv(run_dir: Path, n: int, seed: int = 7) -> None:
    """The rows as the plugin wrote them before: one CSV line per request, one per ack."""
    acked: list[str] = []
    with open(run_dir / "requests.local-1.csv", "w") as req, open(run_dir / "acks.local-1.csv", "w") as ack:
        req.write(HEADER)
        ack.write("t_ack,mission_id,latency_ms,startup_ms,pool\n")
        for t, lat, status, mission in _chunks(n, seed):
            crew = status != 200
            rows = np.column_stack([np.char.mod("%.6f", t), np.char.mod("%.3f", lat), NAMES[crew.astype(int)],
                                    np.where(crew, "POST", "GET"), status.astype(str),
                                    (status < 500).astype(int).astype(str),
                                    np.full(len(t), ""), mission, np.full(len(t), ""), np.full(len(t), "")])
            np.savetxt(req, rows, fmt="%s", delimiter=",")
            sel = mission != ""
            ack.writelines(f"{a:.6f},{m},{x:.3f},800.000,warm\n"
                           for a, m, x in zip(t[sel] + lat[sel] / 1000, mission[sel], lat[sel], strict=True))
            acked += mission[sel].tolist()
    _readback(run_dir, acked)
    _common(run_dir)


def make_arrow(run_dir: Path, n: int, batch_rows: int, seed: int = 7) -> None:
    """The same rows as the plugin writes them now: Arrow stream batches of ``batch_rows``."""
    import pyarrow as pa

    from gameday.contract.columnar import ACK_SCHEMA, REQUEST_SCHEMA, StreamFile, micros, strings

    acked: list[str] = []
    req = StreamFile(str(run_dir / "requests.local-1.arrows"), REQUEST_SCHEMA)
    ack = StreamFile(str(run_dir / "acks.local-1.arrows"), ACK_SCHEMA)
    for t, lat, status, mission in _chunks(n, seed):
        crew = status != 200
        for i in range(0, len(t), batch_rows):
            s = slice(i, i + batch_rows)
            k = len(t[s])
            nan = np.full(k, math.nan)
            req.write(pa.record_batch([
                micros(t[s], 1e6), micros(lat[s], 1e3), strings(NAMES[crew[s].astype(int)].tolist()),
                strings(np.where(crew[s], "POST", "GET").tolist()), pa.array(status[s].astype("int16")),
                pa.array((status[s] < 500).astype("int8")), strings([""] * k),
                pa.array(mission[s].tolist(), type=pa.string()), micros(nan, 1e6), micros(nan, 1e3)],
                schema=REQUEST_SCHEMA))
            sel = mission[s] != ""
            if sel.any():
                m = mission[s][sel]
                ack.write(pa.record_batch([
                    micros(t[s][sel] + lat[s][sel] / 1000, 1e6), pa.array(m.tolist(), type=pa.string()),
                    micros(lat[s][sel], 1e3), micros(np.full(len(m), 800.0), 1e3), strings(["warm"] * len(m))],
                    schema=ACK_SCHEMA))
                acked += m.tolist()
    req.close(sync=False)
    ack.close(sync=False)
    _readback(run_dir, acked)
    _common(run_dir)


def rewrite(run_dir: Path, out: Path) -> dict[str, int]:
    """The run's request and ack streams re-written batch for batch (the batches its process wrote)
    by this process's ``gameday.contract.columnar`` StreamFile, closed as the plugin closes it."""
    from gameday.contract.columnar import ACK_SCHEMA, REQUEST_SCHEMA, StreamFile, read_stream

    got = {"requests": 0, "acks": 0, "request_batches": 0, "ack_batches": 0}
    for kind, schema in (("requests", REQUEST_SCHEMA), ("acks", ACK_SCHEMA)):
        for path in sorted(run_dir.glob(f"{kind}.*.arrows")):
            read = read_stream(path)
            f = StreamFile(str(out / path.name), schema)
            for batch in read.batches:
                f.write(batch)
                got[kind] += batch.num_rows
                got[f"{kind[:-1]}_batches"] += 1
            f.close()
    got["bytes"] = evidence_bytes(out)
    return got


def expected_p95(n: int, seed: int = 7) -> tuple[float, int]:
    """numpy's nearest rank (sorted sample ceil(0.95 n)) over the baseline window's latencies."""
    keep = []
    for t, lat, _, _ in _chunks(n, seed):
        keep.append(lat[(t >= T0 + 60) & (t < T0 + 240)])
    lat = np.sort(np.concatenate(keep))
    return float(lat[math.ceil(0.95 * len(lat)) - 1]), len(lat)


def evidence_bytes(run_dir: Path) -> int:
    return sum(p.stat().st_size for p in run_dir.iterdir() if p.name.startswith(("requests.", "acks.")))


def peak_rss_bytes() -> float:
    return peak_rss_mb() * 1024 * 1024


def peak_rss_mb() -> float:
    """This process's own peak RSS: ``VmHWM`` (per address space, so reset by exec). Not
    ``ru_maxrss``: on Linux it survives fork and exec, so a judge started by a parent that had
    just generated a million CSV rows would report the parent's peak (benchmarks/judge_render.py
    does: its figures can be the generator's, not the judge's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(run_dir: Path) -> dict[str, object]:
    from gameday.analysis import results
    from gameday.analysis.judge import judge
    from gameday.analysis.render import charts, html, junit, markdown
    from gameday.analysis.run import load_run

    c0 = time.process_time()
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
    cpu = time.process_time() - c0
    p95 = next((r.value for r in j.results if r.id == "latency_p95" and r.window.startswith("baseline")), None)
    return {"load_s": t1 - t0, "judge_s": t2 - t1, "render_s": t3 - t2, "total_s": t3 - t0, "cpu_s": cpu,
            "peak_rss_mb": peak_rss_mb(), "peak_rss_MB": peak_rss_bytes() / 1e6,
            "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "verdict": j.verdict.value,
            "baseline_p95": p95, "damage": [str(d) for d in run.damage][:3]}


def _in_tree(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """This script in a fresh process that imports ``contract`` and ``analysis`` from ``tree``."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    return subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, cwd=tree)


def one(fmt: str, n: int, tree: Path, batch_rows: int, check_p95: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="gameday-scale-") as tmp:
        d = Path(tmp)
        t = time.perf_counter()
        if fmt == "csv":
            make_csv(d, n)
        else:  # written by the tree's own encoder (gameday.contract.columnar), as its plugin would
            made = _in_tree(tree, "--make", tmp, str(n), str(batch_rows))
            if made.returncode != 0:
                raise SystemExit(f"{fmt} {n}: writing the run failed:\n{made.stderr[-3000:]}")
        made_s = time.perf_counter() - t
        size = evidence_bytes(d)
        out = _in_tree(tree, "--one", tmp)
        if out.returncode != 0:
            raise SystemExit(f"{fmt} {n}: the judge failed:\n{out.stderr[-3000:]}")
        r: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
        r.update(fmt=fmt, n=n, bytes=size, bytes_per_request=size / n, made_s=made_s)
        if check_p95:
            exp, samples = expected_p95(n)
            r.update(numpy_p95=exp, p95_samples=samples)
        return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--after", type=int, nargs="*", default=[100_000, 1_000_000, 10_000_000])
    ap.add_argument("--before", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--before-tree", type=Path, default=ROOT, help="the code that judges the CSV runs")
    ap.add_argument("--batch-rows", type=int, default=3000)
    ap.add_argument("--json", type=Path, help="also write every row here")
    ap.add_argument("--base-tree", type=Path, help="also write and judge each Arrow run with the code in DIR")
    ap.add_argument("--replay", type=Path, help="a recorded run: its batches re-written by each tree, bytes/request")
    ap.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--make", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--rewrite", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        sys.path.insert(0, os.getcwd())
        print(json.dumps(measure(args.one)))
        return 0
    if args.make:
        sys.path.insert(0, os.getcwd())
        make_arrow(Path(args.make[0]), int(args.make[1]), int(args.make[2]))
        return 0
    if args.rewrite:
        sys.path.insert(0, os.getcwd())
        print(json.dumps(rewrite(*args.rewrite)))
        return 0
    if any(not 1_000 <= n <= 20_000_000 for n in [*args.after, *args.before]) or not 1 <= args.batch_rows <= 100_000:
        print("sizes: 1,000..20,000,000; --batch-rows 1..100,000", file=sys.stderr)
        return 64
    sys.path.insert(0, str(ROOT))
    rows = []
    plan = [("csv", "before", n, args.before_tree) for n in args.before]
    for n in args.after:
        if args.base_tree:
            plan.append(("arrow", "base", n, args.base_tree))
        plan.append(("arrow", "this", n, ROOT))
    print(f"{'format':<6} {'code':<5} {'requests':>10} {'load s':>7} {'judge s':>7} {'render s':>8} {'total s':>7} "
          f"{'CPU s':>6} {'peak RSS MB':>11} {'bytes/req':>9}  verdict  baseline p95 (judged / numpy nearest rank)")
    for fmt, code, n, tree in plan:
        r = one(fmt, n, tree, args.batch_rows, check_p95=True)
        r["code"] = code
        rows.append(r)
        p95 = f"{r['baseline_p95']} / {r['numpy_p95']} ({r['p95_samples']} samples)"
        print(f"{fmt:<6} {code:<5} {n:>10,} {r['load_s']:>7.2f} {r['judge_s']:>7.2f} {r['render_s']:>8.2f} "
              f"{r['total_s']:>7.2f} {r['cpu_s']:>6.2f} {r['peak_rss_MB']:>11.0f} {r['bytes_per_request']:>9.2f}  "
              f"{r['verdict']:<7}  {p95}", flush=True)
    if args.replay:
        for code, tree in ([("base", args.base_tree)] if args.base_tree else []) + [("this", ROOT)]:
            with tempfile.TemporaryDirectory(prefix="gameday-replay-") as tmp:
                out = _in_tree(tree, "--rewrite", str(args.replay), tmp)
                if out.returncode != 0:
                    raise SystemExit(f"replay with {tree} failed:\n{out.stderr[-3000:]}")
                r = json.loads(out.stdout.strip().splitlines()[-1])
                r["code"] = code
                rows.append(r)
                print(f"replay {code:<5} {args.replay}: {r['requests']:,} requests in {r['request_batches']} batches, "
                      f"{r['acks']:,} acks in {r['ack_batches']} batches: {r['bytes']:,} bytes on disk, "
                      f"{r['bytes'] / max(r['requests'], 1):.2f} bytes/request", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
