"""Writing Chaos Toolkit journals into the run directory: redacted, atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gameday.contract.atomic import write_atomic
from gameday.harness.redact import Redactor


def write(path: Path, journal: dict[str, Any], redactor: Redactor) -> Path:
    """``journals/<fault>.json``: every secret redacted, datetimes as strings (default=str),
    written to a temporary file and renamed, so a reader never sees half a journal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(redactor(journal), indent=2, default=str)
    return write_atomic(path, text + "\n")
