"""Before a bad release is shipped to a cluster: is there something to roll it back?

Kubernetes never rolls a Deployment back by itself. The profile names the mechanism
(``target.cluster.rollback``, :class:`gameday.harness.profile.RollbackMechanism`); the plan checks it is
there (read-only) and refuses the release, before anything is injected, when the profile names
nothing or the thing it names is not there. ``none-expected`` is the profile saying that nothing
rolling the release back is the test: shipped, with a note (the experiment's own rollbacks still
restore the good image).

RBAC: the controller's Deployment is read with ``get`` on deployments (deploy/rbac); a Rollout
and a CronJob need the grants of deploy/components/rollback-argo-rollouts or
deploy/components/rollback-pipeline-job.
"""

from __future__ import annotations

from typing import Any

from gameday.harness.errors import BadInput, NothingToTarget, TargetUnavailable
from gameday.harness.profile import Fault, Profile
from gameday.harness.safety import allow

BAD_RELEASE = "bad-release"


def check(profile: Profile, fault: Fault, apis: Any) -> str | None:
    """None for any fault but a cluster bad release; else a note for the plan, or a refusal."""
    cluster = profile.target.cluster
    if fault.id != BAD_RELEASE or cluster is None:
        return None
    rb = cluster.rollback
    if rb is None:
        raise BadInput(f"fault {fault.id}: target.cluster.rollback is not set: name what rolls a bad release back "
                       f"(mechanism argo-rollouts, pipeline-job or hypercode-controller, with its name), or "
                       f"mechanism none-expected if nothing rolling it back is the test; refusing to ship a bad "
                       f"release nothing would roll back")
    if rb.mechanism == "none-expected":
        return ("rollback mechanism: none expected (the profile says so): nothing should roll the bad release back; "
                "the experiment's rollbacks restore the good image")
    ns, name = rb.namespace or cluster.namespace, str(rb.name)
    allow.check_resource(cluster, "namespace", ns)
    where = f"target.cluster.rollback ({rb.mechanism} {ns}/{name})"
    if apis is None or apis.apps is None:
        raise BadInput(f"fault {fault.id}: {where}: no Kubernetes connection to check it")
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        if rb.mechanism == "argo-rollouts":
            obj = client.CustomObjectsApi(apis.apps.api_client).get_namespaced_custom_object(
                "argoproj.io", "v1alpha1", ns, "rollouts", name)
            phase = (obj.get("status") or {}).get("phase", "unknown phase") if isinstance(obj, dict) else "?"
            return f"rollback mechanism: Argo Rollouts Rollout {ns}/{name} is there ({phase})"
        if rb.mechanism == "pipeline-job":
            cj = client.BatchV1Api(apis.apps.api_client).read_namespaced_cron_job(name, ns)
            if cj.spec is not None and cj.spec.suspend:
                raise NothingToTarget(f"fault {fault.id}: {where}: the CronJob is suspended: nothing would roll the "
                                      f"bad release back; refusing")
            return f"rollback mechanism: pipeline CronJob {ns}/{name} is there (schedule {cj.spec.schedule})"
        dep = apis.apps.read_namespaced_deployment(name, ns)
        available = (dep.status.available_replicas if dep.status else 0) or 0
        if available < 1:
            raise NothingToTarget(f"fault {fault.id}: {where}: the controller has no available replica: nothing would "
                                  f"roll the bad release back; refusing")
        return f"rollback mechanism: HyperCode controller {ns}/{name} is there ({available} available)"
    except ApiException as exc:
        if exc.status == 404:
            raise NothingToTarget(f"fault {fault.id}: {where} is not there (404): nothing would roll the bad release "
                                  f"back; refusing to ship it (set mechanism none-expected if that is the test)") \
                from None
        raise NothingToTarget(f"fault {fault.id}: {where} cannot be checked: the Kubernetes API answered "
                              f"{exc.status} {exc.reason}; refusing") from None
    except (BadInput, TargetUnavailable):
        raise
    except Exception as exc:  # urllib3 / socket errors: the API is unreachable
        raise TargetUnavailable(f"fault {fault.id}: {where} cannot be checked: {type(exc).__name__}: {exc}") from None
