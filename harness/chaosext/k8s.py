"""Kubernetes probes chaosk8s lacks: a deployment's image, waiting for it, the node to drain.

The cluster is reached exactly as chaosk8s reaches it (``chaosk8s.create_k8s_api_client``:
``KUBECONFIG``, and the context from the ``KUBERNETES_CONTEXT`` secret or environment
variable), so these run next to chaosk8s activities against the same cluster.
"""

import time
from collections.abc import Iterable, Mapping
from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets
from kubernetes import client
from kubernetes.client.exceptions import ApiException

__all__ = ["current_image", "pick_node", "wait_for_image", "wait_for_pods_ready"]


def current_image(
    name: str,
    ns: str = "default",
    container: str | None = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> str:
    """The image of ``container`` (default: the first) in deployment ``name``'s pod template."""
    dep = read_deployment(apps_api(secrets), name, ns)
    return container_of(dep, container).image or ""


def wait_for_image(
    name: str,
    image: str,
    ns: str = "default",
    container: str | None = None,
    timeout: float = 300.0,
    interval: float = 2.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Wait until deployment ``name`` runs ``image`` everywhere: the template says so, the
    controller has seen that generation, and every replica is updated and available. The
    proof that an automated rollback restored the good release. ActivityFailed on timeout."""
    refuse_placeholder("image", image)
    api = apps_api(secrets)
    started = time.monotonic()
    deadline = started + float(timeout)
    seen = "nothing yet"
    while True:
        dep = read_deployment(api, name, ns)
        now_image = container_of(dep, container).image
        st, spec = dep.status, dep.spec
        want = (spec.replicas if spec and spec.replicas is not None else 1)
        done = (now_image == image and st is not None
                and (st.observed_generation or 0) >= (dep.metadata.generation or 0)
                and (st.updated_replicas or 0) == want and (st.available_replicas or 0) == want
                and not st.unavailable_replicas)
        seen = (f"image {now_image}, updated {st.updated_replicas if st else None}/{want}, "
                f"available {st.available_replicas if st else None}/{want}")
        if done:
            return {"deployment": name, "image": image, "waited_s": round(time.monotonic() - started, 3),
                    "revision": revision_of(dep.metadata.annotations)}
        if time.monotonic() + interval > deadline:
            raise ActivityFailed(f"deployment {ns}/{name} does not run {image} after {timeout:g}s; last: {seen}")
        time.sleep(max(0.1, float(interval)))


def wait_for_pods_ready(
    label_selector: str,
    ns: str = "default",
    min_count: int = 1,
    timeout: float = 120.0,
    interval: float = 2.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Wait until at least ``min_count`` pods matching ``label_selector`` are Running and Ready
    (a killed Redis primary replaced and its pod back). ActivityFailed on timeout."""
    v1 = client.CoreV1Api(api_client(secrets))
    started = time.monotonic()
    deadline = started + float(timeout)
    while True:
        pods = v1.list_namespaced_pod(ns, label_selector=label_selector).items
        ready = sorted(str(p.metadata.name) for p in pods if p.metadata and pod_ready(p))
        if len(ready) >= int(min_count):
            return {"ready": ready, "waited_s": round(time.monotonic() - started, 3)}
        if time.monotonic() + interval > deadline:
            raise ActivityFailed(f"{len(ready)} of {min_count} pods '{label_selector}' ready in {ns} "
                                 f"after {timeout:g}s: {ready}")
        time.sleep(max(0.1, float(interval)))


def pick_node(
    label_selector: str | None = None,
    deployment: str | None = None,
    ns: str = "default",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> str:
    """The node a drain should take, chosen the same way ``gameday plan`` shows it: among the
    Ready, schedulable nodes matching ``label_selector``, the one running the most pods of
    ``deployment`` (the drain that hurts most), ties broken by name."""
    api = api_client(secrets)
    v1 = client.CoreV1Api(api)
    nodes = v1.list_node(label_selector=label_selector or None).items
    counts = pods_per_node(v1, read_deployment(client.AppsV1Api(api), deployment, ns), ns) if deployment else {}
    name = choose_node(nodes, counts)
    if name is None:
        raise ActivityFailed(f"no Ready, schedulable node matches '{label_selector}'")
    return name


# ---- shared with gameday.harness.safety (pure, or taking an API client) -----------------------------
def choose_node(nodes: Iterable[Any], pods_per_node: Mapping[str, int]) -> str | None:
    """See :func:`pick_node`: deterministic, so the plan and the run pick the same node."""
    usable = [str(n.metadata.name) for n in nodes if node_ready(n) and not (n.spec and n.spec.unschedulable)]
    if not usable:
        return None
    return sorted(usable, key=lambda name: (-pods_per_node.get(name, 0), name))[0]


def pods_per_node(v1: Any, dep: Any, ns: str) -> dict[str, int]:
    """How many pods of deployment ``dep`` (by its selector) run on each node."""
    labels = (dep.spec.selector.match_labels if dep.spec and dep.spec.selector else None) or {}
    if not labels:
        return {}
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    counts: dict[str, int] = {}
    for p in v1.list_namespaced_pod(ns, label_selector=selector).items:
        if p.spec and p.spec.node_name:
            counts[p.spec.node_name] = counts.get(p.spec.node_name, 0) + 1
    return counts


def node_ready(node: Any) -> bool:
    conditions = (node.status.conditions if node.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def pod_ready(pod: Any) -> bool:
    if not pod.status or pod.status.phase != "Running" or (pod.metadata and pod.metadata.deletion_timestamp):
        return False
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))


def container_of(dep: Any, container: str | None) -> Any:
    containers = list(dep.spec.template.spec.containers or []) if dep.spec and dep.spec.template else []
    if not containers:
        raise ActivityFailed(f"deployment {dep.metadata.name} has no containers")
    if not container:
        return containers[0]
    for c in containers:
        if c.name == container:
            return c
    names = ", ".join(c.name for c in containers)
    raise ActivityFailed(f"deployment {dep.metadata.name} has no container {container!r} (it has: {names})")


def revision_of(annotations: Mapping[str, str] | None) -> int | None:
    raw = (annotations or {}).get("deployment.kubernetes.io/revision")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def read_deployment(api: Any, name: str, ns: str) -> Any:
    try:
        return api.read_namespaced_deployment(name, ns)
    except ApiException as exc:
        if exc.status == 404:
            raise ActivityFailed(f"deployment {ns}/{name} not found") from None
        raise ActivityFailed(f"reading deployment {ns}/{name}: {exc.status} {exc.reason}") from None


def refuse_placeholder(what: str, value: Any) -> None:
    """An unsubstituted ``${...}`` (a configuration key nobody set) or an experiment's ``<unset X>``
    placeholder must never reach the cluster."""
    if not isinstance(value, str) or not value or "${" in value or value.startswith("<unset"):
        raise ActivityFailed(f"{what}: expected a value, got {value!r} (is its configuration key set?)")


def api_client(secrets: Secrets) -> Any:
    from chaosk8s import create_k8s_api_client

    return create_k8s_api_client(secrets)


def apps_api(secrets: Secrets) -> Any:
    return client.AppsV1Api(api_client(secrets))


def kube_identity(secrets: Secrets = None) -> tuple[str, str, str]:
    """(kubeconfig, context, API server) chaosk8s would use *now* (``KUBECONFIG``; the context from
    the ``KUBERNETES_CONTEXT`` secret, else the environment, else the kubeconfig's current one),
    read from the kubeconfig file without calling the API. Not an activity: gameday's
    pre-injection check compares it with what the plan checked. ActivityFailed when unreadable."""
    import os

    from chaosk8s import get_config_path
    from kubernetes import config
    from kubernetes.config.config_exception import ConfigException

    path = get_config_path()
    wanted = (secrets or {}).get("KUBERNETES_CONTEXT", os.environ.get("KUBERNETES_CONTEXT"))
    try:
        _, current = config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
        name = wanted or (current or {}).get("name")
        api = config.new_client_from_config(config_file=path, context=name)  # type: ignore[no-untyped-call]
    except (ConfigException, OSError) as exc:
        raise ActivityFailed(f"kubeconfig {path}: {exc}") from None
    return path, str(name), str(api.configuration.host)
