"""Before a run, a Prometheus that will not be read is bad input (issue 13, item 4): ``gameday run``
and ``gameday validate`` exit 64 naming the ``target.prometheus`` field, never with a traceback;
with the CA bundle and the right token the preflight passes, and the token lands in no file of
the run directory. The https stub (tests/stubs/prom_https.py) runs in this process; the accepted run is
gameday in a subprocess, as a user runs it, and the refusals (exit 64 before anything starts) run in
this process (``gameday_in_process``: the same ``main``, its exit code and stderr), as the refusals of
tests/cli/test_bad_input.py do beside their one real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import gameday_in_process
from tests.stubs import prom_https
from tests.stubs.prom_https import Wants

ROOT = Path(__file__).resolve().parents[2]
TOKEN_ENV = "GAMEDAY_TEST_PROM_TOKEN"


def gameday(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gameday", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, check=False, env={**os.environ, **env})


@pytest.fixture
def stub(tmp_path: Path) -> Iterator[tuple[Wants, str, Path]]:
    with prom_https.running(tmp_path / "tls") as s:
        yield s


def _profile(tmp_path: Path, url: str, prometheus: str) -> Path:
    p = tmp_path / "external.yaml"
    p.write_text(f"""name: prom-auth
target:
  kind: external
  api_url: "http://127.0.0.1:9"
  prometheus_url: "{url}"
  prometheus: {prometheus}
load: {{users: 1, spawn_rate: 1}}
phases: {{warmup_s: 1, baseline_s: 1, cooldown_s: 1}}
checks: {{scrape_interval_s: 15}}
""")
    return p


def _no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr


def test_run_refused_without_the_ca_bundle(stub: tuple[Wants, str, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    wants, url, ca = stub
    prof = _profile(tmp_path, url, f"{{bearer_token_env: {TOKEN_ENV}}}")
    monkeypatch.setenv(TOKEN_ENV, wants.token)
    code, out, err = gameday_in_process(capsys, monkeypatch, "run", str(prof), "--out", str(tmp_path / "run"))
    assert "Traceback" not in out + err, err
    assert code == 64, err
    assert "target.prometheus.ca_bundle" in err and "certificate" in err, err
    assert not (tmp_path / "run").exists(), "refused before a run directory is made"


def test_run_refused_with_a_wrong_token(stub: tuple[Wants, str, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    wants, url, ca = stub
    prof = _profile(tmp_path, url, f"{{ca_bundle: {ca}, bearer_token_env: {TOKEN_ENV}}}")
    monkeypatch.setenv(TOKEN_ENV, "not-the-token-42")
    code, out, err = gameday_in_process(capsys, monkeypatch, "run", str(prof), "--out", str(tmp_path / "run"))
    assert "Traceback" not in out + err, err
    assert code == 64, err
    assert "target.prometheus.bearer_token_env" in err and "401" in err, err
    assert not (tmp_path / "run").exists()


def test_validate_names_an_unset_token_variable_and_a_missing_file(
        stub: tuple[Wants, str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    wants, url, ca = stub
    prof = _profile(tmp_path, url, f"{{ca_bundle: {ca}, bearer_token_env: {TOKEN_ENV}}}")
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    code, out, err = gameday_in_process(capsys, monkeypatch, "validate", str(prof))
    assert "Traceback" not in out + err, err
    assert code == 64 and f"target.prometheus.bearer_token_env: the environment variable {TOKEN_ENV}" in err, err
    missing = _profile(tmp_path, url, f"{{ca_bundle: {tmp_path / 'nope.pem'}}}")
    code, out, err = gameday_in_process(capsys, monkeypatch, "validate", str(missing))
    assert "Traceback" not in out + err, err
    assert code == 64 and "target.prometheus.ca_bundle: file not found" in err, err


def test_accepted_with_the_ca_bundle_and_token_and_no_secret_in_the_run_dir(stub: tuple[Wants, str, Path],
                                                                          tmp_path: Path) -> None:
    wants, url, ca = stub
    token_file = tmp_path / "prom-token"
    token_file.write_text(wants.token)
    prof = _profile(tmp_path, url, f"{{ca_bundle: {ca}, bearer_token_file: {token_file}}}")
    run = tmp_path / "run"
    proc = gameday("run", str(prof), "--out", str(run), env={})
    _no_traceback(proc)
    # Prometheus accepted (preflight passed); the API at 127.0.0.1:9 is not there: not completed
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "the API" in proc.stdout + proc.stderr
    assert any(s["accepted"] and s["scheme"] == "Bearer" for s in wants.seen), wants.seen
    assert (run / "profile.yaml").exists()
    for f in run.rglob("*"):
        if f.is_file():
            assert wants.token not in f.read_text(errors="replace"), f
