"""deploy/grafana/hypercode-gameday.json: the checklist §5.3 dashboard over the target's contract.

Its structure is checked offline; then every PromQL expression of it (Grafana's variables
replaced by what Grafana would send) goes to the real Prometheus of a real sandbox under a
little traffic and a bad release, and must be accepted and return data.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.helpers import ROOT

DASHBOARD = ROOT / "deploy" / "grafana" / "hypercode-gameday.json"
CONTRACT = {"http_request_duration_seconds", "agent_startup_seconds", "agent_task_duration_seconds",
            "crew_assembly_total", "active_warm_pool_size", "watchdog_recovery_actions_total",
            "missions_completed_total", "token_usage_cost_est", "deployment_revision",
            "deployment_rollbacks_total", "health_check_failures_total"}
def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def panels(d: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for p in d["panels"]:
        out += [p] if p["type"] != "row" else list(p.get("panels", []))
    return [p for p in out if p["type"] != "row"]


def expressions(d: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["title"], t["expr"]) for p in panels(d) for t in p["targets"]]


def test_dashboard_structure() -> None:
    d = dashboard()
    assert d["uid"] and d["title"] and d["schemaVersion"] >= 36
    ps = panels(d)
    titles = [p["title"] for p in ps]
    assert len(set(titles)) == len(titles), "panel titles are unique"
    ids = [p["id"] for p in d["panels"]]
    assert len(set(ids)) == len(ids)
    for p in ps:
        assert p["title"].strip(), p
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        assert p["targets"], p["title"]
        for t in p["targets"]:
            assert t["expr"].strip() and t["refId"], p["title"]
            assert t.get("datasource", p["datasource"]) == p["datasource"]
        g = p["gridPos"]
        assert g["w"] > 0 and g["h"] > 0 and g["x"] + g["w"] <= 24, p["title"]
    # the §5.3 panels and the failover ones
    rows = [p["title"] for p in d["panels"] if p["type"] == "row"]
    for section in ("System Health", "Agent Performance", "Business Overview", "Failover"):
        assert any(section in r for r in rows), section
    for wanted in ("error rate", "latency p95 / p99", "start-up latency", "pool hit rate", "task success rate",
                   "active missions", "daily cost", "deployment revision", "rollbacks", "health checks"):
        assert any(wanted in t.lower() for t in titles), wanted
    # a Prometheus datasource variable, and gameday's own annotations (tag gameday)
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    ann = [a for a in d["annotations"]["list"] if a.get("target", {}).get("type") == "tags"]
    assert ann and ann[0]["target"]["tags"] == ["gameday"] and ann[0]["enable"]
    # only the contract's series (DESIGN.md "The target's contract"): it must work on a real HyperCode
    used = set()
    for _, expr in expressions(d):
        expr = re.sub(r"\bby \([^)]*\)", "", re.sub(r"\{[^}]*\}", "{}", expr))  # no label names left
        for m in re.findall(r"\b([a-z_:]+)(?=\{|\[|\))", expr):
            used.add(re.sub(r"_(bucket|sum|count)$", "", m))
    functions = {"rate", "increase", "sum", "max", "histogram_quantile", "clamp_min", "vector"}
    assert used - functions <= CONTRACT, used - functions - CONTRACT
    assert CONTRACT - {"http_request_duration_seconds"} - used == set(), "every contract series has a panel"


