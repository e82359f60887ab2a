"""The alerting part of a profile (checklist §5.4): where Alertmanager is, and what each fault must raise.

Two sections, imported by :mod:`gameday.harness.profile`:

* ``target.alertmanager`` (:class:`AlertmanagerAccess`): Alertmanager's URL and how to log in to it
  (basic auth or a bearer token, each a ``${ENV_VAR}`` reference, so no secret is written in the
  profile or the run directory), and optionally an endpoint listing what the receivers got (the
  sandbox has one; a real PagerDuty or Slack has none: the run then has Alertmanager's view alone).
  On the sandbox it is derived from ``ports.base`` and may be left out.
* ``checks.alerts`` (:class:`AlertChecks`): per fault, the alerts it must raise (alert name and/or
  label matchers, severity), within how many seconds of the injection they must fire and be
  notified, and within how many seconds of the recovery they must resolve; the receiver each
  severity is routed to; the severity that pages, which must not fire outside the fault windows.

The defaults follow the checklist: the DB failover raises a P1 (paged), the bad release and its
rollback log the P3 deployment event, and no P1 fires outside a fault's window.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gameday.harness.notify.config import REF, resolve

Severity = Literal["P1", "P2", "P3"]
SEVERITY_ROUTES: dict[Severity, str] = {"P1": "pager", "P2": "ops-channel", "P3": "log"}
FAULT_ID = r"^[a-z0-9][a-z0-9-]{0,62}$"  # as a profile's fault ids (a custom fault too)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlertmanagerAccess(_Strict):
    """Where the run reads alerts from (Alertmanager's v2 API, ``GET /api/v2/alerts``)."""

    url: str = Field(pattern=r"^https?://", description="Alertmanager's base URL")
    username: str | None = Field(None, description="basic auth user")
    password: str | None = Field(None, description="basic auth password: a ${ENV_VAR} reference")
    bearer_token: str | None = Field(None, description="an Authorization: Bearer token: a ${ENV_VAR} reference")
    receivers_url: str | None = Field(
        None, pattern=r"^https?://",
        description="an endpoint whose GET /notifications lists what the receivers got (the sandbox's); "
                    "none: only Alertmanager's own view (no notification times)")
    poll_s: float = Field(1.0, gt=0, le=60, description="Alertmanager is read this often during the run")

    @model_validator(mode="after")
    def _secrets_by_reference(self) -> AlertmanagerAccess:
        for name in ("password", "bearer_token"):
            v = getattr(self, name)
            if v is not None and not REF.fullmatch(v):
                raise ValueError(f"{name}: expected a ${{ENV_VAR}} reference, not the secret itself")
        if self.password is not None and self.username is None:
            raise ValueError("password without username")
        if self.password is not None and self.bearer_token is not None:
            raise ValueError("basic auth (username/password) or bearer_token, not both")
        return self

    def headers(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The Authorization header, resolved now (an unset variable is bad input, exit 64)."""
        import base64

        if self.bearer_token is not None:
            return {"Authorization": "Bearer " + resolve(self.bearer_token, "target.alertmanager.bearer_token",
                                                         environ)}
        if self.username is not None:
            pw = resolve(self.password, "target.alertmanager.password", environ) if self.password else ""
            token = base64.b64encode(f"{self.username}:{pw}".encode()).decode()
            return {"Authorization": f"Basic {token}"}
        return {}

    def secret_values(self, environ: Mapping[str, str] | None = None) -> set[str]:
        env = os.environ if environ is None else environ
        names = [n for v in (self.password, self.bearer_token) if v for n in REF.findall(v)]
        return {env[n] for n in names if env.get(n)}


class AlertExpectation(_Strict):
    """One alert a fault must raise: matched by name and/or labels, and by severity."""

    alertname: str | None = Field(None, min_length=1, description="the alert's name; unset = any name")
    matchers: dict[str, str] = Field(default_factory=dict, description="further labels, matched exactly")
    severity: Severity
    fire_within_s: float = Field(60, gt=0, le=3600, description="from the injection until it fires")
    notify_within_s: float | None = Field(
        None, gt=0, le=3600, description="from the injection until its receiver got it; unset = fire_within_s + 30")
    resolve_within_s: float | None = Field(
        120, gt=0, le=7200, description="from the recovery until it resolves; null = not judged (an event alert "
                                        "that stays for its own window)")

    @property
    def notify_bound_s(self) -> float:
        return self.notify_within_s if self.notify_within_s is not None else self.fire_within_s + 30

    def describe(self) -> str:
        parts = [f"alertname={self.alertname}"] if self.alertname else []
        parts += [f"{k}={v}" for k, v in sorted(self.matchers.items())] + [f"severity={self.severity}"]
        return "{" + ", ".join(parts) + "}"


def default_expectations() -> dict[str, list[AlertExpectation]]:
    """The checklist's (§5.4): a DB failover pages (P1, any name: System Down or 5xx); a bad
    release and its rollback log the deployment event (P3)."""
    return {
        "db-failover": [AlertExpectation(severity="P1", fire_within_s=30, notify_within_s=45, resolve_within_s=60)],
        "bad-release": [AlertExpectation(alertname="HyperCodeDeploymentRevisionChanged", severity="P3",
                                         fire_within_s=60, notify_within_s=75, resolve_within_s=None)],
    }


class AlertChecks(_Strict):
    """What ``alert_fired``, ``alert_routed``, ``alert_resolved`` and ``no_false_page`` judge."""

    expect: dict[str, list[AlertExpectation]] = Field(
        default_factory=default_expectations,
        description="per fault id, the alerts it must raise; a fault named here replaces its default, [] = none")
    routes: dict[Severity, str] = Field(default_factory=lambda: dict(SEVERITY_ROUTES),
                                        description="the receiver each severity must reach")
    page_severity: Severity = Field("P1", description="the severity that pages: never outside a fault window")
    page_grace_s: float = Field(
        120, ge=0, le=3600, description="a page that starts this long after its fault's window ended is still that "
                                        "fault's (it was caused by it), not a false page")

    @field_validator("expect", mode="before")
    @classmethod
    def _over_defaults(cls, v: Any) -> Any:
        if isinstance(v, dict):
            bad = sorted(str(k) for k in v if not re.fullmatch(FAULT_ID, str(k)))
            if bad:
                raise ValueError(f"not fault ids {bad}; expected lower-case ids such as db-failover")
            return {**default_expectations(), **v}
        return v

    @field_validator("routes", mode="before")
    @classmethod
    def _routes_over_defaults(cls, v: Any) -> Any:
        return {**SEVERITY_ROUTES, **v} if isinstance(v, dict) else v
