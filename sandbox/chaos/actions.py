"""Chaos Toolkit actions: the faults the sandbox can suffer, and the ways back.

Each action is one call of the controller's API (sandbox/README.md) and returns the
controller's JSON answer, so the journal records what the controller says it did.
The annotations are real types (no ``from __future__ import annotations``) because
Chaos Toolkit's discovery reads them to describe each argument.
"""

from typing import Any
from urllib.parse import quote

from chaoslib.types import Configuration, Secrets

from gameday.sandbox.chaos.client import as_bool, client

__all__ = [
    "cordon_node",
    "deploy_revision",
    "drain_node",
    "fail_db_primary",
    "heal_redis_partition",
    "kill_redis_primary",
    "partition_redis",
    "resume_db_replication",
    "stall_db_replication",
    "uncordon_node",
    "undo_release",
]

DEPLOYMENT = "core-api"


def fail_db_primary(configuration: Configuration | None = None, secrets: Secrets | None = None) -> Any:
    """Kill -9 the Postgres primary (an RDS Multi-AZ failover); the controller promotes the
    standby after ``timings.db_failover_detection_s`` and repoints PgBouncer."""
    return client(configuration).control("POST", "/db/fail-primary")


def stall_db_replication(
    seconds: float, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> Any:
    """Stop the primary's WAL sender for ``seconds`` (a replication stall: Data Loss Risk).
    Given the long action timeout in case the controller answers only when the stall ends."""
    body = {"seconds": float(seconds)}
    return client(configuration).control("POST", "/db/stall-replication", body, blocking=True)


def resume_db_replication(configuration: Configuration | None = None, secrets: Secrets | None = None) -> Any:
    """Resume a stalled WAL sender before its time is up (the rollback of the stall)."""
    return client(configuration).control("POST", "/db/resume-replication")


def kill_redis_primary(configuration: Configuration | None = None, secrets: Secrets | None = None) -> Any:
    """Kill -9 the Redis primary; Sentinel promotes the replica."""
    return client(configuration).control("POST", "/redis/kill-primary")


def partition_redis(
    seconds: float, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> Any:
    """Isolate the Redis primary from the app for ``seconds``, as a network partition would: it holds
    every client's commands (``CLIENT PAUSE WRITE``: the app's are all writes), so they hang until their
    timeouts. Sentinel's link is held too (its hello PUBLISH is a write, its PINGs queue behind it), so
    Sentinel may fail over as it would for a primary cut off from the majority. Lifts after ``seconds``."""
    return client(configuration).control("POST", "/redis/partition", {"seconds": float(seconds)})


def heal_redis_partition(configuration: Configuration | None = None, secrets: Secrets | None = None) -> Any:
    """Lift a Redis partition early (the rollback of ``partition_redis``; a no-op without one)."""
    return client(configuration).control("POST", "/redis/heal")


def cordon_node(node: str, configuration: Configuration | None = None, secrets: Secrets | None = None) -> Any:
    """Mark ``node`` unschedulable; its pods keep running."""
    return client(configuration).control("POST", f"/nodes/{quote(node, safe='')}/cordon")


def drain_node(node: str, configuration: Configuration | None = None, secrets: Secrets | None = None) -> Any:
    """Cordon ``node`` and move its pods away; returns once every pod is rescheduled and the
    old ones stopped, so it gets the long action timeout."""
    return client(configuration).control("POST", f"/nodes/{quote(node, safe='')}/drain", blocking=True)


def uncordon_node(
    node: str | None = None, configuration: Configuration | None = None, secrets: Secrets | None = None
) -> Any:
    """Make ``node`` schedulable again; with no node, every node the controller lists (the
    rollback that is right whatever the method did). Returns {node: answer}."""
    sandbox = client(configuration)
    if node:
        names = [node]
    else:
        names = [n["name"] for n in sandbox.status().get("nodes", [])]
    return {name: sandbox.control("POST", f"/nodes/{quote(name, safe='')}/uncordon") for name in names}


def deploy_revision(
    healthy: bool = True,
    wait: bool = True,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> Any:
    """Roll core-api to a new revision; ``healthy=False`` ships one that fails its health
    checks (the automated rollback drill). With ``wait`` the controller answers when the
    rollout is over (stable, rolled back or stuck)."""
    body = {"healthy": as_bool(healthy, "healthy"), "wait": as_bool(wait, "wait")}
    return client(configuration).control(
        "POST", f"/deployments/{DEPLOYMENT}/rollout", body, blocking=body["wait"]
    )


def undo_release(configuration: Configuration | None = None, secrets: Secrets | None = None) -> Any:
    """Back to the last good revision of core-api (``kubectl rollout undo``)."""
    return client(configuration).control("POST", f"/deployments/{DEPLOYMENT}/undo", blocking=True)
