"""``gameday plan PROFILE``: what each fault would do, to what, changing nothing."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from gameday.harness.app import app
from gameday.harness.errors import BadInput, GamedayError

SetOption = Annotated[list[str] | None, typer.Option("--set", help="override a field: path.to.field=value")]


@app.command()
def plan(
    profile: Annotated[Path, typer.Argument(help="profile YAML")],
    set_: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the plans as JSON")] = False,
) -> None:
    """Resolve every fault's targets (nodes, DB instances, Redis, deployment) and print what would be
    done; change nothing. Exit 64 if anything is outside the allow-list or resolves to nothing."""
    from gameday.harness import profile as profile_mod
    from gameday.harness import promclient
    from gameday.harness.safety.plan import plan_profile, render  # boto3, kubernetes: only when planning

    p = profile_mod.load(profile, set_ or [])
    if not p.faults:
        raise BadInput(f"{profile}: no faults to plan")
    promclient.preflight(p.target)  # the certificate and the credentials: exit 64 naming the field
    pp = plan_profile(p, collect=True)
    refused = pp.refused
    if as_json:
        doc = {"profile": p.name, "source": pp.source, "plans": [asdict(x) for x in pp.plans],
               "refused": [{"fault": f, "error": str(e), "exit_code": e.exit_code} for f, e in refused]}
        typer.echo(json.dumps(doc, indent=2, default=str))
    else:
        for line in render(p, pp):
            typer.echo(line)
    if refused:
        worst: GamedayError = next((e for _, e in refused if isinstance(e, BadInput)), refused[0][1])
        raise type(worst)(f"{len(refused)} of {len(p.faults)} faults refused; first: {worst}")
