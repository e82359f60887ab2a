"""Settings read from the running servers, for the harness's checklist audits (§2.1, §2.2).

What a cloud API would answer about a managed service (ElastiCache parameter groups, the
PgBouncer deployment's config): here read live from each Redis (CONFIG GET) and from
PgBouncer's admin console (SHOW CONFIG), never from the files we rendered.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from typing import Any

import redis.asyncio as aioredis

from .. import procs
from ..config import REDIS_INSTANCES, SandboxConfig
from ..layout import PGBOUNCER_ADMIN
from . import autoscaler

REDIS_KEYS = ("appendonly", "appendfsync", "maxmemory-policy")
PGBOUNCER_KEYS = ("pool_mode", "max_client_conn", "default_pool_size")


async def redis_settings(cfg: SandboxConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for inst in REDIS_INSTANCES:
        client = aioredis.Redis(host="127.0.0.1", port=cfg.ports.redis(inst), socket_timeout=1,
                                socket_connect_timeout=1, decode_responses=True)
        try:
            got: dict[str | None, str | None] = {}  # redis-py's type; keys are str (decode_responses)
            for key in REDIS_KEYS:
                got.update(await client.config_get(key))
            out[inst] = got
        except (aioredis.RedisError, OSError) as exc:
            out[inst] = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            await client.aclose()
    return out


def _pgbouncer_show_config(cfg: SandboxConfig, password: str) -> dict[str, Any]:
    argv = [procs.which("psql", "postgresql-client-15"), "-h", "127.0.0.1", "-p", str(cfg.ports.pgbouncer),
            "-U", PGBOUNCER_ADMIN, "-d", "pgbouncer", "-XAt", "-F", "\t", "-c", "SHOW CONFIG"]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False,
                           env={**os.environ, "PGPASSWORD": password})
    except subprocess.TimeoutExpired:
        return {"error": "PgBouncer admin console did not answer within 10 s"}
    if r.returncode != 0:
        return {"error": r.stderr.strip()[-300:]}
    rows = [line.split("\t") for line in r.stdout.splitlines() if line]
    return {row[0]: row[1] for row in rows if len(row) >= 2 and row[0] in PGBOUNCER_KEYS}


def rollout_settings(cfg: SandboxConfig) -> dict[str, Any]:
    """What this controller rolls core-api out and back with (§4.2), as a Deployment and its
    readiness probe would say it: the settings it runs with, not a file. It has no progress
    deadline (a rollout with no automatic rollback stays stuck, ``kubectl rollout status``-like)."""
    t = cfg.timings
    return {"source": "sandbox controller (the settings its rollouts run with)", "strategy": "RollingUpdate",
            "max_surge": "25%", "max_unavailable": "25%", "replicas": cfg.replicas.api,
            "failure_threshold": t.health_check_failure_threshold, "period_s": t.health_check_interval_s,
            "progress_deadline_s": None, "auto_rollback": cfg.knobs.auto_rollback, "container": "core-api"}


async def settings(cfg: SandboxConfig, secrets: dict[str, str]) -> dict[str, Any]:
    pgb = await asyncio.to_thread(_pgbouncer_show_config, cfg, secrets["pgbouncer_admin_password"])
    return {"redis": await redis_settings(cfg), "pgbouncer": pgb, "rollout": rollout_settings(cfg),
            "autoscaling": {"source": "sandbox controller (the HPAs it runs)", "hpas": autoscaler.spec(cfg)}}
