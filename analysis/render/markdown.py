"""``report.md``: the verdict on top, a banner for a run that did not complete, the checks, one
row per fault. Short enough for a PR comment; the HTML report carries the charts."""

from __future__ import annotations

from pathlib import Path

import jinja2

from analysis.judge import Judgement
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

| fault | recovery (s) | bound (s) | failed requests | status |
| --- | --- | --- | --- | --- |
{% for f in faults -%}
| {{ f.fault }} | {{ fmt(f.value) }} | {{ fmt(f.threshold) }} | {{ f.failed }} | {{ f.status }} |
{% endfor %}
{% endif %}
Lost acknowledged missions: {{ lost }}.
"""

ICON = {"PASS": "✅", "FAIL": "❌", "INCONCLUSIVE": "⚠️"}


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def render(run: Run, j: Judgement, status: str) -> str:
    env = jinja2.Environment(autoescape=False, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    faults = [{"fault": r.details.get("fault", r.window), "value": r.value, "threshold": r.threshold,
               "failed": r.details.get("failed_requests", "-"), "status": r.status.value}
              for r in j.results if r.id == "recovery_time" and r.details.get("fault")]
    lost = next((r for r in j.results if r.id == "lost_acks"), None)
    lost_text = ("not known (" + lost.message + ")" if lost is None or lost.status == Status.INCONCLUSIVE
                 else lost.message) if lost else "not judged"
    return env.from_string(TEMPLATE).render(
        verdict=j.verdict.value, status=status, profile=run.profile.get("name", "?"), run=run.path.name,
        passed=sum(r.status == Status.PASS for r in j.results), failed=sum(r.status == Status.FAIL for r in j.results),
        inconclusive=sum(r.status == Status.INCONCLUSIVE for r in j.results), results=j.results, icon=ICON,
        fmt=_fmt, faults=faults, lost=lost_text)


def write(path: Path, run: Run, j: Judgement, status: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render(run, j, status))
    tmp.replace(path)
