"""Where the target's API and Prometheus are, from the profile alone.

For the sandbox the addresses follow from its ``ports.base`` (17000 unless the profile's
``target.sandbox`` moves it), exactly as the sandbox lays them out; the harness does not
import the sandbox to learn them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gameday.harness.alert_config import AlertmanagerAccess
from gameday.harness.profile import Profile, PrometheusAccess

SANDBOX_DEFAULT_BASE = 17000


@dataclass(frozen=True)
class Endpoints:
    api: str
    prometheus: str
    control: str | None = None  # the sandbox's controller; None for a real cluster
    prometheus_access: PrometheusAccess = field(default_factory=PrometheusAccess)  # TLS, credentials
    alertmanager: AlertmanagerAccess | None = None  # where alerts are read (None: no alerting evidence)


def sandbox_base(settings: dict[str, Any]) -> int:
    ports = settings.get("ports", {})
    base = ports.get("base", SANDBOX_DEFAULT_BASE) if isinstance(ports, dict) else SANDBOX_DEFAULT_BASE
    return int(base)


def endpoints(profile: Profile) -> Endpoints:
    t = profile.target
    if t.kind == "sandbox":
        base = sandbox_base(t.sandbox)
        return Endpoints(api=t.api_url or f"http://127.0.0.1:{base}",
                         prometheus=t.prometheus_url or f"http://127.0.0.1:{base + 2}",
                         control=f"http://127.0.0.1:{base + 1}", prometheus_access=t.prometheus,
                         alertmanager=t.alertmanager or sandbox_alertmanager(t.sandbox, base))
    assert t.api_url and t.prometheus_url  # enforced by the profile schema
    return Endpoints(api=t.api_url, prometheus=t.prometheus_url, prometheus_access=t.prometheus,
                     alertmanager=t.alertmanager)


def sandbox_alertmanager(settings: dict[str, Any], base: int) -> AlertmanagerAccess | None:
    """The sandbox's Alertmanager (``ports.base`` + 4) and its receivers (+ 5), unless its
    ``alerting.enabled`` is false."""
    alerting = settings.get("alerting", {})
    if isinstance(alerting, dict) and alerting.get("enabled", True) is False:
        return None
    return AlertmanagerAccess(url=f"http://127.0.0.1:{base + 4}", receivers_url=f"http://127.0.0.1:{base + 5}")
