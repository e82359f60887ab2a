"""The profile's JSON Schema: the committed copy is the generated one, and every shipped profile names
it in its yaml-language-server header and validates against it (what an editor would check)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from gameday.harness.commands.schema import render

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "profile.schema.json"
PROFILES = sorted((ROOT / "profiles").glob("*.yaml"))
HEADER = "# yaml-language-server: $schema=../docs/profile.schema.json"


def test_committed_schema_is_the_generated_one() -> None:
    assert COMMITTED.read_text() == render(), (
        "docs/profile.schema.json is stale: regenerate it with `gameday schema --out docs/profile.schema.json`")


def test_schema_is_a_valid_draft_2020_12_schema_that_forbids_unknown_fields() -> None:
    schema = json.loads(render())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False and "name" in schema["required"]


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_shipped_profile_has_the_header_and_validates(path: Path) -> None:
    assert path.read_text().splitlines()[0] == HEADER
    jsonschema.validate(yaml.safe_load(path.read_text()), json.loads(COMMITTED.read_text()))


def test_schema_rejects_what_validate_rejects() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(render()))
    assert list(validator.iter_errors({"name": "x", "load": {"users": 5}}))  == []
    bad = {"name": "x", "load": {"usres": 5}}
    assert [e.message for e in validator.iter_errors(bad)] == [
        "Additional properties are not allowed ('usres' was unexpected)"]
