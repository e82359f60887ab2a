"""Rendered configs carry the checklist's settings (§2.1 PgBouncer, §2.2 Redis)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from gameday.sandbox import procs, services
from gameday.sandbox.config import SandboxConfig
from gameday.sandbox.layout import Layout


def _cfg(tmp: Path) -> tuple[Layout, SandboxConfig]:
    return Layout(tmp), SandboxConfig(state_dir=tmp)


def test_pgbouncer_has_checklist_pooling(tmp_path: Path) -> None:
    layout, cfg = _cfg(tmp_path)
    ini = services.pgbouncer_ini(layout, cfg, db_port=cfg.ports.db("db-b"))
    assert "pool_mode = transaction" in ini
    assert "max_client_conn = 1000" in ini
    assert "default_pool_size = 20" in ini
    assert f"port={cfg.ports.db('db-b')}" in ini  # the endpoint flip is this line
    assert "listen_addr = 127.0.0.1" in ini


def test_redis_is_the_queue_role(tmp_path: Path) -> None:
    layout, cfg = _cfg(tmp_path)
    conf = services.redis_conf(layout, cfg, "redis-b", "redis-a")
    for line in ("appendonly yes", "appendfsync everysec", "maxmemory-policy noeviction",
                 "bind 127.0.0.1", f"replicaof 127.0.0.1 {cfg.ports.redis('redis-a')}"):
        assert line in conf
    assert str(tmp_path) in services.PROC_TITLE.replace("{config-file}", str(tmp_path))


def test_sentinel_quorum_and_timing(tmp_path: Path) -> None:
    layout, cfg = _cfg(tmp_path)
    conf = services.sentinel_conf(layout, cfg, "sentinel-b")
    assert f"sentinel monitor hypercode 127.0.0.1 {cfg.ports.redis('redis-a')} 2" in conf
    assert f"down-after-milliseconds hypercode {cfg.timings.redis_down_after_ms}" in conf


def test_ingress_routes_only_given_ports() -> None:
    assert "down" in services.upstreams([])
    up = services.upstreams([17102, 17100])
    assert up.index("17100") < up.index("17102") and "down" not in up


def test_port_busy_sees_a_listener() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert procs.port_busy(s.getsockname()[1])


def test_spawn_requires_the_state_dir_in_the_command_line(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    layout.ensure()
    try:
        procs.spawn(layout, "x", ["/bin/true"])
    except procs.SandboxError as exc:
        assert "state directory" in str(exc)
    else:
        raise AssertionError("spawn accepted a command line it could not clean up safely")
    assert os.listdir(layout.run) == []


def test_missing_binary_names_the_debian_package() -> None:
    try:
        procs.which("no-such-gameday-binary", "some-debian-package")
    except procs.SandboxError as exc:
        assert "some-debian-package" in str(exc)
    else:
        raise AssertionError("a missing binary was not reported")


