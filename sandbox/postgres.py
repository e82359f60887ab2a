"""Postgres 15 primary + streaming standby: the RDS Multi-AZ stand-in.

Blocking functions (the controller runs them in threads). Each instance is a plain
``postgres -D <data>`` process run as the postgres user in its own session, so killing its
process group is a whole-instance crash, as when an AZ goes away.

Every role authenticates with a password (scram-sha-256), over TCP and on the socket alike: no
``trust`` (with it, any local user could connect as the superuser and run ``COPY ... TO
PROGRAM`` as the sandbox's user). The superuser's password, which also streams the standby's
WAL, is in ``<state>/pg/pgpass`` (0600, the postgres user's); libpq finds it through
``PGPASSFILE``, which ``sandbox up`` sets for the controller and so for every ``psql``,
``pg_basebackup`` and wal receiver it starts (:func:`psql` takes ``passfile`` for a caller
outside the controller).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from . import procs
from .layout import DB_NAME, DB_USER, Layout

SCHEMA = Path(__file__).parent / "app" / "schema.sql"

BASE_CONF = """
# --- gameday sandbox ---
listen_addresses = '127.0.0.1'
wal_level = replica
max_wal_senders = 8
max_replication_slots = 8
hot_standby = on
wal_keep_size = '256MB'
synchronous_commit = on
max_connections = 100
shared_buffers = '64MB'
fsync = on
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] '
include_if_exists = 'sandbox.conf'
"""

HBA = """
local all all scram-sha-256
host replication postgres 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
"""


def _bin(name: str) -> str:
    return procs.which(name, "postgresql-15")


def _run(argv: list[str], run_as: procs.RunAs, what: str, timeout: float = 60,
         passfile: Path | None = None) -> str:
    kwargs: dict[str, object] = {}
    if run_as.user is not None:
        kwargs.update(user=run_as.uid, group=run_as.gid, extra_groups=[])
    if passfile is not None:
        kwargs["env"] = {**os.environ, "PGPASSFILE": str(passfile)}
    try:
        out = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd="/",
            **kwargs,  # type: ignore[call-overload]
        )
    except subprocess.TimeoutExpired:
        raise procs.SandboxError(f"{what}: timed out after {timeout:.0f} s") from None
    if out.returncode != 0:
        raise procs.SandboxError(f"{what} failed: {(out.stderr or out.stdout).strip()[-600:]}")
    return str(out.stdout)


def psql(port: int, sql: str, run_as: procs.RunAs, db: str = "postgres", timeout: float = 10,
         passfile: Path | None = None) -> str:
    """Run SQL as the postgres superuser over TCP, with its password from ``passfile`` (default
    ``$PGPASSFILE``); returns unaligned, tuples-only output. ``-w``: never prompt."""
    argv = [_bin("psql"), "-w", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db,
            "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql]
    return _run(argv, run_as, f"psql on port {port}", timeout, passfile).strip()


def write_passfile(layout: Layout, password: str, run_as: procs.RunAs) -> Path:
    """``<state>/pg/pgpass`` for the superuser, 0600 and the postgres user's (libpq ignores a
    pgpass others can read). Written without following a symlink left in its place."""
    path = layout.pgpass
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"*:*:*:postgres:{password}\n")
    run_as.chown(path.parent)
    return path


def write_instance_conf(data: Path, port: int, run_as: procs.RunAs) -> None:
    """The per-instance settings that must not travel with a base backup."""
    conf = data / "sandbox.conf"
    conf.write_text(f"port = {port}\nunix_socket_directories = '{data}'\n")
    run_as.chown(conf)


def init_primary(layout: Layout, instance: str, port: int, run_as: procs.RunAs) -> Path:
    data = layout.pg_data(instance)
    if data.exists():
        shutil.rmtree(data)
    data.parent.mkdir(parents=True, exist_ok=True)
    run_as.chown(data.parent)
    # the superuser's password from the pgpass (its 4th field on): initdb reads the first line of --pwfile
    pwfile = data.parent / f".{instance}.pw"
    pwfile.unlink(missing_ok=True)
    fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(layout.pgpass.read_text().strip().split(":", 4)[4] + "\n")
    run_as.chown(pwfile)
    try:
        _run([_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256", f"--pwfile={pwfile}",
              "-E", "UTF8", "--no-sync", "--no-instructions"], run_as, f"initdb {instance}")
    finally:
        pwfile.unlink(missing_ok=True)
    with open(data / "postgresql.conf", "a") as f:
        f.write(BASE_CONF)
    (data / "pg_hba.conf").write_text(HBA)
    write_instance_conf(data, port, run_as)
    run_as.chown(data)
    return data


def start(layout: Layout, instance: str, port: int, run_as: procs.RunAs) -> subprocess.Popen[bytes]:
    data = layout.pg_data(instance)
    proc = procs.spawn(layout, instance, [_bin("postgres"), "-D", str(data)], run_as=run_as)
    if not procs.wait_port(port, 30, proc):
        raise procs.SandboxError(f"postgres {instance} did not start on port {port}: see {layout.log(instance)}")
    # the port answers before recovery is finished; wait until it takes queries
    for _ in range(200):
        try:
            psql(port, "select 1", run_as, timeout=3)
            return proc
        except procs.SandboxError:
            if proc.poll() is not None:
                break
            import time

            time.sleep(0.05)
    raise procs.SandboxError(f"postgres {instance} does not accept queries: see {layout.log(instance)}")


def create_app_db(port: int, password: str, run_as: procs.RunAs) -> None:
    quoted = password.replace("'", "''")
    psql(port, f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{quoted}'", run_as)
    psql(port, f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}", run_as)
    # as the app's role, so it owns its tables; the SQL travels inline because the checkout
    # may not be readable by the postgres user
    psql(port, f"SET ROLE {DB_USER};\n" + SCHEMA.read_text(), run_as, db=DB_NAME)


def init_standby(
    layout: Layout, instance: str, port: int, primary_port: int, run_as: procs.RunAs
) -> Path:
    """A fresh standby from a base backup of the primary (also how a failed primary rejoins)."""
    data = layout.pg_data(instance)
    if data.exists():
        shutil.rmtree(data)
    data.parent.mkdir(parents=True, exist_ok=True)
    conninfo = f"host=127.0.0.1 port={primary_port} user=postgres application_name={instance}"
    _run([_bin("pg_basebackup"), "-d", conninfo, "-D", str(data), "-R", "-X", "stream",
          "-c", "fast", "--no-sync"], run_as, f"pg_basebackup for {instance}", timeout=120)
    write_instance_conf(data, port, run_as)
    run_as.chown(data)
    return data


def set_sync_standby(port: int, standby: str | None, run_as: procs.RunAs) -> None:
    """Require (or stop requiring) the standby's flush before a commit returns."""
    names = f'"{standby}"' if standby else ""
    psql(port, f"ALTER SYSTEM SET synchronous_standby_names = '{names}'", run_as)
    psql(port, "SELECT pg_reload_conf()", run_as)


def promote(port: int, run_as: procs.RunAs) -> None:
    psql(port, "SELECT pg_promote(true, 30)", run_as, timeout=40)


def is_in_recovery(port: int, run_as: procs.RunAs) -> bool:
    return psql(port, "SELECT pg_is_in_recovery()", run_as, timeout=3) == "t"


def standby_streaming(primary_port: int, standby: str, run_as: procs.RunAs) -> bool:
    out = psql(primary_port,
               f"SELECT state FROM pg_stat_replication WHERE application_name = '{standby}'",
               run_as, timeout=3)
    return out.strip() == "streaming"


def walsender_pids(primary_port: int, run_as: procs.RunAs) -> list[int]:
    out = psql(primary_port, "SELECT pid FROM pg_stat_replication", run_as, timeout=3)
    return [int(x) for x in out.split() if x.strip().isdigit()]


def kill_instance(layout: Layout, instance: str) -> int | None:
    """kill -9 the whole instance (postmaster and every backend), as a host crash would.

    Backends are not in the postmaster's process group (each calls ``setsid()``), so they are
    killed by tree: a WAL sender stopped by a replication stall would otherwise never notice
    its postmaster's death and stay behind, stopped, for good.
    """
    pid = procs.read_pid(layout, instance)
    if pid is None or not procs.owned(pid, str(layout.root)):
        return None
    procs.kill_tree(pid)
    return pid
