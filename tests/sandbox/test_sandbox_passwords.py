"""Every Postgres and PgBouncer role of the sandbox authenticates with a password (issue 13,
item 6): without one, or with a wrong one, a TCP connection is refused; with the one in the
state directory (0600) it is accepted. ``pg_hba.conf`` trusts nobody. On the real sandbox."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gameday.sandbox import config, procs
from gameday.sandbox.config import DB_INSTANCES
from gameday.sandbox.layout import DB_NAME, DB_USER, Layout
from tests.conftest import Sandbox

pytestmark = pytest.mark.sandbox


def _secrets(sb: Sandbox) -> dict[str, str]:
    data: dict[str, str] = json.loads(Layout(sb.state_dir).secrets_file.read_text())
    return data


def _psql(port: int, user: str, db: str, password: str | None,
          sql: str = "select current_user") -> subprocess.CompletedProcess[str]:
    """psql over TCP as ``user``: no ~/.pgpass, no PGPASSFILE, the password only if given; never prompts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSFILE"] = "/nonexistent/pgpass"
    if password is not None:
        env["PGPASSWORD"] = password
    return subprocess.run([procs.which("psql", "postgresql-15"), "-w", "-h", "127.0.0.1", "-p", str(port),
                           "-U", user, "-d", db, "-XAtqc", sql],
                          capture_output=True, text=True, timeout=20, env=env, check=False)


def _primary_port(sb: Sandbox) -> int:
    st = sb.status()
    return int(st["db"]["instances"][st["db"]["primary"]]["port"])


def test_pg_hba_trusts_nobody_and_the_secrets_are_private(sandbox: Sandbox) -> None:
    layout = Layout(sandbox.state_dir)
    for instance in DB_INSTANCES:
        hba = layout.pg_data(instance) / "pg_hba.conf"
        rules = [ln.split() for ln in hba.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
        assert rules and all(r[-1] == "scram-sha-256" for r in rules), rules
    assert stat.S_IMODE(os.stat(layout.secrets_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(layout.pgpass).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(sandbox.state_dir).st_mode) in (0o700, 0o710)
    assert stat.S_IMODE(os.stat(layout.pgbouncer / "userlist.txt").st_mode) == 0o600


def test_postgres_superuser_over_tcp_needs_its_password(sandbox: Sandbox) -> None:
    port, pw = _primary_port(sandbox), _secrets(sandbox)["postgres_password"]
    for password in (None, "wrong-password-123"):
        r = _psql(port, "postgres", "postgres", password)
        assert r.returncode != 0, r.stdout
        assert "password" in r.stderr, r.stderr  # "no password supplied" / "password authentication failed"
    ok = _psql(port, "postgres", "postgres", pw)
    assert ok.returncode == 0 and ok.stdout.strip() == "postgres", ok.stderr


def test_the_app_role_direct_and_through_pgbouncer(sandbox: Sandbox) -> None:
    s = _secrets(sandbox)
    bouncer = config.load(sandbox.state_dir).ports.pgbouncer
    for port in (_primary_port(sandbox), bouncer):
        assert _psql(port, DB_USER, DB_NAME, None).returncode != 0
        assert _psql(port, DB_USER, DB_NAME, "wrong-password-123").returncode != 0
        ok = _psql(port, DB_USER, DB_NAME, s["db_password"])
        assert ok.returncode == 0 and ok.stdout.strip() == DB_USER, (port, ok.stderr)
    # PgBouncer's admin console too
    assert _psql(bouncer, "pgbouncer_admin", "pgbouncer", None, "SHOW VERSION").returncode != 0
    admin = _psql(bouncer, "pgbouncer_admin", "pgbouncer", s["pgbouncer_admin_password"], "SHOW VERSION")
    assert admin.returncode == 0, admin.stderr


def test_asyncpg_as_the_stand_in_connects(sandbox: Sandbox) -> None:
    import asyncpg

    port, pw = _primary_port(sandbox), _secrets(sandbox)["postgres_password"]

    async def attempt(password: str | None) -> Any:
        conn = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres", database="postgres",
                                     password=password, timeout=10, passfile=Path("/nonexistent/pgpass"))
        try:
            return await conn.fetchval("select current_user")
        finally:
            await conn.close()

    for bad in (None, "wrong-password-123"):
        with pytest.raises((asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError,
                            asyncpg.ClientCannotConnectError)):
            asyncio.run(attempt(bad))
    assert asyncio.run(attempt(pw)) == "postgres"
