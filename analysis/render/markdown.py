"""``report.md``: the verdict on top, a banner for a run that did not complete, the checks, one
row per fault. Short enough for a PR comment; the HTML report carries the charts."""

from __future__ import annotations

from pathlib import Path

import jinja2

from analysis.checks.missions import shown
from analysis.judge import Judgement
from analysis.render import tables
from analysis.run import Run
from analysis.verdict import Status

TEMPLATE = """\
# gameday: {{ verdict }}{% if status != "completed" %} — run {{ status | upper }}{% endif %}

{% if status != "completed" -%}
> **This run did not complete ({{ status }}).** The checks below judge the evidence it left;
> missing parts are INCONCLUSIVE. It is not a certification.

{% endif -%}
Profile `{{ profile }}` · run `{{ run }}` · {{ passed }} passed, {{ failed }} failed, {{ inconclusive }} inconclusive

| check | status | value | threshold | window | message |
| --- | --- | --- | --- | --- | --- |
{% for r in results -%}
| {{ r.id }} | {{ icon[r.status.value] }} {{ r.status.value }} | {{ fmt(r.value) }} | {{ fmt(r.threshold) }} \
| {{ r.window }} | {{ r.message | replace("|", "/") }} |
{% endfor %}
{% if faults %}
## Faults

Seconds from the injection: time to detect = first failure a client saw; outage = first to last failure;
recovery = back within every SLA and stayed (1 s resolution); experiment = when its method saw recovery.

| fault | time to detect (s) | outage (s) | recovery (s) | experiment (s) | bound (s) | failed requests \
| lost acks | status |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
{% for f in faults -%}
| {{ f.fault }} | {{ f.detect }} | {{ f.outage }} | {{ f.recovery }} | {{ f.experiment }} | {{ f.bound }} \
| {{ f.failed }} | {{ f.lost }} | {{ f.status }} |
{% endfor %}
{% endif %}
## Operations

Per window, exact client figures; failed = 5xx, no answer or the locustfile's failure mark (4xx apart).

| window | operation | requests | failed | 4xx | p50 (ms) | p95 (ms) | p99 (ms) |
| --- | --- | --- | --- | --- | --- | --- | --- |
{% for w in operations %}{% for o in w.rows -%}
| {{ w.window }} | {{ o.method }} {{ o.name }} | {{ o.requests }} \
| {{ o.failures }} ({{ "%.2f" % (100 * o.failure_ratio) }} %) | {{ o.client_errors }} | {{ "%.1f" % o.p50_ms }} \
| {{ "%.1f" % o.p95_ms }} | {{ "%.1f" % o.p99_ms }} |
{% endfor %}{% endfor %}

Lost acknowledged missions: {{ lost }}.
{% if shown %}
## Shown, not judged

| figure | window | value | source |
| --- | --- | --- | --- |
{% for s in shown -%}
| {{ s.figure }} | {{ s.window }} | {{ s.value | replace("|", "/") }} | {{ s.source }} |
{% endfor %}
{% endif %}"""

ICON = {"PASS": "✅", "FAIL": "❌", "INCONCLUSIVE": "⚠️"}


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def render(run: Run, j: Judgement, status: str) -> str:
    env = jinja2.Environment(autoescape=False, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    lost = next((r for r in j.results if r.id == "lost_acks"), None)
    lost_text = ("not known (" + lost.message + ")" if lost is None or lost.status == Status.INCONCLUSIVE
                 else lost.message) if lost else "not judged"
    return env.from_string(TEMPLATE).render(
        verdict=j.verdict.value, status=status, profile=run.profile.get("name", "?"), run=run.path.name,
        passed=sum(r.status == Status.PASS for r in j.results), failed=sum(r.status == Status.FAIL for r in j.results),
        inconclusive=sum(r.status == Status.INCONCLUSIVE for r in j.results), results=j.results, icon=ICON,
        fmt=_fmt, faults=tables.faults(j), operations=tables.operations(run), lost=lost_text, shown=shown(run))


def write(path: Path, run: Run, j: Judgement, status: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render(run, j, status))
    tmp.replace(path)
