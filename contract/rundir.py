"""The run directory's file names and row columns, stated once for the writers (harness, the
Locust plugin) and the reader (analysis). DESIGN.md "The run directory" describes them."""

from __future__ import annotations

RESULTS_SCHEMA_VERSION = 1  # results.json "schema_version"; docs/results.schema.json describes it
HISTORY_SCHEMA_VERSION = 1  # history.json "schema_version" (gameday history); docs/history.schema.json

PROFILE = "profile.yaml"
TIMELINE = "timeline.jsonl"
READBACK = "readback.json"
AUDITS = "audits.json"
RESULTS = "results.json"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"
JUNIT = "junit.xml"
FIGURES = "figures"
PROMETHEUS = "prometheus"
JOURNALS = "journals"
# alerting (§5.4, gameday.harness.alerting -> gameday.analysis.alert_evidence): Alertmanager's v2 API
# polled during the run
# (one JSON line per poll: {"t", "alerts": [...]} or {"t", "error"}), what the receivers got (one JSON line per
# notification: {"t", "receiver", "payload"}), and how the collector fared (url, polls, errors)
ALERTING = "alerting"
ALERTMANAGER_POLLS = "alerting/alertmanager.jsonl"
ALERT_NOTIFICATIONS = "alerting/notifications.jsonl"
ALERTING_COLLECTOR = "alerting/collector.json"
# one file per Locust process. Recorded as Arrow IPC streams (contract/columnar.py); the CSV form is
# what older runs hold and what `gameday export` writes: readers read both
REQUESTS_STREAM_GLOB = "requests.*.arrows"
ACKS_STREAM_GLOB = "acks.*.arrows"
REQUESTS_GLOB = "requests.*.csv"
ACKS_GLOB = "acks.*.csv"
STREAM_SUFFIX = ".arrows"

# one row per request, in this order (the Locust plugin writes exactly this header)
REQUEST_COLUMNS = ("t_start", "latency_ms", "name", "method", "status", "ok", "error", "mission_id",
                   "t_intended", "latency_intended_ms")
REQUEST_REQUIRED = REQUEST_COLUMNS[:8]  # the open-model columns came later: an older file lacks them
# one row per acknowledged crew (201)
ACK_COLUMNS = ("t_ack", "mission_id", "latency_ms", "startup_ms", "pool")
ACK_REQUIRED = ACK_COLUMNS[:3]  # runs before start-up was recorded have only these
