"""The sandbox's HPA algorithm (sandbox/controller/hpa.py): proposal, tolerance, stabilization
windows, bounds, a disabled scale-up; and the autoscaling settings' presets and validation."""

from __future__ import annotations

import pytest

from gameday.sandbox import config
from gameday.sandbox.config import HpaPolicy
from gameday.sandbox.controller.autoscaler import spec
from gameday.sandbox.controller.hpa import HpaState, proposal


def policy(**over: object) -> HpaPolicy:
    base: dict[str, object] = {"min_replicas": 2, "max_replicas": 6, "target": 60.0, "scale_up_window_s": 30.0,
                               "scale_down_window_s": 60.0}
    return HpaPolicy.model_validate({**base, **over})


def test_proposal_is_ceil_of_current_times_ratio_outside_the_tolerance() -> None:
    assert proposal(3, 120.0, 60.0, 0.1) == 6
    assert proposal(3, 61.0, 60.0, 0.1) == 4 - 1  # ratio 1.017: within 10 %, no change
    assert proposal(3, 65.9, 60.0, 0.1) == 3  # 1.098: still within
    assert proposal(3, 66.6, 60.0, 0.1) == 4  # 1.11: ceil(3.33)
    assert proposal(4, 20.0, 60.0, 0.1) == 2  # ceil(1.33)
    assert proposal(2, 0.0, 100.0, 0.1) == 0  # an empty queue proposes nothing; min decides
    assert proposal(0, 500.0, 60.0, 0.1) == 0


def test_scale_up_waits_for_the_whole_window() -> None:
    st = HpaState(policy(), 0.1)
    assert st.decide(0, 2, 2, 30.0).desired == 2
    for t in range(2, 30, 2):  # over target, but the seed and the first proposal are still in the window
        d = st.decide(t, 2, 2, 120.0)
        assert d.desired == 2, t
    d = st.decide(32.5, 2, 2, 120.0)  # every proposal of the last 30 s is 4
    assert (d.proposed, d.desired) == (4, 4) and "lowest proposal" in d.reason


def test_a_dip_in_the_window_holds_the_scale_up_back() -> None:
    st = HpaState(policy(scale_up_window_s=10), 0.1)
    st.decide(0, 2, 2, 120.0)
    st.decide(5, 2, 2, 50.0)  # within tolerance? 0.83: proposes 2
    assert st.decide(12, 2, 2, 120.0).desired == 2  # the 2 at t=5 is in the window
    assert st.decide(16, 2, 2, 120.0).desired == 4


def test_scale_down_only_after_the_window_and_never_below_min() -> None:
    st = HpaState(policy(scale_up_window_s=0), 0.1)
    assert st.decide(0, 6, 6, 60.0).desired == 6
    for t in range(2, 60, 2):
        assert st.decide(t, 6, 6, 10.0).desired == 6, t  # the seed (6) is in the 60 s window
    d = st.decide(61, 6, 6, 10.0)
    assert d.desired == 2 and "minReplicas 2" in d.reason  # ceil(6 x 1/6) = 1, raised to min


def test_max_caps_and_disabled_scale_up_holds() -> None:
    st = HpaState(policy(scale_up_window_s=0), 0.1)
    d = st.decide(0, 2, 2, 600.0)
    assert (d.proposed, d.desired) == (20, 6) and "maxReplicas 6" in d.reason
    off = HpaState(policy(scale_up_window_s=0, scale_up_policy="Disabled"), 0.1)
    d = off.decide(0, 2, 2, 600.0)
    assert d.desired == 2 and "Disabled" in d.reason


def test_presets_fill_what_is_not_given_and_bad_bounds_are_refused() -> None:
    small = config.build({"autoscaling": {"enabled": True, "preset": "small", "api": {"scale_down_window_s": 20}}},
                         "t")
    a = small.autoscaling
    assert (a.api.min_replicas, a.api.max_replicas, a.api.target, a.api.scale_up_window_s,
            a.api.scale_down_window_s) == (2, 4, 60.0, 30.0, 20.0)
    assert (a.worker.min_replicas, a.worker.max_replicas, a.worker.target) == (1, 3, 100.0)
    checklist = config.build({}, "t").autoscaling
    assert not checklist.enabled
    assert (checklist.api.min_replicas, checklist.api.max_replicas, checklist.worker.max_replicas,
            checklist.worker.scale_down_window_s) == (3, 15, 20, 300.0)
    with pytest.raises(config.ConfigError, match="autoscaling.api.*min_replicas 9 is above max_replicas 4"):
        config.build({"autoscaling": {"preset": "small", "api": {"min_replicas": 9}}}, "t")
    with pytest.raises(config.ConfigError, match="autoscaling.preset"):
        config.build({"autoscaling": {"preset": "huge"}}, "t")


def test_an_hpa_disabled_on_its_own_is_left_out_of_the_spec() -> None:
    """The mutant "workers that do not scale on the queue depth": no worker HPA, core-api's kept."""
    cfg = config.build({"autoscaling": {"enabled": True, "preset": "small", "worker": {"enabled": False}}}, "t")
    assert [h["name"] for h in spec(cfg)] == ["core-api"]
    both = config.build({"autoscaling": {"enabled": True, "preset": "small"}}, "t")
    assert [h["name"] for h in spec(both)] == ["core-api", "worker"]
