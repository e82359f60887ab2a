"""The sandbox's configuration: strict, with errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.sandbox import config
from gameday.sandbox.config import ConfigError


def test_defaults_are_the_checklist_shape() -> None:
    cfg = config.SandboxConfig()
    assert cfg.replicas.api >= 3 and cfg.replicas.worker >= 2
    assert cfg.max_surge == 1 and cfg.max_unavailable == 0  # 25 % of 3, rounded as Kubernetes
    assert cfg.knobs.replication == "sync" and cfg.knobs.auto_rollback
    assert all(p < 32768 for p in cfg.ports.fixed().values())
    assert cfg.ports.pod_range.stop <= 32768


def test_set_parses_nested_json_values() -> None:
    raw = config.parse_set(["knobs.extra_latency_ms=250", "knobs.auto_rollback=false",
                            "knobs.replication=async", "ports.base=20000"])
    cfg = config.build(raw, "--set")
    assert cfg.knobs.extra_latency_ms == 250
    assert cfg.knobs.auto_rollback is False
    assert cfg.knobs.replication == "async"
    assert cfg.ports.ingress == 20000 and cfg.ports.controller == 20001


@pytest.mark.parametrize(
    ("pairs", "needle"),
    [
        (["knobs.bogus=1"], "unknown field 'knobs.bogus'"),
        (["knobs.replication=semi"], "knobs.replication"),
        (["knobs.warm_pool_size=-1"], "knobs.warm_pool_size"),
        (["ports.base=32700"], "ports"),
        (["timings.db_failover_detection_s=abc"], "timings.db_failover_detection_s"),
    ],
)
def test_bad_values_name_the_field(pairs: list[str], needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        config.build(config.parse_set(pairs), "--set")
    assert needle in str(exc.value)


def test_set_without_equals_is_refused() -> None:
    with pytest.raises(ConfigError, match="path.to.field=value"):
        config.parse_set(["knobs.extra_latency_ms"])


def test_config_file_errors_name_the_file(tmp_path: Path) -> None:
    f = tmp_path / "sb.yaml"
    f.write_text("knobs:\n  extra_latency_ms: [1, 2]\n")
    with pytest.raises(ConfigError) as exc:
        config.build(config.load_file(f), str(f))
    assert str(f) in str(exc.value) and "knobs.extra_latency_ms" in str(exc.value)
    f.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        config.load_file(f)


