"""The identity is checked again immediately before each rollback action too (issue 13, item 3):
a kube context that points at another API server once the fault is injected makes the rollback
refused, not run against the other cluster, and the error says to undo it by hand. Against the
stand-ins of tests/stubs (a stub Kubernetes API, moto); real chaoslib and chaosk8s."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gameday.analysis.windows import read_timeline_file
from gameday.harness import profile as profile_mod
from gameday.harness.chaos.runner import run_fault
from gameday.harness.errors import NotAllowed
from gameday.harness.timeline import Timeline
from tests.helpers import cluster_faults, cluster_profile
from tests.stubs import k8s
from tests.stubs.cluster import CONTEXTS, Stack, stack_in_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with stack_in_env(tmp_path_factory.mktemp("stubs")) as s:
        yield s


def test_rollback_refused_when_the_kube_context_moved_after_the_injection(stubs: Stack, tmp_path: Path) -> None:
    kubeconfig = k8s.write_kubeconfig(tmp_path / "kubeconfig", stubs.kube_url, CONTEXTS)
    p = profile_mod.load(cluster_profile(tmp_path, stubs, cluster_faults(), kubeconfig=str(kubeconfig)))
    fault = next(f for f in p.faults if f.id == "node-drain")
    calls_from = len(stubs.kube.calls)

    def move_context(event: dict[str, Any]) -> None:
        # once the drain is done, the same context name points at another API server (closed port)
        if event["event"] == "chaos_activity" and event.get("activity") == "drain-node":
            k8s.write_kubeconfig(kubeconfig, "https://127.0.0.1:9", CONTEXTS)

    run_dir = tmp_path / "run"
    try:
        with Timeline(run_dir / "timeline.jsonl", listeners=[move_context]) as tl, \
                pytest.raises(NotAllowed) as err:
            run_fault(fault, tl, run_dir, p)
        msg = str(err.value)
        assert "before rollback 'uncordon-node'" in msg and "was NOT run" in msg and "by hand" in msg, msg
        assert "the plan checked " + stubs.kube_url.rstrip("/") in msg or "points at https://127.0.0.1:9" in msg, msg
        events = read_timeline_file(run_dir / "timeline.jsonl")
        checks = [(e["section"], e["action"], e["ok"]) for e in events if e["event"] == "identity_checked"]
        assert checks == [("method", "drain-node", True), ("rollbacks", "uncordon-node", False)], checks
        names = [e["event"] for e in events]
        assert names.index("fault_injected") < names.index("identity_checked", names.index("fault_injected") + 1)
        # the uncordon was never sent: the drained node is still cordoned on the (real) cluster
        patches = [c for c in stubs.kube.calls[calls_from:] if c[0] == "PATCH"]
        drained = [n for n, node in stubs.kube.nodes.items() if node["spec"].get("unschedulable")]
        assert drained, "the drain happened"
        assert len(patches) == len([c for c in patches if "/nodes/" in c[1]]) == len(drained), patches  # cordons only
        journal = json.loads((run_dir / "journals" / "node-drain.json").read_text())
        assert [r.get("status") for r in journal["rollbacks"]] == [None]  # started, refused, not run
    finally:
        for node in stubs.kube.nodes.values():  # leave the stand-in as the other tests expect it
            node["spec"]["unschedulable"] = False
