"""Run one fault: its Chaos Toolkit experiment, on the run's timeline, rollbacks always played.

    result = run_fault(fault, timeline, run_dir, profile)

1. plan it (:func:`gameday.harness.safety.plan.plan_fault`): allow-list, targets resolved, dynamic
   configuration pinned; anything refused raises before anything is injected;
2. run the experiment with chaoslib (``run_experiment``), rollback strategy "always" passed in
   the settings (chaoslib reads the experiment's ``runtime`` block only in the ``chaos`` CLI);
3. record chaos_started, steady_state_before, fault_injected, chaos_activity, fault_recovered
   (or fault_not_recovered), steady_state_after, rollbacks_started, rollbacks_done, chaos_done
   on the timeline, and keep ``journals/<fault>.json`` (redacted) up to date as it goes;
4. on SIGINT / SIGTERM: stop the method, play the rollbacks, write the journal, then raise
   :class:`FaultInterrupted` (exit 3), carrying the result.

chaoslib's exceptions stop here: an invalid experiment is an ExperimentError (64), anything
else chaoslib raises is a ChaosFailed (1).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gameday.contract.events import Event
from gameday.harness import rollout_watch
from gameday.harness.chaos import experiment as xp
from gameday.harness.chaos import journal as journal_file
from gameday.harness.chaos.events import Received, Recorder, SignalGuard
from gameday.harness.errors import ChaosFailed, ExperimentError, GamedayError, Interrupted, NotAllowed
from gameday.harness.profile import Fault, Profile
from gameday.harness.redact import Redactor, env_secrets, leaves
from gameday.harness.safety.identity import IdentityGate
from gameday.harness.safety.model import FaultPlan
from gameday.harness.safety.plan import plan_fault
from gameday.harness.safety.screen import write_decisions
from gameday.harness.timeline import Timeline

SETTINGS: dict[str, Any] = {"runtime": {"rollbacks": {"strategy": "always"}}}


@dataclass(frozen=True)
class FaultResult:
    """What happened to one fault; times are unix seconds from the timeline's clock."""

    fault: str
    status: str  # chaoslib's: completed | failed | aborted | interrupted
    deviated: bool
    steady_state_before: bool | None
    steady_state_after: bool | None
    injected_at: float | None
    recovered_at: float | None
    failed_activities: tuple[str, ...]
    rollbacks_ok: bool
    interrupted_by: str | None
    journal: Path
    started_at: float
    ended_at: float

    @property
    def recovery_s(self) -> float | None:
        """From the start of the injecting action until the method's recovery waits passed."""
        if self.injected_at is None or self.recovered_at is None:
            return None
        return round(self.recovered_at - self.injected_at, 3)

    @property
    def ok(self) -> bool:
        return (self.status == "completed" and not self.deviated and not self.failed_activities
                and self.rollbacks_ok and self.recovered_at is not None)


class FaultInterrupted(Interrupted):
    """SIGINT / SIGTERM during a fault: the rollbacks have run; ``result`` says how they went."""

    def __init__(self, message: str, result: FaultResult) -> None:
        super().__init__(message)
        self.result = result


def run_fault(fault: Fault, timeline: Timeline, run_dir: Path, profile: Profile, *,
              configuration: Mapping[str, Any] | None = None, phase: str | None = None,
              plan: FaultPlan | None = None) -> FaultResult:
    """Run ``fault`` (see the module docstring). ``configuration`` goes on top of what the
    profile gives the experiment (e.g. ``{"sla_idle_ok": False}`` while load runs); ``phase``
    labels the timeline events (default: the fault id). Call it from the main thread: that is
    where Python delivers signals."""
    if threading.current_thread() is not threading.main_thread():
        raise ChaosFailed("run_fault must be called from the main thread (it handles SIGINT / SIGTERM there)")
    phase = phase or fault.id
    plan = plan or plan_fault(profile, fault, configuration, for_run=True)
    gate = IdentityGate(plan.identity, record=lambda **f: timeline.append(Event.IDENTITY_CHECKED, phase, fault=fault.id,
                                                                          **f))
    exp = xp.with_configuration(xp.load(fault.experiment), plan.configuration)
    redactor = Redactor(profile.secrets.values())
    redactor.add(env_secrets())
    redactor.add(leaves({k: v for k, v in (exp.get("secrets") or {}).items()}))
    path = run_dir / "journals" / f"{fault.id}.json"
    write_decisions(run_dir, fault.id, plan.decisions, redactor)
    guard = SignalGuard(clock=time.time)
    recorder = Recorder(timeline, fault.id, phase, redactor, guard,
                        snapshot=lambda j: journal_file.write(path, j, redactor))
    started = time.time()
    watch = rollout_watch.start_for(plan, run_dir)  # a cluster bad release: Kubernetes' own evidence
    journal: dict[str, Any] | None = None
    ctk_logger = logging.getLogger("chaostoolkit")
    saved_level = ctk_logger.level
    log_handler = _log_to(run_dir / "journals" / f"{fault.id}.log", redactor)
    try:
        with guard.installed():
            try:
                with guard.critical():
                    timeline.append(Event.CHAOS_STARTED, phase, fault=fault.id, experiment=str(fault.experiment),
                                    title=plan.title, targets=[f"{t.kind} {t.name}" for t in plan.targets])
                with xp.scoped_env(plan.env):
                    journal = _run(exp, fault, [gate, guard, recorder])
            except KeyboardInterrupt:
                journal = None  # before chaoslib started: nothing injected, nothing to roll back
            except GamedayError as exc:
                timeline.append(Event.CHAOS_FAILED, phase, fault=fault.id, error=redactor.text(str(exc)))
                raise
            finally:
                guard.protect()
            if journal is None:
                journal = {"status": "interrupted", "experiment": exp, "run": [], "rollbacks": [],
                           "deviated": False, "note": "interrupted before the experiment started"}
            journal_file.write(path, journal, redactor)
            result = _result(fault, journal, recorder, guard.received, path, started, bool(exp.get("rollbacks")))
            timeline.append(Event.CHAOS_DONE, phase, fault=fault.id, status=result.status, deviated=result.deviated,
                            ok=result.ok, recovery_s=result.recovery_s, rollbacks_ok=result.rollbacks_ok,
                            journal=str(path.relative_to(run_dir)), recorder_errors=recorder.errors)
            for r in guard.received:
                timeline.append(Event.CHAOS_INTERRUPTED, phase, fault=fault.id, signal=r.name, signal_t=r.t,
                                during=r.during)
    finally:
        if watch is not None:
            watch.stop(timeline, phase, fault.id)
        ctk_logger.removeHandler(log_handler)
        ctk_logger.setLevel(saved_level)
        log_handler.close()
    if gate.rollback_refused:
        raise NotAllowed(f"fault {fault.id}: identity changed since the plan, {gate.refusal}; the rollback "
                         f"{gate.rollback_refused!r} was NOT run (it would act on another account or cluster) nor "
                         f"any after it: undo the fault by hand on the identity the plan checked; journal {path}")
    if gate.refusal:
        raise NotAllowed(f"fault {fault.id}: identity changed since the plan, {gate.refusal}; the action was not "
                         f"called, rollbacks {'done' if result.rollbacks_ok else 'NOT all succeeded'}; journal {path}")
    if result.interrupted_by:
        raise FaultInterrupted(f"{result.interrupted_by} during fault {fault.id}: rollbacks "
                               f"{'done' if result.rollbacks_ok else 'NOT all succeeded'}; journal {path}", result)
    return result


def _run(exp: dict[str, Any], fault: Fault, handlers: list[Any]) -> dict[str, Any]:
    """chaoslib's run, its exceptions translated (the adapter's edge)."""
    from chaoslib.exceptions import ChaosException, InvalidActivity, InvalidExperiment
    from chaoslib.experiment import run_experiment

    try:
        journal: dict[str, Any] = run_experiment(exp, settings=SETTINGS, event_handlers=handlers)
    except (InvalidExperiment, InvalidActivity) as exc:
        raise ExperimentError(f"{fault.experiment}: {exc}") from None
    except ChaosException as exc:
        raise ChaosFailed(f"fault {fault.id}: Chaos Toolkit failed: {exc}") from None
    return journal


def _result(fault: Fault, journal: Mapping[str, Any], rec: Recorder, received: list[Received], path: Path,
            started: float, has_rollbacks: bool) -> FaultResult:
    rollbacks = list(journal.get("rollbacks") or [])
    # every rollback succeeded, and they ran whenever chaoslib started (strategy "always")
    ran = rec.rollbacks_done or not has_rollbacks or rec.journal is None
    rollbacks_ok = ran and all(r.get("status") == "succeeded" for r in rollbacks)
    return FaultResult(
        fault=fault.id, status=str(journal.get("status") or "interrupted"), deviated=bool(journal.get("deviated")),
        steady_state_before=rec.before_met, steady_state_after=rec.after_met, injected_at=rec.injected_at,
        recovered_at=rec.recovered_at, failed_activities=tuple(rec.method_failed), rollbacks_ok=rollbacks_ok,
        interrupted_by=received[0].name if received else None, journal=path, started_at=started,
        ended_at=time.time())


class _RedactingFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s")
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.text(super().format(record))


def _log_to(path: Path, redactor: Redactor) -> logging.Handler:
    """Chaos Toolkit's log for this fault, next to its journal (INFO and up, redacted)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(_RedactingFormatter(redactor))
    logger = logging.getLogger("chaostoolkit")
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    return handler
