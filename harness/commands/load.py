"""``gameday load PROFILE``: the load alone against a target, for regression CI without chaos.

Writes a run directory (resolved profile, timeline, every request, acknowledgements, Locust's
own CSV and HTML report) and prints exact figures next to Locust's rounded ones. It judges
nothing: ``gameday run`` and ``gameday compare`` do.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gameday.contract.events import Event
from gameday.harness.app import app
from gameday.harness.errors import BadInput

if TYPE_CHECKING:
    from gameday.harness.load.runner import LoadSpec
    from gameday.harness.profile import Profile

SetOption = Annotated[list[str] | None, typer.Option("--set", help="override a profile field: path.to.field=value")]


def spec_from_profile(p: Profile, host: str, run_dir: Path, duration_s: float) -> LoadSpec:
    from gameday.harness.load.runner import LoadSpec

    ld = p.load
    return LoadSpec(locustfile=ld.locustfile, host=host, run_dir=run_dir, duration_s=duration_s,
                    users=ld.users, spawn_rate=ld.spawn_rate, workers=ld.workers,
                    arrival_rate_per_min=ld.arrival_rate_per_min, env=dict(ld.env),
                    remote_workers=ld.remote_workers, master_bind=ld.master_bind, workers_wait_s=ld.workers_wait_s)


@app.command()
def load(
    profile: Annotated[Path, typer.Argument(help="profile YAML")],
    duration: Annotated[float | None, typer.Option(help="seconds of load (default: the profile's phases)")] = None,
    out: Annotated[Path | None, typer.Option(help="run directory (default runs/<UTC>-<profile>-load)")] = None,
    set_: SetOption = None,
) -> None:
    """Run the profile's load alone against its target and record every request."""
    from gameday.harness import profile as profile_mod
    from gameday.harness.load import preflight
    from gameday.harness.target import endpoints

    p = profile_mod.load(profile, set_ or [])
    seconds = duration if duration is not None else p.phases.warmup_s + p.phases.baseline_s + p.phases.cooldown_s
    preflight.check_duration(seconds)
    if p.load.users:
        preflight.check_locustfile(p.load.locustfile)
    ep = endpoints(p)
    try:
        preflight.check_host(ep.api)
    except BadInput as exc:
        hint = "; start it with 'gameday sandbox up'" if p.target.kind == "sandbox" else ""
        raise BadInput(f"{exc}{hint}") from None
    from gameday.analysis.locust_stats import read_final  # pandas: only once there is a run to summarise
    from gameday.analysis.recorded import read_acks, read_requests, summarize
    from gameday.harness.load.display import Progress
    from gameday.harness.load.runner import run
    from gameday.harness.redact import Redactor, env_secrets
    from gameday.harness.rundir import new_run_dir, write_profile
    from gameday.harness.timeline import Timeline

    run_dir = new_run_dir(p, out, "load")
    redactor = Redactor(p.secrets.values())
    redactor.add(env_secrets())
    write_profile(run_dir, p, redactor)
    spec = spec_from_profile(p, ep.api, run_dir, seconds)
    with Timeline(run_dir / "timeline.jsonl", redact=redactor) as tl:
        tl.append(Event.LOAD_STARTED, phase="load", users=spec.users, workers=spec.workers,
                  arrival_rate_per_min=spec.arrival_rate_per_min, duration_s=seconds, host=ep.api)
        try:
            with Progress(seconds) as prog:
                run(spec, on_tick=prog.tick)
        finally:
            tl.append(Event.LOAD_STOPPED, phase="load")
    s = summarize(read_requests(run_dir), len(read_acks(run_dir)))
    final = read_final(run_dir)
    lp95 = final.p95_ms if final else None
    typer.echo(f"run directory {run_dir}")
    typer.echo(f"requests {s.requests} ({s.rps:.1f}/s over {s.duration_s:.0f} s)  failures {s.failures}  "
               f"5xx {s.fivexx}  acknowledged missions {s.acks}")
    typer.echo(f"latency exact p50 {s.p50_ms:.1f} ms  p95 {s.p95_ms:.1f} ms  p99 {s.p99_ms:.1f} ms  "
               f"| Locust p95 (rounded) {'-' if lp95 is None else f'{lp95:.0f}'} ms")
    if spec.arrival_rate_per_min:
        typer.echo(f"open model {spec.arrival_rate_per_min:g}/min: p95 from intended start "
                   f"{s.p95_intended_ms:.1f} ms (coordinated omission corrected)")
