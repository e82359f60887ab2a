"""Keeps the sandbox's processes running, each by its own restart policy.

Infrastructure that a managed service would bring back by itself (PgBouncer, Sentinel,
nginx, a killed Redis after its replacement delay) is restarted here. Postgres is not: its
fate is the DB operator's decision (a dead primary is failed over, not restarted). Prometheus
is not either, so that a test can stop it and see the verdict go INCONCLUSIVE.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import procs
from ..layout import Layout

log = logging.getLogger("sandbox.supervisor")


@dataclass
class Managed:
    """One supervised process."""

    name: str
    argv: list[str]
    run_as: procs.RunAs | None = None
    restart: bool = True
    restart_delay_s: float = 1.0
    proc: subprocess.Popen[bytes] | None = None
    wanted: bool = True
    exited_at: float | None = None
    restarts: int = 0
    on_restart: Callable[[Managed], None] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Supervisor:
    """Starts, watches and stops the managed processes of one sandbox."""

    def __init__(self, layout: Layout, events: Callable[..., None]) -> None:
        self.layout = layout
        self.items: dict[str, Managed] = {}
        self._emit = events

    def start(self, m: Managed) -> Managed:
        self.items[m.name] = m
        m.wanted = True
        m.proc = procs.spawn(self.layout, m.name, m.argv, run_as=m.run_as, env=m.env)
        m.exited_at = None
        return m

    def adopt(self, name: str, proc: subprocess.Popen[bytes], restart: bool = False) -> Managed:
        """Watch a process started elsewhere (Postgres, started by the DB operator)."""
        m = Managed(name=name, argv=list(map(str, proc.args)) if isinstance(proc.args, list) else [],
                    restart=restart, proc=proc)
        self.items[name] = m
        return m

    def stop(self, name: str, grace: float = 5.0) -> None:
        m = self.items.get(name)
        if m is not None:
            m.wanted = False
        procs.stop_named(self.layout, name, grace=grace)
        if m is not None and m.proc is not None:
            try:
                m.proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass

    def forget(self, name: str) -> None:
        self.items.pop(name, None)

    async def watch(self) -> None:
        """Restart what died unexpectedly, after its delay; record each death as an event."""
        while True:
            now = time.monotonic()
            for m in list(self.items.values()):
                if m.proc is None or m.proc.poll() is None:
                    continue
                if m.exited_at is None:
                    m.exited_at = now
                    if m.wanted:
                        self._emit("process_exited", component=m.name, code=m.proc.returncode)
                if m.wanted and m.restart and now - m.exited_at >= m.restart_delay_s:
                    m.restarts += 1
                    try:
                        self.start(m)
                        self._emit("process_restarted", component=m.name, restarts=m.restarts)
                        if m.on_restart:
                            m.on_restart(m)
                    except Exception as exc:  # keep supervising the others
                        log.error("restart of %s failed: %s", m.name, exc)
                        m.exited_at = now
            await asyncio.sleep(0.2)

    def stop_all(self, order: list[str]) -> None:
        names = [n for n in order if n in self.items] + [n for n in self.items if n not in order]
        for name in names:
            self.stop(name, grace=5.0)
