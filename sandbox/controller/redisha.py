"""Redis primary + replica under three Sentinels: ElastiCache's stand-in.

The controller does not fail Redis over itself: Sentinel does. Here are the fault (kill -9
the primary Sentinel names; the supervisor brings the process back once Sentinel has promoted
another primary and ``redis_restart_delay_s`` has passed, and Sentinel turns it into a replica)
and the status readers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from .. import procs
from ..config import REDIS_INSTANCES, SENTINELS, SandboxConfig
from ..layout import REDIS_MASTER_NAME, Layout
from .supervisor import Managed, Supervisor

# How long a killed primary is held down waiting for Sentinel to promote another one: past it the
# process comes back anyway (a failover that never happens must not leave Redis down for good), as
# ElastiCache recovers a node in place when there is no replica to fail over to.
FAILOVER_HOLD_S = 30.0


def _probe_client(port: int) -> aioredis.Redis:
    """A client for one status read: no retries. redis-py 8 retries a refused connection 10
    times with backoff (about 4 s), which made every ``GET /status`` take 4 s while a Redis
    instance was down, and every chaos wait that polls it overshoot a failover by as much."""
    return aioredis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5, socket_connect_timeout=0.5,
                          retry=Retry(NoBackoff(), 0))


class RedisOps:
    def __init__(self, cfg: SandboxConfig, layout: Layout, sup: Supervisor,
                 emit: Callable[..., None]) -> None:
        self.cfg = cfg
        self.layout = layout
        self.sup = sup
        self.emit = emit
        self._held: set[asyncio.Task[None]] = set()  # referenced until done (asyncio keeps weak refs)

    def _instance_at(self, port: int) -> str | None:
        for inst in REDIS_INSTANCES:
            if self.cfg.ports.redis(inst) == port:
                return inst
        return None

    async def sentinel_primary(self) -> str | None:
        """The primary a majority of reachable Sentinels name, or None."""
        votes: dict[str, int] = {}
        for s in SENTINELS:
            client = _probe_client(self.cfg.ports.sentinel(s))
            try:
                addr = await client.execute_command(  # type: ignore[no-untyped-call]  # untyped in redis-py
                    "SENTINEL", "get-master-addr-by-name", REDIS_MASTER_NAME)
                if addr:
                    inst = self._instance_at(int(addr[1]))
                    if inst:
                        votes[inst] = votes.get(inst, 0) + 1
            except (aioredis.RedisError, OSError):
                pass
            finally:
                await client.aclose()
        if not votes:
            return None
        return max(votes, key=lambda k: votes[k])

    async def warm_pool_size(self) -> int | None:
        """LLEN of the warm agent pool on the primary, or None if it cannot be read."""
        primary = await self.sentinel_primary()
        if primary is None:
            return None
        client = _probe_client(self.cfg.ports.redis(primary))
        try:
            return int(await client.llen("agents:warm"))
        except (aioredis.RedisError, OSError):
            return None
        finally:
            await client.aclose()

    async def role(self, instance: str) -> tuple[bool, str]:
        client = _probe_client(self.cfg.ports.redis(instance))
        try:
            info = await client.info("replication")
            role = str(info.get("role", "unknown"))
            return True, "primary" if role == "master" else "replica"
        except (aioredis.RedisError, OSError):
            return False, "down"
        finally:
            await client.aclose()

    async def kill_primary(self) -> dict[str, Any]:
        primary = await self.sentinel_primary()
        if primary is None:
            raise procs.SandboxError("no Sentinel names a Redis primary")
        m = self.sup.items.get(primary)
        if m is None or not m.running or m.pid is None:
            raise procs.SandboxError(f"Redis primary {primary} has no live process to kill")
        m.restart_delay_s = self.cfg.timings.redis_restart_delay_s
        m.restart = False  # held down until Sentinel has promoted another primary: see _release
        pid = m.pid
        procs.signal_group(pid, 9)
        self.emit("redis_primary_killed", instance=primary, pid=pid)
        task = asyncio.create_task(self._release(m, primary))
        self._held.add(task)
        task.add_done_callback(self._held.discard)
        return {"killed": primary, "pid": pid}

    async def _release(self, m: Managed, killed: str) -> None:
        """Let the supervisor restart the killed primary once Sentinel names another one (or after
        :data:`FAILOVER_HOLD_S`). ElastiCache replaces a failed primary's node after the failover;
        a process back before Sentinel has decided (a short ``redis_restart_delay_s`` under a
        loaded machine) is still the primary, Sentinel calls the failover off, and the fault
        tested no failover at all: CI saw exactly that once, the same primary before and after."""
        deadline = time.monotonic() + FAILOVER_HOLD_S
        try:
            while time.monotonic() < deadline:
                named = await self.sentinel_primary()
                if named is not None and named != killed:
                    break
                await asyncio.sleep(0.2)
            else:
                self.emit("redis_failover_not_seen", instance=killed, waited_s=FAILOVER_HOLD_S)
        finally:
            m.restart = True  # the supervisor restarts it once redis_restart_delay_s has passed

    async def partition(self, seconds: float) -> dict[str, Any]:
        """Isolate the Redis primary for ``seconds``, as a network partition that leaves it alone on its
        side would: ``CLIENT PAUSE <ms> WRITE`` holds every client's commands (the app's LPUSH, LPOP,
        BRPOP are all writes) until their 1 s socket timeouts, as dropped packets would, while the
        replication stream is served. Sentinel is caught as well: its hello PUBLISH is a write, and its
        PINGs queue behind it on the same link, so it sees the primary down and may fail over, as it
        would for a primary cut off from the majority. Redis lifts the pause by itself at the end;
        :meth:`heal` lifts it early."""
        primary = await self.sentinel_primary()
        if primary is None:
            raise procs.SandboxError("no Sentinel names a Redis primary")
        client = _probe_client(self.cfg.ports.redis(primary))
        try:
            await client.execute_command("CLIENT", "PAUSE", str(int(seconds * 1000)), "WRITE")  # type: ignore[no-untyped-call]
        except (aioredis.RedisError, OSError) as exc:
            raise procs.SandboxError(f"Redis primary {primary}: CLIENT PAUSE failed: {exc}") from None
        finally:
            await client.aclose()
        self.emit("redis_partitioned", instance=primary, seconds=seconds)
        return {"partitioned": primary, "seconds": seconds, "mode": "CLIENT PAUSE WRITE"}

    async def heal(self) -> dict[str, Any]:
        """Lift a partition on every Redis instance that answers (a no-op where there is none)."""
        healed = []
        for inst in REDIS_INSTANCES:
            client = _probe_client(self.cfg.ports.redis(inst))
            try:
                await client.execute_command("CLIENT", "UNPAUSE")  # type: ignore[no-untyped-call]
                healed.append(inst)
            except (aioredis.RedisError, OSError):
                pass
            finally:
                await client.aclose()
        self.emit("redis_partition_healed", instances=healed)
        return {"healed": healed}

    async def status(self) -> dict[str, Any]:
        primary, roles = await asyncio.gather(
            self.sentinel_primary(), asyncio.gather(*(self.role(i) for i in REDIS_INSTANCES)))
        instances = {i: {"port": self.cfg.ports.redis(i), "up": up, "role": role}
                     for i, (up, role) in zip(REDIS_INSTANCES, roles, strict=True)}
        sentinels = {s: {"port": self.cfg.ports.sentinel(s),
                         "up": bool(self.sup.items.get(s) and self.sup.items[s].running)}
                     for s in SENTINELS}
        return {"primary": primary, "master_name": REDIS_MASTER_NAME, "instances": instances,
                "sentinels": sentinels}
