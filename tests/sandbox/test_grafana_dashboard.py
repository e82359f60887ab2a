"""deploy/grafana/hypercode-gameday.json: the checklist §5.3 dashboard over the target's contract.

Its structure is checked offline; then every PromQL expression of it (Grafana's variables
replaced by what Grafana would send) goes to the real Prometheus of a real sandbox under a
little traffic and a bad release, and must be accepted and return data.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

from tests.helpers import ROOT, Sandbox, http

DASHBOARD = ROOT / "deploy" / "grafana" / "hypercode-gameday.json"
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
