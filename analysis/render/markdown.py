"""``report.md``: the verdict on top, a banner for a run that did not complete, the checks, one
row per fault. Short enough for a PR comment; the HTML report carries the charts."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import jinja2

from gameday.analysis.checks.missions import shown
from gameday.analysis.judge import Judgement
from gameday.analysis.render import tables
from gameday.analysis.run import Run
from gameday.analysis.verdict import Status
from gameday.analysis.windows import first_event
from gameday.contract.atomic import write_atomic
from gameday.contract.events import Event

TEMPLATE = """\
# gameday: {{ verdict }}{% if status != "completed" %} — run {{ status | upper }}{% endif %}

{% if status != "completed" -%}
> **This run did not complete ({{ status }}).**{% if failure %} What failed: {{ failure | cell }}.{% endif %}
> The checks below judge the evidence it left;
> missing parts are INCONCLUSIVE. It is not a certification.

{% endif -%}
Profile `{{ profile | cell }}` · run `{{ run | cell }}` · {{ passed }} passed, {{ failed }} failed, \
{{ inconclusive }} inconclusive

| check | status | value | threshold | window | message |
| --- | --- | --- | --- | --- | --- |
{% for r in results -%}
| {{ r.id | cell }} | {{ icon[r.status.value] }} {{ r.status.value }} | {{ fmt(r.value) }} | {{ fmt(r.threshold) }} \
| {{ r.window | cell }} | {{ r.message | cell }} |
{% endfor %}
{% if faults %}
## Faults

Seconds from the injection: time to detect = first failure a client saw; outage = first to last failure;
recovery = back within every SLA and stayed (1 s resolution); experiment = when its method saw recovery.

| fault | time to detect (s) | outage (s) | recovery (s) | experiment (s) | bound (s) | failed requests \
| lost acks | status | alerts (s from the injection) |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
{% for f in faults -%}
| {{ f.fault | cell }} | {{ f.detect }} | {{ f.outage }} | {{ f.recovery }} | {{ f.experiment }} | {{ f.bound }} \
| {{ f.failed }} | {{ f.lost }} | {{ f.status }} | {{ f.alerts | cell }} |
{% endfor %}
{% endif %}
## Evidence resolution

Client figures (latency, failures, start-up, recovery) are exact, every request; recovery is judged over \
{{ res.recovery_window_s | round(1) }} s windows sliding by 1 s. Prometheus figures: \
{% if res.interval_s %}scrape interval {{ res.interval_s | round(1) }} s ({{ res.source }}), every query range \
at least {{ res.min_range_s | round(1) }} s, snapshot step {{ res.step_s }} s.{% else %}scrape interval not \
recorded.{% endif %}

## Operations

Per window, exact client figures; failed = 5xx, no answer or the locustfile's failure mark (4xx apart).

| window | operation | requests | failed | 4xx | p50 (ms) | p95 (ms) | p99 (ms) |
| --- | --- | --- | --- | --- | --- | --- | --- |
{% for w in operations %}{% for o in w.rows -%}
| {{ w.window | cell }} | {{ o.method | cell }} {{ o.name | cell }} | {{ o.requests }} \
| {{ o.failures }} ({{ "%.2f" % (100 * o.failure_ratio) }} %) | {{ o.client_errors }} | {{ "%.1f" % o.p50_ms }} \
| {{ "%.1f" % o.p95_ms }} | {{ "%.1f" % o.p99_ms }} |
{% endfor %}{% endfor %}

Lost acknowledged missions: {{ lost }}.
{% if shown %}
## Shown, not judged

| figure | window | value | source |
| --- | --- | --- | --- |
{% for s in shown -%}
| {{ s.figure | cell }} | {{ s.window | cell }} | {{ s.value | cell }} | {{ s.source | cell }} |
{% endfor %}
{% endif %}"""

ICON = {"PASS": "✅", "FAIL": "❌", "INCONCLUSIVE": "⚠️"}


_TAG = re.compile(r"<(?=[A-Za-z/!?])")
_BREAKS = re.compile("[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029\ud800-\udfff]")


def cell(v: object) -> str:
    """A Markdown table cell that stays one cell: no HTML tag gets in (a ``<`` that could open one
    is ``&lt;``; "p95 1.9 s < 30 s" stays as written), pipes escaped, newlines as ``<br>``."""
    text = _TAG.sub("&lt;", str(v)).replace("|", "\\|")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")
    return _BREAKS.sub("\ufffd", text)  # other line breaks and control characters: one visible mark


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


@functools.cache
def _template() -> jinja2.Template:
    """The report's template, compiled once per process (compiling it took a tenth of a judge)."""
    env = jinja2.Environment(autoescape=False, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["cell"] = cell
    return env.from_string(TEMPLATE)


def render(run: Run, j: Judgement, status: str) -> str:
    failed = first_event(run.events, Event.RUN_FAILED)
    lost = next((r for r in j.results if r.id == "lost_acks"), None)
    lost_text = ("not known (" + lost.message + ")" if lost is None or lost.status == Status.INCONCLUSIVE
                 else lost.message) if lost else "not judged"
    return _template().render(
        verdict=j.verdict.value, status=status, profile=run.profile.get("name", "?"), run=run.path.name,
        passed=sum(r.status == Status.PASS for r in j.results), failed=sum(r.status == Status.FAIL for r in j.results),
        inconclusive=sum(r.status == Status.INCONCLUSIVE for r in j.results), results=j.results, icon=ICON,
        fmt=_fmt, faults=tables.faults(j), operations=tables.operations(run), res=tables.resolution(run),
        lost=lost_text, shown=shown(run),
        failure=None if failed is None else str(failed.get("reason") or "no reason recorded"))


def write(path: Path, run: Run, j: Judgement, status: str) -> None:
    write_atomic(path, render(run, j, status), root=run.path)
