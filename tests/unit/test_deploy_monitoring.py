"""deploy/monitoring/ (issue 16): the PrometheusRule holds the sandbox's recording rules and P1/P2/P3 alerts,
expression for expression; the dashboard ConfigMap is the dashboard, labelled for Grafana's sidecar; both are
what scripts/deploy_monitoring.py writes; the workflow posts report.md on the pull request."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
MON = ROOT / "deploy" / "monitoring"
spec = importlib.util.spec_from_file_location("deploy_monitoring", ROOT / "scripts" / "deploy_monitoring.py")
assert spec and spec.loader
gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen)


def rules_by_name(groups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(r.get("alert") or r.get("record")): r for g in groups for r in g["rules"]}


def test_committed_files_are_what_the_generator_writes() -> None:
    for path, text in gen.files().items():
        assert path.read_text() == text, f"{path} is stale: run scripts/deploy_monitoring.py"


def test_prometheus_rule_expressions_are_the_sandboxs() -> None:
    rule = yaml.safe_load((MON / "prometheusrule.yaml").read_text())
    assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    cluster = rules_by_name(rule["spec"]["groups"])
    sandbox = rules_by_name(yaml.safe_load((ROOT / "sandbox/prometheus/rules.yml").read_text())["groups"])
    for name, r in cluster.items():
        s = sandbox[name]
        assert (r["expr"], r.get("for"), r.get("labels")) == (s["expr"], s.get("for"), s.get("labels")), name
    left_out = set(sandbox) - set(cluster)
    assert left_out == {n for n, r in sandbox.items() if "sandbox_" in str(r["expr"])}
    assert all(n in (MON / "prometheusrule.yaml").read_text().splitlines()[3] for n in left_out)
    severities = {r["labels"]["severity"] for r in cluster.values() if "alert" in r}
    assert severities == {"P1", "P2", "P3"}


def test_dashboard_configmap_is_the_dashboard_for_the_sidecar() -> None:
    cm = yaml.safe_load((MON / "dashboard-configmap.yaml").read_text())
    assert cm["kind"] == "ConfigMap" and cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    (name, text), = cm["data"].items()
    assert json.loads(text) == json.loads((ROOT / "deploy/grafana" / name).read_text())
    kust = yaml.safe_load((MON / "kustomization.yaml").read_text())
    assert sorted(kust["resources"]) == ["dashboard-configmap.yaml", "prometheusrule.yaml"]


def test_workflow_posts_report_md_on_the_pull_request() -> None:
    wf = yaml.safe_load((ROOT / ".github/workflows/gameday.yml").read_text())
    assert wf["permissions"]["pull-requests"] == "write"
    steps = [s for s in wf["jobs"]["smoke"]["steps"] if str(s.get("uses", "")).startswith("actions/github-script@")]
    assert len(steps) == 1
    step = steps[0]
    assert "pull_request" in step["if"] and "always()" in step["if"]
    assert step["env"]["REPORT"] == "artifacts/report.md"
    script = step["with"]["script"]
    assert "createComment" in script and "updateComment" in script and "<!-- gameday-report -->" in script
