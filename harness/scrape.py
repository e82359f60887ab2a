"""The target Prometheus's scrape interval, and every query range made to fit it.

A range shorter than the scrape interval holds one sample or none: ``rate(x[10s])`` at a 30 s
scrape is *no data*, and "no data" halfway through a game day stops the faults (the steady
state cannot be measured) and leaves checks without evidence. So gameday learns the interval
before it starts (Prometheus's own configuration, else its targets, else the profile) and:

- every range in a query (the checks' PromQL, the SLA probes' window, the evidence snapshot)
  is at least :data:`RATE_INTERVALS` scrape intervals, the rule Grafana's ``$__rate_interval``
  follows; a longer range written in the profile is kept;
- a range the *profile* writes that cannot hold two samples (shorter than two intervals) is
  refused before anything starts (:func:`check_windows`, exit 64 naming the field): widening it
  silently would judge something else than what the profile says.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from gameday.harness import promclient
from gameday.harness.errors import BadInput
from gameday.harness.profile import DEFAULT_PROMQL, Profile, ProfileError

RATE_INTERVALS = 4  # a range holds at least four scrapes (Grafana's $__rate_interval)
MIN_SAMPLES = 2  # fewer than two samples in a range: rate() and increase() have no answer
SNAPSHOT_EVALS_PER_SCRAPE = 4  # evidence points per scrape interval (the snapshot's step)
SANDBOX_DEFAULT_INTERVAL_S = 1.0  # the sandbox's own default (target.sandbox.scrape_interval_s)
PROMETHEUS_DEFAULT_INTERVAL = "1m"  # Prometheus's global default when its configuration omits it

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_RANGE = re.compile(r"\[(\s*)((?:\d+(?:ms|s|m|h|d|w|y))+)(\s*)(:[^\]]*)?\]")


@dataclass(frozen=True)
class ScrapeInterval:
    """How often the target is scraped, and where gameday read it."""

    seconds: float
    source: str

    @property
    def min_range_s(self) -> float:
        """The shortest range any query uses at this interval."""
        return RATE_INTERVALS * self.seconds

    @property
    def min_window_s(self) -> float:
        """The shortest range a profile may write: two samples fit in it."""
        return MIN_SAMPLES * self.seconds

    def range_s(self, wanted_s: float | None) -> float:
        """The range a query uses for a wanted one: at least :attr:`min_range_s`."""
        return max(self.min_range_s, wanted_s or 0.0)

    def step_s(self, profile_step_s: float) -> float:
        """The evidence snapshot's step: a quarter of the interval (every scrape is seen by four
        evaluations, and a window of a quarter interval still holds a point), never finer than
        the profile's ``checks.step_s``."""
        return max(profile_step_s, self.seconds / SNAPSHOT_EVALS_PER_SCRAPE)

    def describe(self) -> str:
        return (f"scrape interval {self.seconds:g} s ({self.source}); query ranges at least "
                f"{self.min_range_s:g} s ({RATE_INTERVALS} intervals)")


def parse_duration(text: str) -> float:
    """A Prometheus duration (``30s``, ``1m30s``, ``500ms``) in seconds; ValueError otherwise."""
    s = str(text).strip()
    parts = _DURATION.findall(s)
    if not s or "".join(n + u for n, u in parts) != s:
        raise ValueError(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNITS[u] for n, u in parts)


def format_duration(seconds: float) -> str:
    """Seconds as a Prometheus duration: whole seconds as ``120s``, else milliseconds."""
    ms = max(1, math.ceil(seconds * 1000 - 1e-6))
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def _code_segments(query: str) -> Iterator[tuple[bool, str]]:
    """The query cut into (is_code, text): string literals are never touched (a regex matcher
    like ``route=~"/v[0-9]"`` holds brackets that are not ranges)."""
    i, start, n = 0, 0, len(query)
    while i < n:
        c = query[i]
        if c in "\"'`":
            if i > start:
                yield True, query[start:i]
            j = i + 1
            while j < n and query[j] != c:
                j += 2 if query[j] == "\\" and c != "`" else 1
            yield False, query[i:j + 1]
            i = start = j + 1
            continue
        i += 1
    if start < n:
        yield True, query[start:]


def ranges(query: str) -> list[float]:
    """Every range (and subquery range) the query selects, in seconds."""
    out: list[float] = []
    for code, text in _code_segments(query):
        if code:
            out += [parse_duration(m.group(2)) for m in _RANGE.finditer(text)]
    return out


def widen(query: str, min_s: float) -> str:
    """``query`` with every range shorter than ``min_s`` set to ``min_s``; longer ones kept."""

    def fix(m: re.Match[str]) -> str:
        if parse_duration(m.group(2)) >= min_s:
            return m.group(0)
        return f"[{m.group(1)}{format_duration(min_s)}{m.group(3)}{m.group(4) or ''}]"

    return "".join(_RANGE.sub(fix, text) if code else text for code, text in _code_segments(query))


def queries_for(profile: Profile, interval: ScrapeInterval) -> dict[str, str]:
    """The checks' PromQL with every range at least :attr:`ScrapeInterval.min_range_s`."""
    return {name: widen(q, interval.min_range_s) for name, q in profile.checks.promql.items()}


def sla_window_field(profile: Profile) -> Iterator[tuple[str, float]]:
    """(field, seconds) of every SLA probe window the profile writes."""
    for i, f in enumerate(profile.faults):
        if "sla_window_s" in f.configuration:
            yield f"faults.{i}.configuration.sla_window_s", _seconds(f.configuration["sla_window_s"],
                                                                      f"faults.{i}.configuration.sla_window_s")


def check_windows(profile: Profile, interval: ScrapeInterval, source: str = "profile") -> None:
    """Refuse (ProfileError, exit 64) every range the profile writes that cannot hold two samples
    at ``interval``: a profile's own PromQL (``checks.promql.<name>``) or SLA probe window
    (``faults.<i>.configuration.sla_window_s``). The defaults are widened, never refused."""
    problems: list[str] = []
    need = interval.min_window_s
    for name, q in profile.checks.promql.items():
        if q == DEFAULT_PROMQL.get(name):
            continue
        try:
            short = [r for r in ranges(q) if r < need]
        except ValueError as exc:
            problems.append(f"checks.promql.{name}: {exc}")
            continue
        if short:
            problems.append(f"checks.promql.{name}: a range of {min(short):g} s cannot hold {MIN_SAMPLES} samples "
                            f"at a {interval.seconds:g} s scrape interval; expected at least {need:g} s "
                            f"({interval.min_range_s:g} s recommended)")
    for field, w in sla_window_field(profile):
        if w < need:
            problems.append(f"{field}: {w:g} s cannot hold {MIN_SAMPLES} samples at a {interval.seconds:g} s scrape "
                            f"interval; expected at least {need:g} s ({interval.min_range_s:g} s recommended), "
                            f"or leave it out (gameday uses {interval.min_range_s:g} s)")
    if problems:
        raise ProfileError("\n".join(f"{source}: {p}  [{interval.source}]" for p in problems))


def _seconds(value: Any, field: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ProfileError(f"{field}: expected seconds, got {value!r}") from None
    if not v > 0:
        raise ProfileError(f"{field}: expected a positive number of seconds, got {value!r}")
    return v


def profile_interval(profile: Profile) -> ScrapeInterval | None:
    """What the profile says, for when Prometheus cannot be asked: ``checks.scrape_interval_s``,
    else for the sandbox its own setting (``target.sandbox.scrape_interval_s``, default 1 s)."""
    if profile.checks.scrape_interval_s is not None:
        return ScrapeInterval(profile.checks.scrape_interval_s, "the profile's checks.scrape_interval_s")
    if profile.target.kind == "sandbox":
        raw = profile.target.sandbox.get("scrape_interval_s")
        if raw is None:
            return ScrapeInterval(SANDBOX_DEFAULT_INTERVAL_S, "the sandbox's default")
        return ScrapeInterval(_seconds(raw, "target.sandbox.scrape_interval_s"),
                              "the profile's target.sandbox.scrape_interval_s")
    return None


def _access(prometheus: str | promclient.Access) -> promclient.Access:
    return promclient.at(prometheus) if isinstance(prometheus, str) else prometheus


def from_config(config_yaml: str) -> float | None:
    """The longest scrape interval of a Prometheus configuration (global, or a job's own)."""
    conf = yaml.safe_load(config_yaml) or {}
    if not isinstance(conf, dict):
        return None
    default = parse_duration(str((conf.get("global") or {}).get("scrape_interval") or PROMETHEUS_DEFAULT_INTERVAL))
    jobs = conf.get("scrape_configs") or []
    values = [parse_duration(str(j["scrape_interval"])) if isinstance(j, dict) and j.get("scrape_interval")
              else default for j in jobs]
    return max(values) if values else default


def _from_status_config(data: Any) -> float | None:
    return from_config(str((data or {}).get("yaml") or ""))


def from_targets(data: Any) -> float | None:
    """The longest ``scrapeInterval`` of the active targets (Prometheus 2.x reports it per target)."""
    values = [parse_duration(t["scrapeInterval"]) for t in (data or {}).get("activeTargets") or []
              if isinstance(t, dict) and t.get("scrapeInterval")]
    return max(values) if values else None


def learn(prometheus: str | promclient.Access | None, fallback: ScrapeInterval | None,
          timeout_s: float = 3.0) -> ScrapeInterval:
    """The target's scrape interval: Prometheus's configuration (``/api/v1/status/config``), else
    its targets (``/api/v1/targets``), else ``fallback`` (the profile). The longest interval of
    any job is taken: a range must hold samples of every series the checks read.
    BadInput when none of them tells (a range guessed wrong is a run of "no data")."""
    tried: list[str] = []
    prometheus_url = prometheus if isinstance(prometheus, str) or prometheus is None else prometheus.url
    if prometheus:
        access = _access(prometheus)
        base = access.url
        readers: tuple[tuple[str, Callable[[Any], float | None]], ...] = (
            ("/api/v1/status/config", _from_status_config), ("/api/v1/targets", from_targets))
        try:
            client: promclient.Client | None = promclient.client(access, timeout_s)
        except BadInput as exc:  # a secret that cannot be read: said, and the fallback used
            tried.append(str(exc)[:200])
            client = None
        for path, read in readers if client is not None else ():
            assert client is not None
            try:
                value = read(client.api(path, timeout_s=timeout_s))
            except (promclient.PrometheusError, ValueError, yaml.YAMLError, KeyError, TypeError) as exc:
                tried.append(f"{path}: {type(exc).__name__}: {str(exc)[:160]}")
                continue
            if value and value > 0:
                client.close()
                return ScrapeInterval(value, f"Prometheus {base}{path}")
            tried.append(f"{path}: no scrape interval in the answer")
        if client is not None:
            client.close()
    if fallback is not None:
        return fallback if not tried else ScrapeInterval(fallback.seconds, f"{fallback.source}; Prometheus did not "
                                                                            f"tell ({'; '.join(tried)})")
    why = "; ".join(tried) or "no URL"
    raise BadInput(f"the scrape interval of Prometheus at {prometheus_url} is unknown ({why}); "
                   f"set checks.scrape_interval_s in the profile")


def wait_for_scrapes(prometheus: str | promclient.Access, since: float, interval: ScrapeInterval, *,
                     clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                     timeout_s: float | None = None) -> tuple[int, float]:
    """Wait until some target was scraped :data:`MIN_SAMPLES` times since ``since`` (unix s), so
    that a range ending now holds two samples taken under load; at most ``timeout_s`` (default
    three intervals). Returns (scrapes seen, seconds waited); never raises for Prometheus errors
    (the checks then say what is missing)."""
    started = clock()
    deadline = started + (timeout_s if timeout_s is not None else (MIN_SAMPLES + 1) * interval.seconds)
    try:
        client: promclient.Client | None = promclient.client(_access(prometheus), 3.0)
    except BadInput:
        client = None  # a secret that cannot be read: no scrapes seen, the checks say what is missing
    seen = 0
    while True:
        span = max(1.0, clock() - since)
        q = f"max(count_over_time(up[{format_duration(span)}]))"
        try:
            if client is None:
                raise ValueError("no client")
            result = client.query(q, timeout_s=3.0)
            seen = int(float(result[0]["value"][1])) if result else 0
        except (promclient.PrometheusError, ValueError, KeyError, IndexError, TypeError):
            seen = 0
        if seen >= MIN_SAMPLES or clock() >= deadline:
            if client is not None:
                client.close()
            return seen, round(clock() - started, 3)
        sleep(min(1.0, max(0.0, deadline - clock())))


def warmup_s(planned_s: float, interval: ScrapeInterval) -> float:
    """The warm-up, long enough that Prometheus scraped the loaded target :data:`MIN_SAMPLES`
    times before the baseline starts: else the baseline's ranges hold fewer than two samples taken
    under load, and the Prometheus-only checks (throughput) have no evidence."""
    return max(planned_s, MIN_SAMPLES * interval.seconds + 1.0)
