"""Reading the sandbox's state: the rules behind the probes, shared with the waits.

Kept apart from ``probes.py`` so these helpers, which take a client or a status document
rather than a Chaos Toolkit configuration, are not discovered as activities.
"""

from typing import Any

from chaoslib.exceptions import ActivityFailed

from gameday.sandbox.chaos.client import BadArgument, SandboxClient

COMPONENTS = ("api", "ingress", "db", "redis", "prometheus", "controller")


def is_healthy(sandbox: SandboxClient, component: str) -> bool:
    """See :func:`gameday.sandbox.chaos.probes.component_healthy`."""
    ep = sandbox.endpoints
    if component == "api":
        return sandbox.probe(f"{ep.ingress}/healthz") == 200
    if component == "ingress":
        return sandbox.probe(f"{ep.ingress}/healthz") is not None
    if component == "prometheus":
        return sandbox.probe(f"{ep.prometheus}/-/ready") == 200
    if component == "controller":
        return sandbox.probe(f"{ep.control}/status") == 200
    if component in ("db", "redis"):
        return primary_up(sandbox.status(), component)
    raise BadArgument(f"unknown component {component!r}; expected one of {', '.join(COMPONENTS)}")


def primary_up(status: dict[str, Any], component: str) -> bool:
    """Whether the status names a primary for ``db`` / ``redis`` and that instance is up."""
    section = status.get(component) or {}
    primary = section.get("primary")
    instance = (section.get("instances") or {}).get(primary) or {}
    return bool(primary) and bool(instance.get("up"))


def deployment_state(status: dict[str, Any], deployment: str) -> dict[str, Any]:
    """One deployment's entry of the status. None reported yet (a controller still starting)
    is a transient ActivityFailed; a name the controller does not know is a BadArgument."""
    deployments = status.get("deployments") or {}
    if not deployments:
        raise ActivityFailed("the controller reports no deployments yet")
    if deployment not in deployments:
        known = ", ".join(sorted(deployments))
        raise BadArgument(f"unknown deployment {deployment!r}; the controller knows: {known}")
    state: dict[str, Any] = deployments[deployment]
    return state


def read_revision(sandbox: SandboxClient) -> int:
    """``revision`` of ``GET /version`` through the ingress."""
    url = f"{sandbox.endpoints.ingress}/version"
    try:
        data = sandbox.request("GET", url, "ingress").json()
        return int(data["revision"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ActivityFailed(f"GET {url}: no integer revision in the answer ({exc!r})") from None
