"""The sandbox's Prometheus rules and config, checked by promtool itself.

promtool is the only judge of PromQL that matters (it is Prometheus's own parser and rule
engine), so these tests run it rather than re-implementing any of its checks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gameday.sandbox.prometheus import RULES_PATH, RULES_TEST_PATH
from gameday.sandbox.prometheus.prometheus import (
    JOBS,
    duration,
    init_targets,
    prometheus_argv,
    render_config,
    write_targets,
)


def test_every_alert_has_a_checklist_severity_and_a_test() -> None:
    import yaml

    groups = yaml.safe_load(RULES_PATH.read_text())["groups"]
    alerts = {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}
    assert {a["labels"]["severity"] for a in alerts.values()} <= {"P1", "P2", "P3"}
    tests = yaml.safe_load(RULES_TEST_PATH.read_text())["tests"]
    tested = {t["alertname"] for case in tests for t in case.get("alert_rule_test", [])}
    firing = {t["alertname"] for case in tests for t in case.get("alert_rule_test", []) if t["exp_alerts"]}
    quiet = {t["alertname"] for case in tests for t in case.get("alert_rule_test", []) if not t["exp_alerts"]}
    assert set(alerts) == tested == firing == quiet


def test_rendered_config_shape(tmp_path: Path) -> None:
    import yaml

    config = yaml.safe_load(render_config(0.5, RULES_PATH, tmp_path / "sd"))
    assert config["global"] == {
        "scrape_interval": "500ms",
        "scrape_timeout": "500ms",
        "evaluation_interval": "500ms",
    }
    assert config["rule_files"] == [str(RULES_PATH.resolve())]
    jobs = {c["job_name"]: c["file_sd_configs"][0] for c in config["scrape_configs"]}
    assert tuple(jobs) == JOBS
    for job, sd in jobs.items():
        assert sd["files"] == [str((tmp_path / "sd" / f"{job}.json").resolve())]
        assert sd["refresh_interval"] == "1s"


def test_duration() -> None:
    assert duration(1) == "1s"
    assert duration(15.0) == "15s"
    assert duration(0.25) == "250ms"
    assert duration(1.5) == "1500ms"
    with pytest.raises(ValueError):
        duration(0)


def test_write_targets_is_file_sd_json_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = write_targets(
        tmp_path,
        "core-api",
        [("127.0.0.1", 17100, {"pod": "api-0", "node": "node-a"}), ("127.0.0.1", 17101, {})],
    )
    assert path == tmp_path / "core-api.json"
    assert json.loads(path.read_text()) == [
        {"targets": ["127.0.0.1:17100"], "labels": {"pod": "api-0", "node": "node-a"}},
        {"targets": ["127.0.0.1:17101"], "labels": {}},
    ]
    write_targets(tmp_path, "core-api", [])
    assert json.loads(path.read_text()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["core-api.json"]


def test_write_targets_refuses_unknown_jobs_and_bad_labels(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown scrape job"):
        write_targets(tmp_path, "core_api", [])
    with pytest.raises(ValueError, match="invalid label names"):
        write_targets(tmp_path, "worker", [("127.0.0.1", 1, {"bad-name": "x"})])
    assert list(tmp_path.iterdir()) == []


def test_init_targets_keeps_existing_files(tmp_path: Path) -> None:
    write_targets(tmp_path, "worker", [("127.0.0.1", 17102, {"pod": "worker-0"})])
    init_targets(tmp_path)
    assert json.loads((tmp_path / "core-api.json").read_text()) == []
    assert json.loads((tmp_path / "worker.json").read_text())[0]["targets"] == ["127.0.0.1:17102"]


def test_prometheus_argv(tmp_path: Path) -> None:
    argv = prometheus_argv("/usr/bin/prometheus", tmp_path / "p.yml", tmp_path / "data", 17002)
    assert argv[0] == "/usr/bin/prometheus"
    assert f"--config.file={tmp_path / 'p.yml'}" in argv
    assert "--web.listen-address=127.0.0.1:17002" in argv
    assert f"--storage.tsdb.path={tmp_path / 'data'}" in argv
    assert "--storage.tsdb.retention.time=1d" in argv
    assert "--web.enable-lifecycle" in argv
