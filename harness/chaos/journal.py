"""Writing Chaos Toolkit journals into the run directory: redacted, atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.redact import Redactor


def write(path: Path, journal: dict[str, Any], redactor: Redactor) -> Path:
    """``journals/<fault>.json``: every secret redacted, datetimes as strings (default=str),
    written to a temporary file and renamed, so a reader never sees half a journal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(redactor(journal), indent=2, default=str)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
