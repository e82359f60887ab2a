"""The lanes of ``make test``: which worker runs which real-sandbox test (tests/sandbox_lanes.py)."""

from __future__ import annotations

from tests.sandbox_lanes import SECONDS, in_a_lane, lanes

IDS = [
    "tests/unit/test_guard.py::test_a",
    "tests/sandbox/test_chaos_cluster.py::test_stub",  # the stub cluster: no lane
    *(f"tests/sandbox/test_verdict_matrix.py::test_mutant[{n}]" for n in ("a", "b", "c", "d")),
    "tests/sandbox/test_autoscaling_spike.py::test_one", "tests/sandbox/test_autoscaling_spike.py::test_two",
    "tests/sandbox/test_sandbox_integration.py::test_up", "tests/sandbox/test_sandbox_integration.py::test_down",
    "tests/sandbox/test_new_file.py::test_x",
]


def test_only_tests_sharing_a_real_sandbox_get_a_lane() -> None:
    lane_of = lanes(IDS, 2)
    assert set(lane_of) == {i for i in IDS if in_a_lane(i)}
    assert "tests/unit/test_guard.py::test_a" not in lane_of
    assert "tests/sandbox/test_chaos_cluster.py::test_stub" not in lane_of
    assert not [i for i in lane_of if "verdict_matrix" in i]  # a sandbox each: any free worker takes them


def test_a_file_stays_in_one_lane() -> None:
    lane_of = lanes(IDS, 2)
    for name in ("test_autoscaling_spike.py", "test_sandbox_integration.py"):
        assert len({lane for i, lane in lane_of.items() if name in i}) == 1, name


def test_lanes_are_balanced_on_the_measured_seconds_and_the_same_every_time() -> None:
    lane_of = lanes(IDS, 2)
    load = [0.0, 0.0]
    for i, lane in lane_of.items():
        name = i.split("::")[0].rsplit("/", 1)[-1]
        load[lane] += SECONDS.get(name, 10) / sum(1 for j in lane_of if name in j)
    assert abs(load[0] - load[1]) <= max(SECONDS.values()), load  # longest first: apart by at most one file
    assert lanes(list(reversed(IDS)), 2) == lane_of  # the order of collection does not move a test
    assert set(lanes(IDS, 1).values()) == {0}
