"""gameday's own Chaos Toolkit extension: activities any experiment may use, sandbox or cluster.

``gameday.harness.chaosext.sla``      Prometheus-backed SLA probes (p95 latency, 5xx ratio over a window)
``gameday.harness.chaosext.release``  actions: set / restore a deployment's image, ``rollout undo``
                              (chaosk8s has none)
``gameday.harness.chaosext.k8s``      probes: a deployment's image, waiting for it (an automated
                              rollback), waiting for pods, the node a drain takes
``gameday.harness.chaosext.aws``      RDS and ElastiCache waits chaosaws lacks

Experiments name these as Python providers (``"module": "gameday.harness.chaosext.sla"``); the functions
take Chaos Toolkit's ``configuration`` / ``secrets`` and raise ``ActivityFailed`` on failure, as
every Chaos Toolkit extension does. Annotations are real types (no postponed evaluation)
because Chaos Toolkit's discovery and validation read them.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = ["__version__", "discover"]

try:
    __version__ = version("gameday")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0.0.0+unknown"


def discover(discover_system: bool = True) -> Any:
    """Chaos Toolkit discovery: the activities of every module of this extension."""
    from chaoslib.discovery.discover import discover_actions, discover_probes, initialize_discovery_result

    discovery = initialize_discovery_result("gameday", __version__, "gameday")
    discovery["activities"].extend(discover_probes("gameday.harness.chaosext.sla"))
    discovery["activities"].extend(discover_actions("gameday.harness.chaosext.release"))
    discovery["activities"].extend(discover_probes("gameday.harness.chaosext.k8s"))
    discovery["activities"].extend(discover_probes("gameday.harness.chaosext.aws"))
    return discovery
