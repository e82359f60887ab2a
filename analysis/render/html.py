"""``report.html``: the failover report, self-contained (charts embedded), opens offline.

The verdict on top (with a banner for a run that did not complete), the checks, a table per
fault, the charts with fault windows shaded, and the checklist §7 sign-off rows filled with
this run's evidence.
"""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import Any

import jinja2

from gameday.analysis.judge import Judgement
from gameday.analysis.render import tables
from gameday.analysis.run import Run
from gameday.analysis.verdict import Status
from gameday.contract.atomic import ensure_dir, write_atomic
from gameday.contract.redact import scrub

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gameday {{ verdict }} — {{ run }}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
.verdict { font-size: 2em; font-weight: 700; padding: .4em .8em; border-radius: 6px; display: inline-block; }
.GO { background: #d9ead3; color: #274e13; } .NO-GO { background: #f4cccc; color: #660000; }
.INCONCLUSIVE { background: #fff2cc; color: #7f6000; }
.banner { background: #fce5cd; border-left: 6px solid #e69138; padding: .8em 1em; margin: 1em 0; }
table { border-collapse: collapse; width: 100%; margin: .6em 0 1.4em; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.PASS { color: #274e13; } td.FAIL { color: #990000; font-weight: 600; }
td.INCONCLUSIVE { color: #7f6000; font-weight: 600; } img { width: 100%; border: 1px solid #eee; }
.muted { color: #777; }
</style></head><body>
<h1>HyperCode failover report</h1>
<div class="verdict {{ verdict }}">{{ verdict }}</div>
<p class="muted">profile <b>{{ profile | scrub }}</b> · run <code>{{ run }}</code> · {{ passed }} passed,
{{ failed }} failed, {{ inconclusive }} inconclusive</p>
{% if status != "completed" %}<div class="banner"><b>This run did not complete: {{ status | upper }}.</b>
The checks judge only the evidence it left; {{ missing | join(", ") or "nothing else" }} is missing.
It is not a certification.</div>{% endif %}
<h2>Checks</h2>
<table><tr><th>check</th><th>status</th><th>value</th><th>threshold</th><th>window</th><th>evidence</th><th>message</th></tr>
{% for r in results %}<tr><td>{{ r.id }}</td><td class="{{ r.status.value }}">{{ r.status.value }}</td>
<td>{{ fmt(r.value) }}</td><td>{{ fmt(r.threshold) }}</td><td>{{ r.window | scrub }}</td>
<td>{{ r.evidence | scrub }}</td><td>{{ r.message | scrub }}</td></tr>{% endfor %}</table>
{% if faults %}<h2>Faults</h2>
<p class="muted">Seconds from the injection. Time to detect: the first failure a client saw; outage: first to
last failed request; recovery: back within every SLA (each operation's p95 and failures, crew start-up) and
stayed there, at 1 s resolution; experiment: when the Chaos Toolkit experiment's method saw it recovered.</p>
<table><tr><th>fault</th><th>time to detect (s)</th><th>outage (s)</th><th>recovery (s)</th><th>experiment (s)</th>
<th>bound (s)</th><th>failed requests</th><th>lost acknowledgements (acknowledged in this window)</th>
<th>status</th><th>alerts (pending, firing, notified, resolved: s from the injection)</th></tr>
{% for f in faults %}<tr><td>{{ f.fault }}</td><td>{{ f.detect }}</td><td>{{ f.outage }}</td><td>{{ f.recovery }}</td>
<td>{{ f.experiment }}</td><td>{{ f.bound }}</td><td>{{ f.failed }}</td><td>{{ f.lost }}</td>
<td class="{{ f.status }}">{{ f.status }}</td><td>{{ f.alerts | scrub }}</td></tr>{% endfor %}
</table>{% endif %}
<h2>Evidence resolution</h2>
<p>Client figures (latency, failures, start-up, recovery) are exact, over every request; recovery is judged over
{{ res.recovery_window_s | round(1) }} s windows sliding by 1 s. Prometheus figures:
{% if res.interval_s %}scrape interval <b>{{ res.interval_s | round(1) }} s</b> ({{ res.source }}), every query range at
least <b>{{ res.min_range_s | round(1) }} s</b>, snapshot step {{ res.step_s }} s.{% else %}scrape interval not
recorded in this run.{% endif %}</p>
{% if res.queries %}<details><summary>the queries as run</summary><table>
{% for name, q in res.queries.items() %}<tr><td>{{ name }}</td><td><code>{{ q }}</code></td></tr>{% endfor %}
</table></details>{% endif %}
{% if operations %}<h2>Operations</h2>
<p class="muted">Per window, every request name, exact client figures (like Locust's statistics table), failed
operations first. Failed: 5xx, no answer, or the locustfile's own failure mark; 4xx are shown apart.</p>
<table><tr><th>window</th><th>method</th><th>operation</th><th>requests</th><th>failed</th><th>failed %</th>
<th>4xx</th><th>p50 (ms)</th><th>p95 (ms)</th><th>p99 (ms)</th><th>max (ms)</th></tr>
{% for w in operations %}{% for o in w.rows %}<tr><td>{{ w.window }}</td><td>{{ o.method | scrub }}</td>
<td>{{ o.name | scrub }}</td>
<td>{{ o.requests }}</td><td class="{{ 'FAIL' if o.failures else '' }}">{{ o.failures }}</td>
<td>{{ "%.2f" % (100 * o.failure_ratio) }}</td><td>{{ o.client_errors }}</td><td>{{ "%.1f" % o.p50_ms }}</td>
<td>{{ "%.1f" % o.p95_ms }}</td><td>{{ "%.1f" % o.p99_ms }}</td><td>{{ "%.1f" % o.max_ms }}</td></tr>
{% endfor %}{% endfor %}</table>{% endif %}
<h2>Charts</h2>
<p class="muted">Fault windows shaded; red dashed line: injection; orange dash-dot: first failure a client saw;
green solid line: back within every SLA (clients); green dotted line: the experiment saw it recovered.</p>
{% for c in charts %}<figure><img alt="{{ c.name }}" src="data:image/png;base64,{{ c.data }}"></figure>{% endfor %}
<h2>Checklist §7 sign-off</h2>
<table><tr><th>Checklist item</th><th>Priority</th><th>Owner</th><th>Status</th><th>Validation evidence</th></tr>
{% for s in signoff %}<tr><td>{{ s.item }}</td><td>{{ s.priority }}</td><td>{{ s.owner }}</td>
<td class="{{ s.status }}">{{ s.status }}</td><td>{{ s.evidence }}</td></tr>{% endfor %}</table>
<p><b>Go-Live Decision:</b> {{ verdict }}{% if status != "completed" %} (run {{ status }}: not a decision){% endif %}
&nbsp; <b>Date:</b> ____________ &nbsp; <b>Authorized By:</b> ____________</p>
</body></html>
"""

EXPECTED_FILES = ("timeline.jsonl", "readback.json", "prometheus", "results.json")


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def _status(results: list[Any], ids: tuple[str, ...]) -> str:
    got = [r for r in results if r.id in ids]
    if not got:
        return "INCONCLUSIVE"
    if any(r.status == Status.FAIL for r in got):
        return "FAIL"
    return "PASS" if all(r.status == Status.PASS for r in got) else "INCONCLUSIVE"


@functools.cache
def _template() -> jinja2.Template:
    """The report's template, compiled once per process (compiling it took a tenth of a judge)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["scrub"] = lambda v: scrub(str(v))
    return env.from_string(TEMPLATE)


def render(run: Run, j: Judgement, status: str, charts: dict[str, bytes]) -> str:
    res = j.results
    signoff = [
        {"item": "DB HA Config", "priority": "P0", "owner": "SRE",
         "status": _status(res, ("recovery_time", "lost_acks")),
         "evidence": f"Failover Test Report: this run ({run.path.name}); DB failover recovery, "
                     "lost acknowledgements"},
        {"item": "Load Testing", "priority": "P1", "owner": "Perf Eng",
         "status": _status(res, ("latency_p95", "throughput", "agent_startup_warm", "error_rate_5xx")),
         "evidence": "Locust Report: load/locust_report.html; exact client samples requests.*.csv"},
        {"item": "Automated rollback (§4.2)", "priority": "P0", "owner": "DevOps Lead",
         "status": _status(res, ("automated_rollback",)),
         "evidence": "bad-release fault, Prometheus deployment series"},
        {"item": "Redis / PgBouncer / metrics / alerts (§2, §5)", "priority": "P1", "owner": "SRE",
         "status": _status(res, ("audit_redis", "audit_pgbouncer", "audit_metrics", "audit_alert_rules")),
         "evidence": "audits.json read from the live servers and Prometheus"},
    ]
    missing = [f for f in EXPECTED_FILES if not (run.path / f).exists()]
    return _template().render(
        verdict=j.verdict.value, status=status, run=run.path.name, profile=run.profile.get("name", "?"),
        passed=sum(r.status == Status.PASS for r in res), failed=sum(r.status == Status.FAIL for r in res),
        inconclusive=sum(r.status == Status.INCONCLUSIVE for r in res), results=res, fmt=_fmt, missing=missing,
        faults=tables.faults(j), operations=tables.operations(run), res=tables.resolution(run), signoff=signoff,
        charts=[{"name": n, "data": base64.b64encode(b).decode()} for n, b in charts.items()])


def write(run_dir: Path, run: Run, j: Judgement, status: str, charts: dict[str, bytes]) -> None:
    figures = ensure_dir(run_dir / "figures", root=run_dir)  # a planted ``figures`` symlink is refused
    for name, data in charts.items():
        write_atomic(figures / f"{name}.png", data, root=run_dir)
    # scrubbed part by part in the template (the ``scrub`` filter); the embedded images are bytes
    write_atomic(run_dir / "report.html", render(run, j, status, charts), root=run_dir, redact=False)
