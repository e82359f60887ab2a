"""Recovery time per fault: from the injection until the service is back within every SLA.

Every SLA: each operation's failures and p95, and crew start-up, over windows sliding by 1 s
(gameday.analysis.outage); back means it then stayed within them for the sustain time inside the fault
window. The fault table gets, per fault, the time to detect (first failure a client saw), the
outage (first to last failure) and the recovery beside the experiment's own injection-to-
recovery time. A node drain, and any fault given an error budget (``faults[].error_budget``, custom
faults too), must also keep its failed requests within it.
"""

from __future__ import annotations

from gameday.analysis.checks.samples import fault_outage
from gameday.analysis.run import Run
from gameday.analysis.verdict import CheckResult, Status, inconclusive
from gameday.analysis.windows import first_event
from gameday.contract.checks import DEFAULT_RECOVERY_S
from gameday.contract.events import Event


def _s(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} s"


def recovery_time(run: Run) -> list[CheckResult]:
    bounds: dict[str, object] = {**DEFAULT_RECOVERY_S, **(run.checks.get("recovery_s") or {})}
    out = []
    for w in [x for x in run.windows if x.is_fault]:
        fault = w.fault or ""
        given = bounds.get(fault)
        if not isinstance(given, int | float) or isinstance(given, bool):
            out.append(inconclusive("recovery_time", w.label(), f"no recovery bound for {fault!r} "
                                    f"(checks.recovery_s: {given!r}, expected a number of seconds)"))
            continue
        bound = float(given)
        o = fault_outage(run, w)
        if o is None:
            out.append(inconclusive("recovery_time", w.label(), f"{fault} was never injected (no fault_injected)",
                                    bound))
            continue
        if o.requests == 0:
            out.append(inconclusive("recovery_time", w.label(), "no request answered after the injection", bound))
            continue
        journal = first_event(run.events, Event.FAULT_RECOVERED, fault=fault)
        journal_s = float(journal["recovery_s"]) if journal and journal.get("recovery_s") is not None else None
        took = o.back_s
        ok = took is not None and took <= bound
        details: dict[str, object] = {
            "fault": fault, "failed_requests": o.failed_requests, "requests": o.requests,
            "time_to_detect_s": o.first_failure_s, "outage_s": o.outage_s, "last_failure_s": o.last_failure_s,
            "recovered": took is not None, "bad_windows": o.bad_windows, "windows": o.windows,
            "breaches": list(o.breaches), "experiment_recovery_s": journal_s}
        seen = (f"first failure {_s(o.first_failure_s)}, outage {_s(o.outage_s)}, {o.failed_requests} failed "
                f"requests; the experiment saw recovery at {_s(journal_s)}")
        if took is not None:
            msg = f"{fault}: back within every SLA {took:.1f} s after injection (bound {bound:g} s); {seen}"
        else:
            last = "; ".join(o.breaches) or "not long enough within SLA"
            msg = f"{fault}: still outside SLA when its window ended ({last}); {seen}"
        budgets = run.checks.get("error_budgets") or {}  # per fault (faults[].error_budget), custom ones too
        given_budget = budgets.get(fault) if isinstance(budgets, dict) else None
        if given_budget is not None or fault == "node-drain":
            budget = int(given_budget) if given_budget is not None else int(run.threshold("drain_error_budget"))
            details["error_budget"] = budget
            if o.failed_requests > budget:
                ok = False
                msg += f"; {o.failed_requests} failed requests, over {fault}'s error budget of {budget}"
        window = f"{run.threshold('recovery_window_s'):g} s windows sliding by 1 s"
        out.append(CheckResult("recovery_time", Status.PASS if ok else Status.FAIL,
                               None if took is None else round(took, 3), bound, w.label(),
                               f"{o.requests} client answers after injection, {window}", msg, details))
    if not out:
        out.append(inconclusive("recovery_time", "faults", "no fault window in this run"))
    return out
