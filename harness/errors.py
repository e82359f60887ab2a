"""gameday's own exceptions: adapters translate foreign ones into these at their edge, and the
CLI maps them to exit codes in one place (harness.cli)."""

from __future__ import annotations


class GamedayError(Exception):
    """Base of every error gameday raises on purpose."""

    exit_code = 1


class BadInput(GamedayError):
    """A profile, experiment or argument that cannot be used: exit 64, nothing started."""

    exit_code = 64


class TargetUnavailable(GamedayError):
    """The target (or its Prometheus) cannot be reached or brought up."""

    exit_code = 1


class Interrupted(GamedayError):
    """Stopped by a signal or by the guard; rollbacks have run: exit 3."""

    exit_code = 3
