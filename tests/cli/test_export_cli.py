"""``gameday export`` (issue 19), and a stream writer killed with SIGKILL mid-run: the batches it
wrote stay readable, with no damage (each batch reaches the file in one write). The export runs as a
real process; its refusals (exit 64, nothing written) in this process (``gameday_in_process``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gameday.analysis.recorded import read_requests, read_requests_checked
from tests.helpers import gameday_in_process
from tests.helpers import healthy_run as build
from tests.unit.columnar_runs import same_rows, to_columnar

ROOT = Path(__file__).resolve().parents[2]


def gameday(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gameday", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)


def test_export_writes_csv_that_reads_back_the_same(tmp_path: Path) -> None:
    run = to_columnar(build(tmp_path / "run"))
    r = gameday("export", str(run))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "requests.local-1.arrows" in r.stdout and "1300 rows" in r.stdout
    out = run / "export"
    assert sorted(p.name for p in out.iterdir()) == ["EXPORTED.tsv", "acks.local-1.csv", "requests.local-1.csv"]
    same_rows(read_requests(out), read_requests(run))


def test_export_refuses_what_it_cannot_export(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = gameday_in_process(capsys, monkeypatch, "export", str(tmp_path / "nope"))
    assert code == 64 and "not a run directory" in out + err
    csv_run = build(tmp_path / "csv")
    code, out, err = gameday_in_process(capsys, monkeypatch, "export", str(csv_run))
    assert code == 64 and "no requests.*.arrows" in out + err
    code, out, err = gameday_in_process(capsys, monkeypatch, "export", str(to_columnar(build(tmp_path / "run"))),
                                        "--out", str(tmp_path / "run"))
    assert code == 64 and "twice" in out + err
    assert "Traceback" not in out + err


WRITER = """
import math, sys, time
from gameday.contract.columnar import REQUEST_SCHEMA, RequestRows, StreamFile
f = StreamFile(sys.argv[1], REQUEST_SCHEMA)
i = 0
while True:
    rows = RequestRows.empty()
    for _ in range(500):
        rows.append(1.8e9 + i / 1000, 12.5, "/v1/crews", "POST", 201, 1, "", f"m{i}", math.nan)
        i += 1
    f.write(rows.batch())
    print(f.rows, flush=True)
"""


def test_a_writer_killed_mid_run_leaves_only_whole_batches(tmp_path: Path) -> None:
    path = tmp_path / "requests.local-9.arrows"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        assert proc.stdout is not None
        written = 0
        deadline = time.monotonic() + 60
        while written < 200_000 and time.monotonic() < deadline:
            written = int(proc.stdout.readline() or 0)
        assert written >= 200_000, "the writer never got going"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    df, damage = read_requests_checked(tmp_path)
    assert damage == []
    assert len(df) >= written and len(df) % 500 == 0  # whole batches only, at least every one it reported
    assert df["mission_id"].iloc[-1] == f"m{len(df) - 1}"
