"""``gameday run profiles/spike.yaml`` on a real sandbox: under a 30 -> 90 users spike the sandbox's
HPAs scale core-api and the workers out and back in, and the autoscaling checks pass; with scale-up
disabled (a mutant: the autoscaler frozen) the verdict is NO-GO on ``autoscale_out``; without a worker HPA
(the workers do not scale on the queue depth) it is NO-GO on ``queue_drained``.

Each run takes about 2.5 minutes (sandbox up, 135 s of load, read-back, snapshot): run them under
the shared lock, one at a time (``flock /tmp/gameday-heavy.lock pytest ...::test_name``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import gameday, results, scratch_state, target

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

AUTOSCALING = ("autoscale_out", "autoscale_bounds", "autoscale_in", "queue_drained", "audit_autoscaling")


@pytest.fixture
def scratch() -> Iterator[Path]:
    with scratch_state("gameday-test-spike-") as state:
        yield state


def replicas(run_dir: Path, hpa: str) -> list[tuple[float, float]]:
    """(t, current replicas) of one HPA from the run's snapshot."""
    with open(run_dir / "prometheus" / "hpa_current.csv") as f:
        rows = [r for r in csv.DictReader(f) if json.loads(r["labels"]).get("horizontalpodautoscaler") == hpa]
    return [(float(r["timestamp"]), float(r["value"])) for r in rows]


def _never_scaled_in(run_dir: Path, hpa: str) -> bool:
    values = [v for _, v in replicas(run_dir, hpa)]
    return bool(values) and values == sorted(values)


def _at_target_at_the_end(run_dir: Path, hpa: str, target: float, last_s: float = 35) -> bool:
    """The HPA's metric at its ``target`` within the series' last ``last_s`` (the scale-down window and
    the scale-out bound, 20 + 15 s): no scale-in was due yet. "At" as the HPA controller reads it: within
    its default tolerance of 10 % (under it, an HPA does not change its replicas)."""
    with open(run_dir / "prometheus" / "hpa_metric.csv") as f:
        rows = [(float(r["timestamp"]), float(r["value"])) for r in csv.DictReader(f)
                if json.loads(r["labels"]).get("horizontalpodautoscaler") == hpa]
    if not rows:
        return False
    end = max(t for t, _ in rows)
    return any(v > 0.9 * target for t, v in rows if t >= end - last_s)


@pytest.mark.alone
def test_a_spike_scales_out_and_back_in(scratch: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    r = gameday("run", "profiles/spike.yaml", "--out", str(run_dir), *target(scratch), timeout=300, certify=True)
    res = results(run_dir)
    checks = [c for c in res["checks"] if c["id"] in AUTOSCALING]
    # core-api scales on its CPU, which a slow hour of the machine keeps high after the spike too (CI,
    # 2026-12-02: at or over 60 % to the run's end on 3-4 pods): then no scale-in was due, and the judge
    # must say INCONCLUSIVE, which the test checks against the raw series. The worker, on its queue,
    # proves the scale-in every time.
    not_due = [c for c in checks if (c["id"], c["window"], c["status"]) == (
        "autoscale_in", "spike and after core-api", "INCONCLUSIVE") and _at_target_at_the_end(run_dir, "core-api", 60)
        and _never_scaled_in(run_dir, "core-api")]
    bad = [(c["id"], c["window"], c["message"]) for c in checks if c["status"] != "PASS" and c not in not_due]
    assert not bad, f"{bad}\n{r.stdout[-3000:]}\n{r.stderr[-2000:]}"
    # one result per HPA for each scaling check, and the audit of both
    for check in AUTOSCALING:
        hpas = {c["window"].rsplit(" ", 1)[-1] for c in checks if c["id"] == check}
        assert hpas == {"core-api", "worker"} or check == "queue_drained", (check, hpas)
    # out, then back in: the worker (its queue empty after the spike) to its minimum; core-api below its
    # peak. Back at 30 users core-api's CPU sits near what 2 pods can hold at the 60 % target: from 3 pods
    # the HPA's rule (ceil(3 x metric / 60)) asks for 2 only at 40 % or less, and with another run on the
    # machine it read 37-47 %, so 3 was the HPA's right answer (docs/autoscaling.md); autoscale_in judged it
    for hpa, low in (("core-api", 2), ("worker", 1)):
        series = replicas(run_dir, hpa)
        values = [v for _, v in series]
        back_in = values[-1] == low if hpa == "worker" else low <= values[-1] < max(values) or bool(not_due)
        assert values[0] == low and max(values) > low and back_in, (hpa, values)
    timeline = (run_dir / "timeline.jsonl").read_text()
    assert '"phase": "spike"' in timeline and '"spike_step"' in timeline


def test_autoscaler_frozen_is_no_go_on_autoscale_out(scratch: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    frozen = ["--set", "target.sandbox.autoscaling.api.scale_up_policy=Disabled",
              "--set", "target.sandbox.autoscaling.worker.scale_up_policy=Disabled",
              "--set", "phases.spike.settle_s=5"]  # nothing to scale back in: no need to wait for it
    r = gameday("run", "profiles/spike.yaml", "--out", str(run_dir), *target(scratch), *frozen, timeout=300)
    res = results(run_dir)
    out = {c["window"].rsplit(" ", 1)[-1]: c for c in res["checks"] if c["id"] == "autoscale_out"}
    assert r.returncode == 1 and res["verdict"] == "NO-GO", r.stdout[-3000:]
    # nothing scales out: a scale-out that was due never came (FAIL), and where the metric never stayed over
    # its target for the 30 s window (core-api's CPU hovers at its target on a loaded machine) none was due
    # (INCONCLUSIVE); never a PASS
    assert {c["status"] for c in out.values()} <= {"FAIL", "INCONCLUSIVE"}, out
    assert any(c["status"] == "FAIL" and "never rose" in c["message"] for c in out.values()), out
    for hpa in ("core-api", "worker"):
        assert {v for _, v in replicas(run_dir, hpa)} == {2.0 if hpa == "core-api" else 1.0}
    audit = [c for c in res["checks"] if c["id"] == "audit_autoscaling"]
    assert audit and all(c["status"] == "FAIL" and "Disabled" in c["message"] for c in audit), audit


def test_workers_without_their_hpa_are_no_go_on_queue_drained(scratch: Path, tmp_path: Path) -> None:
    """Mutant: the workers do not scale on the queue depth (no worker HPA, one worker throughout)."""
    run_dir = tmp_path / "run"
    r = gameday("run", "profiles/spike.yaml", "--out", str(run_dir), *target(scratch),
                "--set", "target.sandbox.autoscaling.worker.enabled=false", timeout=300)
    res = results(run_dir)
    # the required checks only
    failed = {c["id"] for c in res["checks"] if c["status"] == "FAIL" and c["id"] in res["required"]}
    assert r.returncode == 1 and res["verdict"] == "NO-GO", r.stdout[-3000:]
    # the audit fails too, as it should: the target has no worker HPA though the profile states one. The
    # scaling checks of core-api still pass; the latency SLAs are not this mutant's to judge (on a loaded
    # 2-core machine a few crew spawns of the 45 s after the spike take 200-400 ms, healthy or not)
    assert {"queue_drained", "audit_autoscaling"} <= failed, r.stdout[-3000:]
    assert not failed & {"autoscale_out", "autoscale_bounds", "autoscale_in", "lost_acks", "mission_success"}, failed
    drained = next(c for c in res["checks"] if c["id"] == "queue_drained")
    assert drained["value"] is None or drained["value"] > drained["threshold"], drained
    assert not replicas(run_dir, "worker")  # no worker HPA: no series of it
