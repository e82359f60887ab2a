"""``gameday validate PROFILE``: check a profile without starting anything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.app import app

SetOption = Annotated[list[str] | None, typer.Option("--set", help="override a field: path.to.field=value")]


@app.command()
def validate(
    profile: Annotated[Path, typer.Argument(help="profile YAML")],
    set_: SetOption = None,
) -> None:
    """Validate a profile (and its overrides); exit 64 naming the field if it is bad."""
    from harness import profile as profile_mod  # pydantic: not for --help

    p = profile_mod.load(profile, set_ or [])
    faults = ", ".join(f.id for f in p.faults) or "none"
    typer.echo(f"{profile}: ok — target {p.target.kind}, {p.load.users} users, faults: {faults}")
