"""Everything a cluster profile talks to, stood in: Kubernetes API stub, moto (RDS, STS),
ElastiCache stub, Prometheus stub, and a kubeconfig with the contexts the tests use.

    with stack(tmp_path) as s:       # s.env: the environment boto3 / chaosaws / chaosk8s need
        ...

By hand (for ``gameday plan profiles/cluster.example.yaml``)::

    .venv/bin/python -m tests.stubs.cluster    # prints the environment, serves until Ctrl-C
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.stubs import aws, k8s, prometheus

CONTEXTS = ("hypercode-staging", "some-other-cluster")


@dataclass
class Stack:
    kube: k8s.Cluster
    kube_url: str
    kubeconfig: Path
    moto_url: str
    cache: dict[str, aws.CacheGroup]
    cache_url: str
    prom: prometheus.PromState
    prom_url: str

    @property
    def env(self) -> dict[str, str]:
        return {**aws.FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.moto_url,
                "AWS_ENDPOINT_URL_ELASTICACHE": self.cache_url, "KUBECONFIG": str(self.kubeconfig),
                "GAMEDAY_PROMETHEUS_URL": self.prom_url}


@contextmanager
def stack(tmp: Path) -> Iterator[Stack]:
    with ExitStack() as es:
        kube, kube_url = es.enter_context(k8s.running())
        moto_url = es.enter_context(aws.moto_server())
        aws.seed_rds(moto_url)
        cache, cache_url = es.enter_context(aws.elasticache())
        prom, prom_url = es.enter_context(prometheus.running())
        kubeconfig = k8s.write_kubeconfig(tmp / "kubeconfig", kube_url, CONTEXTS)
        yield Stack(kube, kube_url, kubeconfig, moto_url, cache, cache_url, prom, prom_url)


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(0)  # unwinds the with-blocks: moto and the servers are stopped


def main() -> None:
    signal.signal(signal.SIGTERM, _exit)
    with tempfile.TemporaryDirectory(prefix="gameday-stubs-") as tmp, stack(Path(tmp)) as s:
        for k, v in s.env.items():
            print(f"export {k}={v}")
        print(f"# prometheus_url for the profile: {s.prom_url}", flush=True)
        deadline = time.monotonic() + float(os.environ.get("GAMEDAY_STUBS_SECONDS", "900"))
        try:
            while time.monotonic() < deadline:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()


@contextmanager
def stack_in_env(tmp: Path) -> Iterator[Stack]:
    """:func:`stack`, its environment set for this process (chaosaws, chaosk8s and gameday read
    it) and restored afterwards; KUBERNETES_CONTEXT unset so the stub's kubeconfig is used."""
    import pytest

    with pytest.MonkeyPatch.context() as mp, stack(tmp) as s:
        for k, v in s.env.items():
            mp.setenv(k, v)
        mp.delenv("KUBERNETES_CONTEXT", raising=False)
        yield s
