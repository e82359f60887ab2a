"""``gameday schema``: the profile's JSON Schema, for editors and for checking a profile elsewhere.

The schema is generated from the pydantic model the CLI validates with (``gameday.harness.profile.Profile``),
so it cannot drift from what ``gameday validate`` accepts. The repository keeps a copy in
``docs/profile.schema.json``, which the shipped profiles name in their
``# yaml-language-server: $schema=...`` header (VS Code's YAML extension, Neovim's yamlls: completion
and inline errors); tests/unit/test_profile_schema.py fails when the copy is stale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gameday.harness.app import app

SCHEMA_ID = "https://github.com/hypercode/gameday/docs/profile.schema.json"


def profile_schema() -> dict[str, object]:
    """The JSON Schema of a profile (draft 2020-12, as pydantic writes it), with a title and an id."""
    from gameday.harness.profile import Profile  # pydantic: not for --help

    doc: dict[str, object] = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID}
    doc.update(Profile.model_json_schema())
    doc["title"] = "gameday profile"
    return doc


def render() -> str:
    """The schema as the committed file holds it: sorted keys, two-space indent, a final newline."""
    import json

    return json.dumps(profile_schema(), indent=2, sort_keys=True) + "\n"


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option(help="write it to this file instead of stdout")] = None,
) -> None:
    """Print the profile's JSON Schema (for the yaml-language-server header of a profile)."""
    text = render()
    if out is None:
        typer.echo(text, nl=False)
        return
    from gameday.contract.atomic import write_atomic
    from gameday.harness.errors import BadInput

    if not out.parent.is_dir():
        raise BadInput(f"--out {out}: directory {out.parent} does not exist")
    write_atomic(out, text, redact=False)  # the schema holds no secret; the file must equal the output
    typer.echo(f"wrote {out}")
