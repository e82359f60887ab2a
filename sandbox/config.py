"""The sandbox's configuration: ports, HA timings and the knobs that break it on purpose.

One pydantic model, validated strictly (unknown keys are errors), so a typo in a knob is
refused with the field's name instead of being silently ignored. ``gameday sandbox up``
resolves it once and writes it to ``<state>/sandbox.json``; every process of the sandbox
(controller, pods) reads that file, so they all agree on ports and knobs.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_STATE_DIR = Path(os.environ.get("GAMEDAY_SANDBOX_DIR", "/tmp/gameday-sandbox"))
NODES = ("node-a", "node-b", "node-c")
DB_INSTANCES = ("db-a", "db-b")
REDIS_INSTANCES = ("redis-a", "redis-b")
SENTINELS = ("sentinel-a", "sentinel-b", "sentinel-c")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Knobs(_Strict):
    """Ways to make the target misbehave, for proving the verdict (all off by default)."""

    extra_latency_ms: float = Field(0.0, ge=0, le=10_000, description="added to every API request")
    auto_rollback: bool = Field(True, description="roll a release back after >3 failed health checks")
    warm_pool_size: int = Field(200, ge=0, le=500, description="target size of the warm agent pool")
    replication: Literal["sync", "async"] = Field("sync", description="Postgres standby replication")
    crew_spawn_503_ratio: float = Field(
        0.0, ge=0, le=1,
        description="share of POST /v1/crews answered 503 at once: no crew assembled, no mission stored")
    crew_spawn_slow_ratio: float = Field(
        0.0, ge=0, le=1, description="share of POST /v1/crews delayed by crew_spawn_slow_ms (drawn apart "
                                     "from the 503 share)")
    crew_spawn_slow_ms: float = Field(0.0, ge=0, le=10_000, description="the delay of a slowed crew spawn")
    mission_fail_ratio: float = Field(
        0.0, ge=0, le=1, description="share of the missions workers run that end 'failed' (after their work)")
    mission_stuck_ratio: float = Field(
        0.0, ge=0, le=1, description="share of missions left 'running' for ever, with no worker: nothing "
                                     "completes or rescues them")

    @model_validator(mode="after")
    def _one_fate_per_mission(self) -> Knobs:
        """A mission's fate is one draw: failed, stuck or completed, so the shares must fit in 1."""
        if self.mission_fail_ratio + self.mission_stuck_ratio > 1:
            raise ValueError(f"mission_fail_ratio + mission_stuck_ratio must be at most 1 (got "
                             f"{self.mission_fail_ratio} + {self.mission_stuck_ratio})")
        return self


TIMING_PRESETS: dict[str, dict[str, float | int]] = {
    # the field defaults: every fault over in seconds, for CI and the smoke run
    "fast": {},
    # each fault lasting what it lasts on AWS and Kubernetes (sources in Timings' docstring)
    "realistic": {
        "db_failover_detection_s": 90.0,
        "redis_down_after_ms": 20_000,
        "redis_restart_delay_s": 60.0,
        "health_check_interval_s": 10.0,
        "health_check_failure_threshold": 3,
        "pod_termination_grace_s": 30.0,
    },
}


class Timings(_Strict):
    """How fast the stand-ins for managed services react (seconds).

    ``preset`` fills every field not given explicitly (``timings: {preset: realistic,
    db_failover_detection_s: 70}`` is the realistic preset with a 70 s failover):

    ``fast`` (default)
        The field defaults: a database failover in ~6 s, a Redis one in ~2 s, probes every
        second. Every fault is over in seconds, so CI can run all four in about two minutes.
    ``realistic``
        What each fault lasts in production, so the harness holds and judges real outages:

        - RDS Multi-AZ failover, 90 s of detection (the sandbox then promotes in ~1-2 s): "Failover
          times are typically 60-120 seconds" (Amazon RDS User Guide, "Failing over a Multi-AZ DB
          instance", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZ.Failover.html).
          90 s is the middle of that range and inside the checklist's 120 s bound.
        - ElastiCache primary failover, 20 s before the replica is promoted (Sentinel
          down-after-milliseconds 20000). AWS publishes no figure for an unplanned failover on
          current engines (the ElastiCache User Guide's "Minimizing downtime ... with Multi-AZ" says
          only that Multi-AZ minimizes it; its 2015-02-02 edition said the promotion "generally takes
          just a few minutes"). 20 s is an assumption inside the checklist's 30 s bound: a real
          failover slower than 30 s fails recovery_time, which is what a game day must show. The
          failed node is replaced after 60 s (it returns as a replica).
        - Kubernetes probes at their defaults: periodSeconds 10, failureThreshold 3 ("Configure
          Liveness, Readiness and Startup Probes", https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/),
          so a bad release is rolled back on its 4th failed check, 30-40 s in; and
          terminationGracePeriodSeconds 30 (its default, "Pod Lifecycle").
        - A node drain paced like a PodDisruptionBudget with maxUnavailable 0: each pod's
          replacement must pass a 10 s-period readiness probe before the old pod is evicted and
          drained (a third of its 30 s grace), one pod at a time, as ``kubectl drain`` retries an
          eviction the budget refuses ("Safely Drain a Node", https://kubernetes.io/docs/tasks/administer-cluster/safely-drain-node/).
    """

    preset: Literal["fast", "realistic"] = Field(
        "fast", description="fills the fields not given: fast (seconds, CI) | realistic (AWS/Kubernetes durations)")
    db_failover_detection_s: float = Field(5.0, ge=0, le=300, description="RDS detection delay")
    redis_down_after_ms: int = Field(1500, ge=100, le=60_000, description="Sentinel down-after")
    redis_restart_delay_s: float = Field(8.0, ge=0, le=300, description="a killed Redis comes back")
    health_check_interval_s: float = Field(1.0, gt=0, le=60)
    health_check_failure_threshold: int = Field(3, ge=1, le=20, description="rollback when exceeded")
    pod_termination_grace_s: float = Field(10.0, gt=0, le=120)
    cold_start_s: float = Field(3.0, ge=0, le=60, description="agent start-up without the pool")
    warm_start_s: float = Field(0.05, ge=0, le=60, description="attaching a pre-started agent")
    task_s: float = Field(0.5, ge=0, le=60, description="simulated work per agent task")
    watchdog_interval_s: float = Field(2.0, gt=0, le=60)
    mission_requeue_after_s: float = Field(15.0, gt=0, le=600)

    @model_validator(mode="before")
    @classmethod
    def _preset_under_fields(cls, data: Any) -> Any:
        """The preset's values first, the fields given explicitly over them. An unknown preset is
        left to the field's validation (an error naming timings.preset and the choices)."""
        if isinstance(data, dict) and isinstance(data.get("preset"), str) and data["preset"] in TIMING_PRESETS:
            return {**TIMING_PRESETS[data["preset"]], **data}
        return data


class HpaPolicy(_Strict):
    """One HorizontalPodAutoscaler (autoscaling/v2) as the controller runs it: bounds, target and
    behavior. ``target`` is a CPU utilisation in % of the pod's CPU request (core-api) or a queue
    depth (worker, an External metric with a ``Value`` target: the queue over ``target`` scales out)."""

    min_replicas: int = Field(ge=1, le=20)
    max_replicas: int = Field(ge=1, le=20)
    target: float = Field(gt=0, le=100_000)
    scale_up_window_s: float = Field(ge=0, le=3600, description="behavior.scaleUp.stabilizationWindowSeconds")
    scale_down_window_s: float = Field(ge=0, le=3600, description="behavior.scaleDown.stabilizationWindowSeconds")
    scale_up_policy: Literal["Max", "Disabled"] = Field(
        "Max", description="behavior.scaleUp.selectPolicy: Disabled never scales out (a mutant)")
    enabled: bool = Field(True, description="false: no HPA for this deployment, its replicas fixed (a mutant: "
                                            "workers that do not scale on the queue depth)")

    @model_validator(mode="after")
    def _bounds(self) -> HpaPolicy:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas {self.min_replicas} is above max_replicas {self.max_replicas}")
        return self


_CHECKLIST_WINDOWS = {"scale_up_window_s": 30.0, "scale_down_window_s": 300.0}
AUTOSCALING_PRESETS: dict[str, dict[str, dict[str, float | int]]] = {
    # checklist §6.2 as written: core API CPU 60 % 3..15, workers queue_depth > 100 2..20, up 30 s, down 300 s
    "checklist": {"api": {"min_replicas": 3, "max_replicas": 15, "target": 60.0, **_CHECKLIST_WINDOWS},
                  "worker": {"min_replicas": 2, "max_replicas": 20, "target": 100.0, **_CHECKLIST_WINDOWS}},
    # the same targets and windows with bounds this 2-core machine can hold (a pod is a process here)
    "small": {"api": {"min_replicas": 2, "max_replicas": 4, "target": 60.0, **_CHECKLIST_WINDOWS},
              "worker": {"min_replicas": 1, "max_replicas": 3, "target": 100.0, **_CHECKLIST_WINDOWS}},
}


class Autoscaling(_Strict):
    """The two HPAs of §6.2 (off by default: the sandbox then runs ``replicas`` as fixed).

    ``preset`` fills every HPA field not given, as ``timings.preset`` does: ``checklist`` is §6.2 as
    written (15 + 20 pods at most, more than 2 cores hold), ``small`` keeps the targets and windows and
    scales the bounds down (core-api 2..4, worker 1..3). ``api_cpu_request_cores`` is the core-api pod's
    CPU request: utilisation = the pod's CPU use (``/proc/<pid>/stat``) over it."""

    enabled: bool = False
    preset: Literal["checklist", "small"] = "checklist"
    api: HpaPolicy
    worker: HpaPolicy
    tolerance: float = Field(0.1, ge=0, lt=1, description="no change while |metric/target - 1| <= this")
    sync_period_s: float = Field(2.0, gt=0, le=60, description="--horizontal-pod-autoscaler-sync-period (15 s "
                                                               "on Kubernetes)")
    api_cpu_request_cores: float = Field(0.2, gt=0, le=16, description="a core-api pod's CPU request")
    cpu_window_s: float = Field(10.0, gt=0, le=120, description="CPU use is a rate over this (metrics-server: 15 s)")

    @model_validator(mode="before")
    @classmethod
    def _preset_under_fields(cls, data: Any) -> Any:
        """The preset's HPA fields first, the ones given over them (an unknown preset is left to the
        field's validation, which names it)."""
        if not isinstance(data, dict):
            return data
        preset = data.get("preset", "checklist")
        base = AUTOSCALING_PRESETS.get(preset) if isinstance(preset, str) else None
        if base is None:
            return data
        out = dict(data)
        for hpa in ("api", "worker"):
            given = data.get(hpa, {})
            out[hpa] = {**base[hpa], **given} if isinstance(given, dict) else given
        return out


class Replicas(_Strict):
    api: int = Field(3, ge=1, le=12)
    worker: int = Field(2, ge=1, le=12)
    worker_concurrency: int = Field(32, ge=1, le=500)


class Ports(_Strict):
    """Every listening port; all on 127.0.0.1 and below 32768."""

    base: int = Field(17000, ge=1024, le=32000)

    @property
    def ingress(self) -> int:
        return self.base

    @property
    def controller(self) -> int:
        return self.base + 1

    @property
    def prometheus(self) -> int:
        return self.base + 2

    @property
    def pgbouncer(self) -> int:
        return self.base + 3

    @property
    def alertmanager(self) -> int:
        return self.base + 4

    @property
    def alert_receiver(self) -> int:
        """The webhook endpoint standing in for the pager, the ops channel and the log."""
        return self.base + 5

    def db(self, instance: str) -> int:
        return self.base + 10 + DB_INSTANCES.index(instance)

    def redis(self, instance: str) -> int:
        return self.base + 20 + REDIS_INSTANCES.index(instance)

    def sentinel(self, name: str) -> int:
        return self.base + 25 + SENTINELS.index(name)

    @property
    def pod_range(self) -> range:
        return range(self.base + 100, self.base + 200)

    def fixed(self) -> dict[str, int]:
        """Every port known before any pod is scheduled, by the component that owns it."""
        out = {
            "ingress": self.ingress,
            "controller": self.controller,
            "prometheus": self.prometheus,
            "pgbouncer": self.pgbouncer,
            "alertmanager": self.alertmanager,
            "alert-receiver": self.alert_receiver,
        }
        out.update({i: self.db(i) for i in DB_INSTANCES})
        out.update({i: self.redis(i) for i in REDIS_INSTANCES})
        out.update({s: self.sentinel(s) for s in SENTINELS})
        return out

    @model_validator(mode="after")
    def _below_32768(self) -> Ports:
        if self.pod_range.stop > 32768:
            raise ValueError(f"base {self.base} puts pod ports above 32767; use a base <= 32568")
        return self


Receiver = Literal["pager", "ops-channel", "log"]


class Alerting(_Strict):
    """Alertmanager and its receivers (checklist §5.4), with intervals short enough for a fault of
    seconds, and three ways to break the alerting on purpose (all off by default).

    Alertmanager groups by alert name and severity, waits ``group_wait_s`` before a group's first
    notification and ``group_interval_s`` between updates (Alertmanager's defaults, 30 s and 5 m,
    would hide a whole sandbox fault); Prometheus evaluates the rules at the scrape interval.
    """

    enabled: bool = Field(True, description="run Alertmanager and the receivers")
    group_wait_s: float = Field(1.0, gt=0, le=300, description="before a group's first notification")
    group_interval_s: float = Field(2.0, gt=0, le=600, description="between notifications of one group")
    p1_receiver: Receiver = Field("pager", description="where P1 is routed (mutant: ops-channel)")
    db_down_for_s: float = Field(2.0, gt=0, le=600,
                                 description="the 'for:' of the P1 HyperCodeDatabaseDown (mutant: longer than "
                                             "the outage)")
    false_page: bool = Field(False, description="mutant: a P1 rule that fires all the time")


class SandboxConfig(_Strict):
    """Everything ``sandbox up`` needs; written resolved to ``<state>/sandbox.json``."""

    state_dir: Path = DEFAULT_STATE_DIR
    ports: Ports = Ports()
    knobs: Knobs = Knobs()
    timings: Timings = Timings()
    replicas: Replicas = Replicas()
    autoscaling: Autoscaling = Field(default_factory=lambda: Autoscaling.model_validate({}))
    scrape_interval_s: float = Field(1.0, gt=0, le=60)
    alerting: Alerting = Alerting()

    @property
    def max_surge(self) -> int:
        """maxSurge 25 % of the API replicas, rounded up as Kubernetes does."""
        return max(1, math.ceil(self.replicas.api * 0.25))

    @property
    def max_unavailable(self) -> int:
        """maxUnavailable 25 %, rounded down as Kubernetes does."""
        return math.floor(self.replicas.api * 0.25)


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the source and the field."""


def parse_set(pairs: list[str]) -> dict[str, Any]:
    """Turn ``a.b=c`` strings into a nested dict; values are parsed as JSON when they can be."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set {pair!r}: expected path.to.field=value")
        path, raw = pair.split("=", 1)
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node = out
        keys = path.strip().split(".")
        if not all(keys):
            raise ConfigError(f"--set {pair!r}: empty field name in {path!r}")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {pair!r}: {key!r} is set twice")
        node[keys[-1]] = value
    return out


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``over`` onto ``base`` without changing either."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def build(raw: dict[str, Any], source: str) -> SandboxConfig:
    """Validate ``raw``; on failure raise ConfigError naming ``source`` and each bad field."""
    try:
        return SandboxConfig.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "(root)"
            if err["type"] == "extra_forbidden":
                lines.append(f"{source}: unknown field {field!r}")
            else:
                lines.append(f"{source}: {field}: {err['msg']} (got {err.get('input')!r})")
        raise ConfigError("\n".join(lines)) from None


def load_file(path: Path) -> dict[str, Any]:
    """Read a YAML or JSON sandbox config file into a dict."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def config_path(state_dir: Path) -> Path:
    return state_dir / "sandbox.json"


def save(cfg: SandboxConfig) -> None:
    """Write the resolved config atomically, so a reader never sees half a file."""
    path = config_path(cfg.state_dir)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(cfg.model_dump_json(indent=2))
    os.replace(tmp, path)


def load(state_dir: Path) -> SandboxConfig:
    """Read the resolved config of a sandbox that ``up`` has written."""
    path = config_path(state_dir)
    try:
        return SandboxConfig.model_validate_json(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no sandbox configured in {state_dir}") from None
