"""Chaos Toolkit probes that wait: poll until the sandbox reaches a state, or fail on timeout.

A fault window ends when the target has recovered, not after a fixed sleep: these let an
experiment say "wait until the API is healthy again (at most 120 s)" and make a recovery
that never comes a failed activity with the last thing observed. Each returns what it
waited for, so the journal shows it; the recovery *time* is measured by the harness from the
timeline, not from these polls.
"""

import time

from chaoslib.types import Configuration, Secrets

from gameday.sandbox.chaos.client import BadArgument, as_bool, client, poll
from gameday.sandbox.chaos.state import COMPONENTS, deployment_state, is_healthy, primary_up, read_revision

__all__ = [
    "wait_for_api_healthy",
    "wait_for_component_healthy",
    "wait_for_db_primary",
    "wait_for_deployment_phase",
    "wait_for_redis_primary",
    "wait_for_serving_revision",
]


def wait_for_component_healthy(
    component: str,
    timeout: float = 60.0,
    interval: float = 0.5,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> float:
    """Wait until ``component`` (api, ingress, db, redis, prometheus, controller) is healthy,
    as :func:`gameday.sandbox.chaos.probes.component_healthy` judges it; returns the seconds waited."""
    if component not in COMPONENTS:
        raise BadArgument(f"unknown component {component!r}; expected one of {', '.join(COMPONENTS)}")
    sandbox = client(configuration)
    started = time.monotonic()

    def check() -> tuple[bool, float, str]:
        ok = is_healthy(sandbox, component)
        return ok, round(time.monotonic() - started, 3), f"{component} {'healthy' if ok else 'unhealthy'}"

    return poll(check, timeout, interval, f"{component} to be healthy")


def wait_for_api_healthy(
    timeout: float = 60.0,
    interval: float = 0.5,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> float:
    """Wait until ``/healthz`` through the ingress answers 200; returns the seconds waited."""
    return wait_for_component_healthy("api", timeout, interval, configuration, secrets)


def wait_for_db_primary(
    timeout: float = 120.0,
    interval: float = 0.5,
    require_standby_streaming: bool = False,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> str:
    """Wait until the controller reports a Postgres primary that is up (and, if asked, a
    standby streaming from it again: full redundancy, not just service); returns its name."""
    sandbox = client(configuration)
    require_standby_streaming = as_bool(require_standby_streaming, "require_standby_streaming")

    def check() -> tuple[bool, str, str]:
        db = sandbox.status().get("db") or {}
        primary = str(db.get("primary") or "")
        ok = primary_up({"db": db}, "db")
        if require_standby_streaming:
            ok = ok and bool(db.get("standby_streaming"))
        seen = f"primary={primary or None} standby={db.get('standby')}"
        seen += f" streaming={db.get('standby_streaming')}"
        return ok, primary, seen

    return poll(check, timeout, interval, "a Postgres primary")


def wait_for_redis_primary(
    timeout: float = 60.0,
    interval: float = 0.5,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> str:
    """Wait until the controller reports a Redis primary that is up; returns its name."""
    sandbox = client(configuration)

    def check() -> tuple[bool, str, str]:
        redis = sandbox.status().get("redis") or {}
        primary = str(redis.get("primary") or "")
        return primary_up({"redis": redis}, "redis"), primary, f"primary={primary or None}"

    return poll(check, timeout, interval, "a Redis primary")


def wait_for_deployment_phase(
    phase: str = "stable",
    deployment: str = "core-api",
    timeout: float = 300.0,
    interval: float = 0.5,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> str:
    """Wait until ``deployment`` is in ``phase`` (stable, progressing, rolled_back, stuck);
    returns the phase. A comma-separated ``phase`` accepts any of them ("stable,rolled_back")."""
    wanted = {p.strip() for p in phase.split(",") if p.strip()}
    sandbox = client(configuration)

    def check() -> tuple[bool, str, str]:
        state = deployment_state(sandbox.status(), deployment)
        current = str(state.get("phase"))
        seen = f"phase={current} revision={state.get('revision')} ready={state.get('ready')}"
        return current in wanted, current, seen

    return poll(check, timeout, interval, f"{deployment} to be {' or '.join(sorted(wanted))}")


def wait_for_serving_revision(
    revision: int,
    timeout: float = 120.0,
    interval: float = 0.5,
    configuration: Configuration | None = None,
    secrets: Secrets | None = None,
) -> int:
    """Wait until ``GET /version`` through the ingress reports ``revision``; returns it."""
    sandbox = client(configuration)
    revision = int(revision)

    def check() -> tuple[bool, int, str]:
        served = read_revision(sandbox)
        return served == revision, served, f"revision {served} served"

    return poll(check, timeout, interval, f"revision {revision} to be served")
