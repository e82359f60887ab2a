"""``gameday validate PROFILE``: check a profile without starting anything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gameday.harness.app import app

SetOption = Annotated[list[str] | None, typer.Option("--set", help="override a field: path.to.field=value")]


@app.command()
def validate(
    profile: Annotated[Path, typer.Argument(help="profile YAML")],
    set_: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON (docs/cli-json.md)")] = False,
) -> None:
    """Validate a profile (and its overrides); exit 64 naming the field if it is bad."""
    from gameday.harness import profile as profile_mod  # pydantic: not for --help
    from gameday.harness import promclient
    from gameday.harness.errors import BadInput

    try:
        p = profile_mod.load(profile, set_ or [])
        promclient.preflight(p.target, contact=False)  # the secrets it points at can be read
    except BadInput as exc:
        if not as_json:
            raise
        import json

        typer.echo(json.dumps({"profile": str(profile), "valid": False, "errors": str(exc).splitlines()}, indent=2))
        raise typer.Exit(exc.exit_code) from None
    if as_json:
        import json

        doc = {"profile": str(profile), "valid": True, "errors": [], "name": p.name, "target": p.target.kind,
               "users": p.load.users, "faults": [f.id for f in p.faults]}
        typer.echo(json.dumps(doc, indent=2))
        return
    faults = ", ".join(f.id for f in p.faults) or "none"
    typer.echo(f"{profile}: ok — target {p.target.kind}, {p.load.users} users, faults: {faults}")
