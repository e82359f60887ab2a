"""The autoscaling checks (analysis/checks/autoscaling.py) over run directories built here: the HPA
series as kube-state-metrics names them, a spike phase, the queue; and the profile's spike phase."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gameday.analysis.checks import autoscaling as a
from gameday.analysis.judge import CHECKERS
from gameday.analysis.run import load_run
from gameday.analysis.verdict import CheckResult, Status
from gameday.harness.profile import Profile, ProfileError, load

PHASES = (("warmup", 0, 10), ("baseline", 10, 30), ("spike", 30, 90), ("after-spike", 90, 150), ("cooldown", 150, 160))
LINES = {"scale_up_window_s": 20, "scale_down_window_s": 30, "scale_out_bound_s": 15, "queue_max": 100,
         "queue_drain_s": 30,
         "hpas": {"core-api": {"deployment": "core-api", "metric": "cpu", "target": 60, "min_replicas": 2,
                               "max_replicas": 4}}}


def steps(*parts: tuple[float, float, float]) -> list[tuple[float, float]]:
    """(from, to, value) pieces, one point a second."""
    return [(float(t), v) for a0, b0, v in parts for t in range(int(a0), int(b0))]


def series(run: Path, name: str, points: list[tuple[float, float]], labels: dict[str, str],
           scrape_s: float | None = None) -> None:
    d = run / "prometheus"
    d.mkdir(exist_ok=True)
    path = d / f"{name}.csv"
    lab = json.dumps(labels).replace('"', '""')
    new = not path.exists()
    with open(path, "a") as f:
        if new:
            f.write("timestamp,value,labels\n")
        for t, v in points:
            f.write(f'{t},{v},"{lab}"\n')
    meta = {"name": name, "query": f"q_{name}", "error": None}
    if scrape_s is not None:
        meta.update(step_s=1.0, scrape_interval_s=scrape_s)
    (d / f"{name}.json").write_text(json.dumps(meta))


def build(tmp: Path, *, current: list[tuple[float, float]], metric: list[tuple[float, float]],
          desired: list[tuple[float, float]] | None = None, queue: list[tuple[float, float]] | None = None,
          max_replicas: float = 4, phases: tuple[tuple[str, float, float], ...] = PHASES,
          scrape_s: float | None = None) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "profile.yaml").write_text(yaml.safe_dump({"name": "t", "checks": {"autoscaling": LINES}}))
    with open(tmp / "timeline.jsonl", "w") as f:
        for name, t0, t1 in phases:
            f.write(json.dumps({"t": t0, "event": "phase_started", "phase": name}) + "\n")
            f.write(json.dumps({"t": t1, "event": "phase_ended", "phase": name}) + "\n")
    hpa = {"horizontalpodautoscaler": "core-api", "namespace": "sandbox"}
    series(tmp, "hpa_current", current, hpa, scrape_s)
    series(tmp, "hpa_desired", desired or current, hpa, scrape_s)
    series(tmp, "hpa_min", steps((0, 160, 2)), hpa, scrape_s)
    series(tmp, "hpa_max", steps((0, 160, max_replicas)), hpa, scrape_s)
    series(tmp, "hpa_metric", metric, {**hpa, "metric_name": "cpu"}, scrape_s)
    series(tmp, "hpa_target", steps((0, 160, 60)), {**hpa, "metric_name": "cpu"}, scrape_s)
    series(tmp, "queue_depth", queue or steps((0, 160, 0)), {}, scrape_s)
    return tmp


# the spike pushes CPU to 150 % of its target from 32 s until the scale-out (62 s), to 80 % then,
# and to 20 % once it ends (90 s)
METRIC = steps((0, 32, 30), (32, 62, 150), (62, 90, 80), (90, 160, 20))


def only(run: Path, check: str) -> CheckResult:
    got = list(CHECKERS[check](load_run(run)))  # the judge's own checker, alone (the whole judge is slower)
    assert len(got) == 1, got
    return got[0]


def test_a_healthy_spike_passes_every_check_with_its_measure(tmp_path: Path) -> None:
    run = build(tmp_path, current=steps((0, 62, 2), (62, 125, 4), (125, 160, 2)), metric=METRIC,
                queue=steps((0, 40, 0), (40, 90, 140), (90, 100, 120), (100, 160, 3)))
    out = only(run, "autoscale_out")
    assert out.status == Status.PASS and out.value == 30.0 and out.threshold == 35  # crossed at 32, rose at 62
    assert only(run, "autoscale_bounds").status == Status.PASS
    inn = only(run, "autoscale_in")
    assert inn.status == Status.PASS and inn.value == 36.0  # metric last at target at 89, scaled in at 125
    # on fewer pods the metric reaches its target again: the hold is measured up to the scale-in
    again = build(tmp_path / "again", current=steps((0, 62, 2), (62, 125, 4), (125, 160, 2)),
                  metric=steps((0, 32, 30), (32, 62, 150), (62, 90, 80), (90, 126, 20), (126, 160, 58)))
    inn = only(again, "autoscale_in")
    assert inn.status == Status.PASS and inn.value == 36.0
    q = only(run, "queue_drained")
    assert q.status == Status.PASS and q.value == 10.0 and "peak during the spike 140" in q.message


def test_replicas_that_never_rise_fail_autoscale_out(tmp_path: Path) -> None:
    frozen = build(tmp_path / "frozen", current=steps((0, 160, 2)), metric=steps((0, 32, 30), (32, 90, 150),
                                                                                   (90, 160, 20)))
    r = only(frozen, "autoscale_out")
    assert r.status == Status.FAIL and "never rose" in r.message
    late = build(tmp_path / "late", current=steps((0, 80, 2), (80, 160, 4)),
                 metric=steps((0, 32, 30), (32, 80, 150), (80, 160, 20)))
    r = only(late, "autoscale_out")
    assert r.status == Status.FAIL and r.value == 48.0  # rose 48 s after crossing, bound 20 + 15
    pinned = build(tmp_path / "pinned", current=steps((0, 160, 2)), max_replicas=2,
                   metric=steps((0, 32, 30), (32, 90, 150), (90, 160, 20)))
    assert "maxReplicas 2" in only(pinned, "autoscale_out").message


def test_a_metric_that_fell_back_is_timed_from_the_stretch_that_made_a_scale_out_due(tmp_path: Path) -> None:
    """Seen in CI: the CPU crossed its target, fell back inside the tolerance, and went over again 19 s
    later for good; the HPA's scale-up stabilization started over and the pods rose 49 s after the
    first crossing, 30 s after the second. That is the HPA working, not late."""
    dip = steps((0, 32, 30), (32, 40, 150), (40, 51, 60), (51, 90, 150), (90, 160, 20))
    on_time = build(tmp_path / "on-time", current=steps((0, 81, 2), (81, 125, 4), (125, 160, 2)), metric=dip)
    r = only(on_time, "autoscale_out")
    assert r.status == Status.PASS and r.value == 30.0 and "19 s after the first crossing" in r.message, r.message
    late = build(tmp_path / "late", current=steps((0, 88, 2), (88, 125, 4), (125, 160, 2)), metric=dip)
    r = only(late, "autoscale_out")
    assert r.status == Status.FAIL and r.value == 37.0 and "19 s after the first crossing" in r.message, r.message


def test_a_metric_that_never_crossed_or_no_series_is_inconclusive(tmp_path: Path) -> None:
    calm = build(tmp_path / "calm", current=steps((0, 160, 2)), metric=steps((0, 160, 30)))
    assert only(calm, "autoscale_out").status == Status.INCONCLUSIVE
    assert only(calm, "autoscale_in").status == Status.INCONCLUSIVE  # never scaled out: nothing to scale in
    blip = build(tmp_path / "blip", current=steps((0, 160, 2)), metric=steps((0, 40, 30), (40, 50, 150), (50, 160, 30)))
    r = only(blip, "autoscale_out")
    assert r.status == Status.INCONCLUSIVE and "less than the 20 s scale-up window" in r.message
    bare = build(tmp_path / "bare", current=steps((0, 160, 2)), metric=METRIC)
    for name in ("hpa_current", "hpa_desired"):
        (bare / "prometheus" / f"{name}.csv").unlink()
        (bare / "prometheus" / f"{name}.json").unlink()
    for check in ("autoscale_out", "autoscale_bounds", "autoscale_in"):
        r = only(bare, check)
        assert r.status == Status.INCONCLUSIVE and "no HPA series" in r.message, check
    nospike = build(tmp_path / "nospike", current=steps((0, 160, 2)), metric=METRIC,
                    phases=(("warmup", 0, 10), ("baseline", 10, 150)))
    for check in ("autoscale_out", "autoscale_in", "queue_drained"):
        assert "no spike phase" in only(nospike, check).message


def test_an_early_scale_in_fails_and_none_at_all_fails(tmp_path: Path) -> None:
    early = build(tmp_path / "early", current=steps((0, 62, 2), (62, 100, 4), (100, 160, 2)), metric=METRIC)
    r = only(early, "autoscale_in")
    assert r.status == Status.FAIL and "only 11 s after" in r.message  # last at target at 89, in at 100
    stuck = build(tmp_path / "stuck", current=steps((0, 62, 2), (62, 160, 4)), metric=METRIC)
    r = only(stuck, "autoscale_in")
    assert r.status == Status.FAIL and "never scaled in" in r.message


def test_a_metric_under_its_target_but_high_enough_to_keep_the_pods_makes_no_scale_in_due(tmp_path: Path) -> None:
    """0.8 of the target on 4 pods: ceil(4 x 0.8) = 4, the HPA keeps 4 (a target whose load after the
    spike stays there is right not to scale in); 0.7 asks for ceil(2.8) = 3 and a scale-in is due."""
    kept = build(tmp_path / "kept", current=steps((0, 62, 2), (62, 160, 4)),
                 metric=steps((0, 32, 30), (32, 62, 150), (62, 90, 80), (90, 160, 48)))
    r = only(kept, "autoscale_in")
    assert r.status == Status.INCONCLUSIVE and "no scale-in was due" in r.message, r.message
    due = build(tmp_path / "due", current=steps((0, 62, 2), (62, 160, 4)),
                metric=steps((0, 32, 30), (32, 62, 150), (62, 90, 80), (90, 160, 42)))
    r = only(due, "autoscale_in")
    assert r.status == Status.FAIL and "asked for fewer replicas for" in r.message, r.message


def test_out_of_bounds_and_an_undrained_queue_fail(tmp_path: Path) -> None:
    run = build(tmp_path, current=steps((0, 62, 2), (62, 125, 4), (125, 160, 2)), metric=METRIC,
                desired=steps((0, 62, 2), (62, 70, 5), (70, 125, 4), (125, 160, 1)),
                queue=steps((0, 40, 0), (40, 160, 150)))
    r = only(run, "autoscale_bounds")
    assert r.status == Status.FAIL and r.value == 43.0 and "desired 5" in r.message  # 8 above max, 35 below min
    q = only(run, "queue_drained")
    assert q.status == Status.FAIL and "still >= 100" in q.message


def _audits(run: Path, hpas: list[dict[str, object]] | None) -> None:
    body: dict[str, object] = {"errors": {}}
    if hpas is not None:
        body["autoscaling"] = {"source": "test", "hpas": hpas}
    (run / "audits.json").write_text(json.dumps(body))


def _hpa(**over: object) -> dict[str, object]:
    h: dict[str, object] = {"name": "core-api", "scale_target": "Deployment/core-api", "min_replicas": 2,
                            "max_replicas": 4, "metric": {"name": "cpu", "target": 60.0},
                            "behavior": {"scale_up": {"stabilization_window_s": 20, "select_policy": "Max"},
                                         "scale_down": {"stabilization_window_s": 30}}}
    h.update(over)
    return h


def test_the_audit_compares_the_live_specs_with_the_checklist(tmp_path: Path) -> None:
    run = build(tmp_path, current=steps((0, 160, 2)), metric=METRIC)
    _audits(run, [_hpa()])
    assert only(run, "audit_autoscaling").status == Status.PASS
    _audits(run, [_hpa(max_replicas=3)])
    r = only(run, "audit_autoscaling")
    assert r.status == Status.FAIL and "max_replicas=3 (want 4)" in r.message
    _audits(run, [_hpa(behavior={"scale_up": {"stabilization_window_s": 20, "select_policy": "Disabled"},
                                 "scale_down": {"stabilization_window_s": 30}})])
    assert "scale_up_policy='Disabled'" in only(run, "audit_autoscaling").message
    _audits(run, [])
    assert "no HPA 'core-api'" in only(run, "audit_autoscaling").message  # a spike phase asks about §6.2
    flat = build(tmp_path / "flat", current=steps((0, 160, 2)), metric=METRIC, phases=(("baseline", 0, 150),))
    _audits(flat, [])  # fixed replicas, and nothing asks: shown, not failed (a default sandbox run)
    r = only(flat, "audit_autoscaling")
    assert r.status == Status.INCONCLUSIVE and "runs no HPA" in r.message
    _audits(run, None)
    assert only(run, "audit_autoscaling").status == Status.INCONCLUSIVE


def test_a_spike_phase_makes_the_autoscaling_checks_required(tmp_path: Path) -> None:
    plain = Profile.model_validate({"name": "p"})
    assert not set(a.SERIES) & set(plain.checks.required)
    assert "autoscale_out" not in plain.checks.required
    spiky = Profile.model_validate({"name": "p", "phases": {"spike": {"users": 60, "hold_s": 30}}})
    assert {"autoscale_out", "autoscale_bounds", "autoscale_in", "queue_drained",
            "audit_autoscaling"} <= set(spiky.checks.required)
    mine = Profile.model_validate({"name": "p", "phases": {"spike": {"users": 60}}, "checks": {"required": []}})
    assert mine.checks.required == []
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"name": "p", "phases": {"spike": {"users": 0}}}))
    with pytest.raises(ProfileError, match="phases.spike.users"):
        load(bad)


def test_the_spike_window_is_judged_per_operation(tmp_path: Path) -> None:
    run = build(tmp_path, current=steps((0, 160, 2)), metric=METRIC)
    header = "t_start,latency_ms,name,method,status,ok,error,mission_id,t_intended,latency_intended_ms\n"
    with open(run / "requests.local-1.csv", "w") as f:
        f.write(header)
        for i in range(1500):
            t = 10 + i / 10
            slow = 30 <= t < 90
            f.write(f"{t},{400 if slow else 40},/v1/crews,POST,201,1,,m{i},,\n")
    got = list(CHECKERS["operation_p95"](load_run(run)))
    spike = [r for r in got if r.window.startswith("spike")]
    assert spike and spike[0].status == Status.FAIL and spike[0].value == 400.0
    assert all(r.status == Status.PASS for r in got if r.window.startswith("baseline"))


def test_a_coarse_scrape_makes_a_timing_inconclusive_until_all_or_none_of_its_range_passes(tmp_path: Path) -> None:
    """A cluster's Prometheus scrapes every 15-60 s: a change seen at a sample happened up to one scrape
    before it. Each timing is judged over that range, as automated_rollback is: PASS only when all of
    it is within the bound, FAIL only when none of it is, INCONCLUSIVE in between."""
    healthy = dict(current=steps((0, 62, 2), (62, 125, 4), (125, 160, 2)), metric=METRIC,
                   queue=steps((0, 40, 0), (40, 90, 140), (90, 100, 120), (100, 160, 3)))
    fine = build(tmp_path / "fine", **healthy, scrape_s=2)  # 30 s of 35 +- 2; held 36 - 2 x 2 >= 30 - 3
    assert [only(fine, c).status for c in ("autoscale_out", "autoscale_in", "queue_drained")] == [Status.PASS] * 3
    coarse = build(tmp_path / "coarse", **healthy, scrape_s=15)
    r = only(coarse, "autoscale_out")  # 30 s after the crossing: 15..45 s against 35 s
    assert r.status == Status.INCONCLUSIVE and "within one scrape interval (15 s)" in r.message, r.message
    r = only(coarse, "autoscale_in")  # held 36 s, 6..36 s against the 30 s window
    assert r.status == Status.INCONCLUSIVE and "cannot tell on time from early" in r.message, r.message
    assert only(coarse, "queue_drained").status == Status.PASS  # seen under 10 s after: at most 10 s
    late = build(tmp_path / "late", current=steps((0, 100, 2), (100, 160, 4)),
                 metric=steps((0, 32, 30), (32, 100, 150), (100, 160, 20)), scrape_s=15)
    r = only(late, "autoscale_out")  # 68 s after the crossing: 53..83 s, all over 35
    assert r.status == Status.FAIL and r.value == 68.0, r.message
    slow = dict(current=healthy["current"], metric=METRIC)
    q = only(build(tmp_path / "q40", **slow, queue=steps((0, 90, 140), (90, 130, 120), (130, 160, 3)), scrape_s=15),
             "queue_drained")  # seen under 40 s after the spike: 25..40 s against 30 s
    assert q.status == Status.INCONCLUSIVE and "cannot tell" in q.message, q.message
    q = only(build(tmp_path / "q60", **slow, queue=steps((0, 90, 140), (90, 150, 120), (150, 160, 3)), scrape_s=15),
             "queue_drained")  # 45..60 s: all over 30
    assert q.status == Status.FAIL and q.value == 60.0, q.message
