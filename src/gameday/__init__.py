"""gameday: chaos and SLA verification for HyperCode V2.0.

One distribution, one top-level import name: the harness (``gameday.harness``: collects), the judge
(``gameday.analysis``: judges and renders from the run directory alone), the run directory's
contract (``gameday.contract``) and the embedded target (``gameday.sandbox``: a separate program,
never imported by the other two). In the repository the four stay at its top level (``harness/``,
``analysis/``, ``contract/``, ``sandbox/``) and ``src/gameday`` links them under this package, so a
checkout, an editable install and a wheel import the same names, none of which can collide with
another distribution's ``harness`` or ``analysis``.
"""

from typing import Any


def discover(discover_system: bool = True) -> Any:
    """``chaos discover gameday``: chaoslib imports a distribution's one top-level package, now this
    one, and calls its ``discover``. Every activity gameday ships: the harness's extension
    (``gameday.harness.chaosext``: SLA probes, release actions, Kubernetes and AWS waits) and the
    sandbox's (``gameday.sandbox.chaos``). The extensions chaostoolkit-gameday and
    chaostoolkit-gameday-sandbox discover each half under the ecosystem's names."""
    from gameday.harness.chaosext import discover as harness_activities
    from gameday.sandbox.chaos import load_exported_activities as sandbox_activities

    discovery = harness_activities(discover_system)
    discovery["activities"].extend(sandbox_activities())
    return discovery
