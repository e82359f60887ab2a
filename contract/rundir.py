"""The run directory's file names and row columns, stated once for the writers (harness, the
Locust plugin) and the reader (analysis). DESIGN.md "The run directory" describes them."""

from __future__ import annotations

RESULTS_SCHEMA_VERSION = 1  # results.json "schema_version"; docs/results.schema.json describes it

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
REQUESTS_GLOB = "requests.*.csv"  # one file per Locust process
ACKS_GLOB = "acks.*.csv"

# one row per request, in this order (the Locust plugin writes exactly this header)
REQUEST_COLUMNS = ("t_start", "latency_ms", "name", "method", "status", "ok", "error", "mission_id",
                   "t_intended", "latency_intended_ms")
REQUEST_REQUIRED = REQUEST_COLUMNS[:8]  # the open-model columns came later: an older file lacks them
# one row per acknowledged crew (201)
ACK_COLUMNS = ("t_ack", "mission_id", "latency_ms", "startup_ms", "pool")
ACK_REQUIRED = ACK_COLUMNS[:3]  # runs before start-up was recorded have only these
