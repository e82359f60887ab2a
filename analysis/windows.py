"""The windows of a run, from its timeline: warm-up, baseline, each fault, cool-down.

The orchestrator writes ``phase_started`` / ``phase_ended`` events with ``phase`` (``warmup``,
``baseline``, ``fault:<id>``, ``cooldown``); a phase that never ended (a killed run) ends at
the last evidence of the run (event or request), and is marked open.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gameday.analysis.damage import Damage, Evidence, utf8_lines
from gameday.contract.events import Event

T_MAX = 253402300799.0  # 9999-12-31T23:59:59Z: the last second a datetime can show


@dataclass(frozen=True)
class Window:
    name: str
    start: float
    end: float
    open: bool = False  # never ended: the run stopped inside it

    @property
    def is_fault(self) -> bool:
        return self.name.startswith("fault:")

    @property
    def fault(self) -> str | None:
        return self.name.split(":", 1)[1] if self.is_fault else None

    def label(self) -> str:
        return f"{self.name} [{self.end - self.start:.0f} s]"


def read_timeline(run_dir: Path) -> list[dict[str, Any]]:
    return read_timeline_file(run_dir / "timeline.jsonl")


def read_timeline_file(path: Path) -> list[dict[str, Any]]:
    """Every valid event of a timeline file (see :func:`read_timeline_checked`; damage is left out)."""
    return read_timeline_checked(path)[0]


def read_timeline_checked(path: Path) -> tuple[list[dict[str, Any]], list[Damage]]:
    """Every valid event of a timeline file, and every line that is not one (file and line).

    A valid event is a JSON object with a finite ``t`` (unix seconds, 0..year 9999), a string
    ``event`` and, if present, a string ``phase``. A torn last line (a killed writer) is skipped
    silently: the format allows it. Anything else is damage, reported and left out."""
    out: list[dict[str, Any]] = []
    damage: list[Damage] = []
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return out, damage
    except OSError as exc:
        return out, [Damage(Evidence.TIMELINE, path.name, None, f"unreadable ({type(exc).__name__}: {exc})")]
    lines, complete = utf8_lines(raw)
    for n, line in enumerate(lines, 1):
        torn = n == len(lines) and not complete
        if line is None:
            if not torn:
                damage.append(Damage(Evidence.TIMELINE, path.name, n, "not UTF-8"))
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            if not torn:
                damage.append(Damage(Evidence.TIMELINE, path.name, n, "not JSON"))
            continue
        why = invalid_event(obj)
        if why is None:
            out.append(obj)
        else:
            damage.append(Damage(Evidence.TIMELINE, path.name, n, why))
    return out, damage


def invalid_event(obj: Any) -> str | None:
    """Why ``obj`` is not a timeline event, or None."""
    if not isinstance(obj, dict):
        return f"a JSON {type(obj).__name__} where an event object was expected"
    t = obj.get("t")
    if "t" not in obj:
        return "event without 't'"
    if isinstance(t, bool) or not isinstance(t, int | float):
        return f"'t' is {t!r}, expected unix seconds (a number)"
    if not math.isfinite(t) or not 0 <= t <= T_MAX:
        return f"'t' is {t!r}, outside 0..{T_MAX:.0f} (unix seconds up to the year 9999)"
    if not isinstance(obj.get("event"), str):
        return f"'event' is {obj.get('event')!r}, expected a string"
    if obj.get("phase") is not None and not isinstance(obj["phase"], str):
        return f"'phase' is {obj['phase']!r}, expected a string"
    return None


def windows(events: list[dict[str, Any]], last_seen: float = 0.0) -> list[Window]:
    """``last_seen``: the latest time any evidence speaks of (a killed run's open phase ends there)."""
    starts: dict[str, float] = {}
    out: list[Window] = []
    last = max([float(e["t"]) for e in events] + [last_seen])
    for e in events:
        phase = e.get("phase")
        if not phase:
            continue
        if e.get("event") == Event.PHASE_STARTED:
            starts[phase] = float(e["t"])
        elif e.get("event") == Event.PHASE_ENDED and phase in starts:
            out.append(Window(phase, starts.pop(phase), float(e["t"])))
    out += [Window(p, t, last, open=True) for p, t in starts.items()]
    return sorted(out, key=lambda w: w.start)


def first_event(events: list[dict[str, Any]], name: Event, **match: Any) -> dict[str, Any] | None:
    for e in events:
        if e.get("event") == name and all(e.get(k) == v for k, v in match.items()):
            return e
    return None
