"""The HorizontalPodAutoscalers of a cluster, read through the Kubernetes API (autoscaling/v2), in
the shape the sandbox's controller reports its own (``GET /audit``, ``autoscaling.hpas``), so that
one audit (analysis/checks/autoscaling.py ``audit_autoscaling``) judges both against §6.2.

Kubernetes' defaults are filled in where a spec leaves them out, as the API documents them
(``behavior``: scale-up stabilization 0 s, scale-down 300 s, ``selectPolicy: Max``), so an HPA
without a ``behavior`` is judged on what it really does.
"""

from __future__ import annotations

from typing import Any

from gameday.harness.profile import ClusterTarget

DEFAULT_UP_WINDOW_S = 0.0  # autoscaling/v2 HPAScalingRules: scale-up stabilizationWindowSeconds default
DEFAULT_DOWN_WINDOW_S = 300.0  # ...and scale-down
SOURCES = {"Resource": "resource", "ContainerResource": "container_resource", "External": "external",
           "Pods": "pods", "Object": "object"}  # MetricSpec.type -> the field that holds it


def _quantity(v: Any) -> float | None:
    """A Kubernetes quantity as a number (``100``, ``1500m``, ``2k``); None if it is not one."""
    if v is None:
        return None
    text = str(v).strip()
    scale = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9}
    try:
        if text and text[-1] in scale:
            return float(text[:-1]) * scale[text[-1]]
        return float(text)
    except ValueError:
        return None


def _metric(spec: Any) -> dict[str, Any]:
    """The first metric of the spec: type, name, target type and target value."""
    metrics = list(getattr(spec, "metrics", None) or [])
    if not metrics:
        return {"type": None, "name": None, "target_type": None, "target": None}
    m = metrics[0]
    kind = str(m.type)
    source = getattr(m, SOURCES.get(kind, ""), None)
    name = getattr(source, "name", None) if kind in ("Resource", "ContainerResource") else \
        getattr(getattr(source, "metric", None), "name", None)
    target = getattr(source, "target", None)
    ttype = str(getattr(target, "type", "")) or None
    value: float | None
    if ttype == "Utilization":
        utilization = getattr(target, "average_utilization", None)
        value = float(utilization) if utilization is not None else None
    elif ttype == "AverageValue":
        value = _quantity(getattr(target, "average_value", None))
    else:
        value = _quantity(getattr(target, "value", None))
    return {"type": kind, "name": name, "target_type": ttype, "target": value, "count": len(metrics)}


def _rules(rules: Any, default_window: float) -> dict[str, Any]:
    window = getattr(rules, "stabilization_window_seconds", None) if rules is not None else None
    policy = getattr(rules, "select_policy", None) if rules is not None else None
    return {"stabilization_window_s": float(window) if window is not None else default_window,
            "select_policy": str(policy) if policy else "Max"}


def spec_of(hpa: Any, namespace: str) -> dict[str, Any]:
    """One V2HorizontalPodAutoscaler as the audit reads it."""
    spec = hpa.spec
    behavior = getattr(spec, "behavior", None)
    ref = spec.scale_target_ref
    return {"name": hpa.metadata.name, "namespace": namespace, "scale_target": f"{ref.kind}/{ref.name}",
            "min_replicas": spec.min_replicas if spec.min_replicas is not None else 1,
            "max_replicas": spec.max_replicas, "metric": _metric(spec),
            "behavior": {"scale_up": _rules(getattr(behavior, "scale_up", None), DEFAULT_UP_WINDOW_S),
                         "scale_down": _rules(getattr(behavior, "scale_down", None), DEFAULT_DOWN_WINDOW_S)}}


def cluster_autoscaling(cluster: ClusterTarget) -> dict[str, Any]:
    """Every HPA of the target's namespace (``list`` horizontalpodautoscalers.autoscaling)."""
    from kubernetes import client, config

    path = str(cluster.kubeconfig) if cluster.kubeconfig else None
    api = config.new_client_from_config(config_file=path, context=cluster.kube_context)  # type: ignore[no-untyped-call]
    items = client.AutoscalingV2Api(api).list_namespaced_horizontal_pod_autoscaler(cluster.namespace).items
    return {"source": f"Kubernetes API, kube context {cluster.kube_context}, autoscaling/v2 HorizontalPodAutoscalers "
                      f"in {cluster.namespace}",
            "hpas": [spec_of(h, cluster.namespace) for h in items]}
