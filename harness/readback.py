"""Reading back every acknowledged mission at the end of a run (the data-loss evidence).

Bulk through ``POST /v1/missions/lookup`` (1000 ids a call); a target that lacks it (404 or
405) is read with one ``GET /v1/missions/{id}`` per id. The answer goes to ``readback.json``;
ids the target could not be asked about are listed as ``unread``, never counted as found.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

CHUNK = 1000


def _bulk(session: requests.Session, api: str, ids: list[str]) -> tuple[dict[str, str], list[str]] | None:
    found: dict[str, str] = {}
    missing: list[str] = []
    for i in range(0, len(ids), CHUNK):
        r = session.post(f"{api}/v1/missions/lookup", json={"ids": ids[i:i + CHUNK]}, timeout=30)
        if r.status_code in (404, 405) and i == 0:
            return None
        r.raise_for_status()
        body = r.json()
        found.update({str(k): str(v) for k, v in body.get("found", {}).items()})
        missing += [str(m) for m in body.get("missing", [])]
    return found, missing


def _one(session: requests.Session, api: str, mission: str) -> tuple[str, str | None]:
    r = session.get(f"{api}/v1/missions/{mission}", timeout=15)
    if r.status_code == 404:
        return mission, None
    r.raise_for_status()
    return mission, str(r.json().get("status", "unknown"))


def read_back(api: str, ids: Iterable[str], out: Path, attempts: int = 3) -> dict[str, Any]:
    todo = sorted(set(ids))
    api = api.rstrip("/")
    session = requests.Session()
    found: dict[str, str] = {}
    missing: list[str] = []
    method = "lookup"
    error: str | None = None
    for attempt in range(attempts):
        try:
            bulk = _bulk(session, api, todo)
            if bulk is None:
                method = "get"
                with ThreadPoolExecutor(max_workers=16) as pool:
                    for mission, status in pool.map(lambda m: _one(session, api, m), todo):
                        if status is None:
                            missing.append(mission)
                        else:
                            found[mission] = status
            else:
                found, missing = bulk
            error = None
            break
        except (requests.exceptions.RequestException, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
            found, missing = {}, []
            time.sleep(min(5.0, 1.0 + attempt * 2))
    unread = [] if error is None else todo
    data = {"read_at": time.time(), "method": method, "asked": len(todo), "found": found, "missing": missing,
            "unread": unread, "error": error}
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, out)
    return data
