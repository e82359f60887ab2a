"""alertmanager.yml, the alert rules as the sandbox runs them, and Alertmanager's command line.

Routing follows the checklist's §5.4: P1 pages (receiver ``pager``), P2 notifies the ops channel
(``ops-channel``), P3 is logged (``log``); anything without a known severity goes to ``unrouted``,
so a rule with a wrong label shows up instead of vanishing. Every receiver is a webhook on the
sandbox's alert receiver (``gameday.sandbox.app.alert_receiver``), which records what it gets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .prometheus import duration

RECEIVERS = ("pager", "ops-channel", "log", "unrouted")
SEVERITY_ROUTES = {"P1": "pager", "P2": "ops-channel", "P3": "log"}
DB_DOWN_ALERT = "HyperCodeDatabaseDown"
FALSE_PAGE_ALERT = "HyperCodeMutantFalsePage"


def render_config(receiver_port: int, group_wait_s: float, group_interval_s: float,
                  p1_receiver: str = "pager") -> str:
    """alertmanager.yml: one route per severity, every receiver a webhook that also gets resolutions.

    ``group_by`` alert name and severity: one alert's notifications are not held back by another's.
    ``repeat_interval`` is long: a run sees a firing alert's first notification and its resolution,
    not reminders. ``p1_receiver`` other than ``pager`` is the misrouting mutant.
    """
    routes = {**SEVERITY_ROUTES, "P1": p1_receiver}
    if p1_receiver not in RECEIVERS:
        raise ValueError(f"unknown receiver {p1_receiver!r}; expected one of {', '.join(RECEIVERS)}")
    config: dict[str, Any] = {
        "route": {
            "receiver": "unrouted",
            "group_by": ["alertname", "severity"],
            "group_wait": duration(group_wait_s),
            "group_interval": duration(group_interval_s),
            "repeat_interval": "1h",
            "routes": [{"matchers": [f'severity="{sev}"'], "receiver": rcv} for sev, rcv in routes.items()],
        },
        "receivers": [
            {"name": name, "webhook_configs": [{"url": f"http://127.0.0.1:{int(receiver_port)}/{name}",
                                                "send_resolved": True}]}
            for name in RECEIVERS
        ],
    }
    header = "# Rendered by gameday.sandbox.prometheus.alertmanager.render_config; do not edit.\n"
    return header + yaml.safe_dump(config, sort_keys=False)


def render_rules(rules_path: Path, db_down_for_s: float, false_page: bool) -> str:
    """The rules file as this sandbox runs it: ``rules.yml`` with the P1 database rule's ``for:``
    as configured, and, for the false-page mutant, one more P1 that is always firing."""
    doc = yaml.safe_load(Path(rules_path).read_text())
    found = False
    for group in doc["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == DB_DOWN_ALERT:
                rule["for"] = duration(db_down_for_s)
                found = True
        if group["name"] == "hypercode.alerts" and false_page:
            group["rules"].append({
                "alert": FALSE_PAGE_ALERT, "expr": "vector(1)",
                "labels": {"severity": "P1", "channel": "pagerduty"},
                "annotations": {"summary": "mutant: a page with nothing wrong"}})
    if not found:
        raise ValueError(f"{rules_path}: no alert {DB_DOWN_ALERT}")
    header = f"# Rendered from {rules_path} by gameday.sandbox.prometheus.alertmanager.render_rules; do not edit.\n"
    return header + yaml.safe_dump(doc, sort_keys=False)


def alertmanager_argv(binary: str | Path, config_path: Path, data_dir: Path, port: int) -> list[str]:
    """Loopback only; ``--cluster.listen-address=`` switches the HA gossip off (it would listen on
    every interface at 9094, and one instance has no peers)."""
    return [
        str(binary),
        f"--config.file={config_path}",
        f"--storage.path={data_dir}",
        f"--web.listen-address=127.0.0.1:{int(port)}",
        "--cluster.listen-address=",
        "--data.retention=24h",
    ]
