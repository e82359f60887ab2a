"""The identity check: immediately before each action of a cluster fault's method (an injection)
and before each action of its rollbacks, the AWS identity (STS GetCallerIdentity, through
chaosaws's own client path) and the kube context (the kubeconfig, context and API server chaosk8s
would use) are read again and compared with what the plan checked
(:class:`~gameday.harness.safety.model.PinnedIdentity`).

It is a Chaos Toolkit run-event handler. chaoslib's handler registry swallows ``Exception`` and
the Python provider turns what an activity raises into ``ActivityFailed`` (the method would go on
to the next step), so a mismatch raises :class:`IdentityChanged`, a ``KeyboardInterrupt``: from
``start_activity`` it stops the method before the action is called, chaoslib marks the journal
*interrupted* and plays the rollbacks (strategy "always"); the runner then raises NotAllowed.

A rollback is an action too: against another account or cluster it would change something the
plan never looked at (uncordon someone else's node, restore an image on another deployment).
So it is checked the same way, and a mismatch stops the rollbacks there (chaoslib plays no more
of them on a KeyboardInterrupt): the rollback is *not* done, the journal says so, and the runner's
NotAllowed says which rollback must be done by hand, on the identity the plan checked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chaoslib.run import RunEventHandler

from gameday.harness.safety.model import PinnedIdentity


class IdentityChanged(KeyboardInterrupt):
    """The identity differs from the plan's: stop before the injection (see the module docstring)."""


class IdentityGate(RunEventHandler):  # type: ignore[misc]  # chaoslib ships no type hints
    """Register it first among the handlers, so that nothing records an injection it stopped."""

    def __init__(self, identity: PinnedIdentity | None,
                 record: Callable[..., object] = lambda **_: None) -> None:
        self.identity = identity
        self.record = record
        self.section = "starting"
        self.configuration: Mapping[str, Any] = {}
        self.secrets: Mapping[str, Any] = {}
        self.refusal: str | None = None
        self.rollback_refused: str | None = None  # the rollback action not run, identity changed
        self.checked = 0

    def running(self, experiment: Any, journal: Any, configuration: Any, secrets: Any, schedule: Any,
                settings: Any) -> None:
        self.configuration, self.secrets = dict(configuration or {}), dict(secrets or {})

    def start_method(self, experiment: Any) -> None:
        self.section = "method"

    def start_hypothesis_after(self, experiment: Any) -> None:
        self.section = "hypothesis-after"

    def start_rollbacks(self, experiment: Any) -> None:
        self.section = "rollbacks"

    def start_activity(self, activity: Any) -> None:
        if self.identity is None or self.section not in ("method", "rollbacks") or activity.get("type") != "action":
            return
        name = str(activity.get("name"))
        problems = check(self.identity, self.configuration, self.secrets)
        self.checked += 1
        self.record(action=name, ok=not problems, problems=problems, section=self.section)
        if problems:
            what = "action" if self.section == "method" else "rollback"
            refusal = f"before {what} {name!r}: " + "; ".join(problems)
            if self.section == "rollbacks":
                self.rollback_refused = name
            self.refusal = self.refusal or refusal
            raise IdentityChanged(refusal)


def check(identity: PinnedIdentity, configuration: Mapping[str, Any], secrets: Mapping[str, Any]) -> list[str]:
    """What differs from the plan's identity now (empty: nothing). Read-only calls only."""
    problems: list[str] = []
    if identity.aws_account is not None:
        from gameday.harness.chaosext.aws import caller_identity

        aws_secrets = secrets.get("aws") if isinstance(secrets.get("aws"), Mapping) else None
        try:
            account, region = caller_identity(dict(configuration), aws_secrets)
        except Exception as exc:  # ActivityFailed, botocore errors: no identity is a mismatch
            problems.append(f"AWS identity cannot be read ({type(exc).__name__}: {exc})")
        else:
            if account != identity.aws_account:
                problems.append(f"AWS account is now {account}, the plan checked {identity.aws_account}")
            if region != identity.aws_region:
                problems.append(f"AWS region is now {region}, the plan checked {identity.aws_region}")
    if identity.kube_context is not None:
        from gameday.harness.chaosext.k8s import kube_identity

        kube_secrets = secrets.get("kubernetes") if isinstance(secrets.get("kubernetes"), Mapping) else None
        try:
            path, context, server = kube_identity(kube_secrets)
        except Exception as exc:
            problems.append(f"kube context cannot be read ({type(exc).__name__}: {exc})")
        else:
            if context != identity.kube_context:
                problems.append(f"kube context is now {context!r}, the plan checked {identity.kube_context!r}")
            if path != identity.kubeconfig:
                problems.append(f"kubeconfig is now {path}, the plan checked {identity.kubeconfig}")
            if server != identity.kube_server:
                problems.append(f"context {context} points at {server}, the plan checked {identity.kube_server}")
    return problems
