"""The allow-list: what a cluster run may touch. Anything outside is refused (NotAllowed, exit
64) with a message that names the value, the list it is missing from and how to allow it."""

from __future__ import annotations

import re
from collections.abc import Iterable

from gameday.harness.errors import NotAllowed
from gameday.harness.profile import ClusterTarget


def check_static(cluster: ClusterTarget) -> None:
    """Everything the profile names, before any API is called."""
    allow = cluster.allow
    check_patterns(cluster)
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


# a resource name is a plain name: no glob, selector, path or whitespace characters that a pattern
# or an API could read as more than one thing (``hypercode-*``, ``hypercode-db,prod-db``)
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")
# globs that match (nearly) anything: a pattern needs a literal prefix of at least this length
_MIN_LITERAL_PREFIX = 3


def check_patterns(cluster: ClusterTarget) -> None:
    """``resource_patterns`` must each scope something: ``*``, ``?*`` or ``[a-z]*`` would allow anything."""
    for pat in cluster.allow.resource_patterns:
        prefix = re.split(r"[*?\[]", pat, maxsplit=1)[0]
        if len(prefix) < _MIN_LITERAL_PREFIX:
            raise NotAllowed(f"target.cluster.allow.resource_patterns: {pat!r} matches nearly anything; a pattern "
                             f"needs a literal prefix of at least {_MIN_LITERAL_PREFIX} characters (e.g. "
                             f"'hypercode-*'). Refusing")


def check_name(what: str, name: str) -> None:
    if not _PLAIN_NAME.match(name):
        raise NotAllowed(f"{what} {name!r} is not a plain resource name (letters, digits, '.', '_', '-'; no globs, "
                         f"commas, slashes or spaces); refusing")


def check_resource(cluster: ClusterTarget, what: str, name: str) -> None:
    """A resource name must be a plain name and match one of ``allow.resource_patterns``."""
    check_name(what, name)
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
