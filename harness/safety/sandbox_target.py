"""Resolving sandbox faults: from the running sandbox's controller (``GET /status``), or, when it
is not up, from the sandbox's documented defaults with a note saying so.

The sandbox is the target: nothing here imports it. Its controller's status document and its
documented layout (sandbox/README.md) are the contract.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from gameday.harness.chaos.experiment import Activity
from gameday.harness.errors import NothingToTarget
from gameday.harness.profile import Profile
from gameday.harness.safety.model import PlannedStep, ResolvedTarget
from gameday.harness.target import endpoints

DEFAULT_STATE_DIR = "/tmp/gameday-sandbox"

# what a freshly started sandbox looks like (sandbox/README.md), for planning while it is down
DEFAULT_STATUS: dict[str, Any] = {
    "nodes": [{"name": n, "schedulable": True, "pods": []} for n in ("node-a", "node-b", "node-c")],
    "deployments": {"core-api": {"revision": 1, "good_revision": 1, "phase": "stable", "replicas": 3, "ready": 3}},
    "db": {"primary": "db-a", "standby": "db-b", "standby_streaming": True,
           "instances": {"db-a": {"role": "primary", "up": True}, "db-b": {"role": "standby", "up": True}}},
    "redis": {"primary": "redis-a",
              "instances": {"redis-a": {"role": "primary", "up": True}, "redis-b": {"role": "replica", "up": True}}},
    "knobs": {"auto_rollback": True},
}


@dataclass(frozen=True)
class SandboxContext:
    state_dir: Path
    control: str
    prometheus: str
    status: Mapping[str, Any]
    live: bool
    note: str

    @property
    def source(self) -> str:
        if self.live:
            return f"sandbox controller {self.control} (up), state {self.state_dir}"
        return f"the sandbox's defaults: no answer from {self.control}/status (not up)"


def state_dir(profile: Profile) -> Path:
    return Path(profile.target.sandbox_state_dir or os.environ.get("GAMEDAY_SANDBOX_DIR") or DEFAULT_STATE_DIR)


def context(profile: Profile, timeout_s: float = 3.0) -> SandboxContext:
    """Where the sandbox is and what it looks like now (one ``GET /status``)."""
    ep = endpoints(profile)
    control = ep.control or ""
    sd = state_dir(profile)
    session = requests.Session()
    session.trust_env = False
    try:
        resp = session.get(f"{control}/status", timeout=timeout_s)
        status = resp.json() if resp.status_code == 200 else None
    except (requests.RequestException, ValueError):
        status = None
    if isinstance(status, dict) and status.get("nodes"):
        return SandboxContext(sd, control, ep.prometheus, status, True, "")
    note = f"the sandbox is not up (no answer from {control}/status): targets shown from its defaults"
    return SandboxContext(sd, control, ep.prometheus, DEFAULT_STATUS, False, note)


def overlay(ctx: SandboxContext) -> dict[str, Any]:
    """Configuration every sandbox experiment gets from the profile, and, with the sandbox up,
    ``drain_node``: the schedulable node running most core-api pods (ties by name), the drain
    that hurts most, as the cluster's node-drain picks it."""
    out: dict[str, Any] = {"sandbox_state_dir": str(ctx.state_dir), "prometheus_url": ctx.prometheus}
    if ctx.live:
        counts: dict[str, int] = {}
        for pod in ctx.status.get("pods") or []:
            if pod.get("deployment") == "core-api" and pod.get("node"):
                counts[pod["node"]] = counts.get(pod["node"], 0) + 1
        usable = [n["name"] for n in ctx.status.get("nodes") or [] if n.get("schedulable")]
        if usable:
            out["drain_node"] = sorted(usable, key=lambda n: (-counts.get(n, 0), n))[0]
    return out


def describe(act: Activity, args: Mapping[str, Any], ctx: SandboxContext) -> PlannedStep:
    """One activity in plain words, with its targets resolved; NothingToTarget when an action
    points at nothing."""
    fn = _DESCRIBERS.get(act.ref)
    if fn is None or act.type != "action":
        return PlannedStep(act.section, act.type, act.name, _generic(act, args))
    what, targets = fn(args, ctx.status if ctx.live else {**ctx.status, "_defaults": True})
    return PlannedStep(act.section, act.type, act.name, what, tuple(targets))


Describer = Callable[[Mapping[str, Any], Mapping[str, Any]], tuple[str, list[ResolvedTarget]]]


def _db_primary(args: Mapping[str, Any], st: Mapping[str, Any]) -> tuple[str, list[ResolvedTarget]]:
    db = st.get("db") or {}
    primary = db.get("primary")
    inst = (db.get("instances") or {}).get(primary) or {}
    if not primary or not inst.get("up"):
        raise NothingToTarget("db-failover: the sandbox reports no Postgres primary that is up; nothing to fail")
    standby = db.get("standby")
    streaming = "streaming" if db.get("standby_streaming") else "NOT streaming"
    port = f"port {inst['port']}, " if inst.get("port") else ""
    return (f"kill -9 the Postgres primary {primary}; standby {standby} ({streaming}) is to be promoted and "
            f"PgBouncer repointed",
            [ResolvedTarget("postgres primary", str(primary), f"{port}standby {standby} {streaming}")])


def _redis_primary(args: Mapping[str, Any], st: Mapping[str, Any]) -> tuple[str, list[ResolvedTarget]]:
    redis = st.get("redis") or {}
    primary = redis.get("primary")
    if not primary:
        raise NothingToTarget("redis-primary-kill: the sandbox reports no Redis primary; nothing to kill")
    replicas = sorted(n for n, i in (redis.get("instances") or {}).items() if n != primary)
    inst = (redis.get("instances") or {}).get(primary) or {}
    port = f"port {inst['port']}, " if inst.get("port") else ""
    return (f"kill -9 the Redis primary {primary}; Sentinel is to promote {', '.join(replicas) or 'a replica'}",
            [ResolvedTarget("redis primary", str(primary), f"{port}replicas {', '.join(replicas) or 'none'}")])


def _node(args: Mapping[str, Any], st: Mapping[str, Any], verb: str) -> tuple[str, list[ResolvedTarget]]:
    nodes = {n["name"]: n for n in st.get("nodes") or []}
    name = args.get("node")
    if not name and verb == "uncordon":
        return ("uncordon every node: " + ", ".join(sorted(nodes)),
                [ResolvedTarget("node", n, "uncordon") for n in sorted(nodes)])
    if name not in nodes:
        known = ", ".join(sorted(nodes))
        raise NothingToTarget(f"{verb} node {name!r}: the sandbox has no such node (it has: {known})")
    pods = nodes[name].get("pods") or []
    others = [n for n in sorted(nodes) if n != name]
    if verb == "drain":
        moved = ", ".join(pods) if pods else "its pods"
        what = f"drain {name}: cordon it, then move {moved} to {' / '.join(others)} (replacement ready first)"
    else:
        what = f"{verb} {name}"
    shown = ", ".join(pods) or ("not known while the sandbox is down" if st.get("_defaults") else "none")
    return what, [ResolvedTarget("node", str(name), f"pods: {shown}")]


def _release(args: Mapping[str, Any], st: Mapping[str, Any]) -> tuple[str, list[ResolvedTarget]]:
    dep = (st.get("deployments") or {}).get("core-api")
    if not dep:
        raise NothingToTarget("bad-release: the sandbox reports no core-api deployment")
    healthy = args.get("healthy", True) in (True, "true", "True")
    new = max(int(dep.get("revision", 1)), int(dep.get("good_revision", 1))) + 1
    auto = (st.get("knobs") or {}).get("auto_rollback", True)
    kind = "a healthy build" if healthy else "a build whose health checks fail"
    then = "" if healthy else (f"; the platform should roll back to revision {dep.get('good_revision')} on the 4th "
                               f"failed check" + ("" if auto else " (knobs.auto_rollback is OFF: it will not)"))
    return (f"roll core-api from revision {dep.get('good_revision')} to revision {new}, {kind} "
            f"(maxSurge 25 %, maxUnavailable 25 %){then}",
            [ResolvedTarget("deployment", "core-api", f"serving revision {dep.get('good_revision')}, "
                                                      f"{dep.get('ready')}/{dep.get('replicas')} ready")])


def _undo(args: Mapping[str, Any], st: Mapping[str, Any]) -> tuple[str, list[ResolvedTarget]]:
    dep = (st.get("deployments") or {}).get("core-api") or {}
    good = dep.get("good_revision", 1)
    return (f"undo core-api back to its last good revision {good} (a no-op if it serves it already)",
            [ResolvedTarget("deployment", "core-api", f"good revision {good}")])


def _stall(args: Mapping[str, Any], st: Mapping[str, Any]) -> tuple[str, list[ResolvedTarget]]:
    primary = (st.get("db") or {}).get("primary")
    return (f"stop the WAL sender of {primary} for {args.get('seconds')} s (replication stall)",
            [ResolvedTarget("postgres primary", str(primary), "WAL sender")])


def _resume(args: Mapping[str, Any], st: Mapping[str, Any]) -> tuple[str, list[ResolvedTarget]]:
    primary = (st.get("db") or {}).get("primary")
    return f"resume the WAL sender of {primary}", [ResolvedTarget("postgres primary", str(primary), "WAL sender")]


def _partition(args: Mapping[str, Any], st: Mapping[str, Any]) -> tuple[str, list[ResolvedTarget]]:
    primary = (st.get("redis") or {}).get("primary")
    if not primary:
        raise NothingToTarget("the sandbox reports no Redis primary; nothing to partition")
    return (f"isolate the Redis primary {primary} from the API and workers for {args.get('seconds')} s "
            f"(CLIENT PAUSE WRITE; Sentinel's link is held too, so it may fail over)",
            [ResolvedTarget("redis primary", str(primary), "clients' commands held; replication served")])


def _heal(args: Mapping[str, Any], st: Mapping[str, Any]) -> tuple[str, list[ResolvedTarget]]:
    instances = sorted((st.get("redis") or {}).get("instances") or {})
    return ("lift any Redis partition (CLIENT UNPAUSE)",
            [ResolvedTarget("redis", i, "unpaused") for i in instances])


_DESCRIBERS: dict[str, Describer] = {
    "gameday.sandbox.chaos.actions.fail_db_primary": _db_primary,
    "gameday.sandbox.chaos.actions.kill_redis_primary": _redis_primary,
    "gameday.sandbox.chaos.actions.drain_node": lambda a, s: _node(a, s, "drain"),
    "gameday.sandbox.chaos.actions.cordon_node": lambda a, s: _node(a, s, "cordon"),
    "gameday.sandbox.chaos.actions.uncordon_node": lambda a, s: _node(a, s, "uncordon"),
    "gameday.sandbox.chaos.actions.deploy_revision": _release,
    "gameday.sandbox.chaos.actions.undo_release": _undo,
    "gameday.sandbox.chaos.actions.stall_db_replication": _stall,
    "gameday.sandbox.chaos.actions.resume_db_replication": _resume,
    "gameday.sandbox.chaos.actions.partition_redis": _partition,
    "gameday.sandbox.chaos.actions.heal_redis_partition": _heal,
}

KNOWN_ACTIONS = frozenset(_DESCRIBERS)


def _generic(act: Activity, args: Mapping[str, Any]) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in args.items())
    return f"{act.func}({shown})"
