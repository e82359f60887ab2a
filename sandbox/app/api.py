"""core-api: the HyperCode API stand-in (crew creation and mission read-back).

    python -m gameday.sandbox.app.api --state DIR --pod api-0 --node node-a --port P --revision N [--unhealthy]

The 201 on ``POST /v1/crews`` is the acknowledgement the harness counts missions by, so it
is sent only once the mission row is committed; the Redis queue is an optimisation the
watchdog can rebuild, and a Redis failure after the commit is logged, not answered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from redis import exceptions as redis_exc

from .. import config
from . import common, mutants, serving
from .metrics import ApiMetrics

DB_POOL_SIZE = 20
DRAIN_QUIET_S = 0.5
PROBES = ("/healthz", "/readyz")


class CrewRequest(BaseModel):
    """Body of POST /v1/crews. Strict: ``"3"`` or ``true`` is not a number of agents."""

    model_config = ConfigDict(strict=True, extra="ignore")

    mission: str = Field(min_length=1, max_length=10_000)
    agents: int = Field(ge=1, le=16)
    priority: Literal["low", "normal", "high"] = "normal"

    @field_validator("mission")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        if "\x00" in v:  # Postgres text cannot hold NUL; refuse it here rather than answer 503
            raise ValueError("must not contain NUL characters")
        return v


class LookupRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    ids: list[str] = Field(max_length=1000)


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


async def _parse(request: web.Request, model: type[BaseModel]) -> Any:
    """The body validated against ``model``, or a 400 naming each bad field."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text=json.dumps({"error": "body is not valid JSON"}),
                                 content_type="application/json") from None
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        details = [f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()]
        raise web.HTTPBadRequest(text=json.dumps({"error": "invalid request", "details": details}),
                                 content_type="application/json") from None


def _route_template(request: web.Request) -> str:
    """The route as registered (``/v1/missions/{id}``), so ids do not explode the label set."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def _iso(ts: Any) -> str | None:
    return ts.isoformat() if ts is not None else None


class Api:
    """One core-api pod: its config, clients, metrics and handlers."""

    def __init__(self, cfg: config.SandboxConfig, args: common.PodArgs, revision: int,
                 healthy: bool, log: logging.Logger) -> None:
        self.cfg = cfg
        self.args = args
        self.revision = revision
        self.log = log
        self.metrics = ApiMetrics()
        self.lifecycle = serving.Lifecycle(healthy=healthy)
        self.redis = common.connect_redis(cfg)
        self._db: asyncpg.Pool | None = None

    @property
    def db(self) -> asyncpg.Pool:
        if self._db is None:
            raise RuntimeError("DB pool used before startup")
        return self._db

    # ---- app -------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self.observe])
        serving.add_probe_routes(app, self.lifecycle, self.metrics)
        app.router.add_get("/version", self.version)
        app.router.add_post("/v1/crews", self.create_crew)
        app.router.add_get("/v1/missions/{id}", self.get_mission)
        app.router.add_post("/v1/missions/lookup", self.lookup)
        return app

    @web.middleware
    async def observe(self, request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                      ) -> web.StreamResponse:
        """Latency per route template (scrapes excluded), the latency knob, JSON errors."""
        route = _route_template(request)
        if route == "/metrics":
            return await handler(request)
        traffic = route not in PROBES  # probes must not hold a terminating pod's drain open
        if traffic:
            self.lifecycle.request_started()
        t0 = time.perf_counter()
        status = 500
        try:
            if request.path.startswith("/v1/") and self.cfg.knobs.extra_latency_ms > 0:
                await asyncio.sleep(self.cfg.knobs.extra_latency_ms / 1000)
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                if exc.content_type == "application/json":
                    raise
                response = _error(exc.status, exc.reason)
            except Exception as exc:
                common.log_error(self.log, "unhandled error", exc, trace=True,
                                 route=route, method=request.method)
                response = _error(500, "internal error")
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            self.metrics.http.labels(route=route, method=request.method, status=str(status)).observe(
                time.perf_counter() - t0)
            if traffic:
                self.lifecycle.request_finished()

    # ---- handlers --------------------------------------------------------------------

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": f"2.0.{self.revision}", "revision": self.revision})

    async def create_crew(self, request: web.Request) -> web.Response:
        spec: CrewRequest = await _parse(request, CrewRequest)
        fate = mutants.crew_spawn(self.cfg.knobs)
        if fate.delay_s:
            await asyncio.sleep(fate.delay_s)
        if fate.refuse:  # before anything is assembled or stored: nothing was acknowledged
            self.metrics.crew_assembly.labels(result="failed").inc()
            return _error(503, "crew spawn unavailable", detail="refused")
        mission_id, crew_id = uuid.uuid4(), uuid.uuid4()
        try:
            t0 = time.perf_counter()
            agents, pool = await self.assemble(spec.agents)
            startup_s = time.perf_counter() - t0
            self.metrics.agent_startup.labels(pool=pool).observe(startup_s)
            await common.db_retry(lambda: self.insert_mission(mission_id, crew_id, spec))
        except common.DB_ERRORS as exc:
            self.metrics.crew_assembly.labels(result="failed").inc()
            common.log_error(self.log, "mission not stored; answered 503", exc,
                             mission_id=str(mission_id))
            return _error(503, "database unavailable", detail=type(exc).__name__)
        except Exception:
            self.metrics.crew_assembly.labels(result="failed").inc()
            raise
        self.metrics.crew_assembly.labels(result="ok").inc()
        await self.enqueue(mission_id)
        return web.json_response(
            {"crew_id": str(crew_id), "mission_id": str(mission_id), "agents": agents,
             "startup_ms": round(startup_s * 1000, 3), "pool": pool},
            status=201,
        )

    async def assemble(self, n: int) -> tuple[list[str], str]:
        """Take up to ``n`` pre-started agents from the pool; cold-start the rest in parallel.

        The crew waits for its slowest agent, so one cold start makes the whole crew cold.
        An unreachable pool (Redis failing over) means every agent starts cold: slower, but
        the crew is still assembled.
        """
        warm: list[str] = []
        try:
            popped = await common.redis_retry(lambda: self.redis.master.lpop(common.WARM_POOL, n),
                                              attempts=2)
            warm = [common.as_str(v) for v in popped or []]
        except redis_exc.RedisError as exc:
            common.log_error(self.log, "warm pool unreachable; starting the crew cold", exc)
        cold = n - len(warm)
        agents = warm + [str(uuid.uuid4()) for _ in range(cold)]
        t = self.cfg.timings
        await asyncio.sleep(t.cold_start_s if cold else t.warm_start_s)
        return agents, ("cold" if cold else "warm")

    async def insert_mission(self, mission_id: uuid.UUID, crew_id: uuid.UUID, spec: CrewRequest) -> None:
        """Autocommit INSERT: committed when it returns. Idempotent, so ``db_retry`` may repeat it."""
        async with self.db.acquire(timeout=common.DB_ACQUIRE_TIMEOUT_S) as conn:
            await conn.execute(
                "INSERT INTO missions (mission_id, crew_id, mission, priority, agents, status)"
                " VALUES ($1, $2, $3, $4, $5, 'queued') ON CONFLICT (mission_id) DO NOTHING",
                mission_id, crew_id, spec.mission, spec.priority, spec.agents,
            )

    async def enqueue(self, mission_id: uuid.UUID) -> None:
        try:
            await common.redis_retry(lambda: self.redis.master.lpush(common.QUEUE, str(mission_id)))
        except redis_exc.RedisError as exc:
            common.log_error(self.log, "mission committed but not queued; the watchdog re-queues it",
                             exc, mission_id=str(mission_id))

    async def get_mission(self, request: web.Request) -> web.Response:
        try:
            mission_id = uuid.UUID(request.match_info["id"])
        except ValueError:
            return _error(404, "mission not found")

        async def fetch() -> Any:
            async with self.db.acquire(timeout=common.DB_ACQUIRE_TIMEOUT_S) as conn:
                return await conn.fetchrow(
                    "SELECT mission_id, crew_id, status, created_at, completed_at"
                    " FROM missions WHERE mission_id = $1", mission_id)

        try:
            row = await common.db_retry(fetch)
        except common.DB_ERRORS as exc:
            common.log_error(self.log, "mission read failed; answered 503", exc)
            return _error(503, "database unavailable", detail=type(exc).__name__)
        if row is None:
            return _error(404, "mission not found")
        return web.json_response({
            "mission_id": str(row["mission_id"]), "crew_id": str(row["crew_id"]),
            "status": row["status"], "created_at": _iso(row["created_at"]),
            "completed_at": _iso(row["completed_at"]),
        })

    async def lookup(self, request: web.Request) -> web.Response:
        """Bulk read-back: ids as the client spelled them; ids that are not UUIDs are missing."""
        spec: LookupRequest = await _parse(request, LookupRequest)
        wanted: dict[uuid.UUID, list[str]] = {}
        for raw in spec.ids:
            try:
                wanted.setdefault(uuid.UUID(raw), []).append(raw)
            except ValueError:
                continue

        async def fetch() -> Any:
            async with self.db.acquire(timeout=common.DB_ACQUIRE_TIMEOUT_S) as conn:
                return await conn.fetch(
                    "SELECT mission_id, status FROM missions WHERE mission_id = ANY($1::uuid[])",
                    list(wanted))

        try:
            rows = await common.db_retry(fetch) if wanted else []
        except common.DB_ERRORS as exc:
            common.log_error(self.log, "lookup failed; answered 503", exc)
            return _error(503, "database unavailable", detail=type(exc).__name__)
        found: dict[str, str] = {}
        for row in rows:
            for raw in wanted.get(row["mission_id"], []):
                found[raw] = row["status"]
        missing = [raw for raw in dict.fromkeys(spec.ids) if raw not in found]
        return web.json_response({"found": found, "missing": missing})

    # ---- lifecycle -------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until SIGTERM, then drain and finish in-flight requests within the grace."""
        grace = self.cfg.timings.pod_termination_grace_s
        drain_max = grace / 3
        self._db = await common.create_db_pool(self.cfg, common.read_db_password(self.args.state),
                                               max_size=DB_POOL_SIZE)
        try:
            runner = await serving.start(self.build_app(), self.args.port,
                                         shutdown_timeout_s=max(1.0, grace - drain_max - 0.5))
            common.log_event(self.log, logging.INFO, "serving", port=self.args.port,
                             revision=self.revision, healthy=self.lifecycle.healthy)
            sig = await serving.wait_for_termination()
            common.log_event(self.log, logging.INFO, "terminating: not ready, draining", signal=sig,
                             in_flight=self.lifecycle.in_flight)
            drained = await serving.drain(
                self.lifecycle, min_s=min(self.cfg.timings.health_check_interval_s + 0.25, drain_max),
                quiet_s=DRAIN_QUIET_S, max_s=drain_max)
            await runner.cleanup()
            common.log_event(self.log, logging.INFO, "stopped", drain_s=round(drained, 3))
        finally:
            await self.close()

    async def close(self) -> None:
        if self._db is not None:
            try:
                await asyncio.wait_for(self._db.close(), 2.0)
            except common.DB_ERRORS:
                self._db.terminate()
        try:
            await self.redis.aclose()
        except redis_exc.RedisError:
            pass


def main(argv: list[str] | None = None) -> int:
    parser = common.pod_parser("gameday.sandbox.app.api", "core-api pod of the HyperCode sandbox")
    parser.add_argument("--revision", type=int, required=True, help="deployment revision")
    parser.add_argument("--unhealthy", action="store_true", help="a bad build: probes answer 503")
    ns = parser.parse_args(argv)
    args = common.pod_args(ns)
    return common.run_pod("core-api", args,
                          lambda cfg, log: Api(cfg, args, ns.revision, not ns.unhealthy, log).run())

if __name__ == "__main__":
    raise SystemExit(main())
