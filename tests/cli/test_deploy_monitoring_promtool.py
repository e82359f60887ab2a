"""promtool accepts the PrometheusRule's rule groups (the PromQL parses, the rule file is valid), as it
accepts the sandbox's own rules file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is installed by scripts/bootstrap")
def test_promtool_checks_the_prometheus_rule(tmp_path: Path) -> None:
    rule = yaml.safe_load((ROOT / "deploy/monitoring/prometheusrule.yaml").read_text())
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    proc = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    count = sum(len(g["rules"]) for g in rule["spec"]["groups"])
    assert f"SUCCESS: {count} rules found" in proc.stdout


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node (the runner's github-script runs on it)")
def test_the_workflow_comment_script_creates_then_updates_one_comment(tmp_path: Path) -> None:
    """The github-script step run by node against a stand-in of Octokit: the first push creates the comment
    with report.md, the next one updates that comment rather than adding another."""
    wf = yaml.safe_load((ROOT / ".github/workflows/gameday.yml").read_text())
    step = next(s for s in wf["jobs"]["smoke"]["steps"] if str(s.get("uses", "")).startswith("actions/github-script@"))
    script = step["with"]["script"].replace("${{ steps.recipe.outcome }}", "failure")
    (tmp_path / "report.md").write_text("VERDICT: NO-GO\n")
    harness = "\n".join([
        "const calls = []; const store = [];",
        "const github = { paginate: async () => store.slice(), rest: { issues: { listComments: null,",
        "  createComment: async (a) => { calls.push(['create', a]);",
        "    store.push({ id: 7, user: { type: 'Bot' }, body: a.body }); },",
        "  updateComment: async (a) => { calls.push(['update', a]); } } } };",
        "const context = { serverUrl: 'https://github.example', repo: { owner: 'o', repo: 'r' }, runId: 1,",
        "  issue: { number: 5 } };",
        "const run = async () => {", script, "};",
        "(async () => { await run(); await run(); console.log(JSON.stringify(calls)); })();"])
    (tmp_path / "t.js").write_text(harness)
    proc = subprocess.run(["node", "t.js"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
                          env={"REPORT": str(tmp_path / "report.md"), "COMPARE": str(tmp_path / "none.txt"),
                               "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    import json

    calls = json.loads(proc.stdout)
    assert [c[0] for c in calls] == ["create", "update"]
    assert calls[0][1]["issue_number"] == 5 and calls[1][1]["comment_id"] == 7
    body = calls[0][1]["body"]
    assert body.startswith("<!-- gameday-report -->") and "## gameday smoke: failure" in body
    assert "VERDICT: NO-GO" in body and "https://github.example/o/r/actions/runs/1" in body
