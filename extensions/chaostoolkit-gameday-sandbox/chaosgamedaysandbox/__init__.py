"""chaostoolkit-gameday-sandbox: the sandbox's Chaos Toolkit extension, discoverable with
``chaos discover``. The activities are :mod:`gameday.sandbox.chaos`'s (experiments name
``"module": "gameday.sandbox.chaos.actions"``); this package gives them the ecosystem's name and the single
top-level package chaoslib's discovery imports. System discovery reads the running sandbox.

    chaos discover --no-install chaostoolkit-gameday-sandbox
"""

from typing import Any

from gameday.sandbox.chaos import __version__, explore_system, load_exported_activities

__all__ = ["__version__", "discover", "load_exported_activities"]

EXTENSION_NAME = "chaostoolkit-gameday-sandbox"


def discover(discover_system: bool = True) -> Any:
    """The sandbox's actions, probes and waits; with ``discover_system``, the running sandbox (or None)."""
    from chaoslib.discovery.discover import initialize_discovery_result

    discovery = initialize_discovery_result(EXTENSION_NAME, __version__, "sandbox")
    discovery["activities"].extend(load_exported_activities())
    if discover_system:
        discovery["system"] = explore_system()
    return discovery
