"""A custom cluster fault: the team's AWS FIS experiment template (experiments/cluster/fis-template.json),
planned against moto's FIS (its targets resolved and allow-listed) and run by gameday's runner, its
rollback stopping what it started. moto is a stand-in for FIS's API only: nothing is broken."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from gameday.harness import profile as profile_mod
from gameday.harness.chaos.runner import run_fault
from gameday.harness.errors import NotAllowed
from gameday.harness.safety.plan import plan_profile, render
from gameday.harness.timeline import Timeline
from tests.stubs.cluster import Stack, stack_in_env

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, REGION = "123456789012", "eu-west-1"


@pytest.fixture(scope="module")
def stubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with stack_in_env(tmp_path_factory.mktemp("stubs")) as s:
        yield s


def fis(stubs: Stack) -> Any:
    return boto3.client("fis", endpoint_url=stubs.moto_url, region_name=REGION)


def template(stubs: Stack, targets: dict[str, Any]) -> str:
    """An experiment template in moto's FIS: rebooting the targets' RDS instances."""
    resp = fis(stubs).create_experiment_template(
        clientToken=uuid.uuid4().hex, description="AZ-style outage of the database",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/fis",
        stopConditions=[{"source": "none"}], targets=targets,
        actions={"reboot-db": {"actionId": "aws:rds:reboot-db-instances", "targets": {"DBInstances": "db"}}})
    return str(resp["experimentTemplate"]["id"])


def by_arn(name: str) -> dict[str, Any]:
    return {"db": {"resourceType": "aws:rds:db", "resourceArns": [f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{name}"],
                   "selectionMode": "ALL"}}


def write_profile(tmp: Path, stubs: Stack, template_id: str) -> Path:
    cluster = {"kube_context": "hypercode-staging", "kubeconfig": str(stubs.kubeconfig), "aws_region": REGION,
               "aws_account_id": ACCOUNT,
               "allow": {"kube_contexts": ["hypercode-staging"], "aws_accounts": [ACCOUNT], "aws_regions": [REGION]}}
    doc = {"name": "fis", "target": {"kind": "cluster", "api_url": "http://127.0.0.1:1",
                                     "prometheus_url": stubs.prom_url, "cluster": cluster},
           "load": {"locustfile": str(ROOT / "loadtests/crew_spawn.py")},
           "faults": [{"id": "fis-db-outage", "experiment": str(ROOT / "experiments/cluster/fis-template.json"),
                       "recovery_s": 300, "error_budget": 50,
                       "configuration": {"fis_template_id": template_id, "fis_duration_s": 1}}]}
    path = tmp / "profile.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_fis_template_is_planned_with_its_targets_resolved(stubs: Stack, tmp_path: Path) -> None:
    tid = template(stubs, by_arn("hypercode-db"))
    p = profile_mod.load(write_profile(tmp_path, stubs, tid))
    assert p.checks.recovery_s["fis-db-outage"] == 300 and p.checks.error_budgets == {"fis-db-outage": 50}
    pp = plan_profile(p, collect=True)
    assert not pp.refused, pp.refused
    text = "\n".join(render(p, pp))
    assert f"start FIS experiment template {tid} (AZ-style outage of the database): reboot-db " \
           f"(aws:rds:reboot-db-instances); stop conditions: none" in text
    assert "aws:rds:db" in text and "hypercode-db" in text
    assert "stop every running FIS experiment tagged {'gameday-fault': 'fis-template'}" in text
    assert fis(stubs).list_experiments()["experiments"] == [], "a plan starts nothing"


@pytest.mark.parametrize("targets, problem", [
    (by_arn("prod-db"), "FIS target db 'prod-db' is outside the allow-list"),
    ({"db": {"resourceType": "aws:rds:db", "resourceTags": {"env": "staging"}, "selectionMode": "ALL"}},
     "is chosen by tags or filters"),
    ({"db": {"resourceType": "aws:rds:db", "resourceArns": [f"arn:aws:rds:{REGION}:999999999999:db:hypercode-db"],
             "selectionMode": "ALL"}}, "is in account 999999999999"),
])
def test_fis_templates_outside_the_allow_list_are_refused(stubs: Stack, tmp_path: Path, targets: dict[str, Any],
                                                          problem: str) -> None:
    p = profile_mod.load(write_profile(tmp_path, stubs, template(stubs, targets)))
    refused = plan_profile(p, collect=True).refused
    assert len(refused) == 1 and isinstance(refused[0][1], NotAllowed) and problem in str(refused[0][1])


def test_fis_fault_runs_and_its_rollback_stops_the_experiment(stubs: Stack, tmp_path: Path) -> None:
    tid = template(stubs, by_arn("hypercode-db"))
    p = profile_mod.load(write_profile(tmp_path, stubs, tid))
    run_dir = tmp_path / "run"
    with Timeline(run_dir / "timeline.jsonl") as tl:
        result = run_fault(p.faults[0], tl, run_dir, p)
    mine = [x for x in fis(stubs).list_experiments()["experiments"] if x["experimentTemplateId"] == tid]
    assert len(mine) == 1 and mine[0]["tags"] == {"gameday-fault": "fis-template"}
    assert mine[0]["state"]["status"] in ("stopping", "stopped"), mine[0]["state"]
    assert result.rollbacks_ok and result.injected_at is not None
    assert (run_dir / "journals" / "fis-db-outage.json").exists()
