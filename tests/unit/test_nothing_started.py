"""The "nothing was started" check of the refusal tests (tests.helpers.left_behind) can fail: a
listener on the test's own ports, or a file in its own sandbox state directory, is reported; a
listener elsewhere (a developer's sandbox on the default 17000) is not the test's business."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.helpers import left_behind, listening_ports, quiet_port_base


def test_a_quiet_base_is_quiet_and_left_behind_sees_a_listener_and_a_file(tmp_path: Path) -> None:
    base = quiet_port_base()
    assert not listening_ports() & set(range(base, base + 200))
    state = tmp_path / "state"
    assert left_behind(state, base) == []
    with socket.socket() as s:
        s.bind(("127.0.0.1", base + 7))
        s.listen()
        assert base + 7 in listening_ports()
        assert left_behind(state, base) == [f"port {base + 7} listening"]
        assert left_behind(state, base + 8, span=50) == []  # outside the range: not ours
    state.mkdir()
    (state / "sandbox.json").write_text("{}")
    assert left_behind(state, base) == [f"file {state / 'sandbox.json'}"]


def test_a_busy_base_is_skipped() -> None:
    first = quiet_port_base()
    with socket.socket() as s:
        s.bind(("127.0.0.1", first + 3))
        s.listen()
        assert quiet_port_base(start=first) >= first + 200
