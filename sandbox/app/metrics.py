"""The pods' Prometheus series, named and labelled exactly as the contract in DESIGN.md says.

Each process has its own registry (nothing global at import). Buckets are chosen so the SLA
thresholds fall on bucket edges: latency 0.1-0.3 s, agent start-up 1-3 s, and the warm
start (~0.05 s) resolved from the cold one.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.utils import floatToGoString

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75,
                1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
STARTUP_BUCKETS = (0.025, 0.05, 0.06, 0.075, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 3.5, 4.0, 5.0,
                   7.5, 10.0)
TASK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)

POOLS = ("warm", "cold")
ASSEMBLY_RESULTS = ("ok", "failed")
MISSION_OUTCOMES = ("completed", "failed")
WATCHDOG_ACTIONS = ("requeue_dead_worker", "requeue_stale_running", "requeue_lost", "requeue_orphan")


class PlainCounter:
    """A counter exposed under exactly its name.

    prometheus_client appends ``_total`` to every counter, but the contract (and checklist
    §5.2) names this series ``token_usage_cost_est``; the classic text format allows a counter
    without the suffix, so it is rendered by hand.
    """

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        self._value = 0.0

    def inc(self, amount: float) -> None:
        if amount < 0:
            raise ValueError(f"{self.name}: counters only go up (got {amount})")
        self._value += amount

    @property
    def value(self) -> float:
        return self._value

    def expose(self) -> bytes:
        return (
            f"# HELP {self.name} {self.documentation}\n"
            f"# TYPE {self.name} counter\n"
            f"{self.name} {floatToGoString(self._value)}\n"  # type: ignore[no-untyped-call]
        ).encode()


class PodMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.plain: list[PlainCounter] = []

    def render(self) -> bytes:
        return generate_latest(self.registry) + b"".join(c.expose() for c in self.plain)


class ApiMetrics(PodMetrics):
    """core-api: request latency, agent start-up per pool, crew assembly outcomes."""

    def __init__(self) -> None:
        super().__init__()
        self.http = Histogram(
            "http_request_duration_seconds", "API request latency by route template",
            ["route", "method", "status"], buckets=HTTP_BUCKETS, registry=self.registry,
        )
        self.agent_startup = Histogram(
            "agent_startup_seconds", "Time to assemble a crew's agents, by pool served from",
            ["pool"], buckets=STARTUP_BUCKETS, registry=self.registry,
        )
        self.crew_assembly = Counter(
            "crew_assembly_total", "POST /v1/crews outcomes after validation: ok (201) or failed",
            ["result"], registry=self.registry,
        )
        for pool in POOLS:
            self.agent_startup.labels(pool=pool)
        for result in ASSEMBLY_RESULTS:
            self.crew_assembly.labels(result=result)


class WorkerMetrics(PodMetrics):
    """worker: task durations, outcomes, cost, the warm pool seen, the watchdog's actions."""

    def __init__(self) -> None:
        super().__init__()
        self.task_duration = Histogram(
            "agent_task_duration_seconds", "Duration of one agent task",
            buckets=TASK_BUCKETS, registry=self.registry,
        )
        self.missions_completed = Counter(
            "missions_completed_total", "Missions finished by this worker, by final status",
            ["status"], registry=self.registry,
        )
        self.warm_pool_size = Gauge(
            "active_warm_pool_size", "Length of agents:warm as this worker last saw it",
            registry=self.registry,
        )
        self.watchdog_actions = Counter(
            "watchdog_recovery_actions_total", "Missions re-queued by the watchdog, by reason",
            ["action"], registry=self.registry,
        )
        # §6.2's custom metric: the workers' autoscaler scales on it (the sandbox controller reads it here)
        self.queue_depth = Gauge(
            "queue_depth", "Missions waiting for a worker (LLEN of the queue) as this worker last saw it",
            ["queue"], registry=self.registry,
        )
        self.token_cost = PlainCounter(
            "token_usage_cost_est", "Estimated LLM token cost of the work done, in USD"
        )
        self.plain.append(self.token_cost)
        for status in MISSION_OUTCOMES:
            self.missions_completed.labels(status=status)
        for action in WATCHDOG_ACTIONS:
            self.watchdog_actions.labels(action=action)
