"""Target drivers: bring the target up (sandbox) or check it (cluster, external), and back down.

The sandbox is driven through its command line (``python -m gameday.sandbox``), as a real cluster
is driven through its APIs: the harness imports nothing of it.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import requests

from gameday.harness.errors import BadInput, TargetUnavailable
from gameday.harness.profile import Profile
from gameday.harness.target import Endpoints, endpoints


def flatten(prefix: str, data: Any) -> list[str]:
    """``{"knobs": {"x": 1}}`` → ``["knobs.x=1"]`` (values as JSON), for ``sandbox up --set``."""
    import json

    if isinstance(data, dict):
        out: list[str] = []
        for k, v in data.items():
            out += flatten(f"{prefix}.{k}" if prefix else str(k), v)
        return out
    return [f"{prefix}={json.dumps(data) if not isinstance(data, str) else data}"]


def _sandbox_cli(profile: Profile, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "gameday.sandbox"]
    if profile.target.sandbox_state_dir is not None:
        argv += ["--state-dir", str(profile.target.sandbox_state_dir)]
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL)


def _ready(url: str, what: str) -> None:
    try:
        r = requests.get(url, timeout=5)
    except requests.exceptions.RequestException as exc:
        raise TargetUnavailable(f"{what} at {url} unreachable: {type(exc).__name__}") from None
    if r.status_code != 200:
        raise TargetUnavailable(f"{what} at {url} answered {r.status_code}")


def _prometheus_ready(ep: Endpoints) -> None:
    """Prometheus answers, with the profile's certificate checks and credentials
    (gameday.harness.promclient): a refused token or an unverifiable certificate says which field."""
    from gameday.harness import promclient

    try:
        c = promclient.client(promclient.at(ep.prometheus, ep.prometheus_access))
        try:
            c.ready()
        finally:
            c.close()
    except promclient.PrometheusError as exc:
        raise TargetUnavailable(str(exc)) from None


@dataclass
class Driver:
    """Base: a target someone else runs (external, cluster): check it, never start or stop it."""

    profile: Profile
    started: bool = False

    def prepare(self) -> Endpoints:
        ep = endpoints(self.profile)
        _ready(ep.api.rstrip("/") + "/healthz", "the API")
        _prometheus_ready(ep)
        return ep

    def teardown(self) -> None:
        return None


@dataclass
class SandboxDriver(Driver):
    """Brings the embedded sandbox up with the profile's settings, and down after the run."""

    keep_up: bool = False

    def prepare(self) -> Endpoints:
        sets = [a for kv in flatten("", self.profile.target.sandbox) for a in ("--set", kv)]
        try:
            r = _sandbox_cli(self.profile, "up", *sets)
        except BaseException:
            self.started = True  # interrupted half-way up: whatever came up goes down in teardown()
            raise
        if r.returncode == 64:
            raise BadInput(f"target.sandbox: {r.stderr.strip().removeprefix('sandbox: ')}")
        if r.returncode != 0:
            raise TargetUnavailable(f"sandbox: {r.stderr.strip().removeprefix('sandbox: ')}")
        self.started = True
        return super().prepare()

    def teardown(self) -> None:
        if self.started and not self.keep_up:
            _sandbox_cli(self.profile, "down")


def driver_for(profile: Profile, keep_up: bool = False) -> Driver:
    if profile.target.kind == "sandbox":
        return SandboxDriver(profile, keep_up=keep_up)
    return Driver(profile)
