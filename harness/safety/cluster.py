"""Resolving cluster faults against the live Kubernetes and AWS APIs, inside the allow-list.

Order, so that nothing outside the allow-list is even looked at: the profile's own names are
checked first (:func:`gameday.harness.safety.allow.check_static`); then the kube context must exist
in the kubeconfig and the AWS credentials must be for the allowed account; then each action's
arguments (after substitution) are resolved to real things, every name checked again. An
action gameday cannot resolve is refused: it runs only what it can show.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gameday.harness.chaos.experiment import Activity
from gameday.harness.errors import BadInput, NotAllowed, NothingToTarget, TargetUnavailable
from gameday.harness.profile import ClusterTarget, Profile
from gameday.harness.safety import allow
from gameday.harness.safety.model import PinnedIdentity, PlannedStep, ResolvedTarget


@dataclass
class ClusterApis:
    """Clients for the allowed cluster and account; None for what no fault needs."""

    cluster: ClusterTarget
    kubeconfig: str | None = None
    core: Any = None
    apps: Any = None
    rds: Any = None
    elasticache: Any = None
    fis: Any = None
    account: str | None = None
    kube_server: str | None = None  # the API server the context points at, re-checked before injection

    @property
    def source(self) -> str:
        parts = []
        if self.core is not None:
            parts.append(f"kube context {self.cluster.kube_context} ({self.kubeconfig})")
        if self.account is not None:
            parts.append(f"AWS account {self.account} in {self.cluster.aws_region}")
        return ", ".join(parts) or "no live API needed"

    def identity(self) -> PinnedIdentity:
        """What the plan checked, for the run to check again before each injection."""
        c = self.cluster
        kube = self.core is not None
        return PinnedIdentity(aws_account=self.account, aws_region=c.aws_region if self.account else None,
                              kube_context=c.kube_context if kube else None,
                              kubeconfig=self.kubeconfig if kube else None,
                              kube_server=self.kube_server if kube else None, namespace=c.namespace)

    @property
    def env(self) -> dict[str, str]:
        """For chaosk8s during the run: it reads the kubeconfig and context only from there."""
        if self.core is None or self.kubeconfig is None:
            return {}
        return {"KUBECONFIG": self.kubeconfig, "KUBERNETES_CONTEXT": self.cluster.kube_context}


def connect(cluster: ClusterTarget, need_kube: bool, need_aws: bool) -> ClusterApis:
    """Check the allow-list, then open the APIs the faults need (and check who we are)."""
    allow.check_static(cluster)
    apis = ClusterApis(cluster)
    if need_kube:
        connect_kube(apis)
    if need_aws:
        connect_aws(apis)
    return apis


def connect_kube(apis: ClusterApis) -> None:
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    c = apis.cluster
    path = str(c.kubeconfig or os.environ.get("KUBECONFIG") or Path("~/.kube/config").expanduser())
    try:
        contexts, _ = config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
    except (ConfigException, OSError) as exc:
        raise BadInput(f"kubeconfig {path}: cannot be read ({exc})") from None
    names = [ctx["name"] for ctx in contexts or []]
    if c.kube_context not in names:
        raise NotAllowed(f"kube context {c.kube_context!r} is not in {path} (it has: {', '.join(names) or 'none'}); "
                         f"refusing to guess another one")
    try:
        api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=path, context=c.kube_context)
    except ConfigException as exc:
        raise BadInput(f"kube context {c.kube_context}: {exc}") from None
    apis.kubeconfig, apis.core, apis.apps = path, client.CoreV1Api(api), client.AppsV1Api(api)
    apis.kube_server = str(api.configuration.host)


def connect_aws(apis: ClusterApis) -> None:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    c = apis.cluster
    session = boto3.session.Session(region_name=c.aws_region)
    try:
        account = str(session.client("sts").get_caller_identity()["Account"])
    except (BotoCoreError, ClientError) as exc:
        raise TargetUnavailable(f"AWS: cannot tell which account the credentials are for ({exc})") from None
    allow.check_account(c, account)
    apis.account = account
    apis.rds = session.client("rds")
    apis.elasticache = session.client("elasticache")
    apis.fis = session.client("fis")


def overlay(profile: Profile) -> dict[str, Any]:
    """Configuration every cluster experiment gets from the profile (keys with no value left out)."""
    c = profile.target.cluster
    assert c is not None  # the schema requires it for kind 'cluster'
    values: dict[str, Any] = {
        "prometheus_url": profile.target.prometheus_url, "aws_region": c.aws_region,
        "namespace": c.namespace, "deployment": c.deployment, "container": c.container or "",
        "bad_image": c.bad_image, "db_instance": c.db_instance, "db_cluster": c.db_cluster,
        "db_failover_target": c.db_failover_target, "replication_group": c.replication_group,
        "cache_node_group": c.cache_node_group, "node_group": c.node_group, "node_label": c.node_label,
        "redis_namespace": c.redis_namespace, "redis_primary_selector": c.redis_primary_selector,
    }
    return {k: v for k, v in values.items() if v is not None}


def describe(act: Activity, args: Mapping[str, Any], apis: ClusterApis) -> PlannedStep:
    """One activity in plain words with its targets resolved and allowed; an action gameday does
    not know is refused."""
    if act.type != "action":
        shown = ", ".join(f"{k}={v}" for k, v in args.items())
        return PlannedStep(act.section, act.type, act.name, f"{act.func}({shown})")
    fn = _DESCRIBERS.get(act.ref)
    if fn is None:
        raise NotAllowed(f"action {act.name!r} ({act.ref}): gameday does not know what it targets, so it cannot "
                         f"check it against the allow-list; refusing. Known cluster actions: "
                         f"{', '.join(sorted(_DESCRIBERS))}")
    what, targets = fn(args, apis)
    return PlannedStep(act.section, act.type, act.name, what, tuple(targets))


# ---- AWS -------------------------------------------------------------------------------------
def _aws(apis: ClusterApis, what: str) -> None:
    if apis.rds is None:
        raise BadInput(f"{what}: no AWS connection (internal: the experiment was not seen to use AWS)")


def _aws_call(fn: Callable[[], Any], what: str, missing: tuple[str, ...]) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fn()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in missing:
            raise NothingToTarget(f"{what}: not found ({code}); nothing to inject") from None
        raise TargetUnavailable(f"{what}: AWS answered {code}: {exc}") from None
    except BotoCoreError as exc:
        raise TargetUnavailable(f"{what}: {exc}") from None


def _reboot_db(args: Mapping[str, Any], apis: ClusterApis) -> tuple[str, list[ResolvedTarget]]:
    ident = str(args.get("db_instance_identifier") or "")
    allow.check_resource(apis.cluster, "RDS instance", ident)
    _aws(apis, "reboot_db_instance")
    found = _aws_call(lambda: apis.rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"],
                      f"RDS instance {ident}", ("DBInstanceNotFound", "DBInstanceNotFoundFault"))
    if not found:
        raise NothingToTarget(f"RDS instance {ident}: not found; nothing to inject")
    inst = found[0]
    multi = bool(inst.get("MultiAZ"))
    failover = bool(args.get("force_failover")) and multi
    standby_az = inst.get("SecondaryAvailabilityZone") or "an AZ AWS did not report"
    where = f"standby in {standby_az}" if multi else "NOT Multi-AZ"
    detail = (f"{inst.get('Engine')} {inst.get('DBInstanceClass')}, {inst.get('DBInstanceStatus')}, "
              f"primary in {inst.get('AvailabilityZone')}, {where}")
    what = (f"reboot RDS instance {ident} with ForceFailover: the standby in {standby_az} is to take over" if failover
            else f"reboot RDS instance {ident} (no failover: {'not Multi-AZ' if not multi else 'force_failover off'})")
    return what, [ResolvedTarget("rds instance", ident, detail)]


def _failover_cluster(args: Mapping[str, Any], apis: ClusterApis) -> tuple[str, list[ResolvedTarget]]:
    ident = str(args.get("db_cluster_identifier") or "")
    target = args.get("target_db_instance_identifier")
    allow.check_resource(apis.cluster, "Aurora cluster", ident)
    if not target:
        raise BadInput(f"failover_db_cluster on {ident}: target_db_instance_identifier is required (set "
                       f"target.cluster.db_failover_target): gameday does not let AWS pick the instance")
    allow.check_resource(apis.cluster, "Aurora failover target", str(target))
    _aws(apis, "failover_db_cluster")
    found = _aws_call(lambda: apis.rds.describe_db_clusters(DBClusterIdentifier=ident)["DBClusters"],
                      f"Aurora cluster {ident}", ("DBClusterNotFoundFault", "DBClusterNotFound"))
    if not found:
        raise NothingToTarget(f"Aurora cluster {ident}: not found; nothing to inject")
    members = {m["DBInstanceIdentifier"]: m for m in found[0].get("DBClusterMembers", [])}
    writer = next((m for m, v in members.items() if v.get("IsClusterWriter")), None)
    if target not in members:
        raise NothingToTarget(f"Aurora cluster {ident} has no member {target} (members: {', '.join(members)})")
    if target == writer:
        raise BadInput(f"Aurora cluster {ident}: {target} is already the writer; choose a reader as db_failover_target")
    return (f"fail Aurora cluster {ident} over: writer {writer} -> {target}",
            [ResolvedTarget("aurora cluster", ident, f"{found[0].get('Status')}, writer {writer}, "
                                                     f"members {', '.join(sorted(members))}"),
             ResolvedTarget("aurora instance", str(target), "to be promoted to writer")])


def _test_failover(args: Mapping[str, Any], apis: ClusterApis) -> tuple[str, list[ResolvedTarget]]:
    ident = str(args.get("replication_group_id") or "")
    shard = str(args.get("node_group_id") or "")
    allow.check_resource(apis.cluster, "ElastiCache replication group", ident)
    _aws(apis, "test_failover")
    found = _aws_call(lambda: apis.elasticache.describe_replication_groups(ReplicationGroupId=ident)
                      ["ReplicationGroups"], f"ElastiCache replication group {ident}",
                      ("ReplicationGroupNotFoundFault",))
    if not found:
        raise NothingToTarget(f"ElastiCache replication group {ident}: not found; nothing to inject")
    group = found[0]
    ng = next((g for g in group.get("NodeGroups", []) if g.get("NodeGroupId") == shard), None)
    if ng is None:
        shards = ", ".join(g.get("NodeGroupId", "?") for g in group.get("NodeGroups", []))
        raise NothingToTarget(f"replication group {ident} has no shard {shard} (it has: {shards})")
    members = ng.get("NodeGroupMembers", [])
    primary = next((m["CacheClusterId"] for m in members if m.get("CurrentRole") == "primary"), None)
    replicas = [m["CacheClusterId"] for m in members if m.get("CurrentRole") != "primary"]
    if not replicas:
        raise NothingToTarget(f"replication group {ident} shard {shard} has no replica to promote")
    auto = group.get("AutomaticFailover", "?")
    return (f"TestFailover on ElastiCache {ident} shard {shard}: primary {primary} fails, one of "
            f"{', '.join(replicas)} is promoted (AWS allows 5 per shard per 24 h)",
            [ResolvedTarget("elasticache replication group", ident,
                            f"{group.get('Status')}, automatic failover {auto}, shard {shard}: primary {primary}, "
                            f"replicas {', '.join(replicas)}")])


# ---- Kubernetes ------------------------------------------------------------------------------
def _kube(apis: ClusterApis, what: str) -> None:
    if apis.core is None:
        raise BadInput(f"{what}: no Kubernetes connection (internal: the experiment was not seen to use it)")


def _kube_call(fn: Callable[[], Any], what: str) -> Any:
    from kubernetes.client.exceptions import ApiException

    try:
        return fn()
    except ApiException as exc:
        if exc.status == 404:
            raise NothingToTarget(f"{what}: not found; nothing to inject") from None
        raise TargetUnavailable(f"{what}: the Kubernetes API answered {exc.status} {exc.reason}") from None
    except Exception as exc:  # urllib3 / socket errors: the API is unreachable
        if isinstance(exc, (NothingToTarget, NotAllowed, BadInput)):
            raise
        raise TargetUnavailable(f"{what}: the Kubernetes API cannot be reached ({type(exc).__name__}: {exc})") from None


def _nodes(args: Mapping[str, Any], apis: ClusterApis, verb: str) -> tuple[str, list[ResolvedTarget]]:
    _kube(apis, f"{verb} nodes")
    c = apis.cluster
    if not c.node_group:
        raise BadInput(f"{verb} nodes: set target.cluster.node_group: it is how the allow-list scopes nodes")
    allow.check_resource(c, "node group", c.node_group)
    name, selector = args.get("name"), args.get("label_selector")
    if name:
        allow.check_name("node", str(name))
        nodes = _kube_call(lambda: apis.core.list_node(field_selector=f"metadata.name={name}").items, f"node {name}")
    else:
        nodes = _kube_call(lambda: apis.core.list_node(label_selector=selector or None).items, f"nodes {selector}")
    if not nodes:
        raise NothingToTarget(f"{verb}: no node matches {('name ' + str(name)) if name else repr(selector)}")
    if args.get("count") is not None and not name:
        raise BadInput(f"{verb} nodes with count={args.get('count')}: chaosk8s would pick at random; name the node "
                       f"(gameday pins it: configuration key drain_node) so the plan shows what is drained")
    targets = []
    for n in nodes:
        group = (n.metadata.labels or {}).get(c.node_label)
        if group != c.node_group:
            raise NotAllowed(f"node {n.metadata.name} is in {c.node_label}={group}, not the allowed node group "
                             f"{c.node_group}; refusing")
        pods = []
        if verb == "drain":
            pods = _pods_on(apis, str(n.metadata.name))
        detail = f"{c.node_label}={group}" + (f", pods: {', '.join(pods) or 'none'}" if verb == "drain" else "")
        targets.append(ResolvedTarget("node", str(n.metadata.name), detail))
    names = ", ".join(t.name for t in targets)
    what = {"drain": f"drain {names}: cordon, then evict every managed pod (PodDisruptionBudgets honoured)",
            "cordon": f"cordon {names}", "uncordon": f"uncordon {names}"}[verb]
    return what, targets


def _pods_on(apis: ClusterApis, node: str) -> list[str]:
    listed = _kube_call(lambda: apis.core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items,
                        f"pods on {node}")
    return sorted(f"{p.metadata.namespace}/{p.metadata.name}" for p in listed)


def _terminate_pods(args: Mapping[str, Any], apis: ClusterApis) -> tuple[str, list[ResolvedTarget]]:
    _kube(apis, "terminate_pods")
    c = apis.cluster
    ns = str(args.get("ns") or "default")
    allow.check_resource(c, "namespace", ns)
    selector, pattern = args.get("label_selector"), args.get("name_pattern")
    pods = _kube_call(lambda: apis.core.list_namespaced_pod(ns, label_selector=selector or None).items,
                      f"pods {selector} in {ns}")
    names = sorted(p.metadata.name for p in pods if not pattern or re.search(str(pattern), p.metadata.name))
    if not names:
        raise NothingToTarget(f"terminate_pods: no pod matches {selector!r} in namespace {ns}; nothing to kill")
    for n in names:
        allow.check_resource(c, "pod", n)
    qty = int(args.get("qty", 1))
    if args.get("all"):
        chosen, how = names, "all"
    elif args.get("rand"):
        chosen, how = names, f"{qty} at random of"
    else:
        chosen, how = names[:qty], "first"
    grace = args.get("grace_period", -1)
    return (f"delete pod(s) {', '.join(chosen)} in {ns} ({how} {len(names)} matching '{selector}'; "
            f"grace period {'default' if int(grace) < 0 else str(grace) + ' s'})",
            [ResolvedTarget("pod", f"{ns}/{n}", f"selector {selector}") for n in chosen])


def _deployment(args: Mapping[str, Any], apis: ClusterApis, verb: str) -> tuple[str, list[ResolvedTarget]]:
    _kube(apis, verb)
    from gameday.harness.chaosext.k8s import container_of, revision_of

    c = apis.cluster
    name, ns = str(args.get("name") or ""), str(args.get("ns") or "default")
    allow.check_resource(c, "namespace", ns)
    allow.check_resource(c, "deployment", name)
    dep = _kube_call(lambda: apis.apps.read_namespaced_deployment(name, ns), f"deployment {ns}/{name}")
    try:
        cont = container_of(dep, str(args.get("container") or "") or None)
    except Exception as exc:  # ActivityFailed: no such container
        raise NothingToTarget(f"deployment {ns}/{name}: {exc}") from None
    st = dep.status
    detail = (f"container {cont.name} image {cont.image}, revision {revision_of(dep.metadata.annotations)}, "
              f"{st.available_replicas if st else 0}/{dep.spec.replicas} available")
    image = args.get("image")
    if verb == "set_image":
        what = f"set image of {ns}/{name} container {cont.name}: {cont.image} -> {image} (a new rollout)"
    elif verb == "restore_image":
        what = (f"make sure {ns}/{name} container {cont.name} runs {image} "
                f"({'no-op now' if cont.image == image else 'patch if still different then'})")
    else:
        what = f"rollout undo {ns}/{name} to revision {args.get('to_revision') or 'the previous one'}"
    return what, [ResolvedTarget("deployment", f"{ns}/{name}", detail)]


def _fis_start(args: Mapping[str, Any], apis: ClusterApis) -> tuple[str, list[ResolvedTarget]]:
    """An AWS FIS experiment template (a custom fault): every target it names must be an ARN in the
    profile's account and region whose resource name the allow-list allows. A target chosen by tags
    or filters resolves only when FIS runs it, too late to check: refused."""
    tid = str(args.get("experiment_template_id") or "")
    if not tid or "${" in tid or tid.startswith("<unset"):
        raise BadInput(f"fis start_experiment: experiment_template_id is not set ({tid or 'empty'}); set it in the "
                       f"fault's configuration")
    _aws(apis, "fis start_experiment")
    tpl = _aws_call(lambda: apis.fis.get_experiment_template(id=tid)["experimentTemplate"],
                    f"FIS experiment template {tid}", ("ResourceNotFoundException",))
    if not tpl:
        raise NothingToTarget(f"FIS experiment template {tid}: not found; nothing to inject")
    targets: list[ResolvedTarget] = []
    for name, t in sorted((tpl.get("targets") or {}).items()):
        arns = t.get("resourceArns") or []
        if not arns or t.get("resourceTags") or t.get("filters"):
            raise NotAllowed(f"FIS experiment template {tid}: target {name!r} ({t.get('resourceType')}) is chosen by "
                             f"tags or filters, which resolve only when FIS runs it: gameday cannot check them "
                             f"against the allow-list. Name its resources by ARN (resourceArns); refusing")
        for arn in arns:
            parts = str(arn).split(":", 5)
            if len(parts) != 6 or parts[0] != "arn":
                raise NotAllowed(f"FIS experiment template {tid}: target {name!r}: {arn!r} is not an ARN; refusing")
            region, account, resource = parts[3], parts[4], parts[5]
            if account and account != apis.account:
                raise NotAllowed(f"FIS experiment template {tid}: target {arn} is in account {account}, not the "
                                 f"profile's {apis.account}; refusing")
            if region and region != apis.cluster.aws_region:
                raise NotAllowed(f"FIS experiment template {tid}: target {arn} is in region {region}, not the "
                                 f"profile's {apis.cluster.aws_region}; refusing")
            rname = re.split(r"[/:]", resource)[-1]
            allow.check_resource(apis.cluster, f"FIS target {name}", rname)
            targets.append(ResolvedTarget(str(t.get("resourceType") or "fis target"), rname, str(arn)))
    if not targets:
        raise NothingToTarget(f"FIS experiment template {tid}: no target; nothing to inject")
    actions = ", ".join(f"{n} ({a.get('actionId')})" for n, a in sorted((tpl.get("actions") or {}).items()))
    stops = ", ".join(str(c.get("source")) for c in tpl.get("stopConditions") or []) or "none"
    return (f"start FIS experiment template {tid} ({tpl.get('description') or 'no description'}): "
            f"{actions or 'no action'}; stop conditions: {stops}", targets)


def _fis_stop(args: Mapping[str, Any], apis: ClusterApis) -> tuple[str, list[ResolvedTarget]]:
    """The rollback: stop the experiments a fault started, by their tags; never delete templates."""
    if str(args.get("delete_templates", False)).lower() == "true":
        raise NotAllowed("fis stop_experiments_by_tags with delete_templates: a rollback does not delete the "
                         "team's experiment templates; refusing")
    tags = args.get("tags")
    if not tags:
        raise BadInput("fis stop_experiments_by_tags: no tags: it would stop every experiment of the account")
    return f"stop every running FIS experiment tagged {tags}", [ResolvedTarget("fis experiments", f"tags {tags}",
                                                                               "started by this fault")]


Describer = Callable[[Mapping[str, Any], ClusterApis], tuple[str, list[ResolvedTarget]]]

_DESCRIBERS: dict[str, Describer] = {
    "chaosaws.rds.actions.reboot_db_instance": _reboot_db,
    "chaosaws.rds.actions.failover_db_cluster": _failover_cluster,
    "chaosaws.elasticache.actions.test_failover": _test_failover,
    "chaosaws.fis.actions.start_experiment": _fis_start,
    "chaosaws.fis.actions.stop_experiments_by_tags": _fis_stop,
    "chaosk8s.node.actions.drain_nodes": lambda a, x: _nodes(a, x, "drain"),
    "chaosk8s.node.actions.cordon_node": lambda a, x: _nodes(a, x, "cordon"),
    "chaosk8s.node.actions.uncordon_node": lambda a, x: _nodes(a, x, "uncordon"),
    "chaosk8s.pod.actions.terminate_pods": _terminate_pods,
    "gameday.harness.chaosext.release.set_image": lambda a, x: _deployment(a, x, "set_image"),
    "gameday.harness.chaosext.release.restore_image": lambda a, x: _deployment(a, x, "restore_image"),
    "gameday.harness.chaosext.release.rollout_undo": lambda a, x: _deployment(a, x, "rollout_undo"),
}

KNOWN_ACTIONS = frozenset(_DESCRIBERS)  # the actions whose targets gameday resolves (the safety screen's list)
