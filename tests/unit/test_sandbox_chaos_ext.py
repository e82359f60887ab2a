"""The sandbox's Chaos Toolkit extension against a fake sandbox made of real HTTP servers.

The controller is not needed: three ``http.server`` threads stand in for the ingress
(base+0), the controller (base+1) and Prometheus (base+2), serve canned answers and record
every POST. That exercises what the extension owns: finding the sandbox, building URLs,
translating failures into ActivityFailed, waiting, discovery, and running under chaoslib.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed

from gameday.sandbox.chaos import actions, client, discover, probes, waits
from gameday.sandbox.chaos.client import BadArgument
from tests.stubs import refusing_port
from tests.stubs.fake_sandbox import STATUS, FakeSandbox, drain_experiment

# --- finding the sandbox ------------------------------------------------------------------


def test_locate_from_state_dir(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    ep = client.locate(cfg)
    assert ep.ingress == f"http://127.0.0.1:{fake.base}"
    assert ep.control == f"http://127.0.0.1:{fake.base + 1}"
    assert ep.prometheus == f"http://127.0.0.1:{fake.base + 2}"
    assert "sandbox.json" in ep.source


def test_locate_defaults_to_env_then_tmp(
    fake: FakeSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAMEDAY_SANDBOX_DIR", str(tmp_path))
    assert client.locate(None).control == f"http://127.0.0.1:{fake.base + 1}"
    assert client.locate({}).control == f"http://127.0.0.1:{fake.base + 1}"
    monkeypatch.delenv("GAMEDAY_SANDBOX_DIR")
    assert client.state_dir(None) == Path("/tmp/gameday-sandbox")


def test_locate_from_control_url_derives_neighbours_and_honours_overrides() -> None:
    ep = client.locate({"sandbox_control_url": "http://127.0.0.1:18001/"})
    assert (ep.ingress, ep.control, ep.prometheus) == (
        "http://127.0.0.1:18000",
        "http://127.0.0.1:18001",
        "http://127.0.0.1:18002",
    )
    ep = client.locate(
        {
            "sandbox_control_url": "http://127.0.0.1:18001",
            "sandbox_ingress_url": "http://127.0.0.1:9000/",
            "sandbox_prometheus_url": "http://127.0.0.1:9090",
        }
    )
    assert (ep.ingress, ep.prometheus) == ("http://127.0.0.1:9000", "http://127.0.0.1:9090")
    with pytest.raises(BadArgument, match="explicit host and port"):
        client.locate({"sandbox_control_url": "http://localhost"})


def test_missing_sandbox_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ActivityFailed, match="sandbox.json does not exist.*sandbox_state_dir"):
        probes.db_primary(configuration={"sandbox_state_dir": str(tmp_path / "nowhere")})


def test_bad_timeout_configuration(cfg: dict[str, Any]) -> None:
    with pytest.raises(BadArgument, match="sandbox_http_timeout"):
        probes.db_primary(configuration={**cfg, "sandbox_http_timeout": "soon"})


# --- actions ------------------------------------------------------------------------------


def test_actions_make_the_documented_calls(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    assert actions.fail_db_primary(configuration=cfg) == {"ok": True, "path": "/db/fail-primary"}
    actions.stall_db_replication(30, configuration=cfg)
    actions.resume_db_replication(configuration=cfg)
    actions.kill_redis_primary(configuration=cfg)
    actions.cordon_node("node-a", configuration=cfg)
    actions.drain_node("node-b", configuration=cfg)
    actions.uncordon_node("node-b", configuration=cfg)
    actions.deploy_revision(configuration=cfg)
    actions.deploy_revision(healthy=False, wait="false", configuration=cfg)  # type: ignore[arg-type]
    actions.undo_release(configuration=cfg)
    assert fake.posts == [
        ("/db/fail-primary", None),
        ("/db/stall-replication", {"seconds": 30.0}),
        ("/db/resume-replication", None),
        ("/redis/kill-primary", None),
        ("/nodes/node-a/cordon", None),
        ("/nodes/node-b/drain", None),
        ("/nodes/node-b/uncordon", None),
        ("/deployments/core-api/rollout", {"healthy": True, "wait": True}),
        ("/deployments/core-api/rollout", {"healthy": False, "wait": False}),
        ("/deployments/core-api/undo", None),
    ]


def test_uncordon_without_a_node_uncordons_every_node(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    result = actions.uncordon_node(configuration=cfg)
    assert set(result) == {"node-a", "node-b", "node-c"}
    assert [p for p, _ in fake.posts] == [f"/nodes/node-{n}/uncordon" for n in "abc"]


def test_node_names_are_quoted_into_the_path(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    actions.cordon_node("../db/fail-primary", configuration=cfg)
    assert fake.posts == [("/nodes/..%2Fdb%2Ffail-primary/cordon", None)]


def test_bad_boolean_is_refused_before_any_call(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    with pytest.raises(BadArgument, match="healthy"):
        actions.deploy_revision(healthy="maybe", configuration=cfg)  # type: ignore[arg-type]
    assert fake.posts == []


# --- probes -------------------------------------------------------------------------------


def test_probes_read_the_status(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    assert probes.sandbox_status(configuration=cfg) == fake.status
    assert probes.db_primary(configuration=cfg) == "db-b"
    assert probes.redis_primary(configuration=cfg) == "redis-a"
    assert probes.deployment_phase(configuration=cfg) == "rolled_back"
    assert probes.all_nodes_schedulable(configuration=cfg) is False
    for node in fake.status["nodes"]:
        node["schedulable"] = True
    assert probes.all_nodes_schedulable(configuration=cfg) is True
    fake.status["db"]["primary"] = None
    assert probes.db_primary(configuration=cfg) == ""


def test_serving_revision_comes_from_the_ingress(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    assert probes.serving_revision(configuration=cfg) == 3
    fake.version = {"version": "x"}
    with pytest.raises(ActivityFailed, match="no integer revision"):
        probes.serving_revision(configuration=cfg)


def test_unknown_deployment_names_the_known_ones(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    with pytest.raises(BadArgument, match="'worker'.*core-api"):
        probes.deployment_phase("worker", configuration=cfg)


def test_component_healthy(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    def healthy(component: str) -> bool:
        return probes.component_healthy(component, configuration=cfg)

    assert all(healthy(c) for c in ("api", "ingress", "db", "redis", "prometheus", "controller"))
    fake.healthz = [503]
    fake.prometheus_ready = 503
    fake.status["db"]["instances"]["db-b"]["up"] = False
    fake.status["redis"]["primary"] = None
    assert not healthy("api")
    assert healthy("ingress")  # nginx answers, even if the pods behind it do not
    assert not healthy("prometheus")
    assert not healthy("db")
    assert not healthy("redis")
    with pytest.raises(BadArgument, match="unknown component 'dbx'"):
        healthy("dbx")


def test_component_down_is_false_not_an_error() -> None:
    with refusing_port() as port:
        conf = {
            "sandbox_control_url": f"http://127.0.0.1:{port}",
            "sandbox_ingress_url": f"http://127.0.0.1:{port}",
        }
        assert probes.component_healthy("api", configuration=conf) is False
        assert probes.component_healthy("ingress", configuration=conf) is False
        assert probes.component_healthy("controller", configuration=conf) is False


# --- failures become ActivityFailed -------------------------------------------------------


def test_unreachable_controller(tmp_path: Path) -> None:
    with refusing_port() as port, pytest.raises(ActivityFailed) as err:
        url = f"http://127.0.0.1:{port}"
        actions.fail_db_primary(configuration={"sandbox_control_url": url})
    msg = str(err.value)
    assert f"POST {url}/db/fail-primary" in msg
    assert "cannot reach the sandbox controller (connection refused)" in msg
    assert "sandbox_control_url" in msg


def test_error_status_carries_the_controllers_message(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    fake.failures["control:POST /db/fail-primary"] = (409, b'{"error": "no standby to promote"}')
    with pytest.raises(
        ActivityFailed, match=r"/db/fail-primary: the sandbox controller answered 409: no standby"
    ):
        actions.fail_db_primary(configuration=cfg)
    fake.failures["control:POST /redis/kill-primary"] = (500, b"<html>" + b"x" * 1000)
    with pytest.raises(ActivityFailed, match=r"answered 500: <html>x+\.\.\.$"):
        actions.kill_redis_primary(configuration=cfg)


def test_non_json_answer(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    fake.failures["control:GET /status"] = (200, b"not json")
    with pytest.raises(ActivityFailed, match="expected JSON, got not json"):
        probes.sandbox_status(configuration=cfg)


def test_slow_controller_times_out(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    release = threading.Event()
    original = fake.next_status

    def slow() -> dict[str, Any]:
        release.wait(5)
        return original()

    fake.next_status = slow  # type: ignore[method-assign]
    try:
        with pytest.raises(ActivityFailed, match="did not answer within 0.3s"):
            probes.sandbox_status(configuration={**cfg, "sandbox_http_timeout": 0.3})
    finally:
        release.set()


# --- waits --------------------------------------------------------------------------------


def test_wait_for_api_healthy(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    fake.healthz = [503, 503, 200]
    waited = waits.wait_for_api_healthy(timeout=5, interval=0.05, configuration=cfg)
    assert 0.05 <= waited < 5


def test_wait_times_out_with_the_last_observation(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    fake.healthz = [503]
    started = time.monotonic()
    with pytest.raises(
        ActivityFailed, match=r"timed out after 0.3s waiting for api to be healthy; last: api unhealthy"
    ):
        waits.wait_for_api_healthy(timeout=0.3, interval=0.05, configuration=cfg)
    assert time.monotonic() - started < 2


def test_wait_for_db_primary_rides_out_a_failover(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    failing = copy.deepcopy(STATUS)
    failing["db"].update(primary=None, standby_streaming=False)
    promoted = copy.deepcopy(STATUS)
    promoted["db"].update(primary="db-a", standby_streaming=False)
    promoted["db"]["instances"]["db-a"]["up"] = True
    rebuilt = copy.deepcopy(promoted)
    rebuilt["db"]["standby_streaming"] = True
    fake.statuses = [failing, failing, promoted, promoted, rebuilt]
    assert waits.wait_for_db_primary(timeout=5, interval=0.01, configuration=cfg) == "db-a"
    assert len(fake.statuses) == 2  # stopped at the first status with a live primary
    assert (
        waits.wait_for_db_primary(timeout=5, interval=0.01, require_standby_streaming=True, configuration=cfg)
        == "db-a"
    )
    assert fake.statuses == [rebuilt]


def test_wait_for_redis_primary(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    down = copy.deepcopy(STATUS)
    down["redis"]["instances"]["redis-a"]["up"] = False
    fake.statuses = [down, copy.deepcopy(STATUS)]
    assert waits.wait_for_redis_primary(timeout=5, interval=0.01, configuration=cfg) == "redis-a"


def test_wait_for_deployment_phase(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    progressing = copy.deepcopy(STATUS)
    progressing["deployments"]["core-api"]["phase"] = "progressing"
    fake.statuses = [progressing, progressing, copy.deepcopy(STATUS)]
    phase = waits.wait_for_deployment_phase(
        "stable, rolled_back", timeout=5, interval=0.01, configuration=cfg
    )
    assert phase == "rolled_back"


def test_wait_gives_up_at_once_on_a_bad_argument(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    started = time.monotonic()
    with pytest.raises(BadArgument):
        waits.wait_for_deployment_phase(deployment="nope", timeout=30, configuration=cfg)
    with pytest.raises(BadArgument):
        waits.wait_for_component_healthy("dbx", timeout=30, configuration=cfg)
    assert time.monotonic() - started < 2


def test_wait_rides_out_a_controller_that_is_briefly_gone(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    calls = {"n": 0}
    original = fake.next_status

    def flaky() -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] < 3:
            return {"state": "starting"}
        return original()

    fake.next_status = flaky  # type: ignore[method-assign]
    assert waits.wait_for_deployment_phase("rolled_back", timeout=5, interval=0.01, configuration=cfg)
    assert calls["n"] == 3


def test_wait_for_serving_revision(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    assert waits.wait_for_serving_revision(3, timeout=2, interval=0.01, configuration=cfg) == 3
    with pytest.raises(ActivityFailed, match="waiting for revision 4 to be served; last: revision 3 served"):
        waits.wait_for_serving_revision(4, timeout=0.2, interval=0.05, configuration=cfg)


# --- discovery and Chaos Toolkit itself ---------------------------------------------------

EXPECTED_ACTIVITIES = {
    "action": {
        "fail_db_primary",
        "stall_db_replication",
        "resume_db_replication",
        "kill_redis_primary",
        "partition_redis",
        "heal_redis_partition",
        "cordon_node",
        "drain_node",
        "uncordon_node",
        "deploy_revision",
        "undo_release",
    },
    "probe": {
        "sandbox_status",
        "db_primary",
        "redis_primary",
        "serving_revision",
        "deployment_phase",
        "all_nodes_schedulable",
        "component_healthy",
        "wait_for_api_healthy",
        "wait_for_component_healthy",
        "wait_for_db_primary",
        "wait_for_redis_primary",
        "wait_for_deployment_phase",
        "wait_for_serving_revision",
    },
}


def test_discovery_lists_every_activity_with_typed_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAMEDAY_SANDBOX_DIR", str(tmp_path / "none"))
    found = discover(discover_system=True)
    json.dumps(found)  # what `chaos discover` writes
    assert found["extension"]["name"] == "gameday-sandbox"
    assert found["system"] is None  # no sandbox: still a discovery
    by_type: dict[str, set[str]] = {"action": set(), "probe": set()}
    for activity in found["activities"]:
        by_type[activity["type"]].add(activity["name"])
        assert activity["doc"], f"{activity['name']} has no docstring"
        assert [a["name"] for a in activity["arguments"]][-2:] == ["configuration", "secrets"]
    assert by_type == EXPECTED_ACTIVITIES
    stall = next(a for a in found["activities"] if a["name"] == "stall_db_replication")
    assert stall["arguments"][0] == {"name": "seconds", "type": "number"}
    healthy = next(a for a in found["activities"] if a["name"] == "component_healthy")
    assert healthy["return_type"] == "boolean"


def test_discovery_describes_a_running_sandbox(
    fake: FakeSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAMEDAY_SANDBOX_DIR", str(tmp_path))
    system = discover(discover_system=True)["system"]
    assert system["db"]["primary"] == "db-b"
    assert [n["name"] for n in system["nodes"]] == ["node-a", "node-b", "node-c"]


def test_experiment_runs_under_chaoslib(fake: FakeSandbox, cfg: dict[str, Any]) -> None:
    from chaoslib.experiment import ensure_experiment_is_valid, run_experiment

    experiment = drain_experiment(cfg)
    ensure_experiment_is_valid(experiment)
    journal = run_experiment(experiment, settings={"runtime": {"rollbacks": {"strategy": "always"}}})
    assert journal["status"] == "completed", json.dumps(journal, default=str)[:2000]
    assert journal["steady_states"]["before"]["steady_state_met"] is True
    assert [p for p, _ in fake.posts] == [
        "/nodes/node-a/drain",
        "/nodes/node-a/uncordon",
        "/nodes/node-b/uncordon",
        "/nodes/node-c/uncordon",
    ]


def test_experiment_with_an_unknown_argument_is_invalid(cfg: dict[str, Any]) -> None:
    from chaoslib.exceptions import InvalidActivity
    from chaoslib.experiment import ensure_experiment_is_valid

    experiment = drain_experiment(cfg)
    experiment["method"][0]["provider"]["arguments"] = {"node": "node-a", "force": True}
    with pytest.raises(InvalidActivity, match="'force' is not part of the function signature"):
        ensure_experiment_is_valid(experiment)


