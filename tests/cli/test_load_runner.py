"""The load runner: real Locust processes against the real sandbox, every request recorded.

Bad input is checked without a sandbox (it must fail before anything starts); the rest runs
the runner for a few seconds against the shared sandbox and compares what was written with
what Locust itself counted and what the API acknowledged.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import LOCUSTFILE, gameday, gameday_in_process, no_process_matching, write_profile


def _load(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, p: Path, *args: str) -> tuple[int, str]:
    """``gameday load`` in this process (its refusals need no interpreter of their own): (exit, stderr)."""
    code, _, err = gameday_in_process(capsys, monkeypatch, "load", str(p), *args)
    return code, err


def test_missing_locustfile_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    p = write_profile(tmp_path, "name: t\nload: {locustfile: nowhere.py}\n")
    code, err = _load(capsys, monkeypatch, p, "--duration", "5", "--out", str(tmp_path / "run"))
    assert code == 64 and "load.locustfile" in err and "nowhere.py" in err
    assert "Traceback" not in err and not (tmp_path / "run").exists()


def test_locustfile_without_user_class_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty.py").write_text("X = 1\n")
    p = write_profile(tmp_path, f"name: t\nload: {{locustfile: {tmp_path / 'empty.py'}}}\n")
    code, err = _load(capsys, monkeypatch, p, "--duration", "5", "--out", str(tmp_path / "run"))
    assert code == 64 and "no User class" in err, err
    assert not (tmp_path / "run").exists()


def test_unreachable_host_is_bad_input(tmp_path: Path) -> None:
    p = write_profile(tmp_path, f"""
        name: t
        target: {{kind: external, api_url: "http://127.0.0.1:9", prometheus_url: "http://127.0.0.1:9"}}
        load: {{locustfile: {LOCUSTFILE}}}
        """)
    r = gameday("load", str(p), "--duration", "5", "--out", str(tmp_path / "run"))
    assert r.returncode == 64 and "http://127.0.0.1:9" in r.stderr and "unreachable" in r.stderr
    assert not (tmp_path / "run").exists()
    assert no_process_matching(str(tmp_path))


@pytest.mark.parametrize("duration", ["-5", "0"])
def test_non_positive_duration_is_bad_input(tmp_path: Path, duration: str, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    p = write_profile(tmp_path, f"name: t\nload: {{locustfile: {LOCUSTFILE}}}\n")
    code, err = _load(capsys, monkeypatch, p, "--duration", duration, "--out", str(tmp_path / "run"))
    assert code == 64 and "duration" in err
    assert not (tmp_path / "run").exists()


# ---- against the real sandbox ------------------------------------------------------------------

