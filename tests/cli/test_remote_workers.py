"""Remote Locust workers: ``gameday load`` runs a master that also waits for workers it did not
start, and every row reaches the master's run directory through Locust's own messages.

A "remote" worker here is started exactly as the Deployment in deploy/locust-workers.yaml starts
one: ``locust -f <locustfile>,<plugin> --worker --master-host H --master-port P``, in another
working directory, with no run directory of its own. Ports come from GAMEDAY_TEST_PORT_BASE
(+950..+999), below 32768.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from tests.helpers import LOCUSTFILE, gameday_in_process, no_process_matching, write_profile
from tests.remote_workers import finish, free_port, start_gameday


def test_remote_workers_that_never_come_fail_the_load_within_the_bound(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as api:  # a target that accepts connections: nothing is sent to it
        api.bind(("127.0.0.1", 0))
        api.listen()
        url = f"http://127.0.0.1:{api.getsockname()[1]}"
        p = write_profile(tmp_path, f"""
            name: t
            target: {{kind: external, api_url: "{url}", prometheus_url: "{url}"}}
            load: {{locustfile: {LOCUSTFILE}, users: 5, workers: 0, remote_workers: 1,
                    master_bind: "127.0.0.1:{port}", workers_wait_s: 1}}
            """)
        run_dir = tmp_path / "run"
        t0 = time.monotonic()
        code, out, err = finish(start_gameday("load", str(p), "--duration", "30", "--out", str(run_dir)), 90)
        elapsed = time.monotonic() - t0
    assert code == 1, (code, out, err)
    assert "gave up waiting for its workers after 1 s" in err and "0 of 1 connected" in err, err
    assert f"1 remote expected on 127.0.0.1:{port}" in err and "Traceback" not in err, err
    assert elapsed < 1 + 25, elapsed  # Locust's start-up, 1 s of waiting, the stop; not the 30 s of load
    assert no_process_matching(str(run_dir))
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # the master's port is free again
    assert not list(run_dir.glob("requests.*"))
    events = [json.loads(line)["event"] for line in (run_dir / "timeline.jsonl").read_text().splitlines()]
    assert events[-1] == "load_stopped"


def test_bad_master_bind_and_remote_workers_without_a_port_are_bad_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for load, field in (("master_bind: 'localhost:5557'", "load.master_bind"),
                        ("master_bind: '0.0.0.0:70000'", "load.master_bind"),
                        ("remote_workers: -1", "load.remote_workers"),
                        ("workers_wait_s: 0", "load.workers_wait_s"),
                        ("remote_workers: 2", "master_bind")):
        p = write_profile(tmp_path, f"name: t\nload: {{locustfile: {LOCUSTFILE}, {load}}}\n")
        code, _, err = gameday_in_process(capsys, monkeypatch, "load", str(p), "--duration", "5",
                                          "--out", str(tmp_path / "run"))  # refusals: no process of their own
        assert code == 64 and field in err, (load, err)
        assert "Traceback" not in err and not (tmp_path / "run").exists()


# ---- against the real sandbox ----------------------------------------------------------------------

