"""Check results and the verdict, Jepsen-style: three-valued, with evidence, merged by priority.

A check without evidence is INCONCLUSIVE, never PASS. The verdict is GO only when every
required check passes; any required FAIL makes it NO-GO; otherwise a required check without
evidence makes it INCONCLUSIVE. A check that crashes becomes data (INCONCLUSIVE with the
error), not a crashed judge.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from gameday.analysis.damage import DamagedEvidence, describe
from gameday.contract.exitcodes import ExitCode


class Status(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"


class Verdict(enum.StrEnum):
    GO = "GO"
    NO_GO = "NO-GO"
    INCONCLUSIVE = "INCONCLUSIVE"

    @property
    def exit_code(self) -> int:
        return int(ExitCode.for_verdict(self.value))


@dataclass(frozen=True)
class CheckResult:
    """One check's answer: what was measured against what, over which window, from what data."""

    id: str
    status: Status
    value: float | None
    threshold: float | None
    window: str
    evidence: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        return d


def inconclusive(check_id: str, window: str, why: str, threshold: float | None = None) -> CheckResult:
    return CheckResult(check_id, Status.INCONCLUSIVE, None, threshold, window, "none", why)


def guarded(check_id: str, fn: Callable[[], Sequence[CheckResult]]) -> list[CheckResult]:
    """Run one checker; an exception becomes an INCONCLUSIVE result carrying the error."""
    try:
        return list(fn())
    except DamagedEvidence as exc:
        return [inconclusive(check_id, "run", describe([exc.damage]))]
    except Exception as exc:
        return [inconclusive(check_id, "run", f"checker error: {type(exc).__name__}: {exc}")]


def combine(parts: Sequence[CheckResult]) -> Status:
    """FAIL beats INCONCLUSIVE beats PASS; no part at all is INCONCLUSIVE."""
    if not parts:
        return Status.INCONCLUSIVE
    statuses = {p.status for p in parts}
    if Status.FAIL in statuses:
        return Status.FAIL
    if Status.INCONCLUSIVE in statuses:
        return Status.INCONCLUSIVE
    return Status.PASS


def verdict(results: Iterable[CheckResult], required: Iterable[str]) -> Verdict:
    by_id: dict[str, list[CheckResult]] = {}
    for r in results:
        by_id.setdefault(r.id, []).append(r)
    statuses = [combine(by_id.get(cid, [])) for cid in required]
    if not statuses:
        return Verdict.INCONCLUSIVE
    if Status.FAIL in statuses:
        return Verdict.NO_GO
    if Status.INCONCLUSIVE in statuses:
        return Verdict.INCONCLUSIVE
    return Verdict.GO
