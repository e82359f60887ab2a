"""Finding the sandbox and talking HTTP to it, with every failure turned into ActivityFailed.

Chaos Toolkit records an activity as failed only when it raises; a raw ``requests``
traceback in a journal says little to the SRE reading it. So every call here either returns
decoded JSON or raises :class:`ActivityFailed` naming the URL, what went wrong and where the
endpoint came from (state directory or configuration key), which is usually the fix.

Configuration keys (all optional, set in the experiment's ``configuration`` block):

``sandbox_state_dir``        where ``sandbox.json`` lives; default ``$GAMEDAY_SANDBOX_DIR`` or
                             ``/tmp/gameday-sandbox``. The ports derive from ``ports.base``.
``sandbox_control_url``      the controller, overriding the state directory; the ingress and
                             Prometheus are then taken to be on its port - 1 and + 1.
``sandbox_ingress_url``      the ingress (``/healthz``, ``/version``), overriding the above.
``sandbox_prometheus_url``   Prometheus, overriding the above.
``sandbox_http_timeout``     seconds for a quick call (status, probes); default 10.
``sandbox_action_timeout``   seconds for a call the controller blocks on (drain, rollout with
                             ``wait``); default 600.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from chaoslib.exceptions import ActivityFailed

from gameday.sandbox.config import Ports

DEFAULT_STATE_DIR = "/tmp/gameday-sandbox"
DEFAULT_HTTP_TIMEOUT_S = 10.0
DEFAULT_ACTION_TIMEOUT_S = 600.0
_BODY_EXCERPT = 300

T = TypeVar("T")


class BadArgument(ActivityFailed):  # type: ignore[misc]  # chaoslib ships no type hints
    """A mistake in the experiment (unknown name, bad value): waiting will not fix it, so
    :func:`poll` gives up at once instead of at its timeout."""


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of the sandbox's HTTP surfaces, and where they were found (for errors)."""

    control: str
    ingress: str
    prometheus: str
    source: str


def state_dir(configuration: Mapping[str, Any] | None) -> Path:
    """The state directory: configuration, then ``$GAMEDAY_SANDBOX_DIR`` read now, then /tmp.

    The environment is read per call, not at import, so a harness that sets it after
    importing this module is still obeyed.
    """
    configured = (configuration or {}).get("sandbox_state_dir")
    return Path(configured or os.environ.get("GAMEDAY_SANDBOX_DIR") or DEFAULT_STATE_DIR)


def locate(configuration: Mapping[str, Any] | None) -> Endpoints:
    """Resolve the endpoints from the configuration, else from ``<state>/sandbox.json``."""
    cfg = configuration or {}
    control = cfg.get("sandbox_control_url")
    if control:
        control = str(control).rstrip("/")
        source = "configuration key sandbox_control_url"
        ingress, prometheus = _shift_port(control, -1), _shift_port(control, +1)
    else:
        ports = _ports_from_state(state_dir(cfg))
        source = f"{state_dir(cfg) / 'sandbox.json'} (ports.base {ports.base})"
        control = f"http://127.0.0.1:{ports.controller}"
        ingress = f"http://127.0.0.1:{ports.ingress}"
        prometheus = f"http://127.0.0.1:{ports.prometheus}"
    return Endpoints(
        control=control,
        ingress=str(cfg.get("sandbox_ingress_url") or ingress).rstrip("/"),
        prometheus=str(cfg.get("sandbox_prometheus_url") or prometheus).rstrip("/"),
        source=source,
    )


class SandboxClient:
    """Thin JSON-over-HTTP client for the controller, the ingress and Prometheus."""

    def __init__(self, endpoints: Endpoints, timeout_s: float, action_timeout_s: float) -> None:
        self.endpoints = endpoints
        self.timeout_s = timeout_s
        self.action_timeout_s = action_timeout_s
        self._session = requests.Session()
        # Never route loopback calls through an HTTP proxy set in the environment.
        self._session.trust_env = False

    def status(self) -> dict[str, Any]:
        """``GET /status`` of the controller."""
        data = self.control("GET", "/status")
        if not isinstance(data, dict):
            raise ActivityFailed(f"GET {self.endpoints.control}/status: expected a JSON object")
        return data

    def control(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, blocking: bool = False
    ) -> Any:
        """Call the controller; ``blocking`` calls get the long action timeout."""
        timeout = self.action_timeout_s if blocking else self.timeout_s
        resp = self.request(method, self.endpoints.control + path, "controller", body, timeout)
        return _json(resp, method)

    def request(
        self,
        method: str,
        url: str,
        what: str,
        body: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> requests.Response:
        """One HTTP call; a 2xx answer or ActivityFailed saying why not."""
        timeout = self.timeout_s if timeout is None else timeout
        try:
            resp = self._session.request(method, url, json=body, timeout=timeout)
        except requests.Timeout:
            raise ActivityFailed(
                f"{method} {url}: the sandbox {what} did not answer within {timeout:g}s"
            ) from None
        except requests.ConnectionError as exc:
            raise ActivityFailed(
                f"{method} {url}: cannot reach the sandbox {what} ({_reason(exc)}); "
                f"is the sandbox up? (address from {self.endpoints.source})"
            ) from None
        if not 200 <= resp.status_code < 300:
            raise ActivityFailed(
                f"{method} {url}: the sandbox {what} answered {resp.status_code}: {_excerpt(resp)}"
            )
        return resp

    def probe(self, url: str) -> int | None:
        """The status code of ``GET url``, or None when nothing answers: for health checks,
        where "down" is an answer rather than a failure of the probe."""
        try:
            return self._session.get(url, timeout=self.timeout_s).status_code
        except requests.RequestException:
            return None


def client(configuration: Mapping[str, Any] | None) -> SandboxClient:
    """A client for the sandbox the configuration points at."""
    cfg = configuration or {}
    return SandboxClient(
        locate(cfg),
        timeout_s=_seconds(cfg, "sandbox_http_timeout", DEFAULT_HTTP_TIMEOUT_S),
        action_timeout_s=_seconds(cfg, "sandbox_action_timeout", DEFAULT_ACTION_TIMEOUT_S),
    )


def poll(check: Callable[[], tuple[bool, T, str]], timeout: float, interval: float, what: str) -> T:
    """Call ``check`` until it reports done; ActivityFailed after ``timeout`` seconds.

    ``check`` returns (done, value, observation). An ActivityFailed raised by ``check`` (the
    controller restarting, say) counts as "not yet", because a wait exists precisely to ride
    out a disturbance; its message becomes the observation reported on timeout. A
    :class:`BadArgument` ends the wait at once.
    """
    timeout, interval = float(timeout), max(float(interval), 0.01)
    deadline = time.monotonic() + timeout
    observed = "nothing observed yet"
    while True:
        try:
            done, value, observed = check()
            if done:
                return value
        except BadArgument:
            raise
        except ActivityFailed as exc:
            observed = str(exc)
        if time.monotonic() + interval > deadline:
            raise ActivityFailed(f"timed out after {timeout:g}s waiting for {what}; last: {observed}")
        time.sleep(interval)


def as_bool(value: Any, name: str) -> bool:
    """A boolean argument; experiment files written by hand sometimes quote them."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise BadArgument(f"argument {name}: expected true or false, got {value!r}")


def _ports_from_state(directory: Path) -> Ports:
    path = directory / "sandbox.json"
    try:
        data = json.loads(path.read_text())
        return Ports(base=int(data["ports"]["base"]))
    except FileNotFoundError:
        raise ActivityFailed(
            f"no sandbox found: {path} does not exist; start one with `gameday sandbox up` or set "
            "the configuration key sandbox_state_dir (or sandbox_control_url)"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ActivityFailed(f"{path}: cannot read ports.base ({exc})") from None


def _shift_port(url: str, delta: int) -> str:
    parts = urlsplit(url)
    if parts.port is None or parts.hostname is None:
        raise BadArgument(f"sandbox_control_url {url!r} needs an explicit host and port")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return urlunsplit((parts.scheme, f"{host}:{parts.port + delta}", "", "", ""))


def _seconds(cfg: Mapping[str, Any], key: str, default: float) -> float:
    value = cfg.get(key, default)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise BadArgument(f"configuration key {key}: expected seconds, got {value!r}") from None
    if seconds <= 0:
        raise BadArgument(f"configuration key {key}: must be positive, got {value!r}")
    return seconds


def _json(resp: requests.Response, method: str) -> Any:
    if not resp.content:
        return {}
    try:
        return resp.json()
    except ValueError:
        raise ActivityFailed(f"{method} {resp.url}: expected JSON, got {_excerpt(resp)}") from None


def _excerpt(resp: requests.Response) -> str:
    """The controller's own error message when it sent one, else the start of the body."""
    try:
        data = resp.json()
        if isinstance(data, dict):
            for key in ("error", "detail", "message"):
                if isinstance(data.get(key), str):
                    return str(data[key])
    except ValueError:
        pass
    text = resp.text.strip() or "(empty body)"
    return text if len(text) <= _BODY_EXCERPT else text[:_BODY_EXCERPT] + "..."


def _reason(exc: requests.ConnectionError) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "Connection reset"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__
