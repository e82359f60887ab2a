"""Where everything of one sandbox lives under its state directory.

Every path a component uses is derived here from the state directory, so that ``down`` can
find every pidfile and log after a crash, and two sandboxes never share a file.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DB_NAME = "hypercode"
DB_USER = "hypercode"
PGBOUNCER_ADMIN = "pgbouncer_admin"
REDIS_MASTER_NAME = "hypercode"


@dataclass(frozen=True)
class Layout:
    """Paths under one state directory."""

    root: Path

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def pidfile(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pg_data(self, instance: str) -> Path:
        return self.root / "pg" / instance

    @property
    def pgbouncer(self) -> Path:
        return self.root / "pgbouncer"

    def redis(self, instance: str) -> Path:
        return self.root / "redis" / instance

    def sentinel(self, name: str) -> Path:
        return self.root / "sentinel" / name

    @property
    def nginx(self) -> Path:
        return self.root / "nginx"

    @property
    def prometheus(self) -> Path:
        return self.root / "prometheus"

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.json"

    @property
    def pgpass(self) -> Path:
        """The Postgres superuser's password for libpq (``PGPASSFILE``): 0600, owned by the user
        Postgres runs as, next to the data directories (which ``up`` recreates)."""
        return self.root / "pg" / "pgpass"

    @property
    def status_file(self) -> Path:
        """The controller's last published status, for readers when it is gone."""
        return self.root / "status.json"

    def ensure(self) -> None:
        for d in (self.root, self.run, self.logs):
            d.mkdir(parents=True, exist_ok=True)


def write_json_atomic(path: Path, data: Any, mode: int = 0o644) -> None:
    """Temp file + rename: a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)  # never written through a symlink left in its place
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(data, indent=2, default=str))
    os.chmod(tmp, mode)
    os.replace(tmp, path)


SECRET_KEYS = ("db_password", "pgbouncer_admin_password", "postgres_password")


def load_or_create_secrets(layout: Layout) -> dict[str, str]:
    """Every role's password (the app's, PgBouncer's admin, the Postgres superuser's, which also
    replicates), made once per state directory, 0600 in it, and kept out of every config dump and
    run directory. A file from before a role had one gets the missing password added."""
    path = layout.secrets_file
    data: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = [k for k in SECRET_KEYS if not data.get(k)]
    if missing:
        data.update({k: secrets.token_urlsafe(18) for k in missing})
        write_json_atomic(path, data, mode=0o600)
    return data


def db_dsn(password: str, port: int) -> str:
    """The one DB endpoint the API uses: PgBouncer."""
    return f"postgresql://{DB_USER}:{password}@127.0.0.1:{port}/{DB_NAME}"
