"""Creating a run directory: ``runs/<UTC timestamp>-<profile>/`` with the resolved profile.

The run directory is the contract between collection and judgement (DESIGN.md); the judge
reads nothing else. The profile is written resolved and with every secret redacted.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from gameday.contract.atomic import write_atomic
from gameday.harness.profile import Profile
from gameday.harness.redact import Redactor


def new_run_dir(profile: Profile, out: Path | None, kind: str = "") -> Path:
    """``out`` if given (must be empty or new), else ``runs/<UTC>-<profile>[-kind]``."""
    if out is None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        suffix = f"-{kind}" if kind else ""
        out = Path("runs") / f"{stamp}-{profile.name}{suffix}"
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        from gameday.harness.errors import BadInput

        raise BadInput(f"--out {out}: directory is not empty; choose a new one")
    return out.resolve()


def write_profile(run_dir: Path, profile: Profile, redactor: Redactor) -> Path:
    data = profile.model_dump(mode="json")
    data["secrets"] = {k: "***REDACTED***" for k in profile.secrets}
    return write_atomic(run_dir / "profile.yaml", yaml.safe_dump(redactor(data), sort_keys=False), root=run_dir)
