"""The HorizontalPodAutoscaler algorithm, as Kubernetes runs it (pure: no clock, no I/O).

From the Kubernetes documentation ("Horizontal Pod Autoscaling", algorithm details, and
``behavior``) and ``pkg/controller/podautoscaler/horizontal.go``:

* a proposal ``ceil(ready pods x metric / target)``, or the current count while
  ``|metric / target - 1| <= tolerance`` (0.1, ``--horizontal-pod-autoscaler-tolerance``);
* every proposal is kept with its time; the decision is stabilised over the windows:
  scaling up goes only as high as the *lowest* proposal of the scale-up window, scaling down only
  as low as the *highest* proposal of the scale-down window (so a replica count is held until the
  metric has said so for the whole window);
* ``behavior.scaleUp.selectPolicy: Disabled`` forbids scaling up; the result is clamped to
  ``[minReplicas, maxReplicas]``.

Left out (documented in docs/autoscaling.md): the rate policies (by default 100 % or 4 pods per
15 s up, 100 % per 15 s down), and the special treatment of pods without metrics or not yet ready
(here: only ready pods with a measurement count).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..config import HpaPolicy


def proposal(ready: int, metric: float, target: float, tolerance: float) -> int:
    """The raw recommendation: ``ceil(ready x metric / target)``, or ``ready`` within the tolerance."""
    if ready <= 0:
        return 0
    ratio = metric / target
    if abs(ratio - 1.0) <= tolerance:
        return ready
    return math.ceil(ready * ratio)


@dataclass
class Decision:
    """One sync of one HPA: what it measured, proposed, and decided."""

    metric: float
    proposed: int
    desired: int
    current: int
    reason: str


@dataclass
class HpaState:
    """The recommendations of one HPA over its longest window, and its last decision."""

    policy: HpaPolicy
    tolerance: float = 0.1
    history: list[tuple[float, int]] = field(default_factory=list)  # (t, proposal)

    def decide(self, now: float, current: int, ready: int, metric: float) -> Decision:
        """The replica count for ``now``: ``current`` pods exist, ``ready`` of them were measured at an
        average of ``metric`` (utilisation %, or the queue depth for an External ``Value`` target)."""
        p = self.policy
        raw = proposal(ready, metric, p.target, self.tolerance) if ready else current
        if not self.history:  # as the HPA controller seeds a new HPA: the current count, now (no instant scale-in)
            self.history.append((now, current))
        # the windows hold what was proposed less than their length ago, and this proposal
        up_limit = min([raw] + [r for t, r in self.history if now - t < p.scale_up_window_s])
        down_limit = max([raw] + [r for t, r in self.history if now - t < p.scale_down_window_s])
        self.history.append((now, raw))
        keep = max(p.scale_up_window_s, p.scale_down_window_s)
        self.history = [(t, r) for t, r in self.history if now - t < keep or t == now]
        desired, reason = current, "within tolerance or held by the stabilization windows"
        if desired < up_limit:
            desired, reason = up_limit, f"the lowest proposal of the last {p.scale_up_window_s:g} s is {up_limit}"
        if desired > down_limit:
            desired = down_limit
            reason = f"the highest proposal of the last {p.scale_down_window_s:g} s is {down_limit}"
        if desired > current and p.scale_up_policy == "Disabled":
            desired, reason = current, "scale-up disabled (behavior.scaleUp.selectPolicy: Disabled)"
        if desired > p.max_replicas:
            desired, reason = p.max_replicas, f"{reason}; capped at maxReplicas {p.max_replicas}"
        if desired < p.min_replicas:
            desired, reason = p.min_replicas, f"{reason}; raised to minReplicas {p.min_replicas}"
        return Decision(metric, raw, desired, current, reason)
