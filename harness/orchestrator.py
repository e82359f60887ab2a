"""The certification run: target up, load on, faults on one timeline, evidence, verdict.

    warm-up → baseline → fault 1 (inject, observe) → ... → cool-down

Load runs in its own processes for the whole run; each fault is a Chaos Toolkit experiment run
in the main thread (signals reach it there, so Ctrl-C and the guard roll it back). Whatever
happens, the load is stopped, the acknowledged missions are read back, Prometheus is
snapshotted and the target driver tears down; then the judge reads the run directory.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gameday.contract.events import Event
from gameday.harness import promclient, scrape, spike
from gameday.harness.alerting import AlertWatch
from gameday.harness.alerting import finish as finish_alerts
from gameday.harness.audits import collect as collect_audits
from gameday.harness.chaos import experiment as xp
from gameday.harness.chaos import sla_config
from gameday.harness.chaos.runner import run_fault
from gameday.harness.drivers import Driver, driver_for
from gameday.harness.errors import Interrupted
from gameday.harness.evidence import snapshot
from gameday.harness.guard import Guard
from gameday.harness.load import preflight as preflight_load
from gameday.harness.load.acks import acknowledged_mission_ids
from gameday.harness.load.runner import LoadRun, LoadSpec
from gameday.harness.profile import Fault, Profile
from gameday.harness.readback import read_back
from gameday.harness.redact import Redactor, env_secrets
from gameday.harness.rundir import write_profile
from gameday.harness.safety.plan import plan_profile, screen_profile
from gameday.harness.shield import interruptible, shielded
from gameday.harness.target import Endpoints
from gameday.harness.timeline import Listener, Timeline

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
    grace = profile.guard.fault_grace_s
    # the experiment is stopped past observe + recover + grace; the window may then hold the outage
    # until its recovery bound + grace after the injection (_hold_outage)
    faults = sum(f.observe_s + f.recover_s + _recovery_bound(profile, f) + 2 * grace + 30 for f in profile.faults)
    return p.warmup_s + p.baseline_s + p.cooldown_s + spike.budget_s(p.spike) + faults + 60


def _recovery_bound(profile: Profile, f: Fault) -> float:
    return float(profile.checks.recovery_s.get(f.id, 120.0))


def _phase(tl: Timeline, name: str, seconds: float, load: LoadRun, say: Say) -> None:
    tl.append(Event.PHASE_STARTED, phase=name, planned_s=seconds)
    say(f"phase {name} ({seconds:g} s)")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if load.procs and load.procs[0].poll() is not None:
            tl.append(Event.LOAD_DIED, phase=name, exit_code=load.procs[0].returncode)
            say("the load generator exited early: see load/locust.log")
            break
        time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
    tl.append(Event.PHASE_ENDED, phase=name)


def _faults(profile: Profile, tl: Timeline, run_dir: Path, guard: Guard, say: Say) -> None:
    for f in profile.faults:
        name = f"fault:{f.id}"
        tl.append(Event.PHASE_STARTED, phase=name, experiment=str(f.experiment))
        say(f"phase {name}: {f.experiment.name}")
        # the guard excuses the fault's outage until its recovery bound + grace after the injection
        # (it learns the injection from the timeline), and stops the experiment past its own bound
        guard.fault_started(f.id, f.observe_s + f.recover_s + profile.guard.fault_grace_s,
                            recovery_bound_s=_recovery_bound(profile, f))
        try:
            # under load the SLA probes must see traffic: an idle window is not a pass
            result = run_fault(f, tl, run_dir, profile, configuration={"sla_idle_ok": False}, phase=name)
        finally:
            guard.fault_stopped()
        injected = result.injected_at or result.started_at
        _hold_outage(profile, f, injected, guard.progress, tl, name, say)
        # keep observing under load: the judge counts the service back only once it has stayed within
        # every SLA for recovery_sustain_s (over recovery_window_s windows), and crews spawned during
        # the outage may still be answering when the experiment sees the API healthy; and let the
        # evidence of the end of the fault be scraped
        settle = profile.checks.recovery_window_s + profile.checks.recovery_sustain_s
        until = max(injected + f.observe_s, time.time() + max(settle, 2 * profile.checks.step_s + 1))
        while time.time() < until:
            time.sleep(0.25)
        tl.append(Event.PHASE_ENDED, phase=name, ok=result.ok, recovery_s=result.recovery_s,
                  rollbacks_ok=result.rollbacks_ok)
        guard.fault_ended()
        say(f"  {f.id}: {'ok' if result.ok else 'NOT ok'}, recovery {result.recovery_s} s, "
            f"rollbacks {'ok' if result.rollbacks_ok else 'FAILED'}")


def _hold_outage(profile: Profile, f: Fault, injected: float, progress: Callable[[], dict[str, Any] | None],
                 tl: Timeline, name: str, say: Say) -> None:
    """Keep the fault's window open while the load still sees the outage, so that the window (its
    counts, charts and recovery time) covers the whole outage however long it lasts, even when the
    experiment's own waits gave up earlier. Bounded: at most until the fault's recovery bound +
    fault_grace_s after its injection, where the guard's error rule takes over again.

    "Still failing" is Locust's live view (its 10 s failure and request rates): failures at or above
    the 5xx line, or no answer at all while the load runs."""
    deadline = injected + _recovery_bound(profile, f) + profile.guard.fault_grace_s
    line = profile.checks.max_5xx_ratio
    since = time.time()
    held = False
    while time.time() < deadline:
        p = progress()
        if p is None:
            break
        rps = float(p.get("rps", 0) or 0)
        if rps > 0 and float(p.get("fail_per_s", 0) or 0) / rps < line:
            break
        if not held:
            say(f"  {f.id}: the load still fails ({p.get('fail_per_s')} of {rps:g} req/s): the window holds "
                f"the outage (at most {deadline - time.time():.0f} s more)")
        held = True
        time.sleep(0.5)
    if held:
        tl.append(Event.OUTAGE_HELD, phase=name, fault=f.id, held_s=round(time.time() - since, 3),
                  until_bound=time.time() >= deadline)


def preflight(profile: Profile) -> None:
    """Everything that can be checked without the target: the locustfile loads and has a User
    class, every fault's experiment parses and passes Chaos Toolkit's validation. Bad input
    raises (exit 64) before a run directory is made or anything is started. The safety screen
    (every activity, identity keys, known resource names) comes before Chaos Toolkit's validation,
    which imports every provider module the experiment names."""
    if profile.load.users:
        preflight_load.check_locustfile(profile.load.locustfile)
    screen_profile(profile)
    promclient.preflight(profile.target)  # secrets readable; a cluster's certificate and credentials accepted
    for f in profile.faults:
        xp.validate(xp.load(f.experiment), f.experiment)
    sla_config.refuse_thresholds(profile)  # one source of thresholds: the profile's checks
    if profile.target.alertmanager is not None:
        profile.target.alertmanager.headers()  # its credentials' ${VAR}s are set: else exit 64, nothing started
    if profile.target.kind == "sandbox":  # the interval it will be started with; re-read once it is up
        known = scrape.profile_interval(profile)
    else:
        known = scrape.learn(promclient.access_for(profile.target), scrape.profile_interval(profile))
    if known is not None:
        scrape.check_windows(profile, known)


def certify(profile: Profile, run_dir: Path, say: Say, *, keep_up: bool = False,
            driver: Driver | None = None, listeners: Sequence[Listener] = (),
            on_guard: Callable[[Guard], None] | None = None) -> RunOutcome:
    """Collect one run into ``run_dir`` (call :func:`preflight` first). An unreachable target or a
    refused fault raises before load; an interruption or a guard abort is returned as the
    outcome, after the clean-up. ``listeners`` see every timeline event as written (notifications);
    ``on_guard`` gets the guard once it watches (the live display shows its margin)."""
    redactor = Redactor(profile.secrets.values())
    redactor.add(env_secrets())
    redactor.add(profile.notify.secret_values())
    if profile.target.alertmanager is not None:
        redactor.add(profile.target.alertmanager.secret_values())
    write_profile(run_dir, profile, redactor)
    driver = driver or driver_for(profile, keep_up)
    tl = Timeline(run_dir / "timeline.jsonl", redact=redactor, listeners=listeners)
    started = time.time()
    status, reason = "completed", None
    load: LoadRun | None = None
    guard: Guard | None = None
    ep: Endpoints | None = None
    interval: scrape.ScrapeInterval | None = None
    alerts: AlertWatch | None = None
    with interruptible():  # Ctrl-C, SIGTERM and the guard's abort stop the run, whatever was inherited
        try:
            tl.append(Event.RUN_STARTED, profile=profile.name, target=profile.target.kind,
                      faults=[f.id for f in profile.faults])
            say(f"target {profile.target.kind}: preparing")
            ep = driver.prepare()
            tl.append(Event.TARGET_READY, api=ep.api, prometheus=ep.prometheus)
            if ep.alertmanager is not None:  # alerts fire and resolve during faults: watched from now on
                alerts = AlertWatch(ep.alertmanager, run_dir,
                                    max_s=load_budget_s(profile) + profile.checks.mission_settle_s + 600).start()
            interval = scrape.learn(promclient.at(ep.prometheus, ep.prometheus_access),
                                    scrape.profile_interval(profile))
            scrape.check_windows(profile, interval)  # refused before any load or fault
            tl.append(Event.SCRAPE_INTERVAL, interval_s=interval.seconds, source=interval.source,
                      min_range_s=interval.min_range_s, step_s=interval.step_s(profile.checks.step_s),
                      queries=scrape.queries_for(profile, interval))
            say(interval.describe())
            preflight_load.check_host(ep.api)
            if profile.faults:
                plan_profile(profile)  # allow-list and targets: refused before any load or fault
            ld = profile.load
            shape = spike.shape_file(run_dir) if profile.phases.spike else None  # Locust follows the phases
            if shape is not None:
                spike.set_users(shape, ld.users, ld.spawn_rate)
            load = LoadRun(LoadSpec(locustfile=ld.locustfile, host=ep.api, run_dir=run_dir,
                                    duration_s=load_budget_s(profile), users=ld.users, spawn_rate=ld.spawn_rate,
                                    workers=ld.workers, arrival_rate_per_min=ld.arrival_rate_per_min, env=dict(ld.env),
                                    remote_workers=ld.remote_workers, master_bind=ld.master_bind,
                                    workers_wait_s=ld.workers_wait_s, shape_file=shape))
            load.start()
            tl.append(Event.LOAD_STARTED, users=ld.users, workers=ld.workers,
                      arrival_rate_per_min=ld.arrival_rate_per_min)
            guard = Guard(profile.guard, tl, load.progress)
            tl.listeners.append(guard.on_event)  # it learns each fault's injection from the timeline
            guard.start()
            if on_guard is not None:
                on_guard(guard)
            _phase(tl, "warmup", scrape.warmup_s(profile.phases.warmup_s, interval), load, say)
            _phase(tl, "baseline", profile.phases.baseline_s, load, say)
            if profile.phases.spike is not None and shape is not None:
                running = load
                spike.run(profile, profile.phases.spike, shape, tl,
                          lambda name, seconds: _phase(tl, name, seconds, running, say))
            _faults(profile, tl, run_dir, guard, say)
            _phase(tl, "cooldown", profile.phases.cooldown_s, load, say)
        except (KeyboardInterrupt, Interrupted) as exc:
            aborted = guard is not None and guard.tripped is not None
            status = "aborted" if aborted else "interrupted"
            reason = (guard.tripped if aborted and guard else None) or str(exc) or "interrupted (SIGINT/SIGTERM)"
            rule = guard.abort.rule if aborted and guard is not None and guard.abort else None
            tl.append(Event.RUN_ABORTED if aborted else Event.RUN_INTERRUPTED, reason=reason,
                      **({"rule": rule} if rule else {}))
            say(f"run {status}: {reason}")
        except Exception as exc:  # the target failed us, a fault was refused...: recorded as such, then raised
            status, reason = "failed", f"{type(exc).__name__}: {exc}"
            tl.append(Event.RUN_FAILED, reason=reason)
            raise
        finally:
            with shielded(say):  # the clean-up must finish: another Ctrl-C is noted, not obeyed
                try:
                    _finish(profile, run_dir, tl, load, guard, ep, started, say, interval, alerts)
                finally:
                    driver.teardown()
                    tl.append(Event.RUN_FINISHED, status=status)
                    tl.close()
    return RunOutcome(status, reason, started, time.time())


def _finish(profile: Profile, run_dir: Path, tl: Timeline, load: LoadRun | None, guard: Guard | None,
            ep: Endpoints | None, started: float, say: Say, interval: scrape.ScrapeInterval | None = None,
            alerts: AlertWatch | None = None) -> None:
    if guard is not None:
        guard.stop()
    if load is not None:
        load.stop()
        tl.append(Event.LOAD_STOPPED)
    ended = time.time()
    if ep is None:
        return
    if load is not None:
        ids = acknowledged_mission_ids(run_dir)
        say(f"reading back {len(ids)} acknowledged missions")
        rb = read_back(ep.api, ids, run_dir / "readback.json", settle_s=profile.checks.mission_settle_s)
        tl.append(Event.READBACK_DONE, asked=rb["asked"], missing=len(rb["missing"]), error=rb["error"],
                  unsettled=rb["settle"]["unsettled"], waited_s=rb["settle"]["waited_s"])
    audit = collect_audits(ep, run_dir / "audits.json", profile.target.cluster)
    tl.append(Event.AUDITS_COLLECTED, errors=audit["errors"])
    if interval is None:  # the run failed before the interval was read: the profile's word, else as written
        interval = scrape.profile_interval(profile) or scrape.ScrapeInterval(profile.checks.step_s, "unknown")
    # the last scrape lands (at most one interval later)
    time.sleep(max(min(3.0, 2 * profile.checks.step_s + 1), min(interval.seconds + 1.0, 61.0)))
    if alerts is not None:
        meta = finish_alerts(alerts, run_dir)
        tl.append(Event.ALERTS_COLLECTED, url=meta["url"], polls=meta["polls"], failed=meta["failed"],
                  notifications=meta["notifications"], error=meta["error"] or meta["last_error"])
    snaps = snapshot(promclient.at(ep.prometheus, ep.prometheus_access), scrape.queries_for(profile, interval),
                     started, time.time(),
                     interval.step_s(profile.checks.step_s), run_dir / "prometheus",
                     scrape_interval_s=interval.seconds, interval_source=interval.source)
    tl.append(Event.EVIDENCE_SNAPSHOT, window=[started, ended], series={s.name: s.points for s in snaps},
              errors={s.name: s.error for s in snaps if s.error})
