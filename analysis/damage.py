"""Damaged evidence: what the validating reader found wrong in a run directory, file and line.

The reader (``gameday.analysis.run.load_run``) never repairs a damaged file and never crashes on one: it
keeps what it can read, records a :class:`Damage` per problem, and the judge makes the checks
that need that evidence INCONCLUSIVE with the damage as the reason (Jepsen: unknown, with the
offending item). A torn *last* line (a writer killed mid-line) is not damage: the format allows it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

MAX_SHOWN = 3  # damages quoted in one check's message; the rest are counted


class Evidence(enum.StrEnum):
    """The parts of a run directory a check can depend on."""

    PROFILE = "profile"
    TIMELINE = "timeline"
    REQUESTS = "requests"
    ACKS = "acks"
    READBACK = "readback"


@dataclass(frozen=True)
class Damage:
    evidence: Evidence
    file: str  # relative to the run directory
    line: int | None  # 1-based; None: the file as a whole
    what: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file} line {self.line}"
        return f"{where}: {self.what}"


class DamagedEvidence(Exception):
    """Raised by an accessor (a threshold, a series) when what a check asks for is damaged; the
    judge turns it into INCONCLUSIVE naming the damage."""

    def __init__(self, damage: Damage) -> None:
        super().__init__(str(damage))
        self.damage = damage


def describe(damages: list[Damage]) -> str:
    shown = "; ".join(str(d) for d in damages[:MAX_SHOWN])
    more = len(damages) - MAX_SHOWN
    return f"damaged evidence: {shown}" + (f" (and {more} more)" if more > 0 else "")


def utf8_lines(raw: bytes) -> tuple[list[str | None], bool]:
    """The lines of ``raw`` decoded one by one (None: not UTF-8), and whether the last line is
    complete (ends with a newline)."""
    parts = raw.split(b"\n")
    complete = raw.endswith(b"\n") or not raw
    if parts and parts[-1] == b"":
        parts.pop()
    out: list[str | None] = []
    for p in parts:
        try:
            out.append(p.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError:
            out.append(None)
    return out, complete
