"""The read-back's list of acknowledged missions (gameday.harness.load.acks), read without the judge's
parser: it must name every mission the judge counts, or a lost mission would go unasked."""

from __future__ import annotations

from pathlib import Path

from gameday.analysis.recorded import read_acks
from gameday.contract.rundir import ACK_COLUMNS
from gameday.harness.load.acks import acknowledged_mission_ids

HEADER = ",".join(ACK_COLUMNS)


def test_every_row_of_every_process_file(tmp_path: Path) -> None:
    (tmp_path / "acks.master.csv").write_text(f"{HEADER}\n1.5,m-1,12.0,800.0,warm\n2.5,m-2,13.0,,\n")
    (tmp_path / "acks.w1.csv").write_text(f"{HEADER}\n1.7,m-3,11.0,900.0,cold\n")
    assert acknowledged_mission_ids(tmp_path) == ["m-1", "m-2", "m-3"]
    assert sorted(read_acks(tmp_path)["mission_id"].astype(str)) == ["m-1", "m-2", "m-3"]


def test_torn_last_line_and_files_without_ids_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "acks.a.csv").write_text(f"{HEADER}\n1.5,m-1,12.0,800.0,warm\n2.5,m-2")  # killed mid-row
    (tmp_path / "acks.b.csv").write_text("t_ack,latency_ms\n1.0,2.0\n")  # no mission_id column
    (tmp_path / "acks.c.csv").write_text("")
    (tmp_path / "requests.a.csv").write_text("t_start,mission_id\n1.0,not-an-ack\n")
    assert acknowledged_mission_ids(tmp_path) == ["m-1"]


def test_names_every_mission_the_judge_counts(tmp_path: Path) -> None:
    # a damaged number: the judge drops the row, the read-back still asks (one id too many is harmless)
    (tmp_path / "acks.a.csv").write_text(f"{HEADER}\n1.5,m-1,12.0,800.0,warm\nnope,m-2,13.0,,\n3.5,,14.0,,\n")
    judged = set(read_acks(tmp_path)["mission_id"].astype(str))
    asked = acknowledged_mission_ids(tmp_path)
    assert judged == {"m-1", ""}  # an ack without an id still counts: it must be asked about
    assert asked == ["m-1", "m-2", ""]
    assert judged <= set(asked)


def test_no_ack_files(tmp_path: Path) -> None:
    assert acknowledged_mission_ids(tmp_path) == []
