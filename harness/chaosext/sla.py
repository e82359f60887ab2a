"""Prometheus-backed SLA probes for steady-state hypotheses.

Each probe measures one SLA signal of the target's HTTP histogram
(``http_request_duration_seconds``, the contract in DESIGN.md) over the last ``window_s``
seconds, with the Prometheus HTTP API (``GET /api/v1/query``), and returns a record for the
journal::

    {"verdict": "pass" | "fail", "value": 123.4, "threshold": 200.0, "unit": "ms",
     "window_s": 30, "requests": 412.0, "idle": false, "query": "...", "waited_s": 0.0}

Use it with a regex tolerance on the verdict (no extra package needed)::

    "tolerance": {"type": "regex", "target": "verdict", "pattern": "^pass$"}

No data is never a pass: Prometheus unreachable, an error answer, or a series that does not
exist at all make the probe *fail* (``ActivityFailed``, so the hypothesis is not met). A
window with the series present but no request in it is *idle*: a fail unless ``idle_ok``
(for running an experiment alone, without load, against an idle target).

``settle_s`` re-measures every ``interval_s`` until the signal is within its threshold, for at
most that long: "back within SLA within N s" after a fault, rather than "within SLA over a
window that still holds the fault".

Configuration keys: ``prometheus_url`` (required), ``prometheus_timeout_s`` (default 5), and for a
Prometheus behind TLS and auth the ``prometheus_ca_bundle``, ``prometheus_bearer_token_file`` /
``_env``, ``prometheus_basic_auth_*`` and ``prometheus_sigv4_*`` keys that gameday fills from the
profile's ``target.prometheus`` (:data:`gameday.harness.promclient.CONFIG_KEYS`: references to files and
variables, never the secret). Certificates are always verified.

The thresholds have no default here and none is written in the experiment files: gameday passes
the profile's ``checks.p95_ms`` and ``checks.max_5xx_ratio`` as ``sla_p95_ms`` and ``sla_5xx_ratio``
(and a window of at least four scrape intervals as ``sla_window_s``); run alone, pass them with
``chaos run --var sla_p95_ms:float=200 --var sla_5xx_ratio:float=0.05`` (experiments/README.md).
A threshold left unset fails the probe with that advice, never a silent default.
"""

import math
import time
from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from gameday.contract.checks import DEFAULTS
from gameday.harness import promclient
from gameday.harness.errors import GamedayError
from gameday.harness.promclient import PrometheusError, PrometheusUnreachable

__all__ = ["error_ratio_within", "latency_quantile_within"]

METRIC = "http_request_duration_seconds"
# the API's own traffic: health probes and scrapes say nothing about the users' experience
DEFAULT_SELECTOR = 'job="core-api",route!~"/healthz|/readyz|/metrics"'
DEFAULT_TIMEOUT_S = 5.0


def latency_quantile_within(
    threshold_ms: float,
    window_s: float = 30.0,
    quantile: float = 0.95,
    selector: str = DEFAULT_SELECTOR,
    idle_ok: bool = False,
    settle_s: float = 0.0,
    interval_s: float = 2.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """The ``quantile`` (p95 by default) of request latency over the last ``window_s`` seconds,
    from the histogram, against ``threshold_ms``."""
    threshold_ms = _threshold(threshold_ms, "threshold_ms", "sla_p95_ms", "checks.p95_ms", f"float={DEFAULTS.p95_ms:g}")
    window_s, quantile = _window(window_s), float(quantile)
    if not 0 < quantile < 1:
        raise ActivityFailed(f"quantile must be between 0 and 1, got {quantile}")
    prom = _Prometheus(configuration)
    w = f"{int(window_s)}s"
    query = f"histogram_quantile({quantile:g}, sum by (le) (rate({METRIC}_bucket{{{selector}}}[{w}])))"
    count = f"sum(increase({METRIC}_count{{{selector}}}[{w}]))"

    def measure() -> dict[str, Any]:
        requests_n = prom.traffic(count, _flag(idle_ok))
        value_s = prom.scalar(query, what=f"p{quantile * 100:g} latency") if requests_n else None
        idle = not requests_n
        value = None if value_s is None or math.isnan(value_s) else round(value_s * 1000.0, 3)
        ok = (idle and _flag(idle_ok)) or (value is not None and value <= threshold_ms)
        return _record(ok, value, threshold_ms, "ms", window_s, requests_n, idle, query)

    return _settle(measure, float(settle_s), float(interval_s))


def error_ratio_within(
    threshold: float,
    window_s: float = 30.0,
    selector: str = DEFAULT_SELECTOR,
    status_regex: str = "5..",
    idle_ok: bool = False,
    settle_s: float = 0.0,
    interval_s: float = 2.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """The share of requests answered with ``status_regex`` (5xx) over the last ``window_s``
    seconds, against ``threshold`` (a fraction: 0.05 is 5 %)."""
    threshold = _threshold(threshold, "threshold", "sla_5xx_ratio", "checks.max_5xx_ratio",
                           f"float={DEFAULTS.max_5xx_ratio:g}")
    window_s = _window(window_s)
    prom = _Prometheus(configuration)
    w = f"{int(window_s)}s"
    errors_q = f'sum(increase({METRIC}_count{{{selector},status=~"{status_regex}"}}[{w}]))'
    total_q = f"sum(increase({METRIC}_count{{{selector}}}[{w}]))"

    def measure() -> dict[str, Any]:
        total = prom.traffic(total_q, _flag(idle_ok))
        # no series with an error status at all is zero errors, once there is traffic to count
        errors = prom.scalar(errors_q, what="error count", absent_ok=True) or 0.0
        idle = not total
        value = None if not total else round(errors / total, 6)
        ok = (idle and _flag(idle_ok)) or (value is not None and value <= threshold)
        rec = _record(ok, value, threshold, "ratio", window_s, total, idle, f"{errors_q} / {total_q}")
        rec["errors"] = errors
        return rec

    return _settle(measure, float(settle_s), float(interval_s))


class _Prometheus:
    """Instant queries through :mod:`gameday.harness.promclient` (certificates verified, the profile's
    credentials); every failure becomes an ActivityFailed that says what and where."""

    def __init__(self, configuration: Configuration) -> None:
        cfg = configuration or {}
        url = cfg.get("prometheus_url")
        if not url or not isinstance(url, str) or url.startswith("${"):
            raise ActivityFailed("configuration key prometheus_url is not set: the SLA probes need Prometheus")
        self.url = url.rstrip("/")
        try:
            self.timeout = float(cfg.get("prometheus_timeout_s", DEFAULT_TIMEOUT_S))
        except (TypeError, ValueError):
            raise ActivityFailed("configuration key prometheus_timeout_s: expected seconds") from None
        try:
            self.client = promclient.client(promclient.from_configuration(cfg), self.timeout)
        except (ValueError, GamedayError) as exc:  # a setting that does not fit, a secret that cannot be read
            raise ActivityFailed(f"Prometheus settings: {exc}") from None

    def traffic(self, count_query: str, idle_ok: bool) -> float | None:
        """Requests in the window. A selector matching no series at all is idle only when
        ``idle_ok`` and Prometheus does hold the metric (it scrapes the target): else no data."""
        n = self.scalar(count_query, what="request count", absent_ok=idle_ok)
        if n is None:
            self.scalar(f"count({METRIC}_count)", what=f"{METRIC} series (is the target scraped?)")
        return n

    def scalar(self, query: str, what: str, absent_ok: bool = False) -> float | None:
        """The single value of an instant query; None when the result is empty and
        ``absent_ok``; ActivityFailed when it is empty otherwise (no data)."""
        try:
            resp = self.client.request("/api/v1/query", {"query": query})
        except PrometheusUnreachable as exc:
            raise ActivityFailed(f"Prometheus at {self.url} cannot be queried ({exc}): no data is never a pass") \
                from None
        except PrometheusError as exc:  # the certificate, the credentials: the message names the setting
            raise ActivityFailed(f"{exc}: no data is never a pass") from None
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code != 200 or not isinstance(body, dict) or body.get("status") != "success":
            detail = body.get("error") if isinstance(body, dict) else resp.text[:200]
            raise ActivityFailed(f"Prometheus answered {resp.status_code} to {query!r}: {detail}")
        result = (body.get("data") or {}).get("result") or []
        if not result:
            if absent_ok:
                return None
            raise ActivityFailed(f"no data for the {what} ({query!r}) at {self.url}: "
                                 f"the series does not exist, and no data is never a pass")
        try:
            return float(result[0]["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            raise ActivityFailed(f"Prometheus answer to {query!r} is not an instant vector: {result[:1]}") from None


def _record(ok: bool, value: float | None, threshold: float, unit: str, window_s: float,
            requests_n: float | None, idle: bool, query: str) -> dict[str, Any]:
    return {"verdict": "pass" if ok else "fail", "value": value, "threshold": threshold, "unit": unit,
            "window_s": window_s, "requests": requests_n, "idle": idle, "query": query}


def _settle(measure: Any, settle_s: float, interval_s: float) -> dict[str, Any]:
    started = time.monotonic()
    deadline = started + max(0.0, settle_s)
    interval = max(0.1, interval_s)
    while True:
        rec: dict[str, Any] = measure()
        rec["waited_s"] = round(time.monotonic() - started, 3)
        if rec["verdict"] == "pass" or time.monotonic() + interval > deadline:
            return rec
        time.sleep(interval)


def _threshold(value: Any, arg: str, key: str, field: str, example: str) -> float:
    """A threshold as given, or an ActivityFailed that says where it should come from."""
    # "${key}": not in the configuration at all; "<unset ENV>": the experiment's placeholder
    unset = value is None or (isinstance(value, str) and ("${" in value or value.startswith("<unset")
                                                          or not value.strip()))
    try:
        if not unset:
            return float(value)
    except (TypeError, ValueError):
        raise ActivityFailed(f"{arg}: expected a number, got {value!r}") from None
    raise ActivityFailed(f"{arg} is not set (configuration key {key}): gameday passes the profile's {field}; "
                         f"run alone, pass it: chaos run --var {key}:{example} ...")


def _window(window_s: Any) -> float:
    try:
        w = float(window_s)
    except (TypeError, ValueError):
        raise ActivityFailed(f"window_s: expected seconds, got {window_s!r}") from None
    if w < 1:
        raise ActivityFailed(f"window_s must be at least 1 s, got {window_s!r}")
    return w


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ActivityFailed(f"idle_ok: expected true or false, got {value!r}")
