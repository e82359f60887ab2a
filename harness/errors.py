"""gameday's own exceptions: adapters translate foreign ones into these at their edge, and the
CLI maps them to exit codes in one place (gameday.harness.cli), with the numbers of gameday.contract.exitcodes."""

from __future__ import annotations

from gameday.contract.exitcodes import ExitCode


class GamedayError(Exception):
    """Base of every error gameday raises on purpose."""

    exit_code: int = ExitCode.NO_GO


class GamedayWarning(UserWarning):
    """Base of every warning gameday gives on purpose: the CLI prints each as one line on stderr
    (``gameday: warning: ...``), without Python's file, line and source."""


class BadInput(GamedayError):
    """A profile, experiment or argument that cannot be used: exit 64, nothing started."""

    exit_code = ExitCode.BAD_INPUT


class TargetUnavailable(GamedayError):
    """The target (or its Prometheus) cannot be reached or brought up: the run could not be
    completed, exit 4 (never 1, which reads as NO-GO)."""

    exit_code = ExitCode.NOT_COMPLETED


class Interrupted(GamedayError):
    """Stopped by a signal or by the guard; rollbacks have run: exit 3."""

    exit_code = ExitCode.ABORTED


class NotAllowed(BadInput):
    """A target outside the profile's allow-list (kube context, AWS account or region, resource
    name): refused before anything is touched, exit 64."""


class NothingToTarget(BadInput):
    """A fault whose targets resolve to nothing (no such node, instance, group, pod): it fails
    before anything is injected, exit 64."""


class ExperimentError(BadInput):
    """A Chaos Toolkit experiment that cannot be loaded or does not validate, exit 64."""


class ChaosFailed(GamedayError):
    """Chaos Toolkit could not run an experiment at all (not: the experiment deviated): exit 4."""

    exit_code = ExitCode.NOT_COMPLETED
