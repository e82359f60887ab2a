"""deploy/grafana/hypercode-gameday.json: the checklist §5.3 dashboard over the target's contract.

Its structure is checked offline; then every PromQL expression of it (Grafana's variables
replaced by what Grafana would send) goes to the real Prometheus of a real sandbox under a
little traffic and a bad release, and must be accepted and return data.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Sandbox, http

DASHBOARD = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "hypercode-gameday.json"
CONTRACT = {"http_request_duration_seconds", "agent_startup_seconds", "agent_task_duration_seconds",
            "crew_assembly_total", "active_warm_pool_size", "watchdog_recovery_actions_total",
            "missions_completed_total", "token_usage_cost_est", "deployment_revision",
            "deployment_rollbacks_total", "health_check_failures_total"}
# what Grafana substitutes before a query reaches Prometheus
GRAFANA_VARS = {"$__rate_interval": "1m", "$__range": "10m", "$__interval": "15s", "$deployment": ".*"}


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def panels(d: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for p in d["panels"]:
        out += [p] if p["type"] != "row" else list(p.get("panels", []))
    return [p for p in out if p["type"] != "row"]


def expressions(d: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["title"], t["expr"]) for p in panels(d) for t in p["targets"]]


def substitute(expr: str) -> str:
    for k, v in sorted(GRAFANA_VARS.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(k, v)
    assert "$" not in expr, f"a Grafana variable the test does not know: {expr}"
    return expr


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


def _query(prom: str, expr: str) -> dict[str, Any]:
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    code, body = http("GET", url, timeout=30)
    assert isinstance(body, dict), f"{code}: {body}"
    return body


def _traffic(sb: Sandbox, seconds: float) -> None:
    """Crews (warm and cold starts, missions that complete), a few 4xx, for ``seconds``."""
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        code, _ = http("POST", sb.api + "/v1/crews", {"mission": f"dashboard test {n}", "agents": 3,
                                                      "priority": "normal"})
        assert code in (201, 503), code
        if n % 5 == 0:
            http("GET", sb.api + "/v1/missions/00000000-0000-0000-0000-000000000000")  # 404
            http("POST", sb.api + "/v1/crews", {"agents": "many"})  # 4xx: bad request
        n += 1
        time.sleep(0.05)


@pytest.mark.sandbox
@pytest.mark.slow
def test_every_expression_is_accepted_by_prometheus_and_returns_data(sandbox: Sandbox) -> None:
    _traffic(sandbox, 20)
    # a bad release, rolled back on the 4th failed health check: the failover panels have data
    sandbox.post("/deployments/core-api/rollout", {"healthy": False})
    sandbox.wait(sandbox.healthy, 120, "the bad release rolled back")
    _traffic(sandbox, 10)
    time.sleep(3)  # the last scrape
    empty, rejected = [], []
    for title, expr in expressions(dashboard()):
        body = _query(sandbox.prometheus, substitute(expr))
        if body.get("status") != "success":
            rejected.append(f"{title}: {expr}: {body.get('error')}")
        elif not body["data"]["result"]:
            empty.append(f"{title}: {expr}")
        else:
            values = [float(r["value"][1]) for r in body["data"]["result"]]
            print(f"{title:<45} {values[:4]}  {expr[:90]}")
    assert not rejected, rejected
    assert not empty, f"no data: {empty}"
    # and the variable's own query
    body = _query(sandbox.prometheus, "deployment_revision")
    assert {r["metric"]["deployment"] for r in body["data"]["result"]} >= {"core-api"}
