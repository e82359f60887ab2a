"""Secrets, the fast layer (issue 14): 25+ secret shapes planted through every path a synthetic run
offers — the resolved profile (api/prometheus/grafana URLs, load.env), the timeline, the
read-back and audit files, Prometheus sidecars, results, reports, printed messages — and searched
for in every file of the run directory: none found. The sandbox end-to-end is tests/sandbox/test_secrets.py;
the shapes are tests/corpus/secret_shapes.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gameday.contract.atomic import write_atomic
from gameday.contract.redact import scrub
from gameday.harness import profile as profile_mod
from gameday.harness.cli import main
from gameday.harness.redact import Redactor, env_secrets, secret_name
from gameday.harness.rundir import write_profile
from gameday.harness.timeline import Timeline
from tests.corpus.secret_shapes import DECLARED, ENV, SHAPES
from tests.helpers import ROOT, charts_drawn_not_laid_out, healthy_run


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)


def test_the_corpus_has_at_least_25_shapes() -> None:
    assert len(SHAPES) >= 25 and len({s for s, _, _ in SHAPES}) == len(SHAPES)


@pytest.mark.parametrize("name", ["DATABASE_URL", "SLACK_WEBHOOK_URL", "DB_PASS", "GRAFANA_SA", "KUBE_BEARER",
                                  "AUTH_HEADER", "api_token", "password"])
def test_secret_names(name: str) -> None:
    assert secret_name(name)


@pytest.mark.parametrize("name", ["passed", "bypass", "status", "api_url", "sample", "usage", "database"])
def test_ordinary_names_are_not_secret(name: str) -> None:
    assert not secret_name(name)


@pytest.mark.parametrize(("shape", "text", "secret"), SHAPES, ids=[s for s, _, _ in SHAPES])
def test_each_shape_is_masked(shape: str, text: str, secret: str, env: None) -> None:
    r = Redactor([DECLARED])
    r.add(env_secrets())
    assert secret in text
    assert secret not in r.text(text)
    assert secret not in json.dumps(r({"message": text}))
    if not shape.startswith("declared"):
        assert secret not in scrub(text)  # undeclared: by shape or by the environment's names


def test_every_path_into_the_run_directory(tmp_path: Path, env: None, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    charts_drawn_not_laid_out(monkeypatch)  # pixels hold no text to find: the PNGs are not searched below
    run = healthy_run(tmp_path / "run")
    every = " | ".join(text for _, text, _ in SHAPES)
    # the resolved profile: URLs with user-info, load.env values, a declared secret
    p = profile_mod.load(ROOT / "profiles/smoke.yaml", [
        "target.api_url=https://u:profile-api-pw-1@api.example", "target.prometheus_url=http://p:prom-pw-2@prom:9090",
        f"load.env.DATABASE_URL={ENV['DATABASE_URL']}", "load.env.AUTH_HEADER=Bearer profile-auth-3"])
    redactor = Redactor([DECLARED])
    redactor.add(env_secrets())
    write_profile(run, p, redactor)
    # the timeline (every collector writes there), read-back errors, audits, a Prometheus sidecar
    with Timeline(run / "timeline.jsonl", redact=redactor) as tl:
        tl.append("notify_failed", sink="test", error=every)  # any contract event
    rb = json.loads((run / "readback.json").read_text())
    rb["error"] = every
    write_atomic(run / "readback.json", json.dumps(rb))
    write_atomic(run / "audits.json", json.dumps({"errors": {"servers": every}}))
    (run / "prometheus").mkdir()
    write_atomic(run / "prometheus" / "latency_p95.json",
                 json.dumps({"query": "q", "error": f"Prometheus at http://u:prom-pw-2@prom:9090 down: {every}"}))
    (run / "prometheus" / "latency_p95.csv").write_text("timestamp,value,labels\n")
    monkeypatch.setattr(sys, "argv", ["gameday", "judge", str(run)])
    with pytest.raises(SystemExit):
        main()
    out = capsys.readouterr()
    secrets = [s for _, _, s in SHAPES] + ["profile-api-pw-1", "prom-pw-2", "profile-auth-3"]
    found = {(f.name, s) for f in run.rglob("*") if f.is_file() and f.suffix != ".png"
             for s in secrets if s in f.read_text(errors="replace")}
    found |= {("output", s) for s in secrets if s in out.out + out.err}
    assert found == set()
    for f in run.rglob("*.json"):
        json.loads(f.read_text())  # masking kept every JSON file JSON
    # they did travel: the masks are where the secrets were
    assert "***REDACTED***" in (run / "profile.yaml").read_text()
    assert "***REDACTED***" in (run / "results.json").read_text()
    assert "***REDACTED***" in (run / "report.md").read_text()


def test_the_working_directory_is_not_a_secret() -> None:
    # PWD matches the PWD name pattern; its value is the shell's directory: masking it blanked every
    # path of the run directory (seen as "***REDACTED***/experiments/sandbox/bad-release.json")
    env = {"PWD": "/work/main", "OLDPWD": "/tmp", "DB_PWD": "hunter2-pw"}
    assert env_secrets(env) == {"hunter2-pw"}
