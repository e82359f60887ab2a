"""The safety rails against an adversarial corpus, and ``gameday plan`` proven read-only.

``tests/corpus/safety/*.yaml``: each case takes a shipped cluster experiment and/or the stubbed
cluster profile and tries to get out (probe-typed actions, configuration and tolerance probes,
controls, process/http providers, region/profile/role/context overrides in fault configuration,
experiment configuration or secrets, resources outside the patterns, case and glob tricks). Each
must be refused with exit 64 by ``gameday plan`` and by ``gameday run``'s preflight (no run
directory made), naming what it refuses, with moto's state, the Kubernetes stub's and the
ElastiCache stub's unchanged, and no call but reads reaching them.

The calls a plan makes are recorded where they land: moto's request recorder
(``/moto-api/recorder``), the Kubernetes stub's request log, the ElastiCache stub's.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT, cluster_profile
from tests.stubs import aws
from tests.stubs.cluster import Stack, stack_in_env

EXP = ROOT / "experiments" / "cluster"
CORPUS = ROOT / "tests" / "corpus" / "safety"
CASES = sorted(CORPUS.glob("*.yaml"))
READ_PREFIXES = ("Describe", "Get", "List")
PWNED = Path("/tmp/gameday-corpus-pwned")



@pytest.fixture(scope="module")
def stubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with stack_in_env(tmp_path_factory.mktemp("stubs")) as s:
        yield s


def gameday(*args: str) -> tuple[int, str]:
    """``gameday ARGS`` in this process (gameday.harness.cli.main: the one exit-code mapping), its exit
    code and everything it printed."""
    from gameday.harness import cli

    out = io.StringIO()
    saved = sys.argv
    sys.argv = ["gameday", *args]
    code: Any = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            cli.main()
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.argv = saved
    return int(code or 0), out.getvalue()


# ---- building a case ----------------------------------------------------------------------------
_SECTIONS = {"method": ("method",), "rollbacks": ("rollbacks",), "hypothesis": ("steady-state-hypothesis", "probes")}


def _section(exp: dict[str, Any], name: str) -> list[Any]:
    node: Any = exp
    for key in _SECTIONS[name]:
        node = node.setdefault(key, [] if key in ("method", "rollbacks", "probes") else {})
    assert isinstance(node, list)
    return node


def build(case: dict[str, Any], tmp: Path, stubs: Stack) -> Path:
    """The case's experiment (the shipped one, changed as the case says) and profile."""
    exp = json.loads((EXP / case["experiment"]).read_text())
    for add in case.get("add", []):
        _section(exp, add["section"]).insert(add["index"], copy.deepcopy(add["activity"]))
    for edit in case.get("edit", []):
        _section(exp, edit["section"])[edit["index"]].update(copy.deepcopy(edit["set"]))
    exp.setdefault("configuration", {}).update(case.get("configuration", {}))
    if "secrets" in case:
        exp["secrets"] = case["secrets"]
    if "controls" in case:
        exp["controls"] = case["controls"]
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / f"{case['fault']}.json"
    path.write_text(json.dumps(exp, indent=2))
    faults = [{"id": case["fault"], "experiment": str(path), "configuration": case.get("fault_configuration", {})}]
    return cluster_profile(tmp, stubs, faults, **case.get("cluster", {}))


def state(stubs: Stack) -> dict[str, str]:
    """What every stand-in holds: compared before and after each case."""
    cache = {g.id: (dict(g.members), g.status, g.failovers) for g in stubs.cache.values()}
    return {"moto": aws.moto_state(stubs.moto_url), "kube": stubs.kube.snapshot(), "elasticache": repr(cache)}


def writes(stubs: Stack, kube_from: int, cache_from: dict[str, int]) -> list[str]:
    """Every call since the marks that is not a read: moto's recorder, the two stubs' logs."""
    calls = aws.recorded_calls(stubs.moto_url)
    calls += [f"kubernetes:{m} {p}" for m, p in stubs.kube.calls[kube_from:]]
    calls += [f"elasticache:{a}" for g in stubs.cache.values() for a in g.calls[cache_from.get(g.id, 0):]]
    return [c for c in calls if not _is_read(c)]


def _is_read(call: str) -> bool:
    service, _, op = call.partition(":")
    if service == "kubernetes":
        return op.startswith("GET ")
    return op.startswith(READ_PREFIXES)


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 25, f"the issue asks for at least 25 cases; {len(CASES)} in {CORPUS}"
    for f in CASES:
        case = yaml.safe_load(f.read_text())
        assert {"tries", "fault", "experiment", "expect"} <= set(case), f"{f.name}: incomplete case"


def test_every_corpus_case_is_refused_and_nothing_changes(stubs: Stack, tmp_path: Path) -> None:
    PWNED.unlink(missing_ok=True)
    tried, refused, unchanged, failures = 0, 0, 0, []
    for f in CASES:
        case = yaml.safe_load(f.read_text())
        profile = build(case, tmp_path / f.stem, stubs)
        before = state(stubs)
        aws.start_recording(stubs.moto_url)
        kube_from = len(stubs.kube.calls)
        cache_from = {g.id: len(g.calls) for g in stubs.cache.values()}
        tried += 1
        plan_code, plan_out = gameday("plan", str(profile))
        run_dir = tmp_path / f.stem / "run"
        run_code, run_out = gameday("run", str(profile), "--out", str(run_dir))
        ok = plan_code == 64 and run_code == 64 and case["expect"] in plan_out and case["expect"] in run_out
        ok = ok and "Traceback" not in plan_out + run_out and not run_dir.exists()
        refused += ok
        if not ok:
            failures.append(f"{f.name}: plan exit {plan_code}, run exit {run_code}, expected {case['expect']!r}\n"
                            f"  plan: {plan_out.strip()[-600:]}\n  run: {run_out.strip()[-600:]}")
        nonread = writes(stubs, kube_from, cache_from)
        after = state(stubs)
        if after == before and not nonread and not PWNED.exists():
            unchanged += 1
        else:
            changed = [k for k in before if before[k] != after[k]]
            failures.append(f"{f.name}: stand-ins changed {changed}, non-read calls {nonread}")
    print(f"\ncorpus: {refused} refused / {tried} tried (exit 64 from both gameday plan and gameday run's "
          f"preflight, reason named); stand-ins unchanged after {unchanged} / {tried}")
    assert not failures, "\n".join(failures)
    assert refused == tried == unchanged


def _plan_reads_only(stubs: Stack, *args: str) -> tuple[str, list[str]]:
    before = state(stubs)
    aws.start_recording(stubs.moto_url)
    kube_from = len(stubs.kube.calls)
    cache_from = {g.id: len(g.calls) for g in stubs.cache.values()}
    code, out = gameday("plan", *args)
    assert code == 0, out
    calls = aws.recorded_calls(stubs.moto_url)
    calls += [f"kubernetes:{m} {p}" for m, p in stubs.kube.calls[kube_from:]]
    calls += [f"elasticache:{a}" for g in stubs.cache.values() for a in g.calls[cache_from.get(g.id, 0):]]
    assert calls, "the plan made no call at all: nothing was recorded (the recorder is not working)"
    assert [c for c in calls if not _is_read(c)] == [], calls
    assert state(stubs) == before
    return out, calls


def test_plan_of_the_example_profile_only_reads(stubs: Stack) -> None:
    out, calls = _plan_reads_only(stubs, "profiles/cluster.example.yaml",
                                  "--set", f"target.prometheus_url={stubs.prom_url}")
    print("\ncalls made by `gameday plan profiles/cluster.example.yaml` (reads only):")
    for call in sorted(set(calls)):
        print(f"  {calls.count(call):3d} x {call}")
    assert any(c.startswith("sts:GetCallerIdentity") for c in calls)
    assert any(c.startswith("rds:DescribeDBInstances") for c in calls)
    assert "elasticache:DescribeReplicationGroups" in calls
    assert any(c.startswith("kubernetes:GET /api/v1/nodes") for c in calls)
    assert "REFUSED" not in out and "safety:" in out and "REFUSE " not in out


@pytest.mark.parametrize("fault_id, variant", [("db-failover", "db-failover-aurora.json"),
                                                ("redis-primary-kill", "redis-primary-kill-k8s.json")])
def test_plan_of_the_variant_experiments_only_reads(stubs: Stack, tmp_path: Path, fault_id: str,
                                                    variant: str) -> None:
    import boto3

    members = boto3.client("rds").describe_db_clusters(DBClusterIdentifier="hypercode-aurora")["DBClusters"][0]
    reader = next(m["DBInstanceIdentifier"] for m in members["DBClusterMembers"] if not m["IsClusterWriter"])
    faults = [{"id": fault_id, "experiment": str(EXP / variant)}]
    profile = cluster_profile(tmp_path, stubs, faults, db_failover_target=reader)
    _, calls = _plan_reads_only(stubs, str(profile))
    print(f"\n{variant}: {sorted(set(calls))}")


def test_decisions_are_printed_and_name_every_activity(stubs: Stack, tmp_path: Path) -> None:
    code, out = gameday("plan", "profiles/cluster.example.yaml", "--set",
                        f"target.prometheus_url={stubs.prom_url}", "--json")
    assert code == 0, out
    doc = json.loads(out[out.index("{"):])
    for plan in doc["plans"]:
        exp = json.loads(Path(plan["experiment"]).read_text())
        n = (len((exp.get("steady-state-hypothesis") or {}).get("probes") or []) + len(exp.get("method") or [])
             + len(exp.get("rollbacks") or [])
             + sum(1 for v in (exp.get("configuration") or {}).values() if isinstance(v, dict) and v.get("type")
                   == "probe"))
        assert len(plan["decisions"]) == n, plan["fault"]
        assert all(d["allowed"] for d in plan["decisions"])
        assert plan["identity"]["aws_account"] == "123456789012" or plan["identity"]["kube_context"]


def test_the_state_check_sees_what_the_old_plan_did(stubs: Stack) -> None:
    """The corpus's "unchanged" can fail: evaluating case 03's configuration probe as the plan used
    to (chaoslib's run_activity) stops prod-db, and both the state and the recorder show it."""
    import boto3
    from chaoslib.activity import run_activity

    case = yaml.safe_load((CORPUS / "03-config-probe-stop-db.yaml").read_text())
    before = state(stubs)
    aws.start_recording(stubs.moto_url)
    run_activity(copy.deepcopy(case["configuration"]["victim"]), {"aws_region": aws.REGION}, {})
    nonread = writes(stubs, len(stubs.kube.calls), {g.id: len(g.calls) for g in stubs.cache.values()})
    try:
        assert "rds:StopDBInstance" in nonread
        assert state(stubs)["moto"] != before["moto"]
    finally:
        boto3.client("rds").start_db_instance(DBInstanceIdentifier="prod-db")
    assert state(stubs) == before
