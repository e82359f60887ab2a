"""The windows of a run, from its timeline: warm-up, baseline, each fault, cool-down.

The orchestrator writes ``phase_started`` / ``phase_ended`` events with ``phase`` (``warmup``,
``baseline``, ``fault:<id>``, ``cooldown``); a phase that never ended (a killed run) ends at
the last evidence of the run (event or request), and is marked open.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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
    """Every complete event of a timeline file; a torn last line (a killed writer) is skipped."""
    out: list[dict[str, Any]] = []
    try:
        text = path.read_text()
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a torn last line
    return out


def windows(events: list[dict[str, Any]], last_seen: float = 0.0) -> list[Window]:
    """``last_seen``: the latest time any evidence speaks of (a killed run's open phase ends there)."""
    starts: dict[str, float] = {}
    out: list[Window] = []
    last = max([float(e["t"]) for e in events] + [last_seen])
    for e in events:
        phase = e.get("phase")
        if not phase:
            continue
        if e.get("event") == "phase_started":
            starts[phase] = float(e["t"])
        elif e.get("event") == "phase_ended" and phase in starts:
            out.append(Window(phase, starts.pop(phase), float(e["t"])))
    out += [Window(p, t, last, open=True) for p, t in starts.items()]
    return sorted(out, key=lambda w: w.start)


def first_event(events: list[dict[str, Any]], name: str, **match: Any) -> dict[str, Any] | None:
    for e in events:
        if e.get("event") == name and all(e.get(k) == v for k, v in match.items()):
            return e
    return None
