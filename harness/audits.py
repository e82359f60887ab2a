"""Checklist audits, collected from the live target into ``audits.json`` (the judge reads it).

* Redis (§2.2): AOF on with ``appendfsync everysec``, ``maxmemory-policy noeviction``;
* PgBouncer (§2.1): ``pool_mode transaction``, ``max_client_conn 1000``, ``default_pool_size 20``;
* every metric of §5.2 (and the contract's) present in Prometheus;
* P1 and P2 alert rules (§5.4) loaded in Prometheus.

On the sandbox the server settings come from its controller (``GET /audit``), which reads the
running Redis and PgBouncer. For a cluster there is no source yet: recorded as such, so the
judge says INCONCLUSIVE rather than guessing. The rollout settings (§4.2, ``audit_rollout``) come
from the controller on the sandbox and from the core Deployment in the Kubernetes API on a cluster.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import requests

from gameday.contract.atomic import write_atomic
from gameday.harness import promclient
from gameday.harness.errors import BadInput
from gameday.harness.profile import ClusterTarget
from gameday.harness.promclient import PrometheusError
from gameday.harness.target import Endpoints

CHECKLIST_METRICS = (
    "agent_task_duration_seconds_bucket", "crew_assembly_total", "active_warm_pool_size",
    "watchdog_recovery_actions_total", "missions_completed_total", "token_usage_cost_est",
    "http_request_duration_seconds_bucket", "agent_startup_seconds_bucket", "deployment_revision",
    "deployment_rollbacks_total", "health_check_failures_total",
)


def _get(url: str) -> Any:
    r = requests.get(url, timeout=10)
    r.raise_for_status()
    return r.json()


def _client(prometheus: str | promclient.Access) -> promclient.Client:
    return promclient.client(promclient.at(prometheus) if isinstance(prometheus, str) else prometheus)


def metrics_present(prometheus: str | promclient.Access) -> dict[str, bool]:
    names = "|".join(CHECKLIST_METRICS)
    c = _client(prometheus)
    try:
        result = c.query(f'count by (__name__) ({{__name__=~"{names}"}})')
    finally:
        c.close()
    seen = {r["metric"].get("__name__") for r in result}
    return {m: m in seen for m in CHECKLIST_METRICS}


def alert_rules(prometheus: str | promclient.Access) -> list[dict[str, str]]:
    c = _client(prometheus)
    try:
        data = c.api("/api/v1/rules", {"type": "alert"})
    finally:
        c.close()
    return [{"name": r["name"], "severity": str(r.get("labels", {}).get("severity", "")), "health": r.get("health", "")}
            for g in data["groups"] for r in g["rules"]]


def cluster_rollout(cluster: ClusterTarget) -> dict[str, Any]:
    """The core Deployment's rollout settings from the Kubernetes API (``get`` deployments, which
    deploy/rbac grants): strategy, maxSurge / maxUnavailable, progress deadline, readiness probe."""
    from kubernetes import client, config

    from gameday.harness.rollout_watch import settings_of

    path = str(cluster.kubeconfig) if cluster.kubeconfig else None
    api = config.new_client_from_config(config_file=path, context=cluster.kube_context)  # type: ignore[no-untyped-call]
    dep = client.AppsV1Api(api).read_namespaced_deployment(cluster.deployment, cluster.namespace)
    source = f"Kubernetes API, kube context {cluster.kube_context}, deployment {cluster.namespace}/{cluster.deployment}"
    return settings_of(dep, source, cluster.container).model_dump()


def collect(ep: Endpoints, out: Path, cluster: ClusterTarget | None = None) -> dict[str, Any]:
    """Everything above into ``out``; ``cluster``: where the rollout settings come from on a cluster."""
    result: dict[str, Any] = {"collected_at": time.time(), "errors": {}}
    if ep.control:
        try:
            result.update(_get(f"{ep.control}/audit"))
            result["source"] = f"sandbox controller {ep.control}/audit (live CONFIG GET / SHOW CONFIG)"
        except (requests.exceptions.RequestException, ValueError) as exc:
            result["errors"]["servers"] = f"{type(exc).__name__}: {exc}"[:300]
    else:
        result["errors"]["servers"] = "no audit source for Redis/PgBouncer settings on this target kind"
    if "rollout" not in result and cluster is not None:
        try:
            result["rollout"] = cluster_rollout(cluster)
        except Exception as exc:  # kubeconfig, 403, unreachable: the judge says INCONCLUSIVE with this
            result["errors"]["rollout"] = f"{type(exc).__name__}: {exc}"[:300]
    elif "rollout" not in result:
        result["errors"]["rollout"] = result["errors"].get("servers") or "no source for the rollout settings"
    if "autoscaling" not in result and cluster is not None:  # §6.2: the HPAs (the sandbox's come from /audit)
        try:
            from gameday.harness.hpa_specs import cluster_autoscaling

            result["autoscaling"] = cluster_autoscaling(cluster)
        except Exception as exc:  # kubeconfig, 403, unreachable: the judge says INCONCLUSIVE with this
            result["errors"]["autoscaling"] = f"{type(exc).__name__}: {exc}"[:300]
    elif "autoscaling" not in result:
        result["errors"]["autoscaling"] = result["errors"].get("servers") or "no source for the HPA specs"
    access = promclient.at(ep.prometheus, ep.prometheus_access)
    for key, fn in (("metrics", metrics_present), ("alert_rules", alert_rules)):
        try:
            result[key] = fn(access)
        except (PrometheusError, BadInput, ValueError, KeyError, TypeError) as exc:
            result["errors"][key] = f"{type(exc).__name__}: {exc}"[:300]
    write_atomic(out, json.dumps(result, indent=2))
    return result
