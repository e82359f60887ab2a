"""The spike phase's driver (harness/spike.py): the shape file leads each step, the timeline
follows, the phases are timed as asked; and Locust's time bound makes room for it."""

from __future__ import annotations

import json
from pathlib import Path

from gameday.harness import spike
from gameday.harness.orchestrator import load_budget_s
from gameday.harness.profile import Profile
from gameday.harness.timeline import Timeline


def test_the_shape_file_steps_up_then_back_and_the_timeline_follows(tmp_path: Path) -> None:
    profile = Profile.model_validate({"name": "p", "load": {"users": 30, "spawn_rate": 10},
                                      "phases": {"spike": {"users": 90, "hold_s": 60, "settle_s": 45}}})
    assert profile.phases.spike is not None
    path = spike.shape_file(tmp_path)
    spike.set_users(path, 30, 10)
    tl = Timeline(tmp_path / "timeline.jsonl")
    seen: list[tuple[str, float, int]] = []

    def phase(name: str, seconds: float) -> None:  # what the shape would return during the phase
        seen.append((name, seconds, json.loads(path.read_text())["users"]))

    spike.run(profile, profile.phases.spike, path, tl, phase)
    tl.close()
    assert seen == [("spike", 60, 90), ("after-spike", 45, 30)]
    assert json.loads(path.read_text()) == {"users": 30, "spawn_rate": 10.0}
    steps = [json.loads(line) for line in (tmp_path / "timeline.jsonl").read_text().splitlines()]
    assert [(e["event"], e["users"], e["from_users"]) for e in steps] == [("spike_step", 90, 30),
                                                                          ("spike_step", 30, 90)]
    plain = Profile.model_validate({"name": "p"})
    assert load_budget_s(profile) == load_budget_s(plain) + 60 + 45  # hold + settle
