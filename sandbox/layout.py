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
    def status_file(self) -> Path:
        """The controller's last published status, for readers when it is gone."""
        return self.root / "status.json"

    def ensure(self) -> None:
        for d in (self.root, self.run, self.logs):
            d.mkdir(parents=True, exist_ok=True)


def write_json_atomic(path: Path, data: Any, mode: int = 0o644) -> None:
    """Temp file + rename: a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def load_or_create_secrets(layout: Layout) -> dict[str, str]:
    """The DB password, made once per state directory and kept out of every config dump."""
    path = layout.secrets_file
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text())
        return data
    data = {
        "db_password": secrets.token_urlsafe(18),
        "pgbouncer_admin_password": secrets.token_urlsafe(18),
    }
    write_json_atomic(path, data, mode=0o600)
    return data


def db_dsn(password: str, port: int) -> str:
    """The one DB endpoint the API uses: PgBouncer."""
    return f"postgresql://{DB_USER}:{password}@127.0.0.1:{port}/{DB_NAME}"
