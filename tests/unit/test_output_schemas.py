"""The run directory's contract, stated once (issue 14): timeline events by enum, check ids, fault
ids and threshold defaults in ``gameday.contract.checks``, and the JSON Schemas of results.json and
history.json generated from the pydantic models in ``gameday.contract.schemas``.

- the committed docs/*.schema.json equal what the models generate (regenerate: python -m gameday.contract.schemas);
- results.json from real judgements (GO, damaged evidence, a failed run) and history.json from a
  real ``gameday history`` row set (judged, judged now, not judged) validate against them;
- the profile's model and the judge take their defaults from the contract: change one there and
  both follow;
- the timeline refuses an event the contract does not name, and writes nothing for it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

import gameday.contract.checks
from gameday.analysis import history, results
from gameday.analysis.judge import CHECKERS, judge
from gameday.analysis.render import history as history_page
from gameday.analysis.run import load_run
from gameday.contract.checks import ALL_CHECK_IDS, CHECK_IDS, DEFAULT_RECOVERY_S, DEFAULTS, FAULT_IDS, THRESHOLD_KEYS
from gameday.contract.events import Event
from gameday.contract.rundir import HISTORY_SCHEMA_VERSION, RESULTS_SCHEMA_VERSION
from gameday.contract.schemas import SCHEMAS, History, Results, render, stale
from gameday.harness.profile import Checks
from gameday.harness.timeline import Timeline
from tests.helpers import ROOT
from tests.helpers import healthy_run as build


def _schema(name: str) -> dict[str, object]:
    doc: dict[str, object] = json.loads((ROOT / "docs" / name).read_text())
    return doc


def _judged(run: Path) -> dict[str, object]:
    status = results.run_status(run)
    results.write(run, judge(load_run(run)), status)
    doc: dict[str, object] = json.loads((run / "results.json").read_text())
    return doc


def test_committed_schemas_equal_the_generated_ones() -> None:
    assert stale() == [], "regenerate with: .venv/bin/python -m gameday.contract.schemas"
    for name in SCHEMAS:
        assert (ROOT / "docs" / name).read_text() == render(name)


def test_schema_versions_are_the_contracts() -> None:
    assert _schema("results.schema.json")["properties"]["schema_version"]["const"] == RESULTS_SCHEMA_VERSION  # type: ignore[index]
    assert _schema("history.schema.json")["properties"]["schema_version"]["const"] == HISTORY_SCHEMA_VERSION  # type: ignore[index]


def test_results_of_real_judgements_validate(tmp_path: Path) -> None:
    schema = _schema("results.schema.json")
    go = build(tmp_path / "go")
    damaged = build(tmp_path / "damaged")
    (damaged / "requests.local-1.csv").write_text("t_start,latency_ms\n1,abc\n")
    failed = build(tmp_path / "failed")
    lines = (failed / "timeline.jsonl").read_text().splitlines()
    lines[-1] = json.dumps({"t": 1130.5, "event": "run_failed", "reason": "TargetUnavailable: api down"})
    lines.append(json.dumps({"t": 1131.0, "event": "run_finished", "status": "failed"}))
    (failed / "timeline.jsonl").write_text("\n".join(lines) + "\n")
    seen = {}
    for run in (go, damaged, failed):
        doc = _judged(run)
        jsonschema.validate(doc, schema)
        Results.model_validate(doc)
        seen[run.name] = (doc["verdict"], doc["status"], doc["exit_code"])
    assert seen == {"go": ("GO", "completed", 0), "damaged": ("INCONCLUSIVE", "completed", 2),
                    "failed": ("GO", "failed", 4)}
    broken = _judged(go) | {"verdict": "MAYBE"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)  # the schema can fail


def test_history_of_real_runs_validates(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _judged(build(runs / "a-judged"))
    build(runs / "b-judged-now")
    bad = build(runs / "c-broken")
    (bad / "results.json").write_text(json.dumps({"verdict": "MAYBE", "checks": []}))  # a hand edit
    load = runs / "d-load"
    load.mkdir()
    (load / "timeline.jsonl").write_text(json.dumps({"t": 1.0, "event": "load_started", "phase": "load"}) + "\n"
                                         + json.dumps({"t": 9.0, "event": "load_stopped", "phase": "load"}) + "\n")
    rows = history.collect(runs)
    doc = json.loads(history_page.to_json(rows, runs))
    jsonschema.validate(doc, _schema("history.schema.json"))
    History.model_validate(doc)
    assert doc["schema_version"] == HISTORY_SCHEMA_VERSION
    assert sorted((r["run"], r["source"]) for r in doc["rows"]) == [("a-judged", "results.json"),
                                                               ("b-judged-now", "judged now"),
                                                               ("c-broken", "not judged"), ("d-load", "not judged")]


def test_the_profile_model_and_the_judge_take_the_contracts_defaults(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    checks = Checks()
    assert {k: getattr(checks, k) for k in THRESHOLD_KEYS} == {k: getattr(DEFAULTS, k) for k in THRESHOLD_KEYS}
    assert checks.recovery_s == dict(DEFAULT_RECOVERY_S) and set(DEFAULT_RECOVERY_S) == set(FAULT_IDS)
    assert set(CHECK_IDS) <= set(CHECKERS) <= set(ALL_CHECK_IDS)  # every checker answers for a contract id

    run = build(tmp_path / "run")
    prof = yaml.safe_load((run / "profile.yaml").read_text())
    del prof["checks"]["p95_ms"]  # left to the default
    (run / "profile.yaml").write_text(yaml.safe_dump(prof))
    p95 = next(r for r in judge(load_run(run)).results if r.id == "latency_p95")
    assert p95.threshold == DEFAULTS.p95_ms
    monkeypatch.setattr(gameday.contract.checks, "DEFAULTS", gameday.contract.checks.ThresholdDefaults(p95_ms=41.0))
    lowered = [r for r in judge(load_run(run)).results if r.id == "latency_p95"]
    assert {r.threshold for r in lowered} == {41.0} and {r.status.value for r in lowered} == {"FAIL"}


def test_the_timeline_takes_only_the_contracts_events(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    with Timeline(path) as tl:
        tl.append(Event.RUN_STARTED, profile="unit")
        tl.append("phase_started", phase="baseline")  # a name that is a member is taken as it
        with pytest.raises(ValueError, match="unknown timeline event 'phase_begun'"):
            tl.append("phase_begun", phase="baseline")
    assert [json.loads(line)["event"] for line in path.read_text().splitlines()] == ["run_started", "phase_started"]


def test_every_event_of_a_synthetic_run_is_a_contract_event(tmp_path: Path) -> None:
    run = build(tmp_path / "run")
    names = {json.loads(line)["event"] for line in (run / "timeline.jsonl").read_text().splitlines()}
    assert names <= {e.value for e in Event}
    shutil.rmtree(run)


# names that mean something else where they appear: the profile's notification names (a vocabulary of
# their own, gameday.harness.notify.config.NotifyEvent) and Prometheus's own configuration key
_OTHER_VOCABULARY = {("harness/notify/config.py", "run_started"), ("harness/notify/messages.py", "run_started"),
                     ("harness/notify/config.py", "run_aborted"), ("harness/notify/messages.py", "run_aborted"),
                     ("harness/notify/config.py", "run_interrupted"), ("harness/notify/messages.py", "run_interrupted"),
                     ("harness/notify/config.py", "run_failed"), ("harness/notify/__init__.py", "run_failed"),
                     ("harness/scrape.py", "scrape_interval")}


def _sources() -> list[tuple[str, str]]:
    return [(p.relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8"))
            for d in ("harness", "analysis") for p in sorted((ROOT / d).rglob("*.py"))]


def test_no_event_name_is_restated_outside_the_contract() -> None:
    """An event name as a string literal in harness/ or analysis/ is a second statement of it."""
    found = sorted({(path, e.value) for path, text in _sources() for e in Event
                    if re.search(rf"[\"']{e.value}[\"']", text)} - _OTHER_VOCABULARY)
    assert found == []


def test_no_threshold_default_is_restated_outside_the_contract() -> None:
    """A threshold key beside a number (``"p95_ms", 200``, ``p95_ms: float = 200``, ``Field(200``,
    ``p95_ms=200``) in harness/ or analysis/ is a default stated a second time."""
    keys = "|".join(sorted(THRESHOLD_KEYS))
    pattern = re.compile(rf"[\"']({keys})[\"']\s*,\s*[0-9]|\b({keys})\s*:\s*[A-Za-z| ]+=\s*(Field\(\s*)?[0-9]"
                         rf"|\b({keys})\s*=\s*[0-9]")
    faults = re.compile(r"[\"'](" + "|".join(FAULT_IDS) + r")[\"']\s*:\s*[0-9]")
    found = [f"{path}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}" for path, text in _sources()
             for m in [*pattern.finditer(text), *faults.finditer(text)]]
    # gameday.analysis.outage.RecoveryLines.step_s is the recovery windows' 1 s slide, not checks.step_s
    assert [f for f in found if not (f.startswith("analysis/outage.py") and f.endswith(" step_s: float = 1"))] == []
