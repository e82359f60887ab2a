"""The Prometheus evidence of a run: range data of every query the checks use, on disk.

Taken at the end of a run (and on abort), for the run's window, at a step that follows the
scrape interval (:meth:`harness.scrape.ScrapeInterval.step_s`), with every range of the PromQL
at least four scrape intervals (:func:`harness.scrape.queries_for`). Each query gives
``prometheus/<name>.csv`` (timestamp, value, labels as JSON) and a sidecar
``prometheus/<name>.json`` (the PromQL, window, step, scrape interval, counts, and the error if
it failed): the judge says from it what resolution a Prometheus-only figure has.
A query that fails is recorded as failed — never as empty data — so the judge can say
INCONCLUSIVE for the right reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException

from contract.atomic import write_atomic


@dataclass(frozen=True)
class Snapshot:
    name: str
    series: int
    points: int
    error: str | None


def _utc(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, tz=dt.UTC)


def _write_atomic(path: Path, write: Any) -> None:
    """``write(file)`` into memory, then one atomic write (contract.atomic: temp removed on error)."""
    buf = io.StringIO(newline="")
    write(buf)
    write_atomic(path, buf.getvalue())


def _step(step_s: float) -> str:
    """Prometheus's ``step``: a duration for whole seconds, else float seconds (it parses
    ``7.5`` but not ``7.5s``)."""
    return f"{int(step_s)}s" if float(step_s).is_integer() else f"{step_s:.3f}".rstrip("0")


def snapshot_query(prom: PrometheusConnect, name: str, query: str, start: float, end: float, step_s: float,
                   out_dir: Path, resolution: Mapping[str, Any] | None = None) -> Snapshot:
    out_dir.mkdir(parents=True, exist_ok=True)
    error: str | None = None
    result: list[dict[str, Any]] = []
    try:
        result = prom.custom_query_range(query, start_time=_utc(start), end_time=_utc(end), step=_step(step_s))
    except (requests.exceptions.RequestException, PrometheusApiClientException, ValueError) as exc:
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


def snapshot(prometheus_url: str, queries: Mapping[str, str], start: float, end: float, step_s: float,
             out_dir: Path, *, scrape_interval_s: float | None = None,
             interval_source: str | None = None) -> list[Snapshot]:
    """Every query over [start, end]; Prometheus unreachable makes each one a recorded failure.
    ``scrape_interval_s`` (and where it was read) goes into each sidecar."""
    resolution = {"scrape_interval_s": scrape_interval_s, "scrape_interval_source": interval_source}
    prom = PrometheusConnect(url=prometheus_url, disable_ssl=False, timeout=10)  # https: certificates verified
    if not _reachable(prom):
        err = f"Prometheus at {prometheus_url} unreachable"
        out: list[Snapshot] = []
        for name, query in queries.items():
            out_dir.mkdir(parents=True, exist_ok=True)
            _write_atomic(out_dir / f"{name}.csv", lambda f: csv.writer(f).writerow(["timestamp", "value", "labels"]))
            meta = {"name": name, "query": query, "start": start, "end": end, "step_s": step_s, **resolution,
                    "series": 0, "points": 0, "error": err}
            _write_atomic(out_dir / f"{name}.json", lambda f, m=meta: json.dump(m, f, indent=2))
            out.append(Snapshot(name, 0, 0, err))
        return out
    return [snapshot_query(prom, n, q, start, end, step_s, out_dir, resolution) for n, q in queries.items()]


def _reachable(prom: PrometheusConnect) -> bool:
    try:
        r = requests.get(f"{prom.url}/-/ready", timeout=3)
        return r.status_code == 200
    except requests.exceptions.RequestException:
        return False
