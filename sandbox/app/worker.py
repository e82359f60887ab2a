"""worker: runs the missions the API queued, and (when leader) the warm pool and the watchdog.

    python -m gameday.sandbox.app.worker --state DIR --pod worker-0 --node node-b --port P

A mission is taken with BLMOVE into this pod's in-flight list, claimed in Postgres with a
guarded UPDATE, worked (one simulated task per agent, in parallel), completed, then removed
from the list. Errors talking to either store back off and retry; the loop never dies.

On SIGTERM the pod stops taking work, lets in-flight missions finish within the grace
period, and puts back whatever did not finish. A pod killed with -9 leaves its list behind:
the watchdog re-queues it once the heartbeat is gone, or, when the supervisor restarts the
pod under the same name first, the pod's own reconciliation does.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter

import asyncpg
from aiohttp import web
from redis import exceptions as redis_exc

from .. import config
from . import common, mutants, serving
from .leader import Leadership, WarmPool
from .metrics import WorkerMetrics
from .missions import Store, parse_id
from .watchdog import Watchdog

HEARTBEAT_EVERY_S = 1.0
HEARTBEAT_TTL_S = 5
BACKOFF_S = 0.5
MAX_ATTEMPTS = 10  # a mission that crashed this many workers is failed, not retried forever
POP_TIMEOUT_S = 1
TOKENS_PER_TASK = (200, 2000)
USD_PER_TOKEN = 0.000002  # $2 per million tokens, a blended LLM price


class Worker:
    def __init__(self, cfg: config.SandboxConfig, args: common.PodArgs, log: logging.Logger) -> None:
        self.cfg = cfg
        self.pod = args.pod
        self.args = args
        self.log = log
        self.errors = common.ErrorThrottle(log)
        self.metrics = WorkerMetrics()
        self.lifecycle = serving.Lifecycle()
        self.redis = common.connect_redis(cfg, blocking_timeout_s=POP_TIMEOUT_S)
        self.processing = common.processing_key(self.pod)
        self.in_flight: Counter[str] = Counter()  # a duplicate may be held twice at once
        self.stopping = asyncio.Event()
        self.leadership = Leadership(self.redis, self.pod, log)
        self.warm_pool = WarmPool(cfg, self.redis, self.leadership, log)
        self._orphan_suspects: set[str] = set()
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("store used before startup")
        return self._store

    # ---- the mission loop ------------------------------------------------------------

    async def consume(self) -> None:
        while not self.stopping.is_set():
            try:
                raw = await self.redis.blocking.blmove(common.QUEUE, self.processing, POP_TIMEOUT_S,
                                                       "RIGHT", "LEFT")
            except redis_exc.RedisError as exc:
                self.errors.error("pop", "queue unreachable; backing off", exc)
                await asyncio.sleep(BACKOFF_S)
                continue
            if raw is None:
                continue
            raw = common.as_str(raw)
            self.in_flight[raw] += 1
            if self.stopping.is_set():
                await self._give_back(raw)
            else:
                try:
                    await self.process(raw)
                except Exception as exc:  # never let one mission end the loop
                    common.log_error(self.log, "mission processing failed", exc, trace=True,
                                     mission_id=raw)
            self._done(raw)  # not reached when cancelled: shutdown re-queues what is left

    def _done(self, raw: str) -> None:
        self.in_flight[raw] -= 1
        if self.in_flight[raw] <= 0:
            del self.in_flight[raw]

    async def _give_back(self, raw: str) -> None:
        """Hand back a mission that was popped but not claimed."""
        try:
            await self.store.give_back(raw, self.pod)
        except redis_exc.RedisError as exc:
            self.errors.error("give_back", "mission not handed back; reconciliation will", exc,
                              mission_id=raw)

    async def process(self, raw: str) -> None:
        mission_id = parse_id(raw)
        if mission_id is None:
            common.log_event(self.log, logging.WARNING, "not a mission id; dropped", mission_id=raw)
            await self._drop(raw)
            return
        try:
            row = await self.store.claim(mission_id, self.pod)
        except common.DB_ERRORS as exc:
            self.errors.error("claim", "claim failed; mission handed back", exc, mission_id=raw)
            await self._give_back(raw)
            await asyncio.sleep(BACKOFF_S)
            return
        if row is None:  # a duplicate entry, or already finished
            await self._drop(raw)
            return
        if row["attempts"] > MAX_ATTEMPTS:
            await self._finish(raw, "failed", 0)
            return
        fate = mutants.mission_fate(self.cfg.knobs, mission_id)
        if fate == "stuck":
            await self._abandon(raw)
            return
        tokens = await asyncio.gather(*(self.run_task() for _ in range(row["agents"])))
        await self._finish(raw, "failed" if fate == "failed" else "completed", sum(tokens))

    async def run_task(self) -> int:
        """One agent's share of the mission: simulated work, and the tokens it would cost."""
        t0 = time.perf_counter()
        await asyncio.sleep(self.cfg.timings.task_s * random.uniform(0.5, 1.5))
        self.metrics.task_duration.observe(time.perf_counter() - t0)
        tokens = random.randint(*TOKENS_PER_TASK)
        self.metrics.token_cost.inc(tokens * USD_PER_TOKEN)
        return tokens

    async def _finish(self, raw: str, status: str, tokens: int) -> None:
        """Record the outcome, retrying until the DB takes it: the work is done, keep it."""
        mission_id = parse_id(raw)
        assert mission_id is not None
        while True:
            try:
                mine = await self.store.finish(mission_id, self.pod, status, tokens)
                break
            except common.DB_ERRORS as exc:
                self.errors.error("finish", "completion not recorded; retrying", exc, mission_id=raw)
                await asyncio.sleep(BACKOFF_S)
        if mine:
            self.metrics.missions_completed.labels(status=status).inc()
        else:
            common.log_event(self.log, logging.WARNING, "mission was taken from this worker meanwhile",
                             mission_id=raw)
        await self._drop(raw)

    async def _abandon(self, raw: str) -> None:
        """The stuck-mission knob: leave the row 'running' with no worker, drop our list entry."""
        mission_id = parse_id(raw)
        assert mission_id is not None
        while True:
            try:
                await self.store.abandon(mission_id, self.pod)
                break
            except common.DB_ERRORS as exc:
                self.errors.error("abandon", "stuck mission not recorded; retrying", exc, mission_id=raw)
                await asyncio.sleep(BACKOFF_S)
        await self._drop(raw)

    async def _drop(self, raw: str) -> None:
        try:
            await self.store.drop(raw, self.pod)
        except redis_exc.RedisError as exc:
            self.errors.error("drop", "in-flight entry not removed; reconciliation will", exc,
                              mission_id=raw)

    # ---- background loops ------------------------------------------------------------

    async def heartbeat(self) -> None:
        """Tell the watchdog this pod is alive, and report the warm pool it sees."""
        while True:
            try:
                async with self.redis.master.pipeline(transaction=False) as pipe:
                    pipe.set(common.alive_key(self.pod), str(time.time()), ex=HEARTBEAT_TTL_S)
                    pipe.llen(common.WARM_POOL)
                    pipe.llen(common.QUEUE)
                    _, size, depth = await pipe.execute()
                self.metrics.warm_pool_size.set(size)
                self.metrics.queue_depth.labels(queue=common.QUEUE).set(depth)
            except redis_exc.RedisError as exc:
                self.errors.error("heartbeat", "heartbeat not sent", exc)
            await asyncio.sleep(HEARTBEAT_EVERY_S)

    async def reconcile(self) -> None:
        """Re-queue what this pod holds but does not work on: leftovers of a previous life.

        A list entry must look orphaned on two passes (it may have just been popped and not
        yet registered); a 'running' row of ours that no consumer holds is orphaned at once.
        """
        while True:
            await asyncio.sleep(self.cfg.timings.watchdog_interval_s)
            try:
                await self._reconcile_once()
            except common.STORE_ERRORS as exc:
                self.errors.error("reconcile", "reconciliation failed", exc)

    async def _reconcile_once(self) -> None:
        listed = await self.redis.master.lrange(self.processing, 0, -1)
        suspects = {common.as_str(raw) for raw in listed} - set(self.in_flight)
        orphans = suspects & self._orphan_suspects
        self._orphan_suspects = suspects - orphans
        rows = await self.store.fetch(
            "SELECT mission_id::text AS id FROM missions WHERE status = 'running' AND worker = $1"
            " AND updated_at < now() - interval '2 seconds'", self.pod)
        orphans.update(row["id"] for row in rows)
        for raw in sorted(orphans):
            if raw in self.in_flight or self.stopping.is_set():
                continue
            if await self.store.requeue(raw, self.pod):
                self.metrics.watchdog_actions.labels(action="requeue_orphan").inc()
                common.log_event(self.log, logging.WARNING, "re-queued an orphaned mission",
                                 action="requeue_orphan", mission_id=raw)

    # ---- lifecycle -------------------------------------------------------------------

    async def run(self) -> None:
        """Listen first (a port clash must fail before any work is taken), then start work."""
        db = await common.create_db_pool(self.cfg, common.read_db_password(self.args.state),
                                         max_size=min(self.cfg.replicas.worker_concurrency, 16) + 2)
        self._store = Store(db, self.redis)
        app = web.Application()
        serving.add_probe_routes(app, self.lifecycle, self.metrics)
        tasks: list[asyncio.Task[None]] = []
        try:
            runner = await serving.start(app, self.args.port, shutdown_timeout_s=1.0)
            watchdog = Watchdog(self.cfg, self.store, self.metrics, self.leadership, self.log)
            heartbeat = asyncio.create_task(self.heartbeat())
            background = [asyncio.create_task(c) for c in (
                self.reconcile(), self.leadership.run(), self.warm_pool.run(), watchdog.run())]
            consumers = [asyncio.create_task(self.consume())
                         for _ in range(self.cfg.replicas.worker_concurrency)]
            tasks = [heartbeat, *background, *consumers]
            common.log_event(self.log, logging.INFO, "serving", port=self.args.port,
                             concurrency=len(consumers))
            sig = await serving.wait_for_termination()
            await self._shutdown(sig, heartbeat, background, consumers)
            await runner.cleanup()
        finally:
            await _cancel(tasks)
            await self.warm_pool.stop()
            await _close(db, self.redis)

    async def _shutdown(self, sig: str, heartbeat: asyncio.Task[None],
                        background: list[asyncio.Task[None]], consumers: list[asyncio.Task[None]]) -> None:
        """Stop taking work, finish what is in flight within the grace, hand back the rest."""
        t0 = time.monotonic()
        self.lifecycle.terminating = True
        self.stopping.set()
        common.log_event(self.log, logging.INFO, "terminating: finishing in-flight missions",
                         signal=sig, in_flight=sum(self.in_flight.values()))
        await self.warm_pool.stop()
        await _cancel(background)
        await self.leadership.release()
        budget = self.cfg.timings.pod_termination_grace_s - 1.5 - (time.monotonic() - t0)
        _, pending = await asyncio.wait(consumers, timeout=max(0.1, budget))
        await _cancel(list(pending))
        requeued = await self._requeue_unfinished()
        await _cancel([heartbeat])  # beat until here, or the watchdog would take our work
        await self._clear_heartbeat()
        common.log_event(self.log, logging.INFO, "stopped", requeued=requeued,
                         took_s=round(time.monotonic() - t0, 3))

    async def _requeue_unfinished(self) -> int:
        """Put back what the grace period did not cover; left in the list if the stores are down."""
        count = 0
        for raw in list(self.in_flight):
            try:
                count += await self.store.requeue(raw, self.pod)
            except common.STORE_ERRORS as exc:
                common.log_error(self.log, "unfinished mission not re-queued; the watchdog will", exc,
                                 mission_id=raw)
        self.in_flight.clear()
        return count

    async def _clear_heartbeat(self) -> None:
        """Gone now, so the watchdog need not wait for the TTL if anything was left behind."""
        try:
            await self.redis.master.delete(common.alive_key(self.pod))
        except redis_exc.RedisError as exc:
            common.log_error(self.log, "heartbeat not cleared; it expires by itself", exc)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _close(db: asyncpg.Pool, redis: common.RedisClients) -> None:
    try:
        await asyncio.wait_for(db.close(), 2.0)
    except common.DB_ERRORS:
        db.terminate()
    try:
        await redis.aclose()
    except redis_exc.RedisError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = common.pod_parser("gameday.sandbox.app.worker", "worker pod of the HyperCode sandbox")
    args = common.pod_args(parser.parse_args(argv))
    return common.run_pod("worker", args, lambda cfg, log: Worker(cfg, args, log).run())

if __name__ == "__main__":
    raise SystemExit(main())
