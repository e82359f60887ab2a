"""A Locust plugin that writes every request's exact latency to a CSV file.

Locust rounds response times to 2 significant digits in its percentiles; this keeps the raw
float. Load it beside any locustfile: ``locust -f your.py,loadtests/record_samples.py`` with
``GAMEDAY_SAMPLES`` naming the output file (one per process: the pid is appended).
"""

from __future__ import annotations

import csv
import os
import time
from typing import Any

from locust import events

_path = os.environ.get("GAMEDAY_SAMPLES")
_file = None
_writer: Any = None


@events.init.add_listener
def _open(environment: Any, **_: Any) -> None:
    global _file, _writer
    if not _path:
        return
    _file = open(f"{_path}.{os.getpid()}.csv", "w", newline="", buffering=1 << 16)
    _writer = csv.writer(_file)
    _writer.writerow(["t_start", "latency_ms", "name", "method", "status", "ok", "mission_id"])


@events.request.add_listener
def _record(request_type: str, name: str, response_time: float, response: Any = None,
            exception: Any = None, **_: Any) -> None:
    if _writer is None:
        return
    status = getattr(response, "status_code", 0) or 0
    mission_id = ""
    if status == 201 and request_type == "POST":
        try:
            mission_id = response.json().get("mission_id", "")
        except ValueError:
            pass
    _writer.writerow([f"{time.time() - response_time / 1000:.6f}", f"{response_time:.3f}", name,
                      request_type, status, int(exception is None), mission_id])


@events.quitting.add_listener
def _close(**_: Any) -> None:
    if _file is not None:
        _file.flush()
        _file.close()
