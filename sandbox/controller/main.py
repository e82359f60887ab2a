"""The sandbox's control plane: brings every component up, keeps it up, tears it down.

Run as ``python -m gameday.sandbox.controller --state DIR`` by ``sandbox up``. It serves its HTTP API
(see sandbox/README.md) from the first second, with ``state`` going starting → ready (or
failed, with the error) → stopping, and publishes the same status to ``status.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge

from .. import config, procs, services
from ..config import REDIS_INSTANCES, SENTINELS
from ..layout import Layout, load_or_create_secrets, write_json_atomic
from ..prometheus import alertmanager as am
from ..prometheus import prometheus as prom
from . import audit
from .autoscaler import Autoscaler
from .cluster import API, Cluster, Pod
from .dbha import DbOperator
from .redisha import RedisOps
from .supervisor import Managed, Supervisor

log = logging.getLogger("gameday.sandbox.controller")
STOP_ORDER = ["ingress"]  # then pods, then the rest (see shutdown)


class ControllerMetrics:
    """The deployment series of the contract, and two of the sandbox's own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.revision = Gauge("deployment_revision", "Revision the deployment targets",
                              ["deployment"], registry=r)
        self.rollbacks = Counter("deployment_rollbacks_total", "Automated and manual rollbacks",
                                 ["deployment"], registry=r)
        self.hc_failures = Counter("health_check_failures_total", "Failed pod health checks",
                                   ["deployment"], registry=r)
        self.streaming = Gauge("sandbox_db_standby_streaming", "1 if a DB standby streams",
                               registry=r)
        self.primary_up = Gauge("sandbox_db_primary_up", "1 if the DB primary accepts connections "
                                "(0 from its loss until the failover completes)", registry=r)
        self.ready_pods = Gauge("sandbox_ready_pods", "Ready pods", ["deployment"], registry=r)
        self._seen: dict[str, tuple[int, int]] = {}

    def update(self, cluster: Cluster, db: DbOperator) -> None:
        for dep in cluster.deployments.values():
            self.revision.labels(dep.name).set(dep.revision)
            rb, hc = self._seen.get(dep.name, (0, 0))
            if dep.rollbacks > rb:
                self.rollbacks.labels(dep.name).inc(dep.rollbacks - rb)
            else:
                self.rollbacks.labels(dep.name).inc(0)
            if dep.health_check_failures > hc:
                self.hc_failures.labels(dep.name).inc(dep.health_check_failures - hc)
            else:
                self.hc_failures.labels(dep.name).inc(0)
            self._seen[dep.name] = (dep.rollbacks, dep.health_check_failures)
            self.ready_pods.labels(dep.name).set(sum(1 for p in cluster.pods_of(dep.name) if p.ready))
        self.streaming.set(1 if db.standby is not None and db.standby_streaming else 0)
        self.primary_up.set(1 if db.primary_up else 0)


class Controller:
    def __init__(self, state_dir: Path) -> None:
        self.layout = Layout(state_dir)
        self.cfg = config.load(state_dir)
        self.secrets = load_or_create_secrets(self.layout)
        self.state = "starting"
        self.error: str | None = None
        self.started = time.time()
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=1000)
        self._events_file = open(state_dir / "events.jsonl", "a", buffering=1)
        self.sup = Supervisor(self.layout, self.emit)
        self.cluster = Cluster(self.cfg, self.layout, self.sup, self.emit, self._write_targets)
        self.db = DbOperator(self.cfg, self.layout, self.sup, self.secrets, self.emit)
        self.redis = RedisOps(self.cfg, self.layout, self.sup, self.emit)
        self.metrics = ControllerMetrics()
        self.autoscaler = (Autoscaler(self.cfg, self.cluster, self.metrics.registry, self.emit)
                           if self.cfg.autoscaling.enabled else None)
        self.stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def emit(self, event: str, **fields: Any) -> None:
        """Record a sandbox event (kept in memory for /status and appended to events.jsonl)."""
        rec = {"t": time.time(), "event": event, **fields}
        self.events.append(rec)
        self._events_file.write(json.dumps(rec, default=str) + "\n")
        log.info("%s %s", event, fields)

    # ---- bring-up ---------------------------------------------------------------------------
    def _write_targets(self, pods: list[Pod]) -> None:
        sd = self.layout.prometheus / "sd"
        for job, dep in (("core-api", API), ("worker", "worker")):
            targets = [("127.0.0.1", p.port, {"pod": p.name, "node": p.node})
                       for p in pods if p.deployment == dep]
            prom.write_targets(sd, job, targets)

    def _start_infra(self) -> None:
        L, cfg, sup = self.layout, self.cfg, self.sup
        services.write_redis(L, cfg)
        services.write_sentinels(L, cfg)
        services.write_nginx(L, cfg)
        for inst in REDIS_INSTANCES:
            sup.start(Managed(inst, services.redis_argv(L, inst), restart=True))
        for s in SENTINELS:
            sup.start(Managed(s, services.sentinel_argv(L, s), restart=True))
        pdir = L.prometheus
        (pdir / "data").mkdir(parents=True, exist_ok=True)
        sd = pdir / "sd"
        sd.mkdir(parents=True, exist_ok=True)
        prom.write_targets(sd, "controller", [("127.0.0.1", cfg.ports.controller, {"pod": "controller"})])
        self._write_targets([])
        rules = Path(prom.__file__).parent / "rules.yml"
        am_port = self._start_alerting(rules) if cfg.alerting.enabled else None
        if am_port is not None:
            rules = pdir / "rules.yml"  # as _start_alerting rendered it for this sandbox
        (pdir / "prometheus.yml").write_text(prom.render_config(cfg.scrape_interval_s, rules, sd, am_port))
        binary = procs.which("prometheus", "prometheus")
        sup.start(Managed("prometheus", prom.prometheus_argv(binary, pdir / "prometheus.yml",
                                                             pdir / "data", cfg.ports.prometheus),
                          restart=False))
        sup.start(Managed("ingress", services.nginx_argv(L), restart=True))

    def _start_alerting(self, rules: Path) -> int:
        """Alertmanager and the receivers it notifies; the rules Prometheus evaluates, rendered with
        this sandbox's alerting settings. Both restarted if they die (a managed service would be)."""
        L, cfg, sup = self.layout, self.cfg, self.sup
        a = cfg.alerting
        adir = L.root / "alerting"
        (adir / "data").mkdir(parents=True, exist_ok=True)
        (L.prometheus / "rules.yml").write_text(am.render_rules(rules, a.db_down_for_s, a.false_page))
        (adir / "alertmanager.yml").write_text(
            am.render_config(cfg.ports.alert_receiver, a.group_wait_s, a.group_interval_s, a.p1_receiver))
        sup.start(Managed("alert-receiver", [sys.executable, "-m", "gameday.sandbox.app.alert_receiver", "--state",
                                             str(L.root), "--port", str(cfg.ports.alert_receiver)], restart=True))
        binary = procs.which("prometheus-alertmanager", "prometheus-alertmanager")
        sup.start(Managed("alertmanager", am.alertmanager_argv(binary, adir / "alertmanager.yml", adir / "data",
                                                               cfg.ports.alertmanager), restart=True))
        return cfg.ports.alertmanager

    async def bring_up(self) -> None:
        t0 = time.monotonic()
        self.emit("sandbox_starting", knobs=self.cfg.knobs.model_dump())
        await asyncio.to_thread(self._start_infra)
        # the pods first: each spends ~0.7 s of CPU importing, and the workers fill the warm pool from Redis
        # (the agents' 3 s start), while Postgres is initialised and its standby streams; a pod connects to
        # the database lazily (as it does through a failover) and is ready only once it answers
        if self.autoscaler is not None:
            self.autoscaler.initial_replicas()
        await self.cluster.scale_up_initial()
        await asyncio.to_thread(self.db.provision)
        self.sup.start(Managed("pgbouncer", services.pgbouncer_argv(self.layout),
                               run_as=self.db.run_as, restart=True))
        fixed = self.cfg.ports.fixed()
        for name, port in fixed.items():
            if name == "controller" or (name in ("alertmanager", "alert-receiver") and not self.cfg.alerting.enabled):
                continue
            m = self.sup.items.get("ingress" if name == "ingress" else name)
            ok = await asyncio.to_thread(procs.wait_port, port, 20, m.proc if m else None)
            if not ok:
                raise procs.SandboxError(f"{name} did not start listening on 127.0.0.1:{port}: "
                                         f"see {self.layout.log(name if name != 'ingress' else 'ingress')}")
        self._tasks.append(asyncio.create_task(self.cluster.probe_loop()))
        deadline = time.monotonic() + 60
        while not all(p.ready for p in self.cluster.pods.values()):
            if time.monotonic() > deadline:
                late = [p.name for p in self.cluster.pods.values() if not p.ready]
                raise procs.SandboxError(f"pods not ready after 60 s: {', '.join(late)} "
                                         f"(see {self.layout.logs}/<pod>.log)")
            await asyncio.sleep(0.1)
        target = self.cfg.knobs.warm_pool_size
        while ((await self.redis.warm_pool_size()) or 0) < target:  # ready means warm
            if time.monotonic() > deadline:
                raise procs.SandboxError(f"warm pool not filled to {target} agents after 60 s "
                                         f"(see {self.layout.logs}/worker-*.log)")
            await asyncio.sleep(0.2)
        self._tasks.append(asyncio.create_task(self.db.watch()))
        if self.autoscaler is not None:  # from ready on: the pods it measures are all up
            self._tasks.append(asyncio.create_task(self.autoscaler.run()))
        self.state = "ready"
        self.emit("sandbox_ready", seconds=round(time.monotonic() - t0, 3))

    # ---- status ---------------------------------------------------------------------------
    async def status(self) -> dict[str, Any]:
        ports = self.cfg.ports
        out: dict[str, Any] = {
            "state": self.state, "error": self.error, "started": self.started,
            "state_dir": str(self.layout.root), "knobs": self.cfg.knobs.model_dump(),
        }
        out.update(self.cluster.status())
        out["db"] = self.db.status()
        out["redis"] = await self.redis.status()
        comps = {}
        for name in ("ingress", "prometheus", "pgbouncer", "alertmanager", "alert-receiver"):
            m = self.sup.items.get(name)
            comps[name] = {"up": bool(m and m.running), "pid": m.pid if m else None}
        out["components"] = comps
        out["endpoints"] = {
            "api": f"http://127.0.0.1:{ports.ingress}",
            "prometheus": f"http://127.0.0.1:{ports.prometheus}",
            "alertmanager": f"http://127.0.0.1:{ports.alertmanager}" if self.cfg.alerting.enabled else None,
            "alert_receiver": f"http://127.0.0.1:{ports.alert_receiver}" if self.cfg.alerting.enabled else None,
            "controller": f"http://127.0.0.1:{ports.controller}",
            "pgbouncer": f"127.0.0.1:{ports.pgbouncer}",
            "sentinels": [f"127.0.0.1:{ports.sentinel(s)}" for s in SENTINELS],
        }
        out["events"] = list(self.events)[-200:]
        return out

    async def publish_loop(self) -> None:
        while True:
            try:
                self.metrics.update(self.cluster, self.db)
                write_json_atomic(self.layout.status_file, await self.status())
            except Exception as exc:
                log.error("publishing status failed: %s", exc)
            await asyncio.sleep(1.0)

    # ---- shutdown -------------------------------------------------------------------------
    async def shutdown(self) -> None:
        self.state = "stopping"
        self.emit("sandbox_stopping")
        for t in self._tasks:
            t.cancel()
        sup = self.sup
        await asyncio.to_thread(sup.stop, "ingress", 3.0)
        pods = [n for n in list(sup.items) if n.startswith(("api-", "worker-"))]
        await asyncio.gather(*(asyncio.to_thread(sup.stop, n, 5.0) for n in pods))
        # what no longer serves anyone stops together (one after another, ~50 ms each, was 0.7 s of every
        # run's end); the sentinels before their Redis, so that none sees a primary go and fails it over
        for group in (["pgbouncer", "prometheus", "alertmanager", "alert-receiver", *SENTINELS], REDIS_INSTANCES):
            await asyncio.gather(*(asyncio.to_thread(sup.stop, name, 5.0) for name in group))
        self.db.resume()
        for inst in config.DB_INSTANCES:
            if inst in sup.items:
                sup.items[inst].wanted = False
        await asyncio.gather(*(asyncio.to_thread(procs.stop_named, self.layout, inst, 8.0, signal.SIGINT)
                               for inst in config.DB_INSTANCES))
        await asyncio.to_thread(sup.stop_all, [])
        self.emit("sandbox_stopped")
        self._events_file.close()


def _json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def routes(c: Controller) -> web.RouteTableDef:
    r = web.RouteTableDef()

    @r.get("/status")
    async def status(_: web.Request) -> web.Response:
        return web.json_response(await c.status(), dumps=lambda o: json.dumps(o, default=str))

    @r.get("/metrics")
    async def metrics(_: web.Request) -> web.Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        c.metrics.update(c.cluster, c.db)
        return web.Response(body=generate_latest(c.metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    @r.post("/nodes/{node}/{op}")
    async def node_op(req: web.Request) -> web.Response:
        node, op = req.match_info["node"], req.match_info["op"]
        if node not in c.cluster.nodes:
            return _json_error(404, f"unknown node {node!r}; nodes are {', '.join(c.cluster.nodes)}")
        if op == "cordon":
            c.cluster.cordon(node)
            return web.json_response({"node": node, "schedulable": False})
        if op == "uncordon":
            c.cluster.uncordon(node)
            return web.json_response({"node": node, "schedulable": True})
        if op == "drain":
            return web.json_response(await c.cluster.drain(node))
        return _json_error(404, f"unknown node operation {op!r}: cordon, drain or uncordon")

    @r.post("/deployments/core-api/rollout")
    async def rollout(req: web.Request) -> web.Response:
        body = await _body(req)
        healthy = bool(body.get("healthy", True))
        rev = c.cluster.start_rollout(healthy)
        if body.get("wait", False):
            await c.cluster.wait_rollout(float(body.get("timeout", 120)))
        dep = c.cluster.deployments[API]
        return web.json_response({"revision": rev, "phase": dep.phase,
                                  "serving_revision": dep.good_revision})

    @r.post("/deployments/core-api/undo")
    async def undo(_: web.Request) -> web.Response:
        return web.json_response(await c.cluster.undo())

    @r.post("/db/fail-primary")
    async def fail_db(_: web.Request) -> web.Response:
        return web.json_response(c.db.fail_primary())

    @r.post("/db/stall-replication")
    async def stall(req: web.Request) -> web.Response:
        body = await _body(req)
        seconds = float(body.get("seconds", 10))
        if not 0 < seconds <= 600:
            return _json_error(400, "seconds: expected a number in (0, 600]")
        return web.json_response(await c.db.stall(seconds))

    @r.post("/db/resume-replication")
    async def resume(_: web.Request) -> web.Response:
        return web.json_response(c.db.resume())

    @r.get("/audit")
    async def audit_settings(_: web.Request) -> web.Response:
        return web.json_response(await audit.settings(c.cfg, c.secrets))

    @r.post("/redis/kill-primary")
    async def kill_redis(_: web.Request) -> web.Response:
        return web.json_response(await c.redis.kill_primary())

    @r.post("/redis/partition")
    async def partition_redis(req: web.Request) -> web.Response:
        seconds = float((await _body(req)).get("seconds", 10))
        if not 0 < seconds <= 600:
            return _json_error(400, "seconds: expected a number in (0, 600]")
        return web.json_response(await c.redis.partition(seconds))

    @r.post("/redis/heal")
    async def heal_redis(_: web.Request) -> web.Response:
        return web.json_response(await c.redis.heal())

    @r.post("/components/{name}/{op}")
    async def component(req: web.Request) -> web.Response:
        name, op = req.match_info["name"], req.match_info["op"]
        m = c.sup.items.get(name)
        if m is None or name.startswith(("db-", "api-", "worker-")):
            return _json_error(404, f"unknown component {name!r}")
        if op == "stop":
            await asyncio.to_thread(c.sup.stop, name, 5.0)
            c.emit("component_stopped", component=name)
        elif op == "start":
            if not m.running:
                c.sup.start(m)
                c.emit("component_started", component=name)
        else:
            return _json_error(404, f"unknown operation {op!r}: start or stop")
        return web.json_response({"component": name, "up": m.running})

    @r.post("/shutdown")
    async def shutdown(_: web.Request) -> web.Response:
        c.stopping.set()
        return web.json_response({"state": "stopping"})

    return r


async def _body(req: web.Request) -> dict[str, Any]:
    if not req.can_read_body:
        return {}
    try:
        data = await req.json()
    except json.JSONDecodeError:
        raise web.HTTPBadRequest(text="body: expected JSON") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body: expected a JSON object")
    return data


@web.middleware
async def errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        resp: web.StreamResponse = await handler(request)
        return resp
    except procs.SandboxError as exc:
        return _json_error(409, str(exc))
    except KeyError as exc:
        return _json_error(404, str(exc.args[0]) if exc.args else "not found")


async def amain(state_dir: Path) -> int:
    c = Controller(state_dir)
    app = web.Application(middlewares=[errors])
    app.add_routes(routes(c))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", c.cfg.ports.controller)
    await site.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, c.stopping.set)
    c._tasks.append(asyncio.create_task(c.sup.watch()))
    c._tasks.append(asyncio.create_task(c.publish_loop()))
    code = 0
    up = asyncio.create_task(c.bring_up())
    stop = asyncio.create_task(c.stopping.wait())
    done, _ = await asyncio.wait({up, stop}, return_when=asyncio.FIRST_COMPLETED)
    if up in done and up.exception() is not None:
        exc = up.exception()
        c.state, c.error = "failed", str(exc)
        c.emit("sandbox_failed", error=str(exc))
        write_json_atomic(c.layout.status_file, await c.status())
        code = 1
    elif up in done:
        await stop
    else:
        up.cancel()
    await c.shutdown()
    final = await c.status()
    final["state"] = "failed" if code else "stopped"
    write_json_atomic(c.layout.status_file, final)
    await runner.cleanup()
    return code


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m gameday.sandbox.controller")
    ap.add_argument("--state", type=Path, required=True)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    sys.exit(asyncio.run(amain(args.state.resolve())))


if __name__ == "__main__":
    main()
