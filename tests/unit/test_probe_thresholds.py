"""One source of thresholds (issue 12, item 5): the experiments' SLA probes take their
thresholds from the profile's checks, injected by the harness; no experiment file carries one; a
fault cannot set its own (exit 64, naming the field); ``gameday plan`` shows the values; an
experiment still runs alone with ``chaos run --var`` (the real Chaos Toolkit CLI, against a
Prometheus stub)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gameday.harness.chaos import experiment as xp
from gameday.harness.chaos import sla_config
from gameday.harness.chaos.events import unmet_probes
from gameday.harness.profile import load as load_profile
from gameday.harness.safety.plan import PlanContext, plan_fault, plan_profile, render
from gameday.harness.scrape import ScrapeInterval
from tests.helpers import ROOT

EXPERIMENTS = sorted((ROOT / "experiments").glob("*/*.json"))
SLA_FUNCS = {"latency_quantile_within": ("threshold_ms", "${sla_p95_ms}"),
             "error_ratio_within": ("threshold", "${sla_5xx_ratio}")}


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_experiment_writes_a_threshold(path: Path) -> None:
    exp = xp.load(path)
    conf = exp.get("configuration") or {}
    for key in sla_config.THRESHOLD_KEYS:  # declared (so that --var reaches it), never valued
        entry = conf.get(key)
        assert isinstance(entry, dict) and entry.get("type") == "env", f"{path}: {key} carries a value: {entry}"
        assert str(entry.get("default", "<unset")).startswith("<unset"), f"{path}: {key} has a default: {entry}"
    probes = [a for a in xp.activities(exp) if a.module == "gameday.harness.chaosext.sla"]
    assert probes, f"{path} has no SLA probe"
    for a in probes:
        arg, ref = SLA_FUNCS[a.func]
        assert a.arguments[arg] == ref, (path, a.name, a.arguments)


def _profile(tmp_path: Path, p95_ms: float = 150, ratio: float = 0.02, **fault_conf: Any) -> Path:
    raw = yaml.safe_load((ROOT / "profiles" / "smoke.yaml").read_text())
    raw["load"]["locustfile"] = str(ROOT / "loadtests" / "crew_spawn.py")
    for f in raw["faults"]:
        f["experiment"] = str(ROOT / f["experiment"].removeprefix("../"))
    raw["faults"][1]["configuration"] = {**raw["faults"][1].get("configuration", {}), **fault_conf}
    raw["checks"].update(p95_ms=p95_ms, max_5xx_ratio=ratio)
    raw["target"]["sandbox"] = {"ports": {"base": 21950}, "scrape_interval_s": 30}  # no sandbox there
    raw["target"]["sandbox_state_dir"] = str(tmp_path / "state")
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_the_plan_injects_the_profiles_checks_and_shows_them(tmp_path: Path) -> None:
    p = load_profile(_profile(tmp_path))
    ctx = PlanContext(p)
    for fault in p.faults:
        plan = plan_fault(p, fault, ctx=ctx)
        conf = plan.configuration
        assert conf["sla_p95_ms"] == 150 and conf["sla_5xx_ratio"] == 0.02
        assert conf["sla_window_s"] == 120  # 4 x 30 s: the sandbox will scrape every 30 s
        # what chaoslib will hand the probes, after substitution
        exp = xp.with_configuration(xp.load(fault.experiment), conf)
        for a in xp.activities(exp):
            if a.module == "gameday.harness.chaosext.sla":
                args = xp.substitute(a.arguments, xp.static_configuration(exp, conf, fault.experiment))
                assert args[SLA_FUNCS[a.func][0]] == (150 if a.func == "latency_quantile_within" else 0.02)
                assert args["window_s"] == 120
    lines = render(p, plan_profile(p))
    shown = [x for x in lines if "SLA probes:" in x]
    assert len(shown) == len(p.faults)
    assert shown[0].strip() == ("SLA probes: p95 <= 150 ms (checks.p95_ms), 5xx <= 2.00% (checks.max_5xx_ratio), "
                                "over the last 120 s")


def test_a_longer_window_from_the_profile_is_kept(tmp_path: Path) -> None:
    p = load_profile(_profile(tmp_path, sla_window_s=300))
    conf = sla_config.sla_configuration(p, p.faults[1], ScrapeInterval(30, "t"))
    assert conf["sla_window_s"] == 300
    assert sla_config.sla_configuration(p, p.faults[0], ScrapeInterval(30, "t"))["sla_window_s"] == 120


def test_unmet_probes_say_why() -> None:
    state = {"steady_state_met": False, "probes": [
        {"activity": {"name": "api-healthy"}, "tolerance_met": True, "output": True},
        {"activity": {"name": "p95-latency-within-sla"}, "tolerance_met": False,
         "output": {"verdict": "fail", "value": 412.5, "threshold": 200.0, "unit": "ms", "window_s": 120,
                    "requests": 3000.0, "idle": False}},
        {"activity": {"name": "5xx-ratio-within-sla"}, "tolerance_met": False, "status": "failed",
         "exception": ["Traceback ...\n", "chaoslib.exceptions.ActivityFailed: no data for the request count\n"]}]}
    assert unmet_probes(state) == [
        "p95-latency-within-sla: 412.5 ms > 200.0 ms over the last 120 s (3000.0 requests)",
        "5xx-ratio-within-sla: no data for the request count"]
