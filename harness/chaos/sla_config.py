"""The SLA probes' configuration, from the profile alone: one source of thresholds.

The experiments' steady-state probes (:mod:`gameday.harness.chaosext.sla`) read ``${sla_p95_ms}``,
``${sla_5xx_ratio}`` and ``${sla_window_s}``. No experiment file carries a threshold: under
gameday they are the profile's ``checks.p95_ms`` and ``checks.max_5xx_ratio``, and the window is
at least four scrape intervals (:mod:`gameday.harness.scrape`), so the probe that decides whether a
fault is injected and the judge that decides the verdict cannot disagree. A fault's
``configuration`` that tries to set a threshold is refused (exit 64, naming the field): a second
place to write a threshold is a second truth.
"""

from __future__ import annotations

from typing import Any

from gameday.harness.profile import Fault, Profile, ProfileError
from gameday.harness.scrape import ScrapeInterval, sla_window_field

# configuration key of the probes -> the profile field it comes from
THRESHOLD_KEYS: dict[str, str] = {"sla_p95_ms": "checks.p95_ms", "sla_5xx_ratio": "checks.max_5xx_ratio"}


def refuse_thresholds(profile: Profile) -> None:
    """ProfileError naming every ``faults.<i>.configuration.<key>`` that sets an SLA threshold."""
    problems = []
    for i, f in enumerate(profile.faults):
        for key, source in THRESHOLD_KEYS.items():
            if key in f.configuration:
                problems.append(f"faults.{i}.configuration.{key}: a fault cannot set an SLA threshold "
                                f"(got {f.configuration[key]!r}); the probes use the profile's {source} "
                                f"({threshold(profile, key):g}): remove it, or change {source}")
    if problems:
        raise ProfileError("\n".join(problems))


def threshold(profile: Profile, key: str) -> float:
    checks = profile.checks
    return float(checks.p95_ms if key == "sla_p95_ms" else checks.max_5xx_ratio)


def sla_configuration(profile: Profile, fault: Fault, interval: ScrapeInterval) -> dict[str, Any]:
    """What the harness injects into the fault's experiment: the thresholds, and the window (the
    profile's ``sla_window_s`` if longer, else four scrape intervals)."""
    index = profile.faults.index(fault) if fault in profile.faults else -1
    wanted = dict(sla_window_field(profile)).get(f"faults.{index}.configuration.sla_window_s")
    window = interval.range_s(wanted)
    return {"sla_p95_ms": threshold(profile, "sla_p95_ms"), "sla_5xx_ratio": threshold(profile, "sla_5xx_ratio"),
            "sla_window_s": int(window) if float(window).is_integer() else window}


def describe(configuration: dict[str, Any] | Any) -> str | None:
    """One line for ``gameday plan``: the values the probes will use, and where they come from."""
    try:
        p95 = float(configuration["sla_p95_ms"])
        ratio = float(configuration["sla_5xx_ratio"])
        window = float(configuration["sla_window_s"])
    except (KeyError, TypeError, ValueError):
        return None
    return (f"SLA probes: p95 <= {p95:g} ms (checks.p95_ms), 5xx <= {ratio:.2%} (checks.max_5xx_ratio), "
            f"over the last {window:g} s")
