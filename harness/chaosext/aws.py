"""AWS probes chaosaws lacks: waiting for an RDS failover to finish, reading an ElastiCache
primary and waiting for it to change.

Clients come from ``chaosaws.aws_client`` (region from the ``aws_region`` configuration key,
credentials from the environment or the ``aws`` secrets), so ``AWS_ENDPOINT_URL`` points these
at a local moto server exactly as it does chaosaws.
"""

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

__all__ = [
    "db_instance_az",
    "replication_group_primary",
    "wait_for_cluster_writer",
    "wait_for_db_instance_available",
    "wait_for_replication_group_failover",
]


def db_instance_az(
    db_instance_identifier: str, configuration: Configuration = None, secrets: Secrets = None
) -> str:
    """The Availability Zone the instance's primary runs in (it moves on a Multi-AZ failover)."""
    return str(_db_instance(_client("rds", configuration, secrets), db_instance_identifier).get("AvailabilityZone"))


def wait_for_db_instance_available(
    db_instance_identifier: str,
    timeout: float = 900.0,
    interval: float = 10.0,
    change_grace_s: float = 0.0,
    previous_az: str | None = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Wait until a rebooted (failed-over) instance is ``available`` again. A reboot takes a few
    seconds to show, so first wait up to ``change_grace_s`` for the status to leave
    ``available``; with ``previous_az`` also wait for the primary to have left that zone
    (proof of a Multi-AZ failover, not a plain reboot)."""
    rds = _client("rds", configuration, secrets)
    started = time.monotonic()
    if previous_az is not None and ("${" in previous_az or not previous_az):
        previous_az = None
    left = _poll(lambda: _db_instance(rds, db_instance_identifier).get("DBInstanceStatus") != "available",
                 float(change_grace_s), float(interval), fail=None)

    def done() -> bool:
        inst = _db_instance(rds, db_instance_identifier)
        moved = previous_az is None or inst.get("AvailabilityZone") != previous_az
        return inst.get("DBInstanceStatus") == "available" and moved

    _poll(done, float(timeout), float(interval),
          fail=f"RDS instance {db_instance_identifier} not available"
               + (f" outside {previous_az}" if previous_az else "") + f" within {timeout:g}s")
    inst = _db_instance(rds, db_instance_identifier)
    return {"instance": db_instance_identifier, "status": inst.get("DBInstanceStatus"),
            "az": inst.get("AvailabilityZone"), "secondary_az": inst.get("SecondaryAvailabilityZone"),
            "left_available": bool(left), "waited_s": round(time.monotonic() - started, 3)}


def wait_for_cluster_writer(
    db_cluster_identifier: str,
    writer: str,
    timeout: float = 600.0,
    interval: float = 5.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Wait until ``writer`` is the writer of Aurora cluster ``db_cluster_identifier`` and the
    cluster is ``available``: the failover is over."""
    rds = _client("rds", configuration, secrets)
    started = time.monotonic()

    def cluster() -> dict[str, Any]:
        try:
            found = rds.describe_db_clusters(DBClusterIdentifier=db_cluster_identifier)["DBClusters"]
        except (ClientError, BotoCoreError) as exc:
            raise ActivityFailed(f"describing RDS cluster {db_cluster_identifier}: {exc}") from None
        if not found:
            raise ActivityFailed(f"RDS cluster {db_cluster_identifier} not found")
        return dict(found[0])

    def done() -> bool:
        c = cluster()
        writers = [m["DBInstanceIdentifier"] for m in c.get("DBClusterMembers", []) if m.get("IsClusterWriter")]
        return c.get("Status") == "available" and writers == [writer]

    _poll(done, float(timeout), float(interval),
          fail=f"{writer} is not the writer of {db_cluster_identifier} within {timeout:g}s")
    return {"cluster": db_cluster_identifier, "writer": writer, "waited_s": round(time.monotonic() - started, 3)}


def replication_group_primary(
    replication_group_id: str,
    node_group_id: str = "0001",
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> str:
    """The cache cluster id of the primary of one shard of an ElastiCache replication group."""
    group = _replication_group(_client("elasticache", configuration, secrets), replication_group_id)
    return _primary_of(group, node_group_id) or ""


def wait_for_replication_group_failover(
    replication_group_id: str,
    node_group_id: str = "0001",
    previous_primary: str | None = None,
    timeout: float = 1200.0,
    interval: float = 10.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Wait until the group is ``available`` with a primary in ``node_group_id`` that is not
    ``previous_primary`` (when given): ``test_failover`` is over."""
    ec = _client("elasticache", configuration, secrets)
    if previous_primary is not None and ("${" in previous_primary or not previous_primary):
        previous_primary = None
    started = time.monotonic()

    def done() -> bool:
        group = _replication_group(ec, replication_group_id)
        primary = _primary_of(group, node_group_id)
        return group.get("Status") == "available" and primary is not None and primary != previous_primary

    _poll(done, float(timeout), float(interval),
          fail=f"replication group {replication_group_id} has no new primary within {timeout:g}s")
    primary = _primary_of(_replication_group(ec, replication_group_id), node_group_id)
    return {"replication_group": replication_group_id, "primary": primary, "previous": previous_primary,
            "waited_s": round(time.monotonic() - started, 3)}


# ---- identity (not an activity: gameday's pre-injection check calls it) ------------------------
def caller_identity(configuration: Configuration = None, secrets: Secrets = None) -> tuple[str, str]:
    """(account, region) of the credentials chaosaws's clients use *now*, read the way an action
    reads them (``chaosaws.aws_client``: the same configuration, secrets and default session), with
    STS GetCallerIdentity. gameday calls it immediately before each injection and refuses to go on
    when either differs from what the plan checked. ActivityFailed when STS does not answer."""
    sts = _client("sts", configuration, secrets)
    try:
        account = str(sts.get_caller_identity()["Account"])
    except (ClientError, BotoCoreError) as exc:
        raise ActivityFailed(f"STS GetCallerIdentity: {exc}") from None
    return account, str(sts.meta.region_name)


# ---- helpers ---------------------------------------------------------------------------------
def _client(service: str, configuration: Configuration, secrets: Secrets) -> Any:
    from chaosaws import aws_client

    return aws_client(service, configuration, secrets)


def _db_instance(rds: Any, ident: str) -> dict[str, Any]:
    try:
        found = rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"]
    except (ClientError, BotoCoreError) as exc:
        raise ActivityFailed(f"describing RDS instance {ident}: {exc}") from None
    if not found:
        raise ActivityFailed(f"RDS instance {ident} not found")
    return dict(found[0])


def _replication_group(ec: Any, ident: str) -> dict[str, Any]:
    try:
        found = ec.describe_replication_groups(ReplicationGroupId=ident)["ReplicationGroups"]
    except (ClientError, BotoCoreError) as exc:
        raise ActivityFailed(f"describing ElastiCache replication group {ident}: {exc}") from None
    if not found:
        raise ActivityFailed(f"ElastiCache replication group {ident} not found")
    return dict(found[0])


def _primary_of(group: dict[str, Any], node_group_id: str) -> str | None:
    for ng in group.get("NodeGroups", []):
        if ng.get("NodeGroupId") == node_group_id:
            for m in ng.get("NodeGroupMembers", []):
                if m.get("CurrentRole") == "primary":
                    return str(m.get("CacheClusterId"))
    return None


def _poll(check: Callable[[], bool], timeout: float, interval: float, fail: str | None) -> bool:
    """Call ``check`` until true; at ``timeout`` raise ActivityFailed(fail), or return False
    when ``fail`` is None (a wait that may legitimately not happen)."""
    deadline = time.monotonic() + max(0.0, timeout)
    while True:
        if check():
            return True
        if time.monotonic() + interval > deadline:
            if fail is None:
                return False
            raise ActivityFailed(fail)
        time.sleep(max(0.1, interval))
