"""Every event name ``timeline.jsonl`` may hold, stated once.

``gameday.harness.timeline.Timeline.append`` takes a member (or refuses a name that is not one), and
``analysis`` finds events by member: a renamed event breaks at import or in mypy, never as a
check that silently finds nothing. A :class:`enum.StrEnum` member equals its name as read back
from the JSON (a member equals its ``.value``), so the reader compares parsed lines with
members directly. docs/run-directory.md lists what each event carries.
"""

from __future__ import annotations

import enum


class Event(enum.StrEnum):
    # the run (gameday.harness.orchestrator, gameday load / fault)
    RUN_STARTED = "run_started"
    TARGET_READY = "target_ready"
    SCRAPE_INTERVAL = "scrape_interval"
    LOAD_STARTED = "load_started"
    LOAD_DIED = "load_died"
    LOAD_STOPPED = "load_stopped"
    PHASE_STARTED = "phase_started"
    PHASE_ENDED = "phase_ended"
    OUTAGE_HELD = "outage_held"
    # the users of a spike phase stepped (gameday.harness.spike): users, from_users, spawn_rate
    SPIKE_STEP = "spike_step"
    READBACK_DONE = "readback_done"
    AUDITS_COLLECTED = "audits_collected"
    ALERTS_COLLECTED = "alerts_collected"
    EVIDENCE_SNAPSHOT = "evidence_snapshot"
    RUN_ABORTED = "run_aborted"
    RUN_INTERRUPTED = "run_interrupted"
    RUN_FAILED = "run_failed"
    RUN_FINISHED = "run_finished"
    # the guard
    GUARD_ABORT = "guard_abort"
    # one fault (gameday.harness.chaos): its Chaos Toolkit experiment, as it happens
    CHAOS_STARTED = "chaos_started"
    IDENTITY_CHECKED = "identity_checked"
    STEADY_STATE_BEFORE = "steady_state_before"
    FAULT_INJECTED = "fault_injected"
    CHAOS_ACTIVITY = "chaos_activity"
    FAULT_RECOVERED = "fault_recovered"
    FAULT_NOT_RECOVERED = "fault_not_recovered"
    STEADY_STATE_AFTER = "steady_state_after"
    ROLLBACKS_STARTED = "rollbacks_started"
    ROLLBACKS_DONE = "rollbacks_done"
    ROLLOUT_EVIDENCE = "rollout_evidence"
    CHAOS_FAILED = "chaos_failed"
    CHAOS_DONE = "chaos_done"
    CHAOS_INTERRUPTED = "chaos_interrupted"
    # notifications (a delivery that failed; never part of the verdict)
    NOTIFY_FAILED = "notify_failed"


# the events that end a run without its verdict, the worst first
RUN_STOPPED = (Event.RUN_ABORTED, Event.RUN_INTERRUPTED, Event.RUN_FAILED)


def event(name: object) -> Event:
    """``name`` as a member; ``ValueError`` naming the known events for anything else."""
    if isinstance(name, Event):
        return name
    try:
        return Event(str(name))
    except ValueError:
        raise ValueError(f"unknown timeline event {name!r}; expected one of gameday.contract.events.Event: "
                         f"{', '.join(e.value for e in Event)}") from None
