"""``plan``: every fault of a profile resolved to its targets and steps, changing nothing.

The chaos runner runs a fault only through :func:`plan_fault`: the allow-list is checked, the
targets are resolved (a fault whose action points at nothing fails here, before anything is
injected), the experiment's dynamic configuration (the node to drain, the good image, ...)
is read once and *pinned*, and the run uses exactly the configuration the plan shows.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.chaos import experiment as xp
from harness.errors import BadInput, ExperimentError, GamedayError, NothingToTarget, TargetUnavailable
from harness.profile import Fault, Profile
from harness.safety import cluster as cl
from harness.safety import sandbox as sb
from harness.safety.model import FaultPlan, PlannedStep


@dataclass
class PlanContext:
    """What several faults of one profile share: one look at the sandbox, one set of API clients."""

    profile: Profile
    sandbox: sb.SandboxContext | None = None
    apis: cl.ClusterApis | None = None

    def sandbox_ctx(self) -> sb.SandboxContext:
        if self.sandbox is None:
            self.sandbox = sb.context(self.profile)
        return self.sandbox

    def cluster_apis(self, need_kube: bool, need_aws: bool) -> cl.ClusterApis:
        """Connect (allow-list first) once; a later fault may need an API an earlier one did not."""
        cluster = self.profile.target.cluster
        assert cluster is not None
        if self.apis is None:
            self.apis = cl.connect(cluster, need_kube, need_aws)
        if need_kube and self.apis.core is None:
            cl.connect_kube(self.apis)
        if need_aws and self.apis.rds is None:
            cl.connect_aws(self.apis)
        return self.apis


def plan_fault(profile: Profile, fault: Fault, extra: Mapping[str, Any] | None = None, *,
               for_run: bool = False, ctx: PlanContext | None = None) -> FaultPlan:
    """Resolve one fault. ``extra`` is configuration the caller adds on top of the profile's
    (the orchestrator's ``sla_idle_ok``, say). ``for_run`` requires a live sandbox."""
    ctx = ctx or PlanContext(profile)
    path = fault.experiment
    raw = xp.load(path)
    kind = xp.kind(raw)
    target_kind = profile.target.kind
    if kind == "neutral":
        raise ExperimentError(f"{path}: its actions drive neither the sandbox nor a cluster; gameday cannot "
                              f"resolve its targets")
    if kind != target_kind:
        raise BadInput(f"fault {fault.id}: {path} drives a {kind}, but the profile targets {target_kind!r}; refusing")

    notes: list[str] = []
    env: dict[str, str] = {}
    apis: cl.ClusterApis | None = None
    sctx: sb.SandboxContext | None = None
    if kind == "sandbox":
        sctx = ctx.sandbox_ctx()
        if not sctx.live:
            if for_run:
                raise TargetUnavailable(f"fault {fault.id}: the sandbox is not up ({sctx.control}/status does not "
                                        f"answer); start it with `gameday sandbox up`")
            notes.append(sctx.note)
        base = sb.overlay(sctx)
        source = sctx.source
    else:
        apis = ctx.cluster_apis(xp.uses(raw, xp.KUBE_MODULES), xp.uses(raw, xp.AWS_MODULES))
        env = apis.env
        base = cl.overlay(profile)
        source = apis.source
    pinned: dict[str, Any] = {**base, **fault.configuration, **(extra or {})}

    static = xp.static_configuration(raw, pinned, path)
    for key in xp.dynamic_keys(raw):
        if key in pinned:
            continue
        entry = raw["configuration"][key]
        try:
            with xp.scoped_env(env):
                value = _run_probe(entry, static)
        except GamedayError:
            raise
        except Exception as exc:
            if kind == "sandbox" and sctx is not None and not sctx.live:
                notes.append(f"configuration key {key}: read when the run starts (the sandbox is not up)")
                continue
            raise NothingToTarget(f"fault {fault.id}: configuration key {key} ({entry.get('name')}): "
                                  f"{_one_line(exc)}") from None
        pinned[key] = value
        static[key] = value

    exp = xp.with_configuration(raw, pinned)
    xp.validate(exp, path)
    steps: list[PlannedStep] = []
    for act in xp.activities(exp):
        args = xp.substitute(act.arguments, static)
        if act.type == "action":
            _refuse_unset(fault, act, args)
        if kind == "sandbox":
            assert sctx is not None
            steps.append(sb.describe(act, args, sctx))
        else:
            assert apis is not None
            steps.append(cl.describe(act, args, apis))
    if not any(s.type == "action" and s.section == "method" for s in steps):
        raise NothingToTarget(f"fault {fault.id}: {path} has no action in its method: nothing would be injected")
    if not any(s.targets for s in steps if s.type == "action" and s.section == "method"):
        raise NothingToTarget(f"fault {fault.id}: the method's actions resolve to no target")
    uses = set(raw.get("configuration") or {}) | set(re.findall(r"\$\{(\w+)\}", json.dumps(raw)))
    return FaultPlan(fault=fault.id, experiment=path, kind=kind, title=str(raw.get("title", "")), source=source,
                     configuration=pinned, steps=tuple(steps), notes=tuple(notes), env=env,
                     uses=frozenset(uses))


@dataclass(frozen=True)
class ProfilePlan:
    plans: list[FaultPlan]
    refused: list[tuple[str, GamedayError]]
    source: str  # where the targets were resolved from


def plan_profile(profile: Profile, *, collect: bool = False) -> ProfilePlan:
    """Every fault's plan. For a cluster, the allow-list and the credentials are checked once for
    all faults first: a refusal there is raised at once, nothing having been looked at. Then each
    fault is planned; the first refusal is raised after all were tried, unless ``collect``, which
    returns the refusals (fault id, error) in the result instead (``gameday plan`` prints them)."""
    ctx = PlanContext(profile)
    plans: list[FaultPlan] = []
    refused: list[tuple[str, GamedayError]] = []
    if profile.target.kind == "cluster":
        need_kube = need_aws = False
        for fault in profile.faults:
            try:
                raw = xp.load(fault.experiment)
            except ExperimentError:
                continue  # reported with its fault below
            need_kube = need_kube or xp.uses(raw, xp.KUBE_MODULES)
            need_aws = need_aws or xp.uses(raw, xp.AWS_MODULES)
        ctx.cluster_apis(need_kube, need_aws)
    for fault in profile.faults:
        try:
            plans.append(plan_fault(profile, fault, ctx=ctx))
        except (BadInput, TargetUnavailable) as exc:
            refused.append((fault.id, exc))
    if ctx.apis is not None:
        source = ctx.apis.source
    elif ctx.sandbox is not None:
        source = ctx.sandbox.source
    else:
        source = "nothing (no fault could be planned)"
    if refused and not collect:
        raise refused[0][1]
    return ProfilePlan(plans, refused, source)


def render(profile: Profile, pp: ProfilePlan) -> list[str]:
    """The plan as lines of text (computed here, printed by the command)."""
    out = [f"plan for profile {profile.name!r}: target {profile.target.kind}; nothing is changed",
           f"resolved from: {pp.source}"]
    plans, refused = pp.plans, pp.refused
    for p in plans:
        out += ["", f"fault {p.fault}  ({_rel(p.experiment)})", f"  {p.title}"]
        out += [f"  note: {n}" for n in p.notes]
        out.append("  targets:")
        out += [f"    {t.kind:<30} {t.name}" + (f"  ({t.detail})" if t.detail else "") for t in p.targets]
        hyp = [s.name for s in p.steps if s.section == "hypothesis"]
        out.append(f"  steady state (before and after): {', '.join(hyp) or 'none'}")
        for section in ("method", "rollbacks"):
            steps = [s for s in p.steps if s.section == section]
            out.append(f"  {section}:" + (" none" if not steps else ""))
            for i, s in enumerate(steps, 1):
                label = "ACTION" if s.type == "action" else "probe "
                out.append(f"    {i}. {label} {s.name}: {s.what}")
        pins = {k: v for k, v in p.configuration.items() if k in p.uses}
        out.append("  configuration pinned for the run: " + ", ".join(f"{k}={v}" for k, v in pins.items()))
    for fault_id, exc in refused:
        out += ["", f"fault {fault_id}: REFUSED: {exc}"]
    return out


def _run_probe(entry: Mapping[str, Any], configuration: Mapping[str, Any]) -> Any:
    from chaoslib.activity import run_activity

    return run_activity(copy.deepcopy(dict(entry)), dict(configuration), {})


def _refuse_unset(fault: Fault, act: xp.Activity, args: Mapping[str, Any]) -> None:
    for k, v in args.items():
        if isinstance(v, str) and ("${" in v or v.startswith("<unset")):
            raise BadInput(f"fault {fault.id}: action {act.name}: argument {k} is not set ({v}); set it in the "
                           f"profile (target.cluster) or in faults[].configuration")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
