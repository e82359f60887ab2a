"""What both pods share: their command line, config and secrets, JSON logs, DB and Redis clients.

Pods only *read* the state directory: the controller owns it. A pod that created its own
``secrets.json`` would lock itself (and every later pod) out of the database, so a missing
file is an error here, not something to repair.

Both clients are built for failover rather than for the happy path: short timeouts so a dead
primary costs a request seconds, not minutes, and a small retry helper for each store that
rides over the moment a connection points at the old primary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from redis import exceptions as redis_exc
from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

from .. import config, layout

T = TypeVar("T")

SCHEMA_FILE = Path(__file__).with_name("schema.sql")

# Redis keys (sandbox/README.md).
QUEUE = "missions:queue"
WARM_POOL = "agents:warm"
LEADER_LOCK = "lock:leader"
PROCESSING_PREFIX = "missions:processing:"
ALIVE_PREFIX = "workers:alive:"


def processing_key(pod: str) -> str:
    return PROCESSING_PREFIX + pod


def alive_key(pod: str) -> str:
    return ALIVE_PREFIX + pod


# ---- command line, config, secrets -------------------------------------------------------


@dataclass(frozen=True)
class PodArgs:
    state: Path
    pod: str
    node: str
    port: int


def pod_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The arguments every pod takes; the controller passes them (sandbox/README.md)."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--state", type=Path, required=True, help="the sandbox state directory")
    p.add_argument("--pod", required=True, help="pod name, e.g. api-0")
    p.add_argument("--node", required=True, help="node the pod is scheduled on")
    p.add_argument("--port", type=int, required=True, help="HTTP port on 127.0.0.1")
    return p


def pod_args(ns: argparse.Namespace) -> PodArgs:
    return PodArgs(state=ns.state, pod=ns.pod, node=ns.node, port=ns.port)


def run_pod(service: str, args: PodArgs,
            serve: Callable[[config.SandboxConfig, logging.Logger], Coroutine[Any, Any, None]]) -> int:
    """A pod's main: config and secrets or exit 2, serve until signalled (0), port taken (1)."""
    from prometheus_client import disable_created_metrics

    log = setup_logging(service, args)
    try:
        cfg = config.load(args.state)
        read_db_password(args.state)
    except config.ConfigError as exc:
        log_error(log, "cannot start", exc)
        return 2
    disable_created_metrics()  # type: ignore[no-untyped-call]
    try:
        asyncio.run(serve(cfg, log))
    except OSError as exc:
        log_error(log, "cannot serve", exc, port=args.port)
        return 1
    return 0


def read_db_password(state: Path) -> str:
    """The DB password from ``secrets.json``; read, never created (see the module docstring)."""
    path = layout.Layout(state).secrets_file
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise config.ConfigError(f"{path}: missing; the controller writes it before any pod") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise config.ConfigError(f"{path}: unreadable: {exc}") from None
    password = data.get("db_password") if isinstance(data, dict) else None
    if not isinstance(password, str) or not password:
        raise config.ConfigError(f"{path}: no db_password")
    return password


# ---- JSON logs ---------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line (checklist §5.1): timestamp, level, service, pod, message, fields."""

    def __init__(self, static: dict[str, str]) -> None:
        super().__init__()
        self._static = static

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            **self._static,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup_logging(service: str, args: PodArgs) -> logging.Logger:
    """Route every logger (ours, aiohttp's, asyncpg's) to stderr as JSON; the controller keeps it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter({"service": service, "pod": args.pod, "node": args.node}))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    return logging.getLogger(f"gameday.sandbox.app.{service}")


def log_event(logger: logging.Logger, level: int, msg: str, **fields: Any) -> None:
    logger.log(level, msg, extra={"fields": fields})


def log_error(logger: logging.Logger, msg: str, exc: BaseException, *, trace: bool = False,
              **fields: Any) -> None:
    """One line per error, naming the exception; the traceback only where it is a surprise."""
    fields.update(error=type(exc).__name__, detail=str(exc)[:500])
    logger.error(msg, extra={"fields": fields}, exc_info=exc if trace else None)


# ---- Postgres, through PgBouncer ---------------------------------------------------------

DB_CONNECT_TIMEOUT_S = 2.0
DB_COMMAND_TIMEOUT_S = 5.0
DB_ACQUIRE_TIMEOUT_S = 3.0

# Anything the DB path can raise when the database, PgBouncer or the network misbehaves.
DB_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
    asyncio.TimeoutError,
)


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's RESET ALL on release: in transaction pooling no session state survives."""


async def create_db_pool(cfg: config.SandboxConfig, password: str, *, max_size: int) -> asyncpg.Pool:
    """A lazily connecting pool (min_size 0): a pod starts even while the DB is failing over."""
    return await asyncpg.create_pool(
        dsn=layout.db_dsn(password, cfg.ports.pgbouncer),
        min_size=0,
        max_size=max_size,
        statement_cache_size=0,  # PgBouncer transaction mode: no server-side prepared statements
        command_timeout=DB_COMMAND_TIMEOUT_S,
        timeout=DB_CONNECT_TIMEOUT_S,
        max_inactive_connection_lifetime=30.0,
        reset=_no_reset,
    )


def is_db_connection_error(exc: BaseException) -> bool:
    """True for failures of the connection, not of the statement: worth one more try.

    After a failover PgBouncer drops its server connections, so the first statement on each
    pooled connection fails although the database is back; a retry gets a fresh one.
    Timeouts are not retried: the request has already waited long enough.
    """
    if isinstance(exc, asyncpg.QueryCanceledError):
        return False
    return isinstance(
        exc,
        (
            asyncpg.PostgresConnectionError,
            asyncpg.InterfaceError,
            asyncpg.OperatorInterventionError,  # admin shutdown, cannot connect now
            asyncpg.ReadOnlySQLTransactionError,  # still talking to a demoted primary
            asyncpg.TooManyConnectionsError,
            ConnectionError,
        ),
    )


async def db_retry(op: Callable[[], Awaitable[T]], *, attempts: int = 2, delay_s: float = 0.2) -> T:
    """Run ``op``, again after a connection-level failure. ``op`` must be idempotent."""
    for attempt in range(1, attempts + 1):
        try:
            return await op()
        except Exception as exc:
            if attempt == attempts or not is_db_connection_error(exc):
                raise
            await asyncio.sleep(delay_s)
    raise AssertionError("unreachable")


# ---- Redis, through Sentinel -------------------------------------------------------------

REDIS_SOCKET_TIMEOUT_S = 1.0
# Errors of a failover in progress: connection refused, the old primary now read-only,
# Sentinel not yet naming a master (MasterNotFoundError is a ConnectionError).
REDIS_RETRYABLE: tuple[type[BaseException], ...] = (
    redis_exc.ConnectionError,
    redis_exc.TimeoutError,
    redis_exc.ReadOnlyError,
)


# What a background loop backs off from and retries: either store misbehaving.
STORE_ERRORS: tuple[type[BaseException], ...] = (*DB_ERRORS, redis_exc.RedisError)


def as_str(value: object) -> str:
    """Clients decode responses; this only narrows redis-py's loose reply types for the type checker."""
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class RedisClients:
    """The master, found through Sentinel, and a second client for blocking pops.

    The blocking client has a socket timeout longer than the pop's own timeout, so an empty
    queue is answered by Redis (None) instead of by a socket timeout.
    """

    sentinel: Sentinel
    master: Redis
    blocking: Redis

    async def aclose(self) -> None:
        for client in (self.master, self.blocking):
            await client.aclose()
        await self.sentinel.aclose()


def connect_redis(cfg: config.SandboxConfig, *, blocking_timeout_s: float = 1.0) -> RedisClients:
    """Clients for the Redis master named ``hypercode``; nothing connects until first use."""
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        [("127.0.0.1", cfg.ports.sentinel(s)) for s in config.SENTINELS],
        sentinel_kwargs={"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
    )
    common: dict[str, Any] = {"socket_connect_timeout": 1.0, "decode_responses": True}
    master = sentinel.master_for(
        layout.REDIS_MASTER_NAME, socket_timeout=REDIS_SOCKET_TIMEOUT_S, **common
    )
    blocking = sentinel.master_for(
        layout.REDIS_MASTER_NAME, socket_timeout=blocking_timeout_s + 2.0, **common
    )
    return RedisClients(sentinel=sentinel, master=master, blocking=blocking)


async def redis_retry(op: Callable[[], Awaitable[T]], *, attempts: int = 3, delay_s: float = 0.2) -> T:
    """Run ``op``, retrying over a Sentinel failover. ``op`` should be safe to repeat."""
    for attempt in range(1, attempts + 1):
        try:
            return await op()
        except REDIS_RETRYABLE:
            if attempt == attempts:
                raise
            await asyncio.sleep(delay_s * attempt)
    raise AssertionError("unreachable")


class ErrorThrottle:
    """At most one log line per kind of error per interval, with a count of the ones held back.

    A worker's 32 consumers retrying through a 30 s Redis outage would otherwise write
    thousands of identical lines and bury the one that matters.
    """

    def __init__(self, logger: logging.Logger, interval_s: float = 5.0) -> None:
        self._logger = logger
        self._interval_s = interval_s
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def error(self, key: str, msg: str, exc: BaseException, **fields: Any) -> None:
        now = time.monotonic()
        if now - self._last.get(key, -1e9) < self._interval_s:
            self._held[key] = self._held.get(key, 0) + 1
            return
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            fields["suppressed"] = held
        log_error(self._logger, msg, exc, **fields)
