"""Chaos Toolkit probes for the secrets canary test: they hand a secret back as their output,
the way a careless extension would, so the journal, the timeline and the logs are offered it."""

from __future__ import annotations

from typing import Any


def echo_secret(name: str, secrets: dict[str, Any] | None = None, configuration: dict[str, Any] | None = None) -> str:
    """The secret ``name`` of the activity's secret scope, returned as the probe's output."""
    return str((secrets or {})[name])


def echo_configuration(key: str, configuration: dict[str, Any] | None = None) -> str:
    """A configuration value (resolved by Chaos Toolkit, e.g. from the environment), as output."""
    return str((configuration or {})[key])
