"""A run directory loaded once, validated, for the judge: profile, timeline, windows, requests,
acks, read-back, and every damage found on the way.

Reads only the run directory. Missing parts load as empty: each check then says what it
lacked (INCONCLUSIVE), never PASS. Damaged parts (a line that is not an event, a latency that is
not a number, a read-back that is not an object, a threshold that is not a number) are never
repaired: the valid rest is kept and each damage is recorded with its file and line
(``gameday.analysis.damage``); the judge makes the checks that need that evidence INCONCLUSIVE.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from gameday.analysis.damage import Damage, DamagedEvidence, Evidence
from gameday.analysis.errors import NotARun as NotARun  # re-exported; defined apart so the CLI catches it lightly
from gameday.analysis.recorded import read_acks_checked, read_requests_checked
from gameday.analysis.windows import Window, read_timeline_checked, windows
from gameday.contract import rundir
from gameday.contract.checks import default


@dataclass(frozen=True)
class Readback:
    """What the target said, at the end, of every acknowledged mission."""

    found: dict[str, str]
    missing: list[str]
    read_at: float | None
    error: str | None = None  # the target could not be asked: nothing is known of the acks
    settle_bound_s: float | None = None  # in-flight missions were awaited this long (None: an older run directory)
    settle_error: str | None = None  # asking again failed: the statuses of the first read stand
    times: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)  # created_at, completed_at
    times_of: int = 0  # settled missions; ``times`` covers all of them or an evenly spaced sample
    times_error: str | None = None


@dataclass(frozen=True)
class Run:
    path: Path
    profile: dict[str, Any]
    events: list[dict[str, Any]]
    windows: list[Window]
    requests: pd.DataFrame
    acks: pd.DataFrame
    readback: Readback | None
    damage: tuple[Damage, ...] = ()
    profile_text: str = ""

    @property
    def checks(self) -> dict[str, Any]:
        c = self.profile.get("checks") or {}
        return c if isinstance(c, dict) else {}

    def damaged(self, *evidence: Evidence) -> list[Damage]:
        return [d for d in self.damage if d.evidence in evidence]

    def threshold(self, key: str) -> float:
        """The profile's ``checks.<key>``, else the contract's default (``gameday.contract.checks``: the
        same the profile's model applies); a value that is not a finite number is damaged evidence
        (never silently the default)."""
        v = self.checks.get(key, default(key))
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise DamagedEvidence(Damage(Evidence.PROFILE, rundir.PROFILE, _line_of(self.profile_text, key),
                                         f"checks.{key} is {v!r}, expected a number"))
        return float(v)

    def line(self, key: str) -> float | None:
        """:meth:`threshold` for a chart's reference line: None where the value is damaged (the
        judge reports the damage; a chart just draws no line)."""
        try:
            return self.threshold(key)
        except DamagedEvidence:
            return None


def _line_of(text: str, key: str) -> int | None:
    m = re.search(rf"^\s*{re.escape(key)}\s*:", text, re.MULTILINE)
    return None if m is None else text.count("\n", 0, m.start()) + 1


def _readback(path: Path) -> tuple[Readback | None, list[Damage]]:
    f = path / rundir.READBACK
    try:
        raw = f.read_bytes()
    except FileNotFoundError:
        return None, []
    except OSError as exc:
        return None, [_rb_damage(f"unreadable ({type(exc).__name__}: {exc})")]
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        if not raw.strip():
            return None, []  # a writer killed before its first byte: as absent
        return None, [_rb_damage(f"not JSON ({type(exc).__name__}: {exc})")]
    why = _readback_invalid(data)
    if why is not None:
        return None, [_rb_damage(why)]
    settle = data.get("settle") or {}
    times = {str(m): (_num(v[0]), _num(v[1])) for m, v in (data.get("times") or {}).items()
             if isinstance(v, list) and len(v) == 2}
    # the parsed dict itself (JSON keys are strings, its values were checked to be): a copy of two
    # million acknowledged missions (an hour's soak) costs some 100 MB beside the original
    return Readback(found=data.get("found") or {},
                    missing=[str(m) for m in data.get("missing", [])], read_at=_num(data.get("read_at")),
                    error=_str(data.get("error")), settle_bound_s=_num(settle.get("bound_s")),
                    settle_error=_str(settle.get("error")), times=times, times_of=int(_num(data.get("times_of")) or 0),
                    times_error=_str(data.get("times_error"))), []


def _rb_damage(what: str) -> Damage:
    return Damage(Evidence.READBACK, rundir.READBACK, None, what)


def _readback_invalid(data: Any) -> str | None:
    """Why a parsed readback.json is not one, or None."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__} where an object was expected"
    shapes: dict[str, tuple[type, ...]] = {"found": (dict,), "missing": (list,), "times": (dict,), "settle": (dict,),
                                           "read_at": (int, float), "times_of": (int, float),
                                           "error": (str,), "times_error": (str,)}
    for key, types in shapes.items():
        v = data.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, types)):
            return f"'{key}' is a JSON {type(v).__name__}, expected {' or '.join(t.__name__ for t in types)}"
    bad = [k for k, v in (data.get("found") or {}).items() if not isinstance(v, str)]
    if bad:
        return f"'found' maps {bad[0]!r} to {data['found'][bad[0]]!r}, expected a status string"
    return None


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) else None


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


def _profile(path: Path) -> tuple[dict[str, Any], str, list[Damage]]:
    f = path / rundir.PROFILE
    try:
        text = f.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return {}, "", []
    except (OSError, UnicodeDecodeError) as exc:
        return {}, "", [Damage(Evidence.PROFILE, rundir.PROFILE, None, f"unreadable ({type(exc).__name__})")]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        return {}, text, [Damage(Evidence.PROFILE, rundir.PROFILE, line, f"not YAML ({getattr(exc, 'problem', exc)})")]
    if data is None:
        return {}, text, []
    if not isinstance(data, dict):
        return {}, text, [Damage(Evidence.PROFILE, rundir.PROFILE, None,
                                 f"a YAML {type(data).__name__} where a mapping was expected")]
    checks = data.get("checks")
    if checks is not None and not isinstance(checks, dict):
        return data, text, [Damage(Evidence.PROFILE, rundir.PROFILE, _line_of(text, "checks"),
                                   f"checks is a {type(checks).__name__}, expected a mapping")]
    return data, text, []


def required_damage(run: Run) -> Damage | None:
    """``checks.required``, if given, must be a list of check ids: anything else (``null``
    included) is damage, never the default list."""
    if "required" not in run.checks:
        return None
    req = run.checks["required"]
    if isinstance(req, list) and all(isinstance(c, str) for c in req):
        return None
    return Damage(Evidence.PROFILE, rundir.PROFILE, _line_of(run.profile_text, "required"),
                  f"checks.required is {req!r}, expected a list of check ids")


def require_run(path: Path) -> None:
    """Raise :class:`NotARun` unless ``path`` is a run directory (a directory with a timeline file)."""
    if not path.is_dir():
        raise NotARun(f"{path}: not a directory")
    if not (path / rundir.TIMELINE).is_file():
        raise NotARun(f"{path}: not a run directory (no {rundir.TIMELINE})")


def load_run(path: Path) -> Run:
    """Read and validate every file of the run directory once; any damage is recorded, never
    raised (a missing file loads as empty). The CLI calls :func:`require_run` first."""
    tl = path / rundir.TIMELINE
    profile, profile_text, damage = _profile(path)
    events, tl_damage = read_timeline_checked(tl)
    requests, req_damage = read_requests_checked(path)
    acks, ack_damage = read_acks_checked(path)
    readback, rb_damage = _readback(path)
    last_request = float((requests["t_start"] + requests["latency_ms"] / 1000).max()) if len(requests) else 0.0
    return Run(path=path, profile=profile, events=events, windows=windows(events, last_request), requests=requests,
               acks=acks, readback=readback, damage=tuple(damage + tl_damage + req_damage + ack_damage + rb_damage),
               profile_text=profile_text)
