"""The Prometheus evidence of a run: range data of every query the checks use, on disk.

Taken at the end of a run (and on abort), for the run's window, at a step that follows the
scrape interval (:meth:`gameday.harness.scrape.ScrapeInterval.step_s`), with every range of the PromQL
at least four scrape intervals (:func:`gameday.harness.scrape.queries_for`). Each query gives
``prometheus/<name>.csv`` (timestamp, value, labels as JSON) and a sidecar
``prometheus/<name>.json`` (the PromQL, window, step, scrape interval, counts, and the error if
it failed): the judge says from it what resolution a Prometheus-only figure has.
A query that fails is recorded as failed — never as empty data — so the judge can say
INCONCLUSIVE for the right reason.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gameday.contract.atomic import write_atomic
from gameday.harness import promclient
from gameday.harness.errors import BadInput
from gameday.harness.promclient import Access, PrometheusError


@dataclass(frozen=True)
class Snapshot:
    name: str
    series: int
    points: int
    error: str | None


def _write_atomic(path: Path, write: Any) -> None:
    """``write(file)`` into memory, then one atomic write (gameday.contract.atomic: temp removed on error)."""
    buf = io.StringIO(newline="")
    write(buf)
    write_atomic(path, buf.getvalue())


def _step(step_s: float) -> str:
    """Prometheus's ``step``: a duration for whole seconds, else float seconds (it parses
    ``7.5`` but not ``7.5s``)."""
    return f"{int(step_s)}s" if float(step_s).is_integer() else f"{step_s:.3f}".rstrip("0")


def snapshot_query(prom: promclient.Client, name: str, query: str, start: float, end: float, step_s: float,
                   out_dir: Path, resolution: Mapping[str, Any] | None = None) -> Snapshot:
    out_dir.mkdir(parents=True, exist_ok=True)
    error: str | None = None
    result: list[dict[str, Any]] = []
    try:
        result = prom.query_range(query, start, end, _step(step_s))
    except (PrometheusError, ValueError) as exc:
        error = f"{type(exc).__name__}: {str(exc)[:300]}"
    points = 0

    def rows(f: Any) -> None:
        nonlocal points
        w = csv.writer(f)
        w.writerow(["timestamp", "value", "labels"])
        for series in result:
            labels = json.dumps(series.get("metric", {}), sort_keys=True)
            for ts, value in series.get("values", []):
                w.writerow([f"{float(ts):.3f}", value, labels])
                points += 1

    _write_atomic(out_dir / f"{name}.csv", rows)
    meta = {"name": name, "query": query, "start": start, "end": end, "step_s": step_s, **(resolution or {}),
            "series": len(result), "points": points, "error": error}
    _write_atomic(out_dir / f"{name}.json", lambda f: json.dump(meta, f, indent=2))
    return Snapshot(name, len(result), points, error)


def snapshot(prometheus: str | Access, queries: Mapping[str, str], start: float, end: float, step_s: float,
             out_dir: Path, *, scrape_interval_s: float | None = None,
             interval_source: str | None = None) -> list[Snapshot]:
    """Every query over [start, end], through :mod:`gameday.harness.promclient` (certificates verified, the
    profile's credentials); Prometheus unreachable, a certificate that does not verify or
    credentials refused make each one a recorded failure that says so (the judge: INCONCLUSIVE).
    ``scrape_interval_s`` (and where it was read) goes into each sidecar."""
    resolution = {"scrape_interval_s": scrape_interval_s, "scrape_interval_source": interval_source}
    access = promclient.at(prometheus) if isinstance(prometheus, str) else prometheus
    err: str | None = None
    prom: promclient.Client | None = None
    try:
        prom = promclient.client(access)
        prom.ready()
    except (PrometheusError, BadInput) as exc:  # unreachable, certificate, credentials: said in each sidecar
        err = f"{type(exc).__name__}: {str(exc)[:300]}"
    if err is not None or prom is None:
        out: list[Snapshot] = []
        for name, query in queries.items():
            out_dir.mkdir(parents=True, exist_ok=True)
            _write_atomic(out_dir / f"{name}.csv", lambda f: csv.writer(f).writerow(["timestamp", "value", "labels"]))
            meta = {"name": name, "query": query, "start": start, "end": end, "step_s": step_s, **resolution,
                    "series": 0, "points": 0, "error": err}
            _write_atomic(out_dir / f"{name}.json", lambda f, m=meta: json.dump(m, f, indent=2))
            out.append(Snapshot(name, 0, 0, err))
        return out
    try:
        return [snapshot_query(prom, n, q, start, end, step_s, out_dir, resolution) for n, q in queries.items()]
    finally:
        prom.close()
