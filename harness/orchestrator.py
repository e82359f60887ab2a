"""The certification run: target up, load on, faults on one timeline, evidence, verdict.

    warm-up → baseline → fault 1 (inject, observe) → ... → cool-down

Load runs in its own processes for the whole run; each fault is a Chaos Toolkit experiment run
in the main thread (signals reach it there, so Ctrl-C and the guard roll it back). Whatever
happens, the load is stopped, the acknowledged missions are read back, Prometheus is
snapshotted and the target driver tears down; then the judge reads the run directory.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.requests import read_acks
from harness.audits import collect as collect_audits
from harness.chaos import experiment as xp
from harness.chaos.runner import run_fault
from harness.drivers import Driver, driver_for
from harness.errors import Interrupted
from harness.evidence import snapshot
from harness.guard import Guard
from harness.load import preflight as preflight_load
from harness.load.runner import LoadRun, LoadSpec
from harness.profile import Profile
from harness.readback import read_back
from harness.redact import Redactor, env_secrets
from harness.rundir import write_profile
from harness.safety.plan import plan_profile
from harness.shield import shielded
from harness.target import Endpoints
from harness.timeline import Listener, Timeline

Say = Callable[[str], None]


@dataclass(frozen=True)
class RunOutcome:
    status: str  # completed | aborted | interrupted
    reason: str | None
    started: float
    ended: float


def load_budget_s(profile: Profile) -> float:
    """Locust's own time bound: every phase and fault at its longest; we stop it earlier."""
    p = profile.phases
    faults = sum(f.observe_s + f.recover_s + profile.guard.fault_grace_s + 30 for f in profile.faults)
    return p.warmup_s + p.baseline_s + p.cooldown_s + faults + 60


def _phase(tl: Timeline, name: str, seconds: float, load: LoadRun, say: Say) -> None:
    tl.append("phase_started", phase=name, planned_s=seconds)
    say(f"phase {name} ({seconds:g} s)")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if load.procs and load.procs[0].poll() is not None:
            tl.append("load_died", phase=name, exit_code=load.procs[0].returncode)
            say("the load generator exited early: see load/locust.log")
            break
        time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
    tl.append("phase_ended", phase=name)


def _faults(profile: Profile, tl: Timeline, run_dir: Path, guard: Guard, say: Say) -> None:
    for f in profile.faults:
        name = f"fault:{f.id}"
        tl.append("phase_started", phase=name, experiment=str(f.experiment))
        say(f"phase {name}: {f.experiment.name}")
        guard.fault_started(f.id, f.observe_s + f.recover_s + profile.guard.fault_grace_s)
        try:
            # under load the SLA probes must see traffic: an idle window is not a pass
            result = run_fault(f, tl, run_dir, profile, configuration={"sla_idle_ok": False}, phase=name)
        finally:
            guard.fault_ended()
        injected = result.injected_at or result.started_at
        # keep observing under load; and let the evidence of the end of the fault be scraped
        until = max(injected + f.observe_s, time.time() + 2 * profile.checks.step_s + 1)
        while time.time() < until:
            time.sleep(0.25)
        tl.append("phase_ended", phase=name, ok=result.ok, recovery_s=result.recovery_s,
                  rollbacks_ok=result.rollbacks_ok)
        say(f"  {f.id}: {'ok' if result.ok else 'NOT ok'}, recovery {result.recovery_s} s, "
            f"rollbacks {'ok' if result.rollbacks_ok else 'FAILED'}")


def preflight(profile: Profile) -> None:
    """Everything that can be checked without the target: the locustfile loads and has a User
    class, every fault's experiment parses and passes Chaos Toolkit's validation. Bad input
    raises (exit 64) before a run directory is made or anything is started."""
    if profile.load.users:
        preflight_load.check_locustfile(profile.load.locustfile)
    for f in profile.faults:
        xp.validate(xp.load(f.experiment), f.experiment)


def _sigterm_as_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def certify(profile: Profile, run_dir: Path, say: Say, *, keep_up: bool = False,
            driver: Driver | None = None, listeners: Sequence[Listener] = ()) -> RunOutcome:
    """Collect one run into ``run_dir`` (call :func:`preflight` first). An unreachable target or a
    refused fault raises before load; an interruption or a guard abort is returned as the
    outcome, after the clean-up. ``listeners`` see every timeline event as written (notifications)."""
    redactor = Redactor(profile.secrets.values())
    redactor.add(env_secrets())
    redactor.add(profile.notify.secret_values())
    write_profile(run_dir, profile, redactor)
    driver = driver or driver_for(profile, keep_up)
    tl = Timeline(run_dir / "timeline.jsonl", redact=redactor, listeners=listeners)
    started = time.time()
    status, reason = "completed", None
    load: LoadRun | None = None
    guard: Guard | None = None
    ep: Endpoints | None = None
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        tl.append("run_started", profile=profile.name, target=profile.target.kind,
                  faults=[f.id for f in profile.faults])
        say(f"target {profile.target.kind}: preparing")
        ep = driver.prepare()
        tl.append("target_ready", api=ep.api, prometheus=ep.prometheus)
        preflight_load.check_host(ep.api)
        if profile.faults:
            plan_profile(profile)  # allow-list and targets: refused before any load or fault
        ld = profile.load
        load = LoadRun(LoadSpec(locustfile=ld.locustfile, host=ep.api, run_dir=run_dir,
                                duration_s=load_budget_s(profile), users=ld.users, spawn_rate=ld.spawn_rate,
                                workers=ld.workers, arrival_rate_per_min=ld.arrival_rate_per_min, env=dict(ld.env),
                                remote_workers=ld.remote_workers, master_bind=ld.master_bind,
                                workers_wait_s=ld.workers_wait_s))
        load.start()
        tl.append("load_started", users=ld.users, workers=ld.workers, arrival_rate_per_min=ld.arrival_rate_per_min)
        guard = Guard(profile.guard, tl, load.progress)
        guard.start()
        _phase(tl, "warmup", profile.phases.warmup_s, load, say)
        _phase(tl, "baseline", profile.phases.baseline_s, load, say)
        _faults(profile, tl, run_dir, guard, say)
        _phase(tl, "cooldown", profile.phases.cooldown_s, load, say)
    except (KeyboardInterrupt, Interrupted) as exc:
        aborted = guard is not None and guard.tripped is not None
        status = "aborted" if aborted else "interrupted"
        reason = (guard.tripped if aborted and guard else None) or str(exc) or "interrupted (SIGINT/SIGTERM)"
        tl.append("run_aborted" if aborted else "run_interrupted", reason=reason)
        say(f"run {status}: {reason}")
    except Exception as exc:  # the target failed us, a fault was refused...: recorded as such, then raised
        status, reason = "failed", f"{type(exc).__name__}: {exc}"
        tl.append("run_failed", reason=reason)
        raise
    finally:
        with shielded(say):  # the clean-up must finish: another Ctrl-C is noted, not obeyed
            try:
                _finish(profile, run_dir, tl, load, guard, ep, started, say)
            finally:
                driver.teardown()
                tl.append("run_finished", status=status)
                tl.close()
        signal.signal(signal.SIGTERM, previous)
    return RunOutcome(status, reason, started, time.time())


def _finish(profile: Profile, run_dir: Path, tl: Timeline, load: LoadRun | None, guard: Guard | None,
            ep: Endpoints | None, started: float, say: Say) -> None:
    if guard is not None:
        guard.stop()
    if load is not None:
        load.stop()
        tl.append("load_stopped")
    ended = time.time()
    if ep is None:
        return
    if load is not None:
        ids = read_acks(run_dir)["mission_id"].astype(str).tolist()
        say(f"reading back {len(ids)} acknowledged missions")
        rb = read_back(ep.api, ids, run_dir / "readback.json")
        tl.append("readback_done", asked=rb["asked"], missing=len(rb["missing"]), error=rb["error"])
    audit = collect_audits(ep, run_dir / "audits.json")
    tl.append("audits_collected", errors=audit["errors"])
    time.sleep(min(3.0, 2 * profile.checks.step_s + 1))  # the last scrape lands
    snaps = snapshot(ep.prometheus, profile.checks.promql, started, time.time(), profile.checks.step_s,
                     run_dir / "prometheus")
    tl.append("evidence_snapshot", window=[started, ended], series={s.name: s.points for s in snaps},
              errors={s.name: s.error for s in snaps if s.error})
