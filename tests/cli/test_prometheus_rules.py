"""The sandbox's Prometheus rules and config, checked by promtool itself.

promtool is the only judge of PromQL that matters (it is Prometheus's own parser and rule
engine), so these tests run it rather than re-implementing any of its checks.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gameday.sandbox.prometheus import RULES_PATH, RULES_TEST_PATH
from gameday.sandbox.prometheus.prometheus import (
    init_targets,
    render_config,
)

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not on PATH (Debian package 'prometheus' provides it)"
)


def _promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *map(str, args)], capture_output=True, text=True, timeout=120)


@needs_promtool
def test_rules_are_valid() -> None:
    out = _promtool("check", "rules", RULES_PATH)
    assert out.returncode == 0, out.stdout + out.stderr


@needs_promtool
def test_rules_unit_tests_pass() -> None:
    out = _promtool("test", "rules", RULES_TEST_PATH)
    assert out.returncode == 0, out.stdout + out.stderr


@needs_promtool
def test_rendered_config_passes_promtool(tmp_path: Path) -> None:
    sd = tmp_path / "sd"
    init_targets(sd)
    config = tmp_path / "prometheus.yml"
    config.write_text(render_config(1.0, RULES_PATH, sd))
    out = _promtool("check", "config", config)
    assert out.returncode == 0, out.stdout + out.stderr


