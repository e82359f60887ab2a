"""Prometheus as clusters expose it (issue 13, item 4): https with a certificate of its own CA,
bearer / basic / SigV4 credentials, through the one client every caller uses
(harness/promclient.py). A real https server in a thread (tests/stubs/prom_https.py), no mocks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from chaoslib.exceptions import ActivityFailed

from gameday.contract.redact import scrub
from gameday.harness import audits, evidence, promclient, scrape
from gameday.harness.chaosext import sla
from gameday.harness.errors import BadInput
from gameday.harness.profile import PrometheusAccess
from tests.stubs import prom_https
from tests.stubs.prom_https import Wants

TOKEN_ENV = "GAMEDAY_TEST_PROM_TOKEN"


@pytest.fixture
def stub(tmp_path: Path) -> Iterator[tuple[Wants, str, Path]]:
    with prom_https.running(tmp_path / "tls") as s:
        yield s


def _access(url: str, **settings: object) -> promclient.Access:
    return promclient.at(url, PrometheusAccess.model_validate(settings))


def test_self_signed_certificate_refused_without_the_ca_bundle(stub: tuple[Wants, str, Path],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    wants, url, ca = stub
    monkeypatch.setenv(TOKEN_ENV, wants.token)
    c = promclient.client(_access(url, bearer_token_env=TOKEN_ENV))
    with pytest.raises(promclient.PrometheusTLSError) as err:
        c.query("up")
    msg = str(err.value)
    assert "certificate" in msg and "target.prometheus.ca_bundle" in msg, msg
    assert err.value.field == "target.prometheus.ca_bundle"
    assert not wants.seen, "no request may reach a server whose certificate did not verify"


def test_accepted_with_the_ca_bundle_and_the_bearer_token(stub: tuple[Wants, str, Path],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    wants, url, ca = stub
    monkeypatch.setenv(TOKEN_ENV, wants.token)
    c = promclient.client(_access(url, ca_bundle=ca, bearer_token_env=TOKEN_ENV))
    result = c.query("sum(increase(http_request_duration_seconds_count[30s]))")
    assert float(result[0]["value"][1]) == 1200.0
    rng = c.query_range("up", 1000.0, 1004.0, "1s")  # PrometheusConnect on the same session
    assert len(rng[0]["values"]) == 5
    assert [s["accepted"] for s in wants.seen] == [True, True]
    assert {s["scheme"] for s in wants.seen} == {"Bearer"}


def test_a_wrong_token_is_refused_with_the_field_named(stub: tuple[Wants, str, Path], tmp_path: Path) -> None:
    wants, url, ca = stub
    token_file = tmp_path / "token"
    token_file.write_text("not-the-token-0000\n")
    c = promclient.client(_access(url, ca_bundle=ca, bearer_token_file=token_file))
    with pytest.raises(promclient.PrometheusAuthError) as err:
        c.query("up")
    assert "401" in str(err.value) and "target.prometheus.bearer_token_file" in str(err.value)
    with pytest.raises(BadInput, match=r"target.prometheus.bearer_token_file: .*refused"):
        promclient.check(_access(url, ca_bundle=ca, bearer_token_file=token_file))
    token_file.write_text(wants.token + "\n")
    promclient.check(_access(url, ca_bundle=ca, bearer_token_file=token_file))  # accepted: no exception


def test_no_credentials_and_an_unset_variable_say_what_to_set(stub: tuple[Wants, str, Path],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    wants, url, ca = stub
    with pytest.raises(promclient.PrometheusAuthError, match="none are configured; set one of"):
        promclient.client(_access(url, ca_bundle=ca)).query("up")
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with pytest.raises(promclient.CredentialsError, match=f"bearer_token_env: the environment variable {TOKEN_ENV}"):
        promclient.client(_access(url, ca_bundle=ca, bearer_token_env=TOKEN_ENV))


def test_basic_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with prom_https.running(tmp_path / "tls", Wants(mode="basic")) as (wants, url, ca):
        monkeypatch.setenv("GAMEDAY_TEST_PROM_PW", wants.password)
        ok = _access(url, ca_bundle=ca, basic_auth={"username": wants.username, "password_env": "GAMEDAY_TEST_PROM_PW"})
        assert promclient.client(ok).query("up")
        monkeypatch.setenv("GAMEDAY_TEST_PROM_PW", "wrong-password")
        with pytest.raises(promclient.PrometheusAuthError, match="basic_auth.password_env"):
            promclient.client(ok).query("up")
        assert [s["accepted"] for s in wants.seen] == [True, False]


def test_sigv4_signature_recomputed_by_the_stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", prom_https.SIGV4_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", prom_https.SIGV4_SECRET)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with prom_https.running(tmp_path / "tls", Wants(mode="sigv4", region="eu-west-1")) as (wants, url, ca):
        c = promclient.client(_access(url, ca_bundle=ca, sigv4={"region": "eu-west-1"}))
        assert c.query('count by (__name__) ({__name__=~"x"})')
        assert c.query_range("up", 1000.0, 1004.0, "1s")
        assert wants.seen[-1]["scheme"] == "AWS4-HMAC-SHA256" and all(s["accepted"] for s in wants.seen), wants.seen
        wrong = promclient.client(_access(url, ca_bundle=ca, sigv4={"region": "us-east-1"}))
        with pytest.raises(promclient.PrometheusAuthError, match="sigv4.region"):
            wrong.query("up")
        assert "credential scope" in str(wants.seen[-1]["why"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "another-secret-key-0000000000")
        with pytest.raises(promclient.PrometheusAuthError):
            promclient.client(_access(url, ca_bundle=ca, sigv4={"region": "eu-west-1"})).query("up")
        assert wants.seen[-1]["why"] == "SigV4 signature does not verify"


def test_evidence_records_the_reason_and_never_the_secret(stub: tuple[Wants, str, Path], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    wants, url, ca = stub
    monkeypatch.setenv(TOKEN_ENV, wants.token)
    queries = {"latency_p95": "histogram_quantile(0.95, x)", "missions_per_min": "sum(y)"}
    # no CA bundle: every query recorded as failed, with the reason (the judge: INCONCLUSIVE, not "no data")
    no_ca = evidence.snapshot(_access(url, bearer_token_env=TOKEN_ENV), queries, 1000, 1004, 1, tmp_path / "a")
    assert all(s.error and "certificate" in s.error for s in no_ca), no_ca
    side = json.loads((tmp_path / "a" / "latency_p95.json").read_text())
    assert "target.prometheus.ca_bundle" in side["error"] and side["points"] == 0
    monkeypatch.setenv(TOKEN_ENV, "a-wrong-token-1234")
    wrong = evidence.snapshot(_access(url, ca_bundle=ca, bearer_token_env=TOKEN_ENV), queries, 1000, 1004, 1,
                              tmp_path / "b")
    assert all(s.error and "401" in s.error and "bearer_token_env" in s.error for s in wrong), wrong
    monkeypatch.setenv(TOKEN_ENV, wants.token)
    good = evidence.snapshot(_access(url, ca_bundle=ca, bearer_token_env=TOKEN_ENV), queries, 1000, 1004, 1,
                             tmp_path / "c")
    assert [(s.error, s.points) for s in good] == [(None, 5), (None, 5)]
    for f in tmp_path.rglob("*"):
        if f.is_file() and f.suffix in (".csv", ".json"):
            assert wants.token not in f.read_text(), f
    assert wants.token not in scrub(f"Authorization: Bearer {wants.token}; raw {wants.token}")


def test_scrape_interval_and_audits_through_the_same_client(stub: tuple[Wants, str, Path],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    wants, url, ca = stub
    monkeypatch.setenv(TOKEN_ENV, wants.token)
    access = _access(url, ca_bundle=ca, bearer_token_env=TOKEN_ENV)
    got = scrape.learn(access, None)
    assert got.seconds == 15 and "/api/v1/status/config" in got.source
    assert audits.alert_rules(access) == [{"name": "HyperCodeApiDown", "severity": "P1", "health": "ok"}]
    assert audits.metrics_present(access)["deployment_revision"] is True
    with pytest.raises(BadInput, match="scrape interval .* unknown .*certificate"):
        scrape.learn(_access(url, bearer_token_env=TOKEN_ENV), None)


def test_sla_probe_with_the_profile_settings_as_configuration(stub: tuple[Wants, str, Path],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    wants, url, ca = stub
    monkeypatch.setenv(TOKEN_ENV, wants.token)
    conf = {"prometheus_url": url,
            **promclient.configuration(PrometheusAccess(ca_bundle=ca, bearer_token_env=TOKEN_ENV))}
    assert conf["prometheus_ca_bundle"] == str(ca) and conf["prometheus_bearer_token_env"] == TOKEN_ENV
    rec = sla.latency_quantile_within(threshold_ms=200, window_s=30, configuration=conf)
    assert rec["verdict"] == "pass" and rec["value"] == 40.0
    monkeypatch.setenv(TOKEN_ENV, "a-wrong-token-1234")
    with pytest.raises(ActivityFailed, match="401 Unauthorized.*prometheus_bearer_token_env"):
        sla.error_ratio_within(threshold=0.05, window_s=30, configuration=conf)
    no_ca = {k: v for k, v in conf.items() if k != "prometheus_ca_bundle"}
    with pytest.raises(ActivityFailed, match="certificate cannot be verified"):
        sla.latency_quantile_within(threshold_ms=200, window_s=30, configuration=no_ca)
