"""The DB operator: what RDS Multi-AZ does when its primary dies.

It watches the primary; once the primary has been unreachable for the detection delay it
promotes the standby, repoints PgBouncer (the endpoint flip) and rebuilds the old primary as
the new standby. In sync mode a commit waits for the standby's flush, so an acknowledged
write survives the failover; while no standby streams, sync is relaxed so the primary keeps
taking writes (as Patroni's non-strict synchronous mode does).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

from .. import postgres, procs, services
from ..config import DB_INSTANCES, SandboxConfig
from ..layout import Layout
from .supervisor import Supervisor

log = logging.getLogger("sandbox.dbha")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class DbOperator:
    def __init__(self, cfg: SandboxConfig, layout: Layout, sup: Supervisor, secrets: dict[str, str],
                 emit: Callable[..., None]) -> None:
        self.cfg = cfg
        self.layout = layout
        self.sup = sup
        self.secrets = secrets
        self.emit = emit
        self.run_as = procs.RunAs.service()
        self.primary: str = DB_INSTANCES[0]
        self.standby: str | None = DB_INSTANCES[1]
        self.standby_streaming = False
        self.phase = "healthy"
        self.down_since: float | None = None
        self.stalled: list[int] = []
        self._resume_task: asyncio.Task[None] | None = None
        self.failovers = 0

    def port(self, instance: str) -> int:
        return self.cfg.ports.db(instance)

    @property
    def primary_up(self) -> bool:
        """False from the moment the watch sees the primary gone until the failover completes: what
        the P1 HyperCodeDatabaseDown pages on (``sandbox_db_primary_up``)."""
        return self.down_since is None and self.phase != "failing_over"

    # ---- bring-up (blocking, run in a thread) -------------------------------------------
    def provision(self) -> None:
        p, s = self.primary, self.standby
        assert s is not None
        postgres.write_passfile(self.layout, self.secrets["postgres_password"], self.run_as)
        postgres.init_primary(self.layout, p, self.port(p), self.run_as)
        self.sup.adopt(p, postgres.start(self.layout, p, self.port(p), self.run_as))
        postgres.create_app_db(self.port(p), self.secrets["db_password"], self.run_as)
        postgres.init_standby(self.layout, s, self.port(s), self.port(p), self.run_as)
        self.sup.adopt(s, postgres.start(self.layout, s, self.port(s), self.run_as))
        self._wait_streaming(s, 30)
        if self.cfg.knobs.replication == "sync":
            postgres.set_sync_standby(self.port(p), s, self.run_as)
        services.write_pgbouncer(self.layout, self.cfg, self.port(p), self.secrets, self.run_as)

    def _wait_streaming(self, standby: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if postgres.standby_streaming(self.port(self.primary), standby, self.run_as):
                    self.standby_streaming = True
                    return
            except procs.SandboxError:
                pass
            time.sleep(0.1)
        raise procs.SandboxError(f"standby {standby} is not streaming after {timeout:.0f} s")

    # ---- the watch loop -----------------------------------------------------------------
    async def watch(self) -> None:
        tick = 0
        while True:
            await asyncio.sleep(0.25)
            tick += 1
            if self.phase == "failing_over":
                continue
            m = self.sup.items.get(self.primary)
            up = m is not None and m.running and _accepts(self.port(self.primary))
            if up:
                self.down_since = None
            else:
                now = time.monotonic()
                if self.down_since is None:
                    self.down_since = now
                    self.phase = "primary_down"
                    self.emit("db_primary_down", instance=self.primary)
                elif now - self.down_since >= self.cfg.timings.db_failover_detection_s:
                    await self._failover()
                continue
            if tick % 4 == 0 and self.standby is not None and self.phase == "healthy":
                await self._check_standby()

    async def _check_standby(self) -> None:
        s = self.standby
        assert s is not None
        try:
            streaming = await asyncio.to_thread(postgres.standby_streaming,
                                                self.port(self.primary), s, self.run_as)
        except procs.SandboxError:
            return
        if streaming != self.standby_streaming:
            self.standby_streaming = streaming
            self.emit("db_standby_streaming" if streaming else "db_standby_not_streaming",
                      instance=s)
        m = self.sup.items.get(s)
        if m is not None and not m.running:
            self.emit("db_standby_restart", instance=s)
            try:
                proc = await asyncio.to_thread(postgres.start, self.layout, s, self.port(s),
                                               self.run_as)
                self.sup.adopt(s, proc)
            except procs.SandboxError as exc:
                log.error("standby restart failed: %s", exc)

    async def _failover(self) -> None:
        old, new = self.primary, self.standby
        if new is None:
            return
        self.phase = "failing_over"
        t0 = time.monotonic()
        down_s = t0 - (self.down_since or t0)
        self.emit("db_failover_started", old_primary=old, new_primary=new)
        try:
            await asyncio.to_thread(postgres.kill_instance, self.layout, old)  # no half-dead primary
            self.sup.forget(old)
            self.stalled = []
            await asyncio.to_thread(postgres.promote, self.port(new), self.run_as)
            await asyncio.to_thread(postgres.set_sync_standby, self.port(new), None, self.run_as)
            await asyncio.to_thread(services.write_pgbouncer, self.layout, self.cfg,
                                    self.port(new), self.secrets, self.run_as)
            pgb = self.sup.items.get("pgbouncer")
            if pgb is not None and pgb.pid is not None:
                os.kill(pgb.pid, signal.SIGHUP)
            self.primary, self.standby, self.standby_streaming = new, None, False
            self.failovers += 1
            self.down_since = None
            self.emit("db_failover_complete", old_primary=old, new_primary=new,
                      detection_s=round(down_s, 3), promote_s=round(time.monotonic() - t0, 3))
        except Exception as exc:
            self.phase = "primary_down"
            self.emit("db_failover_failed", error=str(exc))
            return
        self.phase = "rebuilding"
        await self._rebuild(old)

    async def _rebuild(self, instance: str) -> None:
        try:
            await asyncio.to_thread(postgres.init_standby, self.layout, instance,
                                    self.port(instance), self.port(self.primary), self.run_as)
            proc = await asyncio.to_thread(postgres.start, self.layout, instance,
                                           self.port(instance), self.run_as)
            self.sup.adopt(instance, proc)
            self.standby = instance
            await asyncio.to_thread(self._wait_streaming, instance, 60)
            if self.cfg.knobs.replication == "sync":
                await asyncio.to_thread(postgres.set_sync_standby, self.port(self.primary),
                                        instance, self.run_as)
            self.emit("db_standby_rebuilt", instance=instance, primary=self.primary)
        except Exception as exc:
            self.emit("db_standby_rebuild_failed", instance=instance, error=str(exc))
        finally:
            self.phase = "healthy"

    # ---- faults ---------------------------------------------------------------------------
    def fail_primary(self) -> dict[str, Any]:
        if self.phase != "healthy" or self.standby is None:
            raise procs.SandboxError(f"DB is not in a state to fail over (phase {self.phase}, "
                                     f"standby {self.standby})")
        victim = self.primary
        pid = postgres.kill_instance(self.layout, victim)
        if pid is None:
            raise procs.SandboxError(f"DB primary {victim} has no live process to kill")
        self.emit("db_primary_killed", instance=victim, pid=pid)
        return {"killed": victim, "pid": pid, "standby": self.standby}

    async def stall(self, seconds: float) -> dict[str, Any]:
        pids = await asyncio.to_thread(postgres.walsender_pids, self.port(self.primary),
                                       self.run_as)
        stopped = []
        for pid in pids:
            if procs.owned(pid, "postgres"):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
        # a second stall keeps the first one's pids: the rollback must continue every one
        self.stalled = sorted(set(self.stalled) | set(stopped))
        self.emit("db_replication_stalled", pids=pids, seconds=seconds)
        if self._resume_task is not None:
            self._resume_task.cancel()
        self._resume_task = asyncio.create_task(self._resume_after(seconds))
        return {"stalled_walsenders": pids, "seconds": seconds}

    async def _resume_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.resume()

    def resume(self) -> dict[str, Any]:
        """SIGCONT every WAL sender the stall stopped (the fault's rollback, and shutdown's).

        Idempotent; a pid that is no longer a Postgres process (killed with its primary in a
        failover, see ``postgres.kill_instance``) is skipped, never signalled.
        """
        resumed = []
        for pid in self.stalled:
            if not procs.owned(pid, "postgres"):
                continue
            try:
                os.kill(pid, signal.SIGCONT)
                resumed.append(pid)
            except ProcessLookupError:
                pass
        if self.stalled:
            self.emit("db_replication_resumed", pids=resumed)
        self.stalled = []
        return {"resumed": resumed}

    def status(self) -> dict[str, Any]:
        instances = {}
        for inst in DB_INSTANCES:
            m = self.sup.items.get(inst)
            role = "primary" if inst == self.primary else ("standby" if inst == self.standby
                                                           else "failed")
            instances[inst] = {"port": self.port(inst), "role": role,
                               "up": bool(m and m.running and _accepts(self.port(inst)))}
        return {"primary": self.primary, "standby": self.standby, "phase": self.phase,
                "replication": self.cfg.knobs.replication,
                "standby_streaming": self.standby_streaming, "stalled": bool(self.stalled),
                "failovers": self.failovers, "instances": instances,
                "endpoint": f"127.0.0.1:{self.cfg.ports.pgbouncer}"}
