"""The test suite's machine lock (tests/machine.py): sandbox tests share the machine, an ``alone`` test
has it to itself, and a waiting ``alone`` test is not starved by the other worker's next tests."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.machine import held


def _hold(base: Path, exclusive: bool, log: list[str], name: str, seconds: float,
          entered: threading.Event | None = None) -> threading.Thread:
    def run() -> None:
        with held(base, exclusive):
            log.append(f"{name}+")
            if entered is not None:
                entered.set()
            time.sleep(seconds)
            log.append(f"{name}-")

    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th


def test_shared_holders_run_side_by_side(tmp_path: Path) -> None:
    log: list[str] = []
    a, b = threading.Event(), threading.Event()
    threads = [_hold(tmp_path / "m", False, log, "a", 0.5, a), _hold(tmp_path / "m", False, log, "b", 0.5, b)]
    assert a.wait(5) and b.wait(5)
    assert log[:2] in (["a+", "b+"], ["b+", "a+"]), log  # both inside before either left
    for th in threads:
        th.join(5)


def test_an_alone_test_waits_for_the_shared_one_and_is_not_overtaken(tmp_path: Path) -> None:
    log: list[str] = []
    reader = threading.Event()
    first = _hold(tmp_path / "m", False, log, "lane", 0.6, reader)
    assert reader.wait(5)
    writer = _hold(tmp_path / "m", True, log, "alone", 0.3)
    time.sleep(0.2)  # the writer is in line, holding the gate
    late = _hold(tmp_path / "m", False, log, "next", 0.1)  # the other worker's next sandbox test
    for th in (first, writer, late):
        th.join(10)
    assert log == ["lane+", "lane-", "alone+", "alone-", "next+", "next-"], log


def test_the_wait_is_measured(tmp_path: Path) -> None:
    with held(tmp_path / "m", exclusive=True) as waited:
        assert 0 <= waited < 1
