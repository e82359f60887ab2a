"""Releases as Chaos Toolkit actions: set a deployment's image, put it back, ``rollout undo``.

chaosk8s can roll a deployment (restart) but not change its image nor undo a rollout; the
bad-release experiment needs both: ship an image whose health checks fail, let the platform's
automated rollback act (verified with chaosk8s deployment probes and
:func:`gameday.harness.chaosext.k8s.wait_for_image`), and, in the rollbacks, make sure the good image
is back whatever happened (:func:`restore_image`, idempotent). :func:`rollout_undo` does what
``kubectl rollout undo`` does, for experiments that want exactly that.
"""

from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets
from kubernetes.client.exceptions import ApiException

from gameday.harness.chaosext.k8s import apps_api, container_of, read_deployment, refuse_placeholder, revision_of

__all__ = ["restore_image", "rollout_undo", "set_image"]

TEMPLATE_HASH = "pod-template-hash"


def set_image(
    name: str,
    image: str,
    ns: str = "default",
    container: str | None = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Set ``container``'s image (default: the first container) in deployment ``name``: a new
    rollout, as ``kubectl set image`` starts. Returns what was there before."""
    refuse_placeholder("image", image)
    api = apps_api(secrets)
    dep = read_deployment(api, name, ns)
    target = container_of(dep, container)
    before = target.image
    body = {"spec": {"template": {"spec": {"containers": [{"name": target.name, "image": image}]}}}}
    _patch(api, name, ns, body)
    return {"deployment": f"{ns}/{name}", "container": target.name, "from": before, "to": image,
            "revision_before": revision_of(dep.metadata.annotations)}


def restore_image(
    name: str,
    image: str,
    ns: str = "default",
    container: str | None = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Make sure deployment ``name`` runs ``image`` (the good release): patch only if it does
    not already (an automated rollback may have done it). The rollback of a bad release."""
    refuse_placeholder("image", image)
    api = apps_api(secrets)
    dep = read_deployment(api, name, ns)
    target = container_of(dep, container)
    if target.image == image:
        return {"deployment": f"{ns}/{name}", "container": target.name, "image": image, "changed": False}
    out = set_image(name, image, ns, target.name, configuration, secrets)
    out["changed"] = True
    return out


def rollout_undo(
    name: str,
    ns: str = "default",
    to_revision: int = 0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """``kubectl rollout undo``: copy the pod template of the ReplicaSet at ``to_revision``
    (0: the revision before the current one) back into the deployment."""
    api = apps_api(secrets)
    dep = read_deployment(api, name, ns)
    current = revision_of(dep.metadata.annotations)
    labels = (dep.spec.selector.match_labels if dep.spec and dep.spec.selector else None) or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or None
    try:
        sets = api.list_namespaced_replica_set(ns, label_selector=selector).items
    except ApiException as exc:
        raise ActivityFailed(f"listing ReplicaSets of {ns}/{name}: {exc.status} {exc.reason}") from None
    owned = {}
    for rs in sets:
        owners = rs.metadata.owner_references or []
        rev = revision_of(rs.metadata.annotations)
        if rev is not None and any(o.kind == "Deployment" and o.uid == dep.metadata.uid for o in owners):
            owned[rev] = rs
    wanted = int(to_revision)
    if wanted == 0:
        older = sorted(r for r in owned if current is None or r < current)
        if not older:
            raise ActivityFailed(f"deployment {ns}/{name} has no revision before {current} to go back to")
        wanted = older[-1]
    if wanted not in owned:
        raise ActivityFailed(f"deployment {ns}/{name} has no revision {wanted} (known: {sorted(owned)})")
    template = api.api_client.sanitize_for_serialization(owned[wanted].spec.template)
    (template.get("metadata") or {}).get("labels", {}).pop(TEMPLATE_HASH, None)
    _patch(api, name, ns, {"spec": {"template": template}})
    images = [c.get("image") for c in template.get("spec", {}).get("containers", [])]
    return {"deployment": f"{ns}/{name}", "from_revision": current, "to_revision": wanted, "images": images}


def _patch(api: Any, name: str, ns: str, body: dict[str, Any]) -> None:
    try:
        api.patch_namespaced_deployment(name, ns, body)
    except ApiException as exc:
        raise ActivityFailed(f"patching deployment {ns}/{name}: {exc.status} {exc.reason}: "
                             f"{(exc.body or '')[:300]}") from None
