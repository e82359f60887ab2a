"""The guard's decision, with an injected clock and progress (no processes, no signals)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.guard import Guard
from harness.profile import Guard as GuardConfig
from harness.timeline import Timeline


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def make(tmp: Path, progress: dict[str, Any] | None, clock: Clock) -> Guard:
    cfg = GuardConfig(abort_error_ratio=0.5, abort_for_s=30, fault_grace_s=10)
    return Guard(cfg, Timeline(tmp / "t.jsonl"), lambda: progress, clock=clock)


def test_errors_must_be_sustained(tmp_path: Path) -> None:
    clock = Clock()
    p: dict[str, Any] = {"rps": 50.0, "fail_per_s": 40.0}
    g = make(tmp_path, p, clock)
    assert g.check() is None
    clock.t = 29
    assert g.check() is None
    clock.t = 30
    why = g.check()
    assert why and "80%" in why and "30 s" in why


def test_a_dip_resets_the_clock(tmp_path: Path) -> None:
    clock = Clock()
    p: dict[str, Any] = {"rps": 50.0, "fail_per_s": 40.0}
    g = make(tmp_path, p, clock)
    g.check()
    clock.t = 20
    p["fail_per_s"] = 1.0
    assert g.check() is None
    p["fail_per_s"] = 40.0
    clock.t = 40
    assert g.check() is None  # bad again only since t=40
    clock.t = 70
    assert g.check() is not None


def test_a_fault_past_its_bound(tmp_path: Path) -> None:
    clock = Clock()
    g = make(tmp_path, {"rps": 0}, clock)
    g.fault_started("db-failover", bound_s=100)
    clock.t = 100
    assert g.check() is None
    clock.t = 101
    assert "db-failover" in (g.check() or "")
    g.fault_ended()
    assert g.check() is None


def test_no_progress_is_no_abort(tmp_path: Path) -> None:
    assert make(tmp_path, None, Clock()).check() is None
