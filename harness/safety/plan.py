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

from gameday.harness import promclient, scrape
from gameday.harness.chaos import experiment as xp
from gameday.harness.chaos import sla_config
from gameday.harness.errors import (
    BadInput,
    ExperimentError,
    GamedayError,
    NotAllowed,
    NothingToTarget,
    TargetUnavailable,
)
from gameday.harness.profile import Fault, Profile
from gameday.harness.safety import allow, sandbox_target, screen
from gameday.harness.safety import cluster as cl
from gameday.harness.safety import rollback as rollback_check
from gameday.harness.safety.model import Decision, FaultPlan, PlannedStep


@dataclass
class PlanContext:
    """What several faults of one profile share: one look at the sandbox, one set of API clients."""

    profile: Profile
    sandbox: sandbox_target.SandboxContext | None = None
    apis: cl.ClusterApis | None = None
    interval: scrape.ScrapeInterval | None = None

    def scrape_interval(self) -> scrape.ScrapeInterval:
        """The target's scrape interval, learned once (Prometheus, else the profile); the SLA
        probes' window follows it."""
        if self.interval is None:
            t = self.profile.target
            url = t.prometheus_url
            if t.kind == "sandbox":
                sctx = self.sandbox_ctx()
                url = sctx.prometheus if sctx.live else None
            access = promclient.at(url, t.prometheus) if url else None
            self.interval = scrape.learn(access, scrape.profile_interval(self.profile))
        return self.interval

    def sandbox_ctx(self) -> sandbox_target.SandboxContext:
        if self.sandbox is None:
            self.sandbox = sandbox_target.context(self.profile)
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
    decisions = screen_fault(profile, fault, raw, kind)

    notes: list[str] = []
    env: dict[str, str] = {}
    apis: cl.ClusterApis | None = None
    sctx: sandbox_target.SandboxContext | None = None
    if kind == "sandbox":
        sctx = ctx.sandbox_ctx()
        if not sctx.live:
            if for_run:
                raise TargetUnavailable(f"fault {fault.id}: the sandbox is not up ({sctx.control}/status does not "
                                        f"answer); start it with `gameday sandbox up`")
            notes.append(sctx.note)
        base = sandbox_target.overlay(sctx)
        source = sctx.source
    else:
        apis = ctx.cluster_apis(xp.uses(raw, xp.KUBE_MODULES), xp.uses(raw, xp.AWS_MODULES))
        env = apis.env
        base = cl.overlay(profile)
        source = apis.source
        mechanism = rollback_check.check(profile, fault, apis)  # a bad release: what would roll it back
        notes += [mechanism] if mechanism else []
    # identity keys (region, namespace) stay the profile's whatever the caller adds on top
    pinned: dict[str, Any] = {**base, **fault.configuration, **(extra or {}),
                              **{k: v for k, v in base.items() if k in screen.PINNED_BY_PROFILE}}
    # how the probes reach Prometheus (CA bundle, credentials) is the profile's target.prometheus alone
    overridden = sorted(set(promclient.CONFIG_KEYS.values()) & set(fault.configuration))
    if overridden:
        where = f"faults.{profile.faults.index(fault)}." if fault in profile.faults else ""
        raise NotAllowed(f"fault {fault.id}: {where}configuration.{overridden[0]}: "
                         f"how Prometheus is reached comes from the profile's target.prometheus only. Refusing")
    pinned.update(promclient.configuration(profile.target.prometheus))
    # the SLA probes' thresholds and window: the profile's checks and the scrape interval, nothing else
    sla_config.refuse_thresholds(profile)
    interval = ctx.scrape_interval()
    scrape.check_windows(profile, interval)
    notes.append(interval.describe())
    pinned.update(sla_config.sla_configuration(profile, fault, interval))

    static = xp.static_configuration(raw, pinned, path)
    for key in xp.dynamic_keys(raw):
        if key in pinned:
            continue
        entry = raw["configuration"][key]
        if not any(d.where == f"configuration.{key}" and d.allowed and d.effect == "read" for d in decisions):
            raise NotAllowed(f"fault {fault.id}: configuration key {key}: not a known read-only probe; a plan "
                             f"evaluates only those")  # the screen refused it already: a second lock
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
            steps.append(sandbox_target.describe(act, args, sctx))
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
                     uses=frozenset(uses), decisions=decisions,
                     identity=apis.identity() if apis is not None else None)


def screen_fault(profile: Profile, fault: Fault, raw: Mapping[str, Any] | None = None,
                 kind: str | None = None) -> tuple[Decision, ...]:
    """The safety screen of one fault (no API called): every activity's decision, identity keys,
    and (cluster) the resource names known before any API is called. NotAllowed on a refusal."""
    raw = raw if raw is not None else xp.load(fault.experiment)
    kind = kind or xp.kind(raw)
    if kind == "neutral":
        raise ExperimentError(f"{fault.experiment}: its actions drive neither the sandbox nor a cluster; gameday "
                              f"cannot resolve its targets")
    if kind != profile.target.kind:
        raise BadInput(f"fault {fault.id}: {fault.experiment} drives a {kind}, but the profile targets "
                       f"{profile.target.kind!r}; refusing")
    decisions = screen.screen(raw, fault.experiment, fault, profile, kind)
    screen.refuse(decisions, fault, fault.experiment)
    if kind == "cluster" and profile.target.cluster is not None:
        allow.check_static(profile.target.cluster)
        screen.static_targets(raw, fault.experiment, profile, {**cl.overlay(profile), **fault.configuration})
    return decisions


def screen_profile(profile: Profile) -> None:
    """Every fault screened, the first refusal raised: ``gameday run``'s preflight."""
    for fault in profile.faults:
        screen_fault(profile, fault)


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
    screened: list[Fault] = []
    for fault in profile.faults:  # statically first: a refused fault makes no API call at all
        try:
            screen_fault(profile, fault)
            screened.append(fault)
        except BadInput as exc:
            refused.append((fault.id, exc))
    if profile.target.kind == "cluster" and screened:
        need_kube = need_aws = False
        for fault in screened:
            raw = xp.load(fault.experiment)
            need_kube = need_kube or xp.uses(raw, xp.KUBE_MODULES)
            need_aws = need_aws or xp.uses(raw, xp.AWS_MODULES)
        ctx.cluster_apis(need_kube, need_aws)
    for fault in screened:
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
        out.append(f"  safety: {len(p.decisions)} activities checked, "
                   f"{sum(d.allowed for d in p.decisions)} allowed")
        out += [f"    {d.line}" for d in p.decisions]
        if p.identity is not None:
            ident = p.identity
            shown = [f"AWS account {ident.aws_account} in {ident.aws_region}" if ident.aws_account else "",
                     f"kube context {ident.kube_context} ({ident.kube_server})" if ident.kube_context else ""]
            out.append("  identity re-checked before each injection: " + ", ".join(x for x in shown if x))
        sla = sla_config.describe(p.configuration) if "sla_p95_ms" in p.uses else None
        out += [f"  {sla}"] if sla else []
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
