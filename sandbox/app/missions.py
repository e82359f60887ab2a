"""Moving a mission between the queue, a worker and the table, safely under every race.

Postgres is the truth, Redis only says where to look. Every state change is a guarded
UPDATE (``WHERE status = ... AND worker = ...``), so a duplicate queue entry, a watchdog
that acts on a worker it wrongly believes dead, or two leaders for a moment, cost at most
some repeated work and never a lost or doubly completed mission.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from . import common

CLAIM_SQL = (
    "UPDATE missions SET status = 'running', worker = $2, attempts = attempts + 1, updated_at = now()"
    " WHERE mission_id = $1 AND status = 'queued' RETURNING agents, attempts"
)
FINISH_SQL = (
    "UPDATE missions SET status = $3, completed_at = now(), updated_at = now(), tokens = $4"
    " WHERE mission_id = $1 AND status = 'running' AND worker = $2 RETURNING 1"
)
# Left 'running' with no worker: what the stuck-mission knob does (see Store.abandon).
ABANDON_SQL = (
    "UPDATE missions SET worker = NULL, updated_at = now()"
    " WHERE mission_id = $1 AND status = 'running' AND worker = $2 RETURNING 1"
)
# Back to 'queued' if nobody holds it, or if ``owner`` does; never taken from another worker.
RELEASE_SQL = (
    "UPDATE missions SET status = 'queued', updated_at = now()"
    " WHERE mission_id = $1 AND (status = 'queued' OR (status = 'running' AND worker = $2))"
    " RETURNING 1"
)


def parse_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


class Store:
    """The mission operations shared by the worker loop, its own reconciliation and the watchdog."""

    def __init__(self, db: asyncpg.Pool, redis: common.RedisClients) -> None:
        self.db = db
        self.redis = redis

    async def _fetchval(self, sql: str, *args: Any) -> Any:
        async def op() -> Any:
            async with self.db.acquire(timeout=common.DB_ACQUIRE_TIMEOUT_S) as conn:
                return await conn.fetchval(sql, *args)

        return await common.db_retry(op)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        async def op() -> list[Any]:
            async with self.db.acquire(timeout=common.DB_ACQUIRE_TIMEOUT_S) as conn:
                rows: list[Any] = await conn.fetch(sql, *args)
                return rows

        return await common.db_retry(op)

    async def claim(self, mission_id: uuid.UUID, pod: str) -> Any:
        """The mission's row (agents, attempts) if ``pod`` now runs it; None if it was not queued."""

        async def op() -> Any:
            async with self.db.acquire(timeout=common.DB_ACQUIRE_TIMEOUT_S) as conn:
                return await conn.fetchrow(CLAIM_SQL, mission_id, pod)

        return await common.db_retry(op)

    async def finish(self, mission_id: uuid.UUID, pod: str, status: str, tokens: int) -> bool:
        """True if ``pod`` still held the mission and has now closed it with ``status``."""
        return bool(await self._fetchval(FINISH_SQL, mission_id, pod, status, tokens))

    async def abandon(self, mission_id: uuid.UUID, pod: str) -> bool:
        """Leave a mission of ``pod`` 'running' with no worker, for ever (``knobs.mission_stuck_ratio``).

        With no worker, neither the pod's reconciliation (its own rows) nor the watchdog (rows of
        dead workers, ``worker IS NOT NULL``) will ever re-queue it: the mission really is stuck.
        """
        return bool(await self._fetchval(ABANDON_SQL, mission_id, pod))

    async def drop(self, raw_id: str, owner: str) -> None:
        """Remove one entry from ``owner``'s in-flight list."""
        key = common.processing_key(owner)
        await common.redis_retry(lambda: self.redis.master.lrem(key, 1, raw_id))

    async def give_back(self, raw_id: str, owner: str) -> None:
        """Return an unclaimed mission (its row is still 'queued') to the queue; Redis only.

        Used when the claim could not be made, typically because the DB is down: without it
        every consumer would keep pulling the whole queue into its in-flight list.
        """
        key = common.processing_key(owner)

        async def move() -> None:
            async with self.redis.master.pipeline(transaction=True) as pipe:
                pipe.rpush(common.QUEUE, raw_id)
                pipe.lrem(key, 1, raw_id)
                await pipe.execute()

        await common.redis_retry(move)

    async def requeue(self, raw_id: str, owner: str) -> bool:
        """Hand a mission of ``owner`` back to the queue; True if it was re-queued.

        The row goes back to 'queued' first, then the id moves from the owner's in-flight list
        to the consuming (right) end of the queue in one MULTI. A row that is finished, or held
        by another worker, only loses its stale list entry. If Redis fails after the UPDATE,
        the row is 'queued' and the watchdog's requeue_lost finds it.
        """
        mission_id = parse_id(raw_id)
        released = mission_id is not None and bool(await self._fetchval(RELEASE_SQL, mission_id, owner))
        key = common.processing_key(owner)

        async def move() -> None:
            async with self.redis.master.pipeline(transaction=True) as pipe:
                if released:
                    pipe.rpush(common.QUEUE, raw_id)
                pipe.lrem(key, 1, raw_id)
                await pipe.execute()

        await common.redis_retry(move)
        return released
