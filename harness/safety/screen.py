"""The safety screen: every provider an experiment can make Chaos Toolkit call, checked before
anything is called, with a decision for each.

Chaos Toolkit runs a probe exactly like an action, evaluates configuration probes when an
experiment loads, runs tolerance probes and controls, and lets configuration and secrets choose
the AWS region, profile, role and the kube context. So the screen looks at the whole document,
not at the steps typed ``action``:

* every ``provider`` wherever it is (configuration, steady-state hypothesis and its tolerances,
  method, rollbacks, controls, anywhere else) is classified by what its function *does* —
  ``read`` (a known probe module), ``write`` (an action) or ``unknown`` — whatever type the
  author declared;
* only allow-listed providers run: Python modules of chaosaws, chaosk8s and gameday's own
  extension (and the sandbox's, for the sandbox kind), plus what ``target.cluster.allow.providers``
  lists; ``process`` and ``http`` providers only when listed exactly;
* a configuration probe is evaluated by ``gameday plan``, so it must be a known read;
* a probe-typed step that calls an action, an action in the steady-state hypothesis, a
  tolerance that is not a read, a control (it runs code around every activity) are refused;
* identity keys (region, credentials profile, role, endpoint, kube context, namespace) come
  from the profile alone: fault configuration, the experiment's configuration and its secrets
  cannot set them (:class:`NotAllowed`, exit 64, naming the key).

Pure over the documents (no API is called): ``gameday run`` screens every fault in its
preflight, before a run directory exists, and ``gameday plan`` prints the decisions.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gameday.harness.chaos import experiment as xp
from gameday.harness.errors import ExperimentError, NotAllowed
from gameday.harness.profile import Fault, Profile
from gameday.harness.safety.model import Decision

# Python modules each kind may call without the profile listing them (dotted prefixes)
BUILTIN_MODULES = {
    "cluster": ("chaosaws", "chaosk8s", "gameday.harness.chaosext"),
    "sandbox": ("gameday.sandbox.chaos", "gameday.harness.chaosext"),
}
# modules whose public functions only read; in gameday.harness.chaosext only what the module exports
READ_MODULE = re.compile(r"^(chaosaws|chaosk8s)(\.[a-z0-9_]+)*\.probes$|^gameday\.sandbox\.chaos\.(probes|waits)$")
WRITE_MODULE = re.compile(r"^(chaosaws|chaosk8s)(\.[a-z0-9_]+)*\.actions$|^gameday\.sandbox\.chaos\.actions$")
GAMEDAY_READ = ("gameday.harness.chaosext.k8s", "gameday.harness.chaosext.aws", "gameday.harness.chaosext.sla")
GAMEDAY_WRITE = ("gameday.harness.chaosext.release",)

# configuration keys that choose who and where (chaosaws reads these; the profile pins them)
CONFIG_IDENTITY_KEYS = frozenset({
    "aws_region", "aws_profile_name", "aws_assume_role_arn", "aws_assume_role_session_name",
    "aws_assume_role_external_id", "aws_endpoint", "aws_host", "aws_endpoint_scheme", "aws_account_id",
    "namespace", "redis_namespace", "kube_context", "kubeconfig",
})
# the ones the profile's overlay sets: the experiment's own block may declare them (as shipped
# experiments do, for running alone), the overlay replaces them; anything else is refused
PINNED_BY_PROFILE = frozenset({"aws_region", "namespace", "redis_namespace"})
# secret keys that choose credentials or the cluster (chaosaws, chaosk8s); compared upper-case
SECRET_IDENTITY_KEYS = frozenset({
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
    "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_ENDPOINT_URL", "AWS_PROFILE_NAME", "AWS_ASSUME_ROLE_ARN",
    "KUBERNETES_CONTEXT", "KUBECONFIG", "KUBERNETES_HOST", "KUBERNETES_API_KEY", "KUBERNETES_API_KEY_PREFIX",
    "KUBERNETES_CERT_FILE", "KUBERNETES_KEY_FILE", "KUBERNETES_USERNAME", "KUBERNETES_PASSWORD",
    "KUBERNETES_CA_CERT_FILE", "KUBERNETES_VERIFY_SSL", "CHAOSTOOLKIT_IN_POD",
})
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def screen(raw: Mapping[str, Any], path: Path, fault: Fault, profile: Profile, kind: str) -> tuple[Decision, ...]:
    """The decision for every provider of the experiment; identity overrides raise NotAllowed."""
    check_identity(raw, path, fault, profile)
    extra = _listed(profile) if kind == "cluster" else ()
    return tuple(_decide(f, kind, extra) for f in xp.providers(raw))


def refuse(decisions: tuple[Decision, ...], fault: Fault, path: Path) -> None:
    """NotAllowed naming every refused activity, if any."""
    bad = [d for d in decisions if not d.allowed]
    if bad:
        shown = "; ".join(f"{d.where} {d.name!r} ({d.provider}): {d.reason}" for d in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise NotAllowed(f"fault {fault.id}: {path}: {len(bad)} of {len(decisions)} activities refused: "
                         f"{shown}{more}")


def check_identity(raw: Mapping[str, Any], path: Path, fault: Fault, profile: Profile) -> None:
    """Region, credentials, role, endpoint, kube context and namespace come from the profile alone."""
    for key in fault.configuration:
        if key in CONFIG_IDENTITY_KEYS or key.upper() in SECRET_IDENTITY_KEYS:
            raise NotAllowed(f"fault {fault.id}: faults[].configuration.{key} would override the identity the plan "
                             f"checks ({key}); set it in target.cluster (and its allow-list), not per fault. Refusing")
    for key in (raw.get("configuration") or {}):
        if key in PINNED_BY_PROFILE:
            continue  # declared for running alone; the profile's value replaces it
        if key in CONFIG_IDENTITY_KEYS or key.upper() in SECRET_IDENTITY_KEYS:
            raise NotAllowed(f"fault {fault.id}: {path}: configuration.{key} would choose the credentials, role, "
                             f"endpoint or cluster the run uses ({key}); gameday takes them from the profile "
                             f"only. Refusing")
    secrets = raw.get("secrets") or {}
    if not isinstance(secrets, Mapping):
        raise ExperimentError(f"{path}: secrets: expected a mapping of scopes, got {type(secrets).__name__}")
    for scope, values in secrets.items():
        keys = values.keys() if isinstance(values, Mapping) else ()
        for key in keys:
            if str(key).upper() in SECRET_IDENTITY_KEYS or str(key) in CONFIG_IDENTITY_KEYS:
                raise NotAllowed(f"fault {fault.id}: {path}: secrets.{scope}.{key} would choose the credentials or "
                                 f"the cluster the run uses ({key}); gameday takes them from the profile and the "
                                 f"environment it checked. Refusing")


def _listed(profile: Profile) -> tuple[str, ...]:
    cluster = profile.target.cluster
    return tuple(cluster.allow.providers) if cluster is not None else ()


def _decide(found: xp.ProviderAt, kind: str, listed: tuple[str, ...]) -> Decision:
    node, role = found.node, found.role
    declared = str(node.get("type", ""))
    name = str(node.get("name", ""))
    provider = node.get("provider")
    if not isinstance(provider, Mapping):
        return Decision(found.where, role, declared, name, repr(provider), "unknown", False,
                        "provider is not a mapping")
    ptype = str(provider.get("type", ""))
    if ptype == "python":
        module, func = str(provider.get("module", "")), str(provider.get("func", ""))
        shown = f"python {module}.{func}"
        effect, allowed_by = _python(module, func, kind, listed)
    elif ptype in ("process", "http"):
        target = str(provider.get("path" if ptype == "process" else "url", ""))
        shown = f"{ptype} {target}"
        effect = "unknown"
        allowed_by = "profile" if f"{ptype}:{target}" in listed else None
    else:
        return Decision(found.where, role, declared, name, f"{ptype} provider", "unknown", False,
                        f"provider type {ptype!r} is not python, process or http")

    def out(allowed: bool, reason: str) -> Decision:
        return Decision(found.where, role, declared, name, shown, effect, allowed, reason)

    if role == "control":
        return out(False, "controls run code around every activity, outside gameday's checks")
    if role == "other":
        return out(False, "a provider outside configuration, hypothesis, method and rollbacks")
    if allowed_by is None:
        if ptype == "python" and any(module == p or module.startswith(p + ".") for p in BUILTIN_MODULES[kind]):
            return out(False, f"{module}.{func} is neither a known probe nor a known action (a private or "
                              f"unexported function, or a module outside the probes/actions modules)")
        if ptype != "python":
            return out(False, f"{ptype} providers run only when target.cluster.allow.providers lists "
                              f"'{ptype}:{target}' exactly" + ("" if kind == "cluster" else
                                                                   " (never in the sandbox kind)"))
        return out(False, f"module {module!r} is not allowed: only "
                          f"{', '.join(BUILTIN_MODULES[kind])} run"
                          + (" and what target.cluster.allow.providers lists" if kind == "cluster" else ""))
    if role in ("configuration", "tolerance"):
        if effect != "read":
            return out(False, f"a {role} probe is evaluated without a plan of its own: only known read-only "
                              f"probes (chaosaws/chaosk8s *.probes, gameday's probes) may be")
        return out(True, "known read-only probe")
    if declared not in ("action", "probe"):
        return out(False, f"type {declared!r}: an activity is 'action' or 'probe'")
    if role == "hypothesis" and (declared == "action" or effect == "write"):
        return out(False, "the steady-state hypothesis runs before and after the fault: it may hold only "
                          "read-only probes")
    if declared == "probe" and effect == "write":
        return out(False, "typed 'probe' but calls an action: Chaos Toolkit runs it all the same")
    if declared == "probe" and effect == "unknown":
        return out(True, "probe from a provider the profile lists (allow.providers)" if allowed_by == "profile"
                   else "probe from a module the sandbox kind does not restrict (never in a cluster)")
    if kind == "cluster" and declared == "action" and shown.removeprefix("python ") not in _known():
        return out(False, f"gameday does not know what {shown} targets, so it cannot check it against "
                          f"the allow-list; known cluster actions: {', '.join(sorted(_known()))}")
    if declared == "action" and effect != "write":
        if allowed_by in ("profile", "sandbox"):
            return out(False, "an action from a provider gameday cannot resolve targets for")
        return out(True, "typed 'action' but only reads")
    if kind == "cluster" and declared == "action" and node.get("background"):
        return out(False, "a background action cannot be stopped by the pre-injection identity check")
    if declared == "action":
        return out(True, "action: its targets are resolved" + (" and checked against the allow-list"
                                                                if kind == "cluster" else " before it runs"))
    return out(True, "known read-only probe")


def _known() -> frozenset[str]:
    from gameday.harness.safety.cluster import KNOWN_ACTIONS

    return KNOWN_ACTIONS


def _python(module: str, func: str, kind: str, listed: tuple[str, ...]) -> tuple[str, str | None]:
    """(effect, allowed by: 'builtin' | 'profile' | None)."""
    if not _MODULE.match(module) or not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", func):
        return "unknown", None  # also refuses private functions (_client, ...)
    builtin = any(module == p or module.startswith(p + ".") for p in BUILTIN_MODULES.get(kind, ()))
    profile = any(module == p or module.startswith(p + ".") for p in listed
                  if not p.startswith(("process:", "http:")) and _MODULE.match(p))
    if READ_MODULE.match(module) and builtin:
        return "read", "builtin"
    if WRITE_MODULE.match(module) and builtin:
        return "write", "builtin"
    if module in GAMEDAY_READ + GAMEDAY_WRITE and builtin:
        exported = _exports(module)
        if func not in exported:
            return "unknown", None
        return ("read" if module in GAMEDAY_READ else "write"), "builtin"
    if profile:
        return ("write" if module.endswith(".actions") else "unknown"), "profile"
    if kind == "sandbox" and not builtin and not WRITE_MODULE.match(module):
        # the sandbox is this machine's own stand-in: other Python modules may run as probes
        # (tests' canaries, a team's own checks), never as actions or configuration probes
        return ("write" if module.endswith(".actions") else "unknown"), "sandbox"
    return "unknown", None


def _exports(module: str) -> tuple[str, ...]:
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return ()
    return tuple(getattr(mod, "__all__", ()))


# action -> the arguments that name what it acts on (checked statically; again, resolved, by the plan)
RESOURCE_ARGS: dict[str, tuple[tuple[str, str], ...]] = {
    "chaosaws.rds.actions.reboot_db_instance": (("db_instance_identifier", "RDS instance"),),
    "chaosaws.rds.actions.failover_db_cluster": (("db_cluster_identifier", "Aurora cluster"),
                                                 ("target_db_instance_identifier", "Aurora failover target")),
    "chaosaws.elasticache.actions.test_failover": (("replication_group_id", "ElastiCache replication group"),),
    "chaosk8s.pod.actions.terminate_pods": (("ns", "namespace"),),
    "gameday.harness.chaosext.release.set_image": (("name", "deployment"), ("ns", "namespace")),
    "gameday.harness.chaosext.release.restore_image": (("name", "deployment"), ("ns", "namespace")),
    "gameday.harness.chaosext.release.rollout_undo": (("name", "deployment"), ("ns", "namespace")),
}


def static_targets(raw: Mapping[str, Any], path: Path, profile: Profile, overlay: Mapping[str, Any]) -> None:
    """Every action argument that names a resource and is known before any API is called (the
    profile's names, fault configuration, the experiment's own values) must match the allow-list:
    so ``gameday run`` refuses it in its preflight, before a run directory exists."""
    from gameday.harness.chaos import experiment as xp
    from gameday.harness.safety import allow

    cluster = profile.target.cluster
    if cluster is None:
        return
    static = xp.static_configuration(raw, overlay, path)
    for act in xp.activities(raw):
        for arg, what in RESOURCE_ARGS.get(act.ref, ()):
            value = xp.substitute(act.arguments, static).get(arg)
            if isinstance(value, str) and value and "${" not in value and not value.startswith("<unset"):
                allow.check_resource(cluster, what, value)


def write_decisions(run_dir: Path, fault: str, decisions: tuple[Decision, ...], redact: Any = None) -> Path:
    """``safety/decisions.json`` in the run directory: {fault: [decision, ...]}, this fault's entry
    replaced; written to a temporary file and renamed, so a reader never sees half of it."""
    import json
    from dataclasses import asdict

    from gameday.contract.atomic import write_atomic

    path = run_dir / "safety" / "decisions.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        doc = {}
    entry = [asdict(d) for d in decisions]
    doc[fault] = redact(entry) if redact is not None else entry
    return write_atomic(path, json.dumps(doc, indent=2, sort_keys=True))
