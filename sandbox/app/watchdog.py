"""The leader's watchdog: acknowledged missions that nobody is working on go back to the queue.

Three ways a mission gets stranded, one action each (``watchdog_recovery_actions_total``):

- ``requeue_dead_worker``: in the in-flight list of a worker whose heartbeat is gone;
- ``requeue_stale_running``: 'running' in Postgres for longer than the re-queue threshold,
  held by a worker whose heartbeat is gone (its Redis list was lost, e.g. in a failover);
  a 'running' row with no worker at all is the stuck-mission knob's (``Store.abandon``) and is
  left alone by decision: rescuing it would undo the mutant the verdict must catch;
- ``requeue_lost``: 'queued' for longer than the threshold and in no Redis list at all
  (the API's LPUSH failed, or a Redis failover dropped it).

A heartbeat must be missing on two consecutive ticks before a worker counts as dead: just
after a Redis failover the new master may not have a live worker's key yet.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .. import config
from . import common
from .leader import Leadership
from .metrics import WorkerMetrics
from .missions import Store

BATCH = 1000

_STALE_RUNNING_SQL = (
    "SELECT mission_id::text AS id, worker FROM missions WHERE status = 'running' AND worker IS NOT NULL"
    " AND updated_at < now() - make_interval(secs => $1) ORDER BY updated_at LIMIT $2"
)
_STALE_QUEUED_SQL = (
    "SELECT mission_id::text AS id FROM missions WHERE status = 'queued'"
    " AND updated_at < now() - make_interval(secs => $1) ORDER BY updated_at LIMIT $2"
)
# Confirmed whereabouts: not examined again until the threshold has passed once more.
_TOUCH_QUEUED_SQL = (
    "UPDATE missions SET updated_at = now() WHERE mission_id = ANY($1::uuid[]) AND status = 'queued'"
)


class Watchdog:
    def __init__(self, cfg: config.SandboxConfig, store: Store, metrics: WorkerMetrics,
                 leadership: Leadership, log: logging.Logger) -> None:
        self.cfg = cfg
        self.store = store
        self.redis = store.redis.master
        self.metrics = metrics
        self.leadership = leadership
        self.log = log
        self._errors = common.ErrorThrottle(log)
        self._missing_before: set[str] = set()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.timings.watchdog_interval_s)
            if not self.leadership.is_leader:
                self._missing_before = set()
                continue
            try:
                await self.tick()
            except common.STORE_ERRORS as exc:
                self._errors.error("tick", "watchdog tick failed", exc)

    def _count(self, action: str, mission_id: str, **fields: Any) -> None:
        self.metrics.watchdog_actions.labels(action=action).inc()
        common.log_event(self.log, logging.WARNING, "watchdog re-queued a mission", action=action,
                         mission_id=mission_id, **fields)

    async def tick(self) -> None:
        after_s = self.cfg.timings.mission_requeue_after_s
        listed = {common.as_str(key).removeprefix(common.PROCESSING_PREFIX)
                  async for key in self.redis.scan_iter(match=common.PROCESSING_PREFIX + "*", count=500)}
        stale = await self.store.fetch(_STALE_RUNNING_SQL, after_s, BATCH)
        pods = listed | {row["worker"] for row in stale if row["worker"]}
        dead = await self._dead(pods)

        handled: set[str] = set()
        for pod in sorted(dead & listed):
            for raw in await self.redis.lrange(common.processing_key(pod), 0, -1):
                mission_id = common.as_str(raw)
                if await self.store.requeue(mission_id, pod):
                    handled.add(mission_id)
                    self._count("requeue_dead_worker", mission_id, worker=pod)
        for row in stale:
            if row["worker"] in dead and row["id"] not in handled:
                if await self.store.requeue(row["id"], row["worker"]):
                    self._count("requeue_stale_running", row["id"], worker=row["worker"])
        await self._requeue_lost(after_s)

    async def _dead(self, pods: set[str]) -> set[str]:
        """Pods without a heartbeat now and on the previous tick."""
        names = sorted(pods)
        if names:
            async with self.redis.pipeline(transaction=False) as pipe:
                for pod in names:
                    pipe.exists(common.alive_key(pod))
                alive = await pipe.execute()
        else:
            alive = []
        missing = {pod for pod, up in zip(names, alive, strict=True) if not up}
        dead = missing & self._missing_before
        self._missing_before = missing
        return dead

    async def _requeue_lost(self, after_s: float) -> None:
        rows = await self.store.fetch(_STALE_QUEUED_SQL, after_s, BATCH)
        if not rows:
            return
        present = {common.as_str(v) for v in await self.redis.lrange(common.QUEUE, 0, -1)}
        async for key in self.redis.scan_iter(match=common.PROCESSING_PREFIX + "*", count=500):
            present.update(common.as_str(v) for v in await self.redis.lrange(key, 0, -1))
        lost = [row["id"] for row in rows if row["id"] not in present]
        if lost:
            await common.redis_retry(lambda: self.redis.rpush(common.QUEUE, *lost))
            for mission_id in lost:
                self._count("requeue_lost", mission_id)
        await self.store.fetch(_TOUCH_QUEUED_SQL, [row["id"] for row in rows])
