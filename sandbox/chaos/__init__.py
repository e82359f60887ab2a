"""Chaos Toolkit extension for the gameday sandbox, as chaosaws is for AWS.

Experiments name these functions as Python providers (``"module": "gameday.sandbox.chaos.actions"``);
every call goes to the sandbox over HTTP (controller API, ingress, Prometheus), so an
experiment drives the sandbox exactly as the cluster experiments drive EKS. Where the
sandbox is comes from the experiment's ``configuration`` (see :mod:`gameday.sandbox.chaos.client`).
"""

import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from chaoslib.discovery.discover import discover_actions, discover_probes, initialize_discovery_result
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import DiscoveredActivities, Discovery

__all__ = ["__version__", "discover"]

try:
    __version__ = version("gameday")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

EXTENSION_NAME = "gameday-sandbox"
logger = logging.getLogger("chaostoolkit")


def discover(discover_system: bool = True) -> Discovery:
    """Describe the extension's activities and, when asked, the running sandbox.

    System discovery is best effort: a sandbox that is not up yields ``"system": None``
    rather than a failed discovery, since the activities are worth listing regardless.
    """
    logger.info("Discovering capabilities from %s", EXTENSION_NAME)
    discovery = initialize_discovery_result(EXTENSION_NAME, __version__, "sandbox")
    discovery["activities"].extend(load_exported_activities())
    if discover_system:
        discovery["system"] = explore_system()
    return discovery


def load_exported_activities() -> list[DiscoveredActivities]:
    """Actions, probes and waiting probes, as Chaos Toolkit describes them."""
    activities: list[DiscoveredActivities] = []
    activities.extend(discover_actions("gameday.sandbox.chaos.actions"))
    activities.extend(discover_probes("gameday.sandbox.chaos.probes"))
    activities.extend(discover_probes("gameday.sandbox.chaos.waits"))
    return activities


def explore_system() -> dict[str, Any] | None:
    """Nodes, deployments, DB and Redis of the sandbox at the default location, or None."""
    from gameday.sandbox.chaos.client import client

    try:
        status = client(None).status()
    except ActivityFailed as exc:
        logger.warning("no sandbox to discover: %s", exc)
        return None
    return {key: status.get(key) for key in ("state", "nodes", "deployments", "db", "redis", "endpoints")}
