"""Chaos Toolkit probes: what the sandbox looks like right now.

State comes from the controller's ``GET /status``; what a client would see comes from the
ingress, as a client would see it. Annotations are real types (no postponed evaluation)
because discovery reads them.
"""

from typing import Any

from chaoslib.types import Configuration, Secrets

from gameday.sandbox.chaos.client import client
from gameday.sandbox.chaos.state import deployment_state, is_healthy, read_revision

__all__ = [
    "all_nodes_schedulable",
    "component_healthy",
    "db_primary",
    "deployment_phase",
    "redis_primary",
    "sandbox_status",
    "serving_revision",
]


def sandbox_status(
    configuration: Configuration | None = None, secrets: Secrets | None = None
) -> dict[str, Any]:
    """The controller's whole status document (nodes, pods, deployments, db, redis, events),
    for the journal: what the sandbox looked like when this ran."""
    return client(configuration).status()


def db_primary(configuration: Configuration | None = None, secrets: Secrets | None = None) -> str:
    """Name of the Postgres primary (``db-a`` or ``db-b``); "" while there is none."""
    return str(client(configuration).status().get("db", {}).get("primary") or "")


def redis_primary(configuration: Configuration | None = None, secrets: Secrets | None = None) -> str:
    """Name of the Redis primary (``redis-a`` or ``redis-b``); "" while there is none."""
    return str(client(configuration).status().get("redis", {}).get("primary") or "")


def serving_revision(configuration: Configuration | None = None, secrets: Secrets | None = None) -> int:
    """The revision a client is served, from ``GET /version`` through the ingress: the
    proof that a rollback restored the version, whatever the controller believes."""
    return read_revision(client(configuration))


def deployment_phase(
    deployment: str = "core-api", configuration: Configuration | None = None, secrets: Secrets | None = None
) -> str:
    """Phase of a deployment: stable, progressing, rolled_back or stuck."""
    return str(deployment_state(client(configuration).status(), deployment).get("phase"))


def all_nodes_schedulable(configuration: Configuration | None = None, secrets: Secrets | None = None) -> bool:
    """True when no node is cordoned (the steady state every node fault must restore)."""
    nodes = client(configuration).status().get("nodes", [])
    return bool(nodes) and all(n.get("schedulable") for n in nodes)


def component_healthy(
    component: str, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> bool:
    """Whether one component is healthy: api (ingress ``/healthz`` is 200), ingress (nginx
    answers at all), db / redis (the controller reports a primary that is up), prometheus
    (``/-/ready`` is 200), controller (``/status`` answers). A component that does not
    answer is unhealthy, not an error; the controller not answering for db / redis is."""
    return is_healthy(client(configuration), component)
