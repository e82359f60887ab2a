"""The allow-list: what a cluster run may touch. Anything outside is refused (NotAllowed, exit
64) with a message that names the value, the list it is missing from and how to allow it."""

from __future__ import annotations

from collections.abc import Iterable

from harness.errors import NotAllowed
from harness.profile import ClusterTarget


def check_static(cluster: ClusterTarget) -> None:
    """Everything the profile names, before any API is called."""
    allow = cluster.allow
    _member("kube context", cluster.kube_context, allow.kube_contexts, "target.cluster.allow.kube_contexts")
    _member("AWS account", cluster.aws_account_id, allow.aws_accounts, "target.cluster.allow.aws_accounts")
    _member("AWS region", cluster.aws_region, allow.aws_regions, "target.cluster.allow.aws_regions")
    named = {
        "namespace": cluster.namespace, "deployment": cluster.deployment, "RDS instance": cluster.db_instance,
        "Aurora cluster": cluster.db_cluster, "Aurora failover target": cluster.db_failover_target,
        "ElastiCache replication group": cluster.replication_group, "node group": cluster.node_group,
        "Redis namespace": cluster.redis_namespace,
    }
    for what, name in named.items():
        if name is not None:
            check_resource(cluster, what, name)


def check_resource(cluster: ClusterTarget, what: str, name: str) -> None:
    """A resource name must match one of ``allow.resource_patterns``."""
    if not cluster.allow.allows_resource(name):
        pats = ", ".join(cluster.allow.resource_patterns) or "(none)"
        raise NotAllowed(f"{what} {name!r} is outside the allow-list: it matches none of "
                         f"target.cluster.allow.resource_patterns [{pats}]; refusing")


def check_account(cluster: ClusterTarget, actual: str) -> None:
    """The credentials in use must be for the profile's account (and that one allowed)."""
    if actual != cluster.aws_account_id:
        raise NotAllowed(f"the AWS credentials in use are for account {actual}, but the profile targets "
                         f"{cluster.aws_account_id}; refusing (switch credentials or fix aws_account_id)")
    _member("AWS account", actual, cluster.allow.aws_accounts, "target.cluster.allow.aws_accounts")


def _member(what: str, value: str, allowed: Iterable[str], field: str) -> None:
    allowed = list(allowed)
    if value not in allowed:
        listed = ", ".join(allowed) if allowed else "nothing (the list is empty)"
        raise NotAllowed(f"{what} {value!r} is not allowed: {field} lists {listed}; "
                         f"add it there to allow it. Refusing")
