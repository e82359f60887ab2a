"""``gameday init DIR`` writes a starter project that validates and plans from any directory (paths resolve
against each profile's folder), refuses to overwrite without --force, and ``gameday run`` without a profile
finds the installed default when the working directory has none.

``init`` and ``plan`` run as real processes in another working directory; the validations of the
written profiles, the refusal to overwrite and ``--force`` run in this process (``gameday_in_process``)
after a ``chdir`` to the same directory: what they resolve against is the working directory and the
profile's folder, which a ``chdir`` sets as a new process's ``cwd`` does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import gameday_in_process

ROOT = Path(__file__).resolve().parents[2]


def gameday(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from gameday.harness.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)


def test_init_writes_a_project_that_validates_and_plans_elsewhere(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    proj, elsewhere = tmp_path / "proj", tmp_path / "elsewhere"
    elsewhere.mkdir()
    made = gameday("init", str(proj), cwd=elsewhere)
    assert made.returncode == 0, made.stderr
    for rel in ("profiles/sandbox.yaml", "profiles/smoke.yaml", "profiles/custom-fault.yaml",
                "profiles/cluster.example.yaml", "experiments/sandbox/db-failover.json",
                "experiments/sandbox/redis-partition.json", "experiments/cluster/fis-template.json",
                "loadtests/crew_spawn.py", "docs/profile.schema.json", "README.md"):
        assert (proj / rel).is_file(), rel
    monkeypatch.chdir(elsewhere)  # not the project's directory
    profiles = sorted((proj / "profiles").glob("*.yaml"))
    assert len(profiles) >= 4
    for profile in profiles:
        code, out, err = gameday_in_process(capsys, monkeypatch, "validate", str(profile), "--json")
        assert code == 0, out + err
    doc = yaml.safe_load((proj / "profiles/smoke.yaml").read_text())
    assert doc["load"]["locustfile"].startswith("../")  # relative to the profile, not the working directory
    plan = gameday("plan", str(proj / "profiles/smoke.yaml"), cwd=elsewhere)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert f"({proj}/experiments/sandbox/" in plan.stdout or "experiments/sandbox/" in plan.stdout


def test_init_refuses_to_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert gameday("init", str(tmp_path), cwd=tmp_path).returncode == 0
    (tmp_path / "profiles/smoke.yaml").write_text("name: mine\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = gameday_in_process(capsys, monkeypatch, "init", str(tmp_path))
    assert code == 64 and "would overwrite 20 files" in err and "--force" in err
    assert (tmp_path / "profiles/smoke.yaml").read_text() == "name: mine\n"  # nothing written
    code, out, _ = gameday_in_process(capsys, monkeypatch, "init", str(tmp_path), "--force")
    assert code == 0 and "replaced" in out
    assert (tmp_path / "profiles/smoke.yaml").read_bytes() == (ROOT / "profiles/smoke.yaml").read_bytes()


def test_run_without_a_profile_uses_the_installed_default_elsewhere(tmp_path: Path) -> None:
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from gameday.harness.starter import default_profile; "
            "print(default_profile())")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         check=True).stdout.strip()
    assert Path(out).is_absolute() and Path(out).name == "sandbox.yaml" and Path(out).is_file()
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles/sandbox.yaml").write_text("name: here\n")
    here = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          check=True).stdout.strip()
    assert here == "profiles/sandbox.yaml"
