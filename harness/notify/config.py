"""The profile's ``notify:`` section: where a run announces itself, and how its secrets are kept.

    notify:
      webhooks: [{url: "${SLACK_WEBHOOK_URL}", events: [run_started, verdict], timeout_s: 3}]
      grafana: {url: https://grafana.example, token: "${GRAFANA_TOKEN}", dashboard_uid: abc123}
      report_url: https://ci.example/artifacts/{run}/report.html

A webhook URL (Slack's carries its token) and the Grafana token are secrets: write them as
``${ENV_VAR}`` references, resolved only when the run starts (an unset variable is bad input,
exit 64, before anything starts), or literally — then they are masked in the resolved
``profile.yaml`` and added to the run's redactor either way, so they never reach the run
directory.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from typing import Literal, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

from gameday.harness.errors import BadInput
from gameday.harness.redact import MASK

NotifyEvent = Literal["run_started", "fault_started", "fault_ended", "run_aborted", "run_interrupted",
                      "run_failed", "verdict"]
EVENTS: tuple[NotifyEvent, ...] = get_args(NotifyEvent)

REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
REPORT_FIELDS = {"run", "profile"}


def _http_url(v: str) -> bool:
    parts = urlsplit(v)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _check_ref(v: str) -> str:
    if "${" in REF.sub("", v):
        raise ValueError("malformed ${...} reference: expected ${ENV_VAR} (letters, digits, _)")
    return v


def _check_ref_or_url(v: str) -> str:
    """A literal http(s) URL, or a value with ``${ENV_VAR}`` references (resolved and checked at run start)."""
    if REF.search(_check_ref(v)):
        return v
    if not _http_url(v):
        raise ValueError("expected an http(s) URL (or an ${ENV_VAR} reference to one)")
    return v


def _masked(v: str) -> str:
    """What the resolved profile.yaml shows of a secret: a reference as written, a literal masked."""
    return v if REF.search(v) else MASK


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Webhook(_Strict):
    """A Slack-compatible incoming webhook: JSON ``{"text": ..., "attachments": [...]}``."""

    url: str = Field(min_length=1, description="a secret: ${ENV_VAR} or literal (masked in profile.yaml)")
    events: list[NotifyEvent] = Field(default_factory=lambda: list(EVENTS), min_length=1,
                                      description="which announcements go to this webhook; default all")
    timeout_s: float = Field(3.0, gt=0, le=30, description="per POST")

    _url = field_validator("url")(_check_ref_or_url)
    _mask = field_serializer("url")(_masked)


class Grafana(_Strict):
    """gameday's own annotations, through Grafana's HTTP API (``POST /api/annotations``)."""

    url: str = Field(min_length=1, description="Grafana's base URL")
    token: str = Field(min_length=1, description="service-account token (Bearer): ${ENV_VAR} or literal")
    dashboard_uid: str | None = Field(None, min_length=1, max_length=40,
                                      description="tie the annotations to one dashboard; default: organization-wide")
    tags: list[str] | None = Field(None, description="default [gameday, <profile name>]")
    timeout_s: float = Field(3.0, gt=0, le=30, description="per POST")

    _url = field_validator("url")(_check_ref_or_url)
    _token = field_validator("token")(_check_ref)
    _mask = field_serializer("token")(_masked)


class Notify(_Strict):
    """Announcements of a run (``gameday run`` only); a failing one never fails or stalls the run."""

    webhooks: list[Webhook] = Field(default_factory=list)
    grafana: Grafana | None = None
    report_url: str | None = Field(None, description="where CI publishes report.html: {run} = run directory "
                                                     "name, {profile} = profile name")
    flush_s: float = Field(5.0, gt=0, le=60, description="at most this long spent delivering what is "
                                                         "left at the end of the run")

    @field_validator("report_url")
    @classmethod
    def _report_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(v) if f is not None}
        except ValueError as exc:
            raise ValueError(f"not a valid template ({exc})") from None
        unknown = sorted(fields - REPORT_FIELDS)
        if unknown:
            raise ValueError(f"unknown placeholders {unknown}; expected some of {sorted(REPORT_FIELDS)}")
        if not _http_url(v.format(run="r", profile="p")):
            raise ValueError("expected an http(s) URL")
        return v

    @property
    def enabled(self) -> bool:
        return bool(self.webhooks or self.grafana)

    def secret_values(self, environ: Mapping[str, str] | None = None) -> set[str]:
        """Every secret this section names, as far as it resolves: for the run's redactor."""
        env = os.environ if environ is None else environ
        raw = [w.url for w in self.webhooks] + ([self.grafana.token] if self.grafana else [])
        out: set[str] = set()
        for value in raw:
            out.add(REF.sub(lambda m: env.get(m.group(1), m.group(0)), value))
            out.update(env[name] for name in REF.findall(value) if env.get(name))
        return {v for v in out if v and not REF.search(v)}


def resolve(value: str, field: str, environ: Mapping[str, str] | None = None) -> str:
    """``value`` with its ``${ENV_VAR}`` references replaced; an unset or empty one is bad input."""
    env = os.environ if environ is None else environ
    missing = [n for n in REF.findall(value) if not env.get(n)]
    if missing:
        raise BadInput(f"{field}: environment variable {missing[0]} is not set (or empty)")
    return REF.sub(lambda m: env[m.group(1)], value)


def resolve_url(value: str, field: str, environ: Mapping[str, str] | None = None) -> str:
    url = resolve(value, field, environ)
    if not _http_url(url):
        raise BadInput(f"{field}: resolves to something that is not an http(s) URL")
    return url
