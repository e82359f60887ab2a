"""The project's webhook receiver (scripts/webhook_receiver.py) loaded as a module, and the canary secrets,
for the unit and sandbox layers of test_notify (the receiver fixture is registered in tests/conftest.py)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.helpers import ROOT

SMOKE = ROOT / "profiles" / "smoke.yaml"


HOOK_SECRET = "T0GAMEDAY/B0TEST/xoxb-n0t-a-real-hook-s3cr3t"


TOKEN = "glsa_n0tARealGrafanaToken_s3cr3t"


def receiver_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhook_receiver", ROOT / "scripts" / "webhook_receiver.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


RECEIVER = receiver_module()


@pytest.fixture
def receiver() -> Iterator[Any]:
    with RECEIVER.Receiver() as r:
        yield r
