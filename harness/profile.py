"""The profile: what a run targets, how it loads it, which faults it injects, what it judges.

A strict pydantic schema (unknown fields are errors) read from YAML, with ``--set
path.to.field=value`` overrides validated exactly like the file. A bad profile raises
:class:`ProfileError` whose message names the file, the field and what was expected; the
CLI turns that into exit 64 before anything is started.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gameday.contract.checks import (
    AUTOSCALING_CHECKS,
    CHECK_IDS,
    CHECKLIST_HPAS,
    DEFAULT_CREW_OPERATION,
    DEFAULT_RECOVERY_S,
    DEFAULTS,
    FAULT_IDS,
    CheckId,
    FaultId,
)
from gameday.harness.alert_config import AlertChecks, AlertmanagerAccess
from gameday.harness.errors import BadInput
from gameday.harness.notify.config import Notify

__all__ = ["CHECK_IDS", "DEFAULT_RECOVERY_S", "FAULT_IDS", "CheckId", "FaultId"]  # stated in gameday.contract.checks


class ProfileError(BadInput):
    """A profile that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AllowList(_Strict):
    """What a cluster run may touch; anything else is refused before it is injected."""

    kube_contexts: list[str] = Field(default_factory=list, description="exact kube context names")
    aws_accounts: list[str] = Field(default_factory=list, description="12-digit account ids")
    aws_regions: list[str] = Field(default_factory=list)
    resource_patterns: list[str] = Field(default_factory=lambda: ["hypercode-*"],
                                         description="globs every targeted resource name must match")
    providers: list[str] = Field(
        default_factory=list,
        description="providers a cluster experiment may call besides chaosaws, chaosk8s and gameday.harness.chaosext: "
                    "a Python module (its functions run as probes only), 'process:<exact path>' or "
                    "'http:<exact url>'")

    def allows_resource(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in self.resource_patterns)


class RollbackMechanism(_Strict):
    """What rolls a bad release back on the cluster (§4.2): Kubernetes never does it by itself.
    The plan checks it is there before a bad release is shipped, and refuses the release when the
    profile names nothing, unless ``none-expected`` says that nothing rolling it back is the test.

    ``argo-rollouts``: the Argo Rollouts ``Rollout`` named ``name`` (argoproj.io/v1alpha1);
    ``pipeline-job``: the ``CronJob`` named ``name`` that watches the release and runs
    ``kubectl rollout undo`` (not suspended); ``hypercode-controller``: HyperCode's own controller,
    the ``Deployment`` named ``name``, with an available replica; ``none-expected``: nothing."""

    mechanism: Literal["argo-rollouts", "pipeline-job", "hypercode-controller", "none-expected"]
    name: str | None = Field(None, min_length=1, description="the Rollout, CronJob or controller Deployment")
    namespace: str | None = Field(None, min_length=1, description="where it lives; default target.cluster.namespace")

    @model_validator(mode="after")
    def _named(self) -> RollbackMechanism:
        if self.mechanism != "none-expected" and not self.name:
            raise ValueError(f"mechanism {self.mechanism!r} needs 'name' (the object the plan checks exists)")
        return self


class ClusterTarget(_Strict):
    """A real EKS + AWS deployment of HyperCode."""

    kube_context: str
    namespace: str = "hypercode-core"
    deployment: str = "hypercode-core"
    aws_region: str
    aws_account_id: str = Field(pattern=r"^\d{12}$")
    db_instance: str | None = Field(None, description="RDS Multi-AZ instance id")
    db_cluster: str | None = Field(None, description="Aurora cluster id (instead of db_instance)")
    db_failover_target: str | None = Field(None, description="Aurora instance to promote")
    replication_group: str | None = Field(None, description="ElastiCache replication group id")
    cache_node_group: str = Field("0001", pattern=r"^\d{4}$",
                                  description="ElastiCache shard (node group) whose primary fails over")
    node_group: str | None = Field(None, description="label selector value of the nodes to drain")
    node_label: str = Field("eks.amazonaws.com/nodegroup", min_length=1,
                            description="node label whose value is node_group")
    kubeconfig: Path | None = Field(None, description="kubeconfig file; default $KUBECONFIG or ~/.kube/config")
    container: str | None = Field(None, description="container of the deployment whose image a release sets; "
                                                    "default its first container")
    bad_image: str | None = Field(None, min_length=1,
                                  description="image of the core service that fails its health checks (bad release)")
    redis_namespace: str | None = Field(None, description="namespace of a Redis running in the cluster")
    redis_primary_selector: str | None = Field(None, description="label selector of that Redis's primary pod")
    rollback: RollbackMechanism | None = Field(
        None, description="what performs the automatic rollback of a bad release; required for a bad-release fault")
    allow: AllowList = AllowList()


class BasicAuth(_Strict):
    """HTTP basic auth; the password is read from a variable or a file, never written here."""

    username: str = Field(min_length=1)
    password_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                                     description="environment variable holding the password")
    password_file: Path | None = Field(None, description="file holding the password")

    @model_validator(mode="after")
    def _one_password(self) -> BasicAuth:
        if (self.password_env is None) == (self.password_file is None):
            raise ValueError("give exactly one of password_env, password_file")
        return self


class SigV4(_Strict):
    """AWS Signature Version 4 (Amazon Managed Prometheus): botocore signs every request with the
    default credential chain, or the named credentials profile."""

    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    service: str = Field("aps", pattern=r"^[a-z0-9-]+$")
    aws_profile: str | None = Field(None, min_length=1)


class PrometheusAccess(_Strict):
    """How the target's Prometheus is reached (harness/promclient.py): TLS always verified, with
    ``ca_bundle`` for a private CA; at most one kind of credentials, each a reference to a file or
    an environment variable (the secret itself is never in a profile, nor in a run directory)."""

    url: str | None = Field(None, description="same as target.prometheus_url (give either)")
    ca_bundle: Path | None = Field(None, description="PEM file of the CA(s) that sign Prometheus's certificate")
    bearer_token_file: Path | None = Field(None, description="file holding a bearer token")
    bearer_token_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                                         description="environment variable holding a bearer token")
    basic_auth: BasicAuth | None = None
    sigv4: SigV4 | None = None
    timeout_s: float = Field(10, gt=0, le=120, description="per request")

    @model_validator(mode="after")
    def _one_auth(self) -> PrometheusAccess:
        given = [name for name, v in (("bearer_token_file", self.bearer_token_file),
                                      ("bearer_token_env", self.bearer_token_env),
                                      ("basic_auth", self.basic_auth), ("sigv4", self.sigv4)) if v is not None]
        if len(given) > 1:
            raise ValueError(f"give at most one kind of credentials; got {', '.join(given)}")
        return self


class Target(_Strict):
    kind: Literal["sandbox", "cluster", "external"] = "sandbox"
    api_url: str | None = Field(None, description="HyperCode API base URL (behind the ingress)")
    prometheus_url: str | None = None
    prometheus: PrometheusAccess = Field(default_factory=PrometheusAccess,
                                         description="TLS and credentials of the target's Prometheus")
    sandbox: dict[str, Any] = Field(default_factory=dict,
                                    description="sandbox settings, as for 'gameday sandbox up --set'")
    sandbox_state_dir: Path | None = None
    cluster: ClusterTarget | None = None
    alertmanager: AlertmanagerAccess | None = Field(
        None, description="Alertmanager's v2 API (alerting checks, §5.4); on the sandbox derived from its ports")

    @model_validator(mode="before")
    @classmethod
    def _one_url(cls, data: Any) -> Any:
        """``prometheus.url`` and ``prometheus_url`` are one setting: either fills the other."""
        if isinstance(data, dict) and isinstance(data.get("prometheus"), dict) and data["prometheus"].get("url"):
            url, flat = data["prometheus"]["url"], data.get("prometheus_url")
            if flat and flat != url:
                raise ValueError(f"prometheus.url ({url}) and prometheus_url ({flat}) differ; give one")
            data = {**data, "prometheus_url": url}
        return data

    @model_validator(mode="after")
    def _kind_needs(self) -> Target:
        if self.kind == "cluster" and self.cluster is None:
            raise ValueError("kind 'cluster' needs a 'cluster' section")
        if self.kind in ("cluster", "external") and not (self.api_url and self.prometheus_url):
            raise ValueError(f"kind {self.kind!r} needs api_url and prometheus_url")
        return self


class Load(_Strict):
    """The Locust load: any locustfile, closed (users) or open (arrival rate) model."""

    locustfile: Path = Path("loadtests/crew_spawn.py")
    users: int = Field(100, ge=0, le=10_000, description="closed model; 0 with an arrival rate = open model only")
    spawn_rate: float = Field(20.0, gt=0, le=1000, description="users started per second")
    workers: int = Field(0, ge=0, le=64, description="0 = one local process; N = master + N workers")
    remote_workers: int = Field(0, ge=0, le=1024,
                                description="workers elsewhere (pods, hosts) the master also waits for; they "
                                            "connect to master_bind and send their rows to the master")
    master_bind: str = Field("127.0.0.1:0",
                             description="host:port the Locust master listens on for workers; port 0 = a free "
                                         "one of 15500-15599 (local workers only); 0.0.0.0:5557 in a cluster")
    workers_wait_s: int = Field(300, ge=1, le=3600,
                                description="every worker must have connected within this, or the load fails")
    arrival_rate_per_min: float | None = Field(
        None, gt=0, le=600_000,
        description="open model: crews started per minute whatever the target's speed")
    env: dict[str, str] = Field(default_factory=dict, description="environment for the locustfile")

    @field_validator("master_bind")
    @classmethod
    def _host_port(cls, v: str) -> str:
        import ipaddress

        host, sep, port = v.rpartition(":")
        try:
            ipaddress.IPv4Address(host)
            ok = bool(sep) and port.isdigit() and 0 <= int(port) <= 65535
        except ValueError:
            ok = False
        if not ok:
            raise ValueError("expected IPv4-address:port with a port of 0-65535, such as 0.0.0.0:5557 "
                             "(0.0.0.0 = every interface; port 0 = pick a free one)")
        return v

    @model_validator(mode="after")
    def _sends_something(self) -> Load:
        if self.users == 0 and not self.arrival_rate_per_min:
            raise ValueError("users is 0 and there is no arrival_rate_per_min: nothing would be sent")
        if self.remote_workers and self.master_bind.endswith(":0"):
            raise ValueError(f"remote_workers {self.remote_workers} needs a fixed port in master_bind "
                             f"(got {self.master_bind!r}; e.g. 0.0.0.0:5557): remote workers must know where "
                             f"to connect")
        return self


class Spike(_Strict):
    """A step of load after the baseline (§6.2): ``users`` for ``hold_s`` (phase ``spike``), then
    back to ``load.users`` for ``settle_s`` (phase ``after-spike``: the scale-in and the queue's
    draining are judged there), before the faults and the cool-down. Driven by a Locust
    LoadTestShape (harness/load/shape.py); closed model only."""

    users: int = Field(ge=1, le=10_000, description="users during the spike (load.users before and after)")
    hold_s: float = Field(60, gt=0, le=3600, description="how long the spike lasts")
    spawn_rate: float | None = Field(None, gt=0, le=1000, description="users started per second; default "
                                                                       "load.spawn_rate")
    settle_s: float = Field(60, ge=0, le=7200, description="back at load.users before the next phase")


class Phases(_Strict):
    warmup_s: float = Field(20, ge=0, le=3600)
    baseline_s: float = Field(30, ge=0, le=3600)
    cooldown_s: float = Field(20, ge=0, le=3600)
    spike: Spike | None = Field(None, description="a load spike after the baseline (autoscaling, §6.2)")


class GuardSettings(_Strict):
    """When to abort a run: its faults are stopped and rolled back, the run exits 3.

    A fault's own outage is not the guard's to stop: from its injection until its recovery bound
    (``checks.recovery_s``) plus ``fault_grace_s`` have passed, its errors are what recovery_time
    judges, so they do not count toward ``abort_for_s`` (an RDS failover of 60-120 s is judged, not
    aborted). Outside any fault's outage the error line applies as is. The abort reason names the
    rule that fired (``harness/guard.py``: error-ratio, error-ratio-past-recovery-bound,
    fault-past-its-bound)."""

    abort_error_ratio: float = Field(0.5, gt=0, le=1,
                                     description="failed / all requests, per second (Locust's 10 s rate); "
                                                 "applies outside fault outages, and inside one only once its "
                                                 "checks.recovery_s + fault_grace_s have passed since injection")
    abort_for_s: float = Field(30, gt=0, le=3600,
                               description="...sustained this long (a fault's excused outage does not count)")
    fault_grace_s: float = Field(60, ge=0, le=3600,
                                 description="a fault still running this long after observe_s + recover_s is "
                                             "stopped and rolled back; and a fault's errors are excused this long "
                                             "after its recovery bound (checks.recovery_s) since injection")


FAULT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


class Fault(_Strict):
    """One fault: any Chaos Toolkit experiment, run under load and judged by recovery_time against its
    bound. The checklist's four (``gameday.contract.checks.FAULT_IDS``) keep the checklist's bounds unless the
    profile changes them; any other id is a custom fault and states its own ``recovery_s``."""

    id: str = Field(pattern=FAULT_ID_PATTERN,
                    description="db-failover | redis-primary-kill | node-drain | bad-release (checklist faults), or "
                                "any other lower-case id for a custom fault (its journal, window and checks carry it)")
    experiment: Path
    observe_s: float = Field(30, ge=0, le=3600, description="load keeps going after the injection")
    recover_s: float = Field(60, gt=0, le=3600, description="bound for recovery before the next fault")
    recovery_s: float | None = Field(
        None, gt=0, le=3600, description="this fault's recovery bound (injection until back within every SLA); "
                                         "the same as checks.recovery_s[id]; required for a custom fault")
    error_budget: int | None = Field(
        None, ge=0, description="failed requests this fault may cost; more fails recovery_time. Unset: no budget "
                                "(node-drain: checks.drain_error_budget)")
    configuration: dict[str, Any] = Field(default_factory=dict,
                                          description="Chaos Toolkit configuration overrides")


DEFAULT_PROMQL = {
    "latency_p95": "histogram_quantile(0.95, sum by (le) "
                   '(rate(http_request_duration_seconds_bucket{route=~"/v1/.*"}[30s])))',
    "requests_by_status": "sum by (status) (rate(http_request_duration_seconds_count[30s]))",
    "missions_per_min": 'sum(rate(missions_completed_total{status="completed"}[1m])) * 60',
    # a short rate window: a 1m one carries the warm-up's cold starts 60 s into the baseline
    "startup_p95": "histogram_quantile(0.95, sum by (le) (rate(agent_startup_seconds_bucket[10s])))",
    "startup_p95_by_pool": "histogram_quantile(0.95, sum by (le, pool) (rate(agent_startup_seconds_bucket[10s])))",
    "startup_by_pool": "sum by (pool) (rate(agent_startup_seconds_count[10s]))",
    "warm_pool_size": "max(active_warm_pool_size)",
    "deployment_revision": "max by (deployment) (deployment_revision)",
    "deployment_rollbacks": "max by (deployment) (deployment_rollbacks_total)",
    "health_check_failures": "max by (deployment) (health_check_failures_total)",
    # beside the read-back's outcomes and mission time; crew assembly and watchdog shown in the baseline
    "missions_completed": "missions_completed_total",  # raw, per pod: increases counted with resets
    "task_p95": "histogram_quantile(0.95, sum by (le) (rate(agent_task_duration_seconds_bucket[30s])))",
    "crew_assembly_by_result": "sum by (result) (rate(crew_assembly_total[10s]))",
    "watchdog_actions": "sum by (action) (rate(watchdog_recovery_actions_total[10s]))",
    # autoscaling (§6.2): the HPAs as kube-state-metrics exports them, and the workers' queue
    "hpa_desired": "max by (horizontalpodautoscaler, namespace) (kube_horizontalpodautoscaler_status_desired_replicas)",
    "hpa_current": "max by (horizontalpodautoscaler, namespace) (kube_horizontalpodautoscaler_status_current_replicas)",
    "hpa_min": "max by (horizontalpodautoscaler, namespace) (kube_horizontalpodautoscaler_spec_min_replicas)",
    "hpa_max": "max by (horizontalpodautoscaler, namespace) (kube_horizontalpodautoscaler_spec_max_replicas)",
    # metric_target_type kept: kube-state-metrics exports a CPU metric's status as utilization (%) and average
    # (cores) under one metric_name; the judge compares the rows of the target's type only
    "hpa_metric": "max by (horizontalpodautoscaler, namespace, metric_name, metric_target_type) "
                  "(kube_horizontalpodautoscaler_status_target_metric)",
    "hpa_target": "max by (horizontalpodautoscaler, namespace, metric_name, metric_target_type) "
                  "(kube_horizontalpodautoscaler_spec_target_metric)",
    "queue_depth": "max(queue_depth)",
    "alerts": "ALERTS",  # every alert's pending / firing state (alerting checks, beside Alertmanager's view)
}


class OperationSLO(_Strict):
    """One operation's own lines, k6-style (``checks.operations["/v1/crews"]``); a field left
    unset takes the profile's line (``p95_ms``, ``max_5xx_ratio``, ``min_operation_samples`` for its failures and
    ``min_p95_samples`` for its p95)."""

    p95_ms: float | None = Field(None, gt=0, description="this operation's p95 outside fault windows")
    max_error_ratio: float | None = Field(None, ge=0, le=1,
                                          description="failed / all requests of this operation, per window")
    min_samples: int | None = Field(None, ge=1, description="fewer in a window: INCONCLUSIVE for this operation "
                                                            "(its p95 and its failures alike)")


class HpaExpected(_Strict):
    """One HPA as the checklist wants it (audit_autoscaling); the name is the HPA's."""

    deployment: str = Field(min_length=1, description="the Deployment it scales")
    metric: str = Field(min_length=1, description="the metric it scales on (cpu, queue_depth)")
    target: float = Field(gt=0, description="CPU utilisation in %, or the queue depth")
    min_replicas: int = Field(ge=1)
    max_replicas: int = Field(ge=1)


def _checklist_hpas() -> dict[str, HpaExpected]:
    return {name: HpaExpected.model_validate(dict(h)) for name, h in CHECKLIST_HPAS.items()}


class AutoscalingChecks(_Strict):
    """§6.2's lines: the HPAs the audit wants, and the windows the scaling checks judge with (every
    HPA named here is judged; its series are matched by the ``horizontalpodautoscaler`` label)."""

    hpas: dict[str, HpaExpected] = Field(default_factory=_checklist_hpas,
                                         description="per HPA name: deployment, metric, target, min, max (§6.2)")
    scale_up_window_s: float = Field(30, ge=0, le=3600, description="§6.2 scale up: 30 s")
    scale_down_window_s: float = Field(300, ge=0, le=7200, description="§6.2 scale down: 300 s (a short profile "
                                                                       "may set less, as its target does)")
    scale_out_bound_s: float = Field(30, ge=0, le=3600,
                                     description="autoscale_out: replicas must rise within the scale-up window "
                                                 "plus this (sync period, scheduling, scrape) after the metric "
                                                 "crossed its target")
    queue_max: float = Field(100, gt=0, description="queue_drained: the depth the queue must be back under")
    queue_drain_s: float = Field(120, gt=0, le=7200,
                                 description="queue_drained: within this after the spike's end")


class Checks(_Strict):
    """Every threshold the judge applies (defaults from the checklist, §6.1 and §5.4)."""

    p95_ms: float = Field(DEFAULTS.p95_ms, gt=0, description="API p95 outside fault windows")
    missions_per_min: float = Field(DEFAULTS.missions_per_min, ge=0)
    warm_startup_p95_s: float = Field(DEFAULTS.warm_startup_p95_s, gt=0)
    max_5xx_ratio: float = Field(DEFAULTS.max_5xx_ratio, ge=0, le=1, description="in every window (the P1 line)")
    recovery_s: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_RECOVERY_S),
        description="per fault id: from injection until latency and errors are back within SLA")
    drain_error_budget: int = Field(DEFAULTS.drain_error_budget, ge=0,
                                    description="failed requests a node drain may cost")
    error_budgets: dict[str, int] = Field(
        default_factory=dict, description="per fault id: failed requests it may cost (filled from "
                                          "faults[].error_budget; node-drain's default is drain_error_budget)")
    max_lost_acks: int = Field(DEFAULTS.max_lost_acks, ge=0)
    mission_settle_s: float = Field(
        DEFAULTS.mission_settle_s, ge=0, le=3600,
        description="the read-back waits this long for queued/running missions to finish; "
                    "what is still in flight after it is stuck")
    min_mission_success: float = Field(DEFAULTS.min_mission_success, ge=0, le=1,
                                       description="completed / acknowledged missions that ended (completed or "
                                                   "failed); stuck and lost ones are judged on their own")
    max_stuck_missions: int = Field(DEFAULTS.max_stuck_missions, ge=0,
                                    description="missions still queued/running after mission_settle_s")
    mission_p95_s: float = Field(
        DEFAULTS.mission_p95_s, gt=0,
        description="acknowledgement to completion, p95 in baseline and cool-down; no checklist number: "
                    "a documented default (docs/coverage.md)")
    max_crew_assembly_failures: int | None = Field(
        None, ge=0, description="crew_assembly_total{result!=ok} in the baseline; unset = shown, not judged")
    max_watchdog_actions: int | None = Field(
        None, ge=0, description="watchdog_recovery_actions_total in the baseline; unset = shown, not judged")
    operations: dict[str, OperationSLO] = Field(
        default_factory=dict,
        description="per request name (as the locustfile names it): its own p95 / failure lines; an operation "
                    "named here with too few samples in a window is INCONCLUSIVE")
    min_operation_samples: int = Field(
        DEFAULTS.min_operation_samples, ge=1,
        description="an operation's failures are judged in a window once it has this many samples")
    min_p95_samples: int = Field(
        DEFAULTS.min_p95_samples, ge=1,
        description="an operation's p95 is judged in a window once it has this many samples: a nearest-rank "
                    "p95 rests on the slowest twentieth, 5 answers of 100, 2 of 54 (fewer: only a breach "
                    "beyond doubt fails)")
    crew_operation: str = Field(DEFAULT_CREW_OPERATION, min_length=1,
                                description="the request name of a crew spawn (its 201 is the acknowledgement)")
    min_crew_success: float = Field(DEFAULTS.min_crew_success, ge=0, le=1,
                                    description="acknowledged crews / crew-spawn attempts, outside fault windows")
    recovery_window_s: float = Field(DEFAULTS.recovery_window_s, gt=0, le=300,
                                     description="recovery: every SLA is judged over windows this long, sliding "
                                                 "by 1 s from the injection")
    recovery_sustain_s: float = Field(DEFAULTS.recovery_sustain_s, ge=0, le=3600,
                                      description="recovery: the service must stay within every SLA this long, "
                                                  "inside the fault window, to count as back")
    recovery_min_samples: int = Field(DEFAULTS.recovery_min_samples, ge=1,
                                      description="recovery: a window's p95 is judged once it holds this many answers")
    recovery_alpha: float = Field(DEFAULTS.recovery_alpha, gt=0, le=1,
                                  description="recovery: a window breaks a p95 line only when 'at most 5 % slow' "
                                              "is rejected at this level (one-sided binomial test)")
    rollback_on_failure: int = Field(DEFAULTS.rollback_on_failure, ge=1,
                                     description="rollback expected on this failed health check")
    rollback_within_s: float = Field(DEFAULTS.rollback_within_s, gt=0)
    autoscaling: AutoscalingChecks = Field(default_factory=AutoscalingChecks,
                                           description="§6.2: HPA specs and scaling windows")
    alerts: AlertChecks = Field(default_factory=AlertChecks, description="§5.4: the alerts each fault must raise")
    required: list[CheckId] = Field(
        default_factory=lambda: list(CHECK_IDS), description="checks that must pass for GO (a profile with a "
                                                             "spike phase adds the autoscaling checks)")
    promql: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_PROMQL),
                                   description="the query behind each Prometheus series the checks read")
    step_s: float = Field(DEFAULTS.step_s, gt=0, le=60,
                          description="finest resolution of the Prometheus snapshot (the step "
                                      "is at least a quarter of the scrape interval)")
    scrape_interval_s: float | None = Field(
        None, gt=0, le=3600, description="the target Prometheus's scrape interval, used only when Prometheus "
                                         "does not tell it (/api/v1/status/config, /api/v1/targets); every "
                                         "query range is at least 4 of it")

    @field_validator("recovery_s", mode="before")
    @classmethod
    def _recovery_over_defaults(cls, v: Any) -> Any:
        """A profile names the faults it changes; the others keep the checklist's bound."""
        if isinstance(v, dict):
            unknown = sorted(k for k in v if not (isinstance(k, str) and re.fullmatch(FAULT_ID_PATTERN, k)))
            if unknown:
                raise ValueError(f"not fault ids {unknown}; expected some of {list(FAULT_IDS)} or a custom fault's id "
                                 f"(lower-case letters, digits, '-')")
            return {**DEFAULT_RECOVERY_S, **v}
        return v

    @field_validator("promql", mode="before")
    @classmethod
    def _promql_over_defaults(cls, v: Any) -> Any:
        if isinstance(v, dict):
            unknown = sorted(set(v) - set(DEFAULT_PROMQL))
            if unknown:
                raise ValueError(f"unknown series {unknown}; expected some of {sorted(DEFAULT_PROMQL)}")
            return {**DEFAULT_PROMQL, **v}
        return v


class Profile(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    description: str = ""
    target: Target = Target()
    load: Load = Load()
    phases: Phases = Phases()
    faults: list[Fault] = Field(default_factory=list)
    checks: Checks = Checks()
    guard: GuardSettings = GuardSettings()
    secrets: dict[str, str] = Field(default_factory=dict,
                                    description="values redacted from every file gameday writes")
    notify: Notify = Field(default_factory=Notify, description="webhooks and Grafana annotations (gameday run)")

    @model_validator(mode="before")
    @classmethod
    def _fault_bounds(cls, data: Any) -> Any:
        """A fault's own ``recovery_s`` and ``error_budget`` go into ``checks.recovery_s`` and
        ``checks.error_budgets``, where the guard and the judge read every fault's bound. Only folds:
        shapes that are wrong are the field validation's to name, rules ``_fault_bounds_hold``'s."""
        if not isinstance(data, dict) or not isinstance(data.get("faults", []), list):
            return data
        checks = data.get("checks") if data.get("checks") is not None else {}
        if not isinstance(checks, dict):
            return data
        recovery, budgets = checks.get("recovery_s") or {}, checks.get("error_budgets") or {}
        if not (isinstance(recovery, dict) and isinstance(budgets, dict)):
            return data
        recovery, budgets = dict(recovery), dict(budgets)
        for f in data.get("faults", []):
            raw = f.model_dump() if isinstance(f, Fault) else f  # Profile(faults=[Fault(...)]) in code
            if not (isinstance(raw, dict) and isinstance(raw.get("id"), str)):
                continue
            for key, table in (("recovery_s", recovery), ("error_budget", budgets)):
                if raw.get(key) is not None and raw["id"] not in table:  # a clash is left for _fault_bounds_hold
                    table[raw["id"]] = raw[key]
        return {**data, "checks": {**checks, "recovery_s": recovery, "error_budgets": budgets}}

    @model_validator(mode="after")
    def _fault_bounds_hold(self) -> Profile:
        """Every fault has a recovery bound (a custom one its own), stated in one place; the bounds name
        only checklist faults and this profile's."""
        ids = [f.id for f in self.faults]
        for i, f in enumerate(self.faults):
            for key, where, own, table in (
                    ("recovery_s", "recovery_s", f.recovery_s, self.checks.recovery_s),
                    ("error_budget", "error_budgets", f.error_budget, self.checks.error_budgets)):
                if own is not None and table.get(f.id) != own:
                    theirs = table.get(f.id)
                    raise ValueError(f"faults.{i}.{key}: {own:g} for {f.id!r}, but checks.{where} says "
                                     f"{'nothing' if theirs is None else format(theirs, 'g')}; state it in one place")
            if f.id not in self.checks.recovery_s:
                raise ValueError(f"faults.{i}.recovery_s: {f.id!r} is a custom fault (not one of {list(FAULT_IDS)}): "
                                 f"it needs its own recovery bound in seconds")
        stray = sorted(k for k in {*self.checks.recovery_s, *self.checks.error_budgets}
                       if k not in FAULT_IDS and k not in ids)
        if stray:
            raise ValueError(f"checks.recovery_s / checks.error_budgets: {stray} are neither checklist faults nor "
                             f"faults of this profile")
        return self

    @model_validator(mode="after")
    def _unique_faults(self) -> Profile:
        ids = [f.id for f in self.faults]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"fault ids must be unique; repeated: {', '.join(dupes)}")
        return self

    @model_validator(mode="after")
    def _spike_requires_autoscaling(self) -> Profile:
        """A spike is there to see the platform scale: unless the profile lists its required checks
        itself, the autoscaling checks join the defaults (without a spike nothing scales out, and
        they would only ever be INCONCLUSIVE, so they are not required then)."""
        spike = self.phases.spike
        if spike is not None and spike.users and self.load.users == 0:
            raise ValueError("phases.spike steps the users up: it needs a closed model (load.users > 0)")
        if spike is not None and "required" not in self.checks.model_fields_set:
            extra = [c for c in AUTOSCALING_CHECKS if c not in self.checks.required]
            object.__setattr__(self, "checks", self.checks.model_copy(
                update={"required": [*self.checks.required, *extra]}))
        return self


def _format(source: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{source}: {field}: unknown field")
        elif err["type"] == "value_error" and not err["loc"]:  # a whole-profile rule: its message names the field
            lines.append(f"{source}: {err['msg'].removeprefix('Value error, ')}")
        elif err["type"] == "missing":
            lines.append(f"{source}: {field}: required field missing")
        else:
            got = json.dumps(err.get("input"), default=str)
            got = got if len(got) <= 80 else got[:77] + "..."
            lines.append(f"{source}: {field}: {err['msg']} (got {got})")
    return "\n".join(lines)


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``a.b=c`` → nested dict; a value is YAML (so numbers, booleans, lists work)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        path, sep, raw = pair.partition("=")
        keys = path.strip().split(".")
        if not sep or not all(keys):
            raise ProfileError(f"--set {pair!r}: expected path.to.field=value")
        try:
            value = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            value = raw
        node = out
        for key in keys[:-1]:
            nxt = node.setdefault(key, {})
            if not isinstance(nxt, dict):
                raise ProfileError(f"--set {pair!r}: {key!r} already set to a value")
            node = nxt
        node[keys[-1]] = value
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_raw(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile") from None
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ProfileError(f"{path}: not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def load(path: Path, overrides: list[str] | None = None) -> Profile:
    """Read, override and validate a profile; relative paths resolve against the profile's folder
    first, then the working directory."""
    raw = _merge(read_raw(path), parse_overrides(overrides or []))
    source = f"{path}{' (with --set)' if overrides else ''}"
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        raise ProfileError(_format(source, exc)) from None
    return _resolve_paths(profile, path)


def _resolve(p: Path, profile_path: Path, field: str, source: Path) -> Path:
    if p.is_absolute():
        candidates = [p]
    else:
        candidates = [profile_path.parent / p, Path.cwd() / p, profile_path.parent.parent / p]
    for c in candidates:
        if c.exists():
            return c.resolve()
    raise ProfileError(f"{source}: {field}: file not found: {p}")


def _resolve_paths(profile: Profile, path: Path) -> Profile:
    load_ = profile.load.model_copy(update={"locustfile": _resolve(profile.load.locustfile, path,
                                                                   "load.locustfile", path)})
    faults = [f.model_copy(update={"experiment": _resolve(f.experiment, path, f"faults.{i}.experiment", path)})
              for i, f in enumerate(profile.faults)]
    target = profile.target
    prom = target.prometheus
    files: dict[str, Any] = {n: _resolve(getattr(prom, n).expanduser(), path, f"target.prometheus.{n}", path)
                             for n in ("ca_bundle", "bearer_token_file") if getattr(prom, n) is not None}
    if prom.basic_auth is not None and prom.basic_auth.password_file is not None:
        pw = _resolve(prom.basic_auth.password_file.expanduser(), path, "target.prometheus.basic_auth.password_file",
                      path)
        files["basic_auth"] = prom.basic_auth.model_copy(update={"password_file": pw})
    if files:
        target = target.model_copy(update={"prometheus": prom.model_copy(update=files)})
    cluster = target.cluster
    if cluster is not None and cluster.kubeconfig is not None:
        kubeconfig = _resolve(cluster.kubeconfig.expanduser(), path, "target.cluster.kubeconfig", path)
        target = target.model_copy(update={"cluster": cluster.model_copy(update={"kubeconfig": kubeconfig})})
    return profile.model_copy(update={"load": load_, "faults": faults, "target": target})
