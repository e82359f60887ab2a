"""Was a fault injected, and if not, why: read from the timeline alone.

A fault that was never injected says nothing about the target: every check that depends on an
injection (recovery, automated rollback, ...) is INCONCLUSIVE then, with the reason this module
gives, never FAIL. A NO-GO on no evidence is the one answer the judge must never give.

The chaos runner (``harness/chaos/events.py``) records ``fault_injected`` when the method's
first action starts; before that, ``steady_state_before`` (``met`` false, with each failed probe
and why in ``failed``), ``chaos_failed`` (the experiment could not run) or ``chaos_done`` (its
status) say why nothing was injected.
"""

from __future__ import annotations

from typing import Any

from gameday.analysis.windows import first_event
from gameday.contract.events import RUN_STOPPED, Event


def injected_at(events: list[dict[str, Any]], fault: str) -> float | None:
    """When ``fault``'s first action started (unix s), or None when it never did."""
    e = first_event(events, Event.FAULT_INJECTED, fault=fault)
    return float(e["t"]) if e is not None and isinstance(e.get("t"), int | float) else None


def not_injected_reason(events: list[dict[str, Any]], fault: str) -> str | None:
    """None when ``fault`` was injected; else why it was not, in words, from the timeline."""
    if injected_at(events, fault) is not None:
        return None
    before = first_event(events, Event.STEADY_STATE_BEFORE, fault=fault)
    if before is not None and before.get("met") is False:
        failed = [str(x) for x in before.get("failed") or []]
        detail = "; ".join(failed) if failed else f"see journals/{fault}.json"
        return f"{fault} was not injected: the steady state did not hold before injection: {detail}"
    failed_run = first_event(events, Event.CHAOS_FAILED, fault=fault)
    if failed_run is not None:
        return f"{fault} was not injected: its experiment could not run: {failed_run.get('error', 'no detail')}"
    done = first_event(events, Event.CHAOS_DONE, fault=fault)
    if done is not None:
        return f"{fault} was not injected: its experiment ended {done.get('status', '?')} before any action ran"
    started = first_event(events, Event.CHAOS_STARTED, fault=fault) or first_event(events, Event.PHASE_STARTED,
                                                                               phase=f"fault:{fault}")
    if started is None:
        return f"{fault} is not in this run"
    for name in RUN_STOPPED:
        e = first_event(events, name)
        if e is not None:
            return f"{fault} was not injected: the run ended first ({name}: {e.get('reason', '')})"
    return f"{fault} was never injected (no fault_injected on the timeline)"
