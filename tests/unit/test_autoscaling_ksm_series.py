"""The cluster path of the autoscaling checks: the HPA series as kube-state-metrics v2 exports them
(``internal/store/horizontalpodautoscaler.go``), recorded in a run directory as Prometheus returns them.

kube-state-metrics labels every HPA series ``namespace`` and ``horizontalpodautoscaler``; the target
metric series add ``metric_name`` and ``metric_target_type`` (``value`` | ``utilization`` | ``average``).
A Resource metric with a utilization target has one spec row (``utilization``), and its status two
rows under the same ``metric_name`` (``utilization`` in %, ``average`` in cores); an External metric
with a ``Value`` target has ``value`` rows. Scraped through a ServiceMonitor (honorLabels) each series
also carries the scrape's labels. The checks must read the utilization against its target, not the
cores: here the cores row alone never crosses the target, the utilization does.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from gameday.analysis.judge import CHECKERS
from gameday.analysis.run import load_run
from gameday.analysis.verdict import Status
from tests.unit.test_autoscaling_checks import PHASES, only, series, steps

SCRAPE = {"container": "kube-state-metrics", "endpoint": "http-metrics", "instance": "10.0.3.7:8080",
          "job": "kube-state-metrics", "pod": "kube-state-metrics-6c9f7d8b5-x2k4p", "service": "kube-state-metrics"}
NS = "hypercode"
CPU_REQUEST_CORES = 0.5
# §6.2 as written: core API on CPU 60 %, 3..15; workers on queue_depth 100, 2..20 (windows short for the test)
LINES = {"scale_up_window_s": 20, "scale_down_window_s": 30, "scale_out_bound_s": 15, "queue_max": 100,
         "queue_drain_s": 30,
         "hpas": {"core-api": {"deployment": "core-api", "metric": "cpu", "target": 60, "min_replicas": 3,
                               "max_replicas": 15},
                  "worker": {"deployment": "worker", "metric": "queue_depth", "target": 100, "min_replicas": 2,
                             "max_replicas": 20}}}
# the spike (30..90 s) pushes both metrics over their targets from 32 s until the scale-out at 62 s
CPU = steps((0, 32, 30), (32, 62, 150), (62, 90, 80), (90, 160, 20))  # utilization, % of the request
QUEUE = steps((0, 32, 20), (32, 62, 250), (62, 90, 60), (90, 160, 10))


def hpa(name: str, **more: str) -> dict[str, str]:
    """One series' labels: kube-state-metrics' own, then the scrape's."""
    return {"horizontalpodautoscaler": name, "namespace": NS, **more, **SCRAPE}


def ksm_run(tmp: Path, *, api: tuple[int, int, int], worker: tuple[int, int, int]) -> Path:
    """A run whose evidence is kube-state-metrics' HPA series; ``api`` / ``worker``: (min, max, peak)."""
    tmp.mkdir(parents=True)
    (tmp / "profile.yaml").write_text(yaml.safe_dump({"name": "cluster", "checks": {"autoscaling": LINES}}))
    with open(tmp / "timeline.jsonl", "w") as f:
        for name, t0, t1 in PHASES:
            f.write(json.dumps({"t": t0, "event": "phase_started", "phase": name}) + "\n")
            f.write(json.dumps({"t": t1, "event": "phase_ended", "phase": name}) + "\n")
    for name, (lo, hi, peak) in (("core-api", api), ("worker", worker)):
        replicas = steps((0, 62, lo), (62, 125, peak), (125, 160, lo))
        series(tmp, "hpa_current", replicas, hpa(name))
        series(tmp, "hpa_desired", replicas, hpa(name))
        series(tmp, "hpa_min", steps((0, 160, lo)), hpa(name))
        series(tmp, "hpa_max", steps((0, 160, hi)), hpa(name))
    cpu = {"metric_name": "cpu"}
    series(tmp, "hpa_target", steps((0, 160, 60)), hpa("core-api", **cpu, metric_target_type="utilization"))
    series(tmp, "hpa_metric", CPU, hpa("core-api", **cpu, metric_target_type="utilization"))
    series(tmp, "hpa_metric", [(t, v / 100 * CPU_REQUEST_CORES) for t, v in CPU],
           hpa("core-api", **cpu, metric_target_type="average"))
    queue = {"metric_name": "queue_depth", "metric_target_type": "value"}
    series(tmp, "hpa_target", steps((0, 160, 100)), hpa("worker", **queue))
    series(tmp, "hpa_metric", QUEUE, hpa("worker", **queue))
    series(tmp, "queue_depth", QUEUE, {"queue": "missions", "namespace": NS, "job": "worker"})
    return tmp


def by_hpa(run: Path, check: str) -> dict[str, tuple[Status, float | None, str]]:
    got = list(CHECKERS[check](load_run(run)))
    return {r.window.rsplit(" ", 1)[-1]: (r.status, r.value, r.message) for r in got}


def test_kube_state_metrics_series_of_a_healthy_spike_pass_with_their_latency(tmp_path: Path) -> None:
    run = ksm_run(tmp_path / "run", api=(3, 15, 6), worker=(2, 20, 5))
    out = by_hpa(run, "autoscale_out")
    assert set(out) == {"core-api", "worker"}, out
    for name, before, after in (("core-api", 3, 6), ("worker", 2, 5)):
        status, value, message = out[name]
        assert status == Status.PASS and value == 30.0, out[name]  # crossed at 32 s, rose at 62 s
        assert f"{before} -> {after} replicas" in message, message
    assert {s for s, _, _ in by_hpa(run, "autoscale_bounds").values()} == {Status.PASS}
    inn = by_hpa(run, "autoscale_in")
    # core-api: CPU last at 90 % of its target at 89 s, in at 125 s; worker: queue last at 90 % at 61 s
    assert inn["core-api"][:2] == (Status.PASS, 36.0) and inn["worker"][:2] == (Status.PASS, 64.0), inn
    assert only(run, "queue_drained").status == Status.PASS


def test_kube_state_metrics_series_of_a_pinned_hpa_fail_autoscale_out(tmp_path: Path) -> None:
    # maxReplicas pinned at minReplicas (3): the spike pushes CPU to 150 % and core-api stays at 3
    run = ksm_run(tmp_path / "run", api=(3, 3, 3), worker=(2, 20, 5))
    out = by_hpa(run, "autoscale_out")
    status, value, message = out["core-api"]
    assert status == Status.FAIL and value is None, out
    assert "never rose" in message and "maxReplicas 3" in message, message
    assert out["worker"][0] == Status.PASS, out
    assert by_hpa(run, "autoscale_in")["core-api"][0] == Status.INCONCLUSIVE  # never scaled out
