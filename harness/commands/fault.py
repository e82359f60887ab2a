"""``gameday fault PROFILE FAULT``: run one fault of a profile on its own (no load), the way
``gameday run`` runs each: planned and allow-listed first, rollbacks always, journal redacted."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gameday.contract.events import Event
from gameday.harness.app import app
from gameday.harness.errors import BadInput, GamedayError

SetOption = Annotated[list[str] | None, typer.Option("--set", help="override a field: path.to.field=value")]


@app.command()
def fault(
    profile: Annotated[Path, typer.Argument(help="profile YAML")],
    fault_id: Annotated[str, typer.Argument(metavar="FAULT", help="a fault id of the profile: db-failover | "
                                                                  "redis-primary-kill | node-drain | bad-release, "
                                                                  "or one of its custom faults")],
    set_: SetOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="run directory (default runs/<UTC>-<profile>-<fault>)")]
    = None,
) -> None:
    """Run one fault's experiment against the target (Ctrl-C: rollbacks run, exit 3)."""
    from gameday.harness import profile as profile_mod
    from gameday.harness.chaos.runner import run_fault  # Chaos Toolkit: only when a fault runs
    from gameday.harness.redact import Redactor, env_secrets
    from gameday.harness.rundir import new_run_dir, write_profile
    from gameday.harness.timeline import Timeline

    p = profile_mod.load(profile, set_ or [])
    chosen = next((f for f in p.faults if f.id == fault_id), None)
    if chosen is None:
        raise BadInput(f"{profile}: no fault {fault_id!r} (it has: {', '.join(f.id for f in p.faults) or 'none'})")
    run_dir = new_run_dir(p, out, kind=fault_id)
    redactor = Redactor(p.secrets.values())
    redactor.add(env_secrets())
    write_profile(run_dir, p, redactor)
    typer.echo(f"fault {fault_id}: {chosen.experiment} -> {run_dir}")
    with Timeline(run_dir / "timeline.jsonl", redact=redactor) as tl:
        tl.append(Event.RUN_STARTED, kind="fault", profile=p.name, fault=fault_id)
        result = run_fault(chosen, tl, run_dir, p)
        tl.append(Event.RUN_FINISHED, ok=result.ok)
    rec = f"{result.recovery_s:.2f} s" if result.recovery_s is not None else "not recovered"
    typer.echo(f"fault {fault_id}: {result.status}{' (deviated)' if result.deviated else ''}; recovery {rec}; "
               f"rollbacks {'ok' if result.rollbacks_ok else 'FAILED'}; journal {result.journal}")
    if result.failed_activities:
        typer.echo(f"  failed: {', '.join(result.failed_activities)}")
    if not result.ok:
        raise GamedayError(f"fault {fault_id} did not pass (see {result.journal})")
