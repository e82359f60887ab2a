"""docs/coverage.md and the checks stay in step: every check of the judge is on the page, every
check the page names exists in the judge and the profile, and every metric of the contract the
harness knows of (the audited §5.2 metrics, and every metric a Prometheus query reads) has a row
that says which check judges it or why it is only shown."""

from __future__ import annotations

import re
from typing import get_args

from gameday.analysis.judge import ALL_CHECKS, CHECKERS
from gameday.harness.audits import CHECKLIST_METRICS
from gameday.harness.profile import CHECK_IDS, DEFAULT_PROMQL, CheckId
from tests.helpers import ROOT

PAGE = ROOT / "docs" / "coverage.md"
DECISIONS = ("shown", "not read")


def rows(*sections: str) -> list[list[str]]:
    """The body rows of the tables under the ``## `` headings named."""
    out, section = [], ""
    for line in PAGE.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif section in sections and line.startswith("| ") and not line.startswith("| ---"):
            out.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    return out[1:] if len(sections) == 1 else [r for r in out if r[0] not in ("contract item", "check")]


def named_checks(cell: str) -> set[str]:
    return set(re.findall(r"`([a-z0-9_]+)`", cell))


def test_the_judge_and_the_profile_know_the_same_checks() -> None:
    assert set(CHECKERS) == set(get_args(CheckId))
    assert set(ALL_CHECKS) == set(CHECK_IDS) <= set(CHECKERS)


def test_every_check_is_on_the_page_and_every_check_on_the_page_exists() -> None:
    contract = rows("HTTP", "Prometheus")
    around = rows("Checks on the platform around the contract")
    assert len(contract) >= 20 and all(len(r) == 3 for r in contract) and all(len(r) == 2 for r in around)
    judged = {c for r in contract for c in named_checks(r[1])} | {c for r in around for c in named_checks(r[0])}
    assert judged == set(CHECKERS), (sorted(set(CHECKERS) - judged), sorted(judged - set(CHECKERS)))
    for item, by, why in contract:
        assert named_checks(by) or by in DECISIONS, f"{item}: judged by a check, or {DECISIONS}"
        assert len(why) > 20, f"{item}: say how it is judged, or why it is only shown"


def test_every_contract_metric_has_a_row() -> None:
    items = " ".join(r[0] for r in rows("HTTP", "Prometheus"))
    metrics = {m.removesuffix("_bucket") for m in CHECKLIST_METRICS}
    for query in DEFAULT_PROMQL.values():
        metrics |= {m.removesuffix("_bucket").removesuffix("_count")
                    for m in re.findall(r"\b([a-z_]+_(?:total|seconds_bucket|seconds_count|size|revision))\b", query)}
    assert metrics, "no metric found: the parsing is broken"
    for m in sorted(metrics):
        assert f"`{m}" in items, f"{m} has no row in {PAGE.name}"


def test_every_threshold_the_missions_checks_read_is_documented() -> None:
    page = PAGE.read_text()
    for field in ("mission_settle_s", "min_mission_success", "max_stuck_missions", "mission_p95_s",
                  "max_crew_assembly_failures", "max_watchdog_actions"):
        assert f"checks.{field}" in page, field
