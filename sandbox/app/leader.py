"""Leader election among the workers, and the warm agent pool the leader keeps full.

One worker at a time runs the pool manager and the watchdog, chosen by a Redis lock with a
TTL (``lock:leader``, 5 s, renewed every second). A leader that cannot reach Redis keeps
acting only until its lease would have run out, so after a Redis failover there is at most
a short overlap of two leaders, which both jobs tolerate (a few extra agents, a duplicate
queue entry).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from redis import exceptions as redis_exc

from .. import config
from . import common

LEASE_MS = 5000
RENEW_EVERY_S = 1.0
MAX_CONCURRENT_STARTS = 256  # with cold_start_s 3: up to ~85 agents/s; fills the default pool in one round

# Take the lock if free, extend it if ours: SET NX PX and PEXPIRE in one atomic step.
_ACQUIRE_OR_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Leadership:
    """Whether this pod is the leader, from the lease it last obtained."""

    def __init__(self, redis: common.RedisClients, pod: str, log: logging.Logger) -> None:
        self.pod = pod
        self.log = log
        self._errors = common.ErrorThrottle(log)
        self._acquire = redis.master.register_script(_ACQUIRE_OR_RENEW)
        self._release = redis.master.register_script(_RELEASE)
        self._until = 0.0

    @property
    def is_leader(self) -> bool:
        return time.monotonic() < self._until

    async def run(self) -> None:
        while True:
            was = self.is_leader
            asked = time.monotonic()
            try:
                won = await self._acquire(keys=[common.LEADER_LOCK], args=[self.pod, LEASE_MS])
            except redis_exc.RedisError as exc:
                self._errors.error("lease", "leader lease not renewed", exc, leader=was)
            else:
                # Count the lease from when it was asked for: Redis may have set it earlier.
                self._until = asked + LEASE_MS / 1000 - RENEW_EVERY_S if won else 0.0
            if self.is_leader != was:
                common.log_event(self.log, logging.INFO,
                                 "became leader" if self.is_leader else "lost leadership")
            await asyncio.sleep(RENEW_EVERY_S)

    async def release(self) -> None:
        """Let another worker take over at once instead of after the lease expires."""
        if not self.is_leader:
            return
        self._until = 0.0
        try:
            await self._release(keys=[common.LEADER_LOCK], args=[self.pod])
        except redis_exc.RedisError as exc:
            common.log_error(self.log, "leader lock not released; it expires by itself", exc)


class WarmPool:
    """Keeps ``agents:warm`` at ``knobs.warm_pool_size`` while this pod leads.

    Starting an agent takes ``timings.cold_start_s``, and agents being started count toward
    the target so the pool is not over-filled while they boot. Counted that way, a fixed
    target refills at most ``warm_pool_size / cold_start_s`` agents a second (10/s with the
    defaults), which is just what the default load consumes: the pool would run dry on every
    burst. So the manager also covers the demand it measures: it aims at the target plus the
    agents the API will take while new ones boot, and trims back to that when demand falls.
    With ``warm_pool_size`` 0 there is no pool at all. The API never returns agents.
    """

    SMOOTHING = 0.3  # weight of the newest consumption sample in the moving average

    def __init__(self, cfg: config.SandboxConfig, redis: common.RedisClients,
                 leadership: Leadership, log: logging.Logger) -> None:
        self.cfg = cfg
        self.redis = redis
        self.leadership = leadership
        self._errors = common.ErrorThrottle(log)
        self._starting: set[asyncio.Task[None]] = set()
        self._last: tuple[float, int] | None = None  # (monotonic time, pool size) last tick
        self._added = 0  # agents pushed since the last tick
        self.demand_per_s = 0.0

    async def run(self) -> None:
        while True:
            if self.leadership.is_leader:
                try:
                    await self.top_up()
                except redis_exc.RedisError as exc:
                    self._errors.error("top_up", "warm pool not topped up", exc)
            else:
                self._last = None
            await asyncio.sleep(0.5)

    def _measure(self, size: int) -> None:
        now = time.monotonic()
        if self._last is not None and now > self._last[0]:
            consumed = max(0, self._last[1] + self._added - size)
            rate = consumed / (now - self._last[0])
            self.demand_per_s += self.SMOOTHING * (rate - self.demand_per_s)
        self._last = (now, size)
        self._added = 0

    async def top_up(self) -> None:
        size = await self.redis.master.llen(common.WARM_POOL)
        self._measure(size)
        base = self.cfg.knobs.warm_pool_size
        want = base + round(self.demand_per_s * self.cfg.timings.cold_start_s) if base else 0
        if size > want and not self._starting:
            if want:  # retire idle agents; LTRIM 0 -1 would keep them all
                await self.redis.master.ltrim(common.WARM_POOL, 0, want - 1)
            else:
                await self.redis.master.delete(common.WARM_POOL)
            self._last = (time.monotonic(), min(size, want))
            return
        deficit = want - size - len(self._starting)
        for _ in range(min(deficit, MAX_CONCURRENT_STARTS - len(self._starting))):
            task = asyncio.create_task(self._start_agent())
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)

    async def _start_agent(self) -> None:
        await asyncio.sleep(self.cfg.timings.cold_start_s)
        agent_id = str(uuid.uuid4())
        try:
            await common.redis_retry(lambda: self.redis.master.rpush(common.WARM_POOL, agent_id))
            self._added += 1
        except redis_exc.RedisError as exc:
            self._errors.error("start_agent", "started agent not added to the pool", exc)

    async def stop(self) -> None:
        for task in list(self._starting):
            task.cancel()
        await asyncio.gather(*self._starting, return_exceptions=True)
