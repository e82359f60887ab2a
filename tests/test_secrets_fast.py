"""Secrets, the fast layer (issue 14): 25+ secret shapes planted through every path a synthetic run
offers — the resolved profile (api/prometheus/grafana URLs, load.env), the timeline, the
read-back and audit files, Prometheus sidecars, results, reports, printed messages — and searched
for in every file of the run directory: none found. The sandbox end-to-end is tests/test_secrets.py."""

from __future__ import annotations

import base64
import json
import sys
import urllib.parse
from pathlib import Path

import pytest

from contract.atomic import write_atomic
from contract.redact import scrub
from harness import profile as profile_mod
from harness.cli import main
from harness.redact import Redactor, env_secrets, secret_name
from harness.rundir import write_profile
from harness.timeline import Timeline
from tests.conftest import ROOT
from tests.damaged_runs import build

DECLARED = 'de"cl\\ared/p@ss+w0rd'  # a declared secret, with characters every encoding changes
ENV = {"DATABASE_URL": "postgresql://app:env-db-pw-77@db:5432/hc", "SLACK_WEBHOOK_URL":
       "https://hooks.slack.com/services/T0AAA/B0BBB/slackenvsecret99", "DB_PASS": "env-db-pass-31",
       "GRAFANA_SA": "glsa_envgrafanasecret_0123456789", "KUBE_BEARER": "kube-bearer-secret-55",
       "AUTH_HEADER": "Bearer env-auth-header-secret-12"}

# (shape, text carrying it, the secret part that must not survive)
SHAPES: list[tuple[str, str, str]] = [
    ("postgres-userinfo", "connect postgresql://app:pg-url-pw-1@db:5432/x failed", "pg-url-pw-1"),
    ("https-userinfo", "GET https://admin:https-url-pw-2@api.example/v1 refused", "https-url-pw-2"),
    ("token-only-userinfo", "clone https://ghp_tokenonlyuser33@github.com/x", "ghp_tokenonlyuser33"),
    ("redis-password-only", "redis://:redis-url-pw-4@cache:6379/0 down", "redis-url-pw-4"),
    ("amqp-userinfo", "amqp://guest:amqp-url-pw-5@mq//", "amqp-url-pw-5"),
    ("url-in-query-encoded", "next=https%3A%2F%2Fu%3Aenc-url-pw-6%40host%2F", "enc-url-pw-6"),
    ("authorization-bearer", "Authorization: Bearer eyJhbGciOi.JIUzI1NiJ9.sig-bearer-7", "sig-bearer-7"),
    ("bare-bearer", "sent Bearer bare-bearer-token-8 to the API", "bare-bearer-token-8"),
    ("basic", "Authorization: Basic dXNlcjpiYXNpYy1wdy05", "dXNlcjpiYXNpYy1wdy05"),
    ("authorization-token", "authorization=Token tok-auth-10abcdef", "tok-auth-10abcdef"),
    ("authorization-json", '{"Authorization": "raw-auth-value-11"}', "raw-auth-value-11"),
    ("aws-akia", "key AKIAIOSFODNN7EXAMPL2 rejected", "AKIAIOSFODNN7EXAMPL2"),
    ("aws-asia", "session ASIAY34FZKBOKMUTVV7A expired", "ASIAY34FZKBOKMUTVV7A"),
    ("aws-secret", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("aws-secret-json", '"aws_secret_access_key": "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"',
     "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"),
    ("slack-webhook", "posted to https://hooks.slack.com/services/T111/B222/slackhooksecret16", "slackhooksecret16"),
    ("slack-token", "xoxb-123456789012-slacktokensecret17", "slacktokensecret17"),
    ("grafana-token", "token glsa_grafanaSAtokensecret_18abcdef", "glsa_grafanaSAtokensecret_18abcdef"),
    ("declared-plain", f"the API said {DECLARED}", DECLARED),
    ("declared-json-escaped", f"body {json.dumps(DECLARED)}", json.dumps(DECLARED)[1:-1]),
    ("declared-url-encoded", f"?p={urllib.parse.quote(DECLARED, safe='')}", urllib.parse.quote(DECLARED, safe="")),
    ("declared-form-encoded", f"p={urllib.parse.quote_plus(DECLARED)}", urllib.parse.quote_plus(DECLARED)),
    ("declared-base64", f"blob {base64.b64encode(DECLARED.encode()).decode()}",
     base64.b64encode(DECLARED.encode()).decode()),
    ("declared-base64-url", f"blob {base64.urlsafe_b64encode(DECLARED.encode()).decode().rstrip('=')}",
     base64.urlsafe_b64encode(DECLARED.encode()).decode().rstrip("=")),
    ("env-database-url", f"db {ENV['DATABASE_URL']}", "env-db-pw-77"),
    ("env-slack-webhook", f"hook {ENV['SLACK_WEBHOOK_URL']}", "slackenvsecret99"),
    ("env-db-pass", f"pass {ENV['DB_PASS']}", ENV["DB_PASS"]),
    ("env-grafana-sa", f"sa {ENV['GRAFANA_SA']}", ENV["GRAFANA_SA"]),
    ("env-kube-bearer", f"kube {ENV['KUBE_BEARER']}", ENV["KUBE_BEARER"]),
    ("env-auth-header", f"header {ENV['AUTH_HEADER']}", "env-auth-header-secret-12"),
]


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
    run = build(tmp_path / "run")
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
        tl.append("note", message=every)
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
