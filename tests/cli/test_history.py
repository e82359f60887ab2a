"""gameday history over synthetic game days: ordered by start time, the numbers of each results.json,
a run without results.json judged in memory (nothing written), incomplete runs kept out of the
trends, a self-contained page with relative links, bad input refused with exit 64."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, gameday_in_process
from tests.history_runs import game_day


def gameday(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gameday", "history", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_cli_writes_the_index_beside_the_runs_and_exits_0(runs_dir: Path) -> None:
    done = gameday(str(runs_dir))
    assert done.returncode == 0, done.stderr
    assert (runs_dir / "index.html").is_file() and (runs_dir / "history.json").is_file()
    assert 'href="b-go/report.html"' in (runs_dir / "index.html").read_text()
    assert "6 runs, 4 charted" in done.stdout


def test_cli_refuses_bad_input_with_64_naming_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusals, in this process (the real process is test_cli_writes_the_index_...)."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    game_day(tmp_path / "runs" / "r1", 0)
    cases = {str(tmp_path / "missing"): "no such directory", str(tmp_path / "file"): "not a directory",
             str(tmp_path / "empty"): "no run directory"}
    for path, why in cases.items():
        code, _, err = gameday_in_process(capsys, monkeypatch, "history", path)
        assert code == 64 and path in err and why in err, (path, err)
        assert "Traceback" not in err
    code, _, err = gameday_in_process(capsys, monkeypatch, "history", str(tmp_path / "runs"),
                                      "--out", str(tmp_path / "nowhere" / "index.html"))
    assert code == 64 and "nowhere" in err
