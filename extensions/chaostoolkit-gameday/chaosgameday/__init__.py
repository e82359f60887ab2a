"""chaostoolkit-gameday: gameday's Chaos Toolkit extension, discoverable with ``chaos discover``.

The activities are those of :mod:`gameday.harness.chaosext` (experiments name them as
``"module": "gameday.harness.chaosext.sla"`` and so on): this package gives them the name and the single
top-level package Chaos Toolkit's discovery expects (``chaoslib.discovery.package`` maps a
distribution to one top-level import name and calls its ``discover``).

    chaos discover --no-install chaostoolkit-gameday
"""

from typing import Any

from gameday.harness.chaosext import __version__  # one version: the gameday distribution's

__all__ = ["__version__", "discover", "load_exported_activities"]

EXTENSION_NAME = "chaostoolkit-gameday"

# module -> what discovery lists from it
MODULES = (("gameday.harness.chaosext.sla", "probes"), ("gameday.harness.chaosext.release", "actions"),
           ("gameday.harness.chaosext.k8s", "probes"), ("gameday.harness.chaosext.aws", "probes"))


def discover(discover_system: bool = True) -> Any:
    """The extension's activities; no system to discover (the SLA probes read the run's Prometheus)."""
    from chaoslib.discovery.discover import initialize_discovery_result

    discovery = initialize_discovery_result(EXTENSION_NAME, __version__, "gameday")
    discovery["activities"].extend(load_exported_activities())
    return discovery


def load_exported_activities() -> list[Any]:
    from chaoslib.discovery.discover import discover_actions, discover_probes

    activities: list[Any] = []
    for module, kind in MODULES:
        activities.extend(discover_probes(module) if kind == "probes" else discover_actions(module))
    return activities
