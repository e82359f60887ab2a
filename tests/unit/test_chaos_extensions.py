"""The Chaos Toolkit extensions, named as the ecosystem names them (distribution chaostoolkit-<name>,
one top-level package chaos<name>: what ``chaos discover`` imports) and listing every activity the
shipped experiments use from gameday's own modules."""

from __future__ import annotations

import importlib
import json
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXTENSIONS = {"chaostoolkit-gameday": ("chaosgameday", ("gameday.harness.chaosext",)),
              "chaostoolkit-gameday-sandbox": ("chaosgamedaysandbox", ("gameday.sandbox.chaos",))}


@pytest.fixture(autouse=True)
def on_path() -> Iterator[None]:
    """As an installed extension would be: its folder on sys.path (the test does not install anything)."""
    added = [str(ROOT / "extensions" / d) for d in EXTENSIONS]
    sys.path[:0] = added
    yield
    for p in added:
        sys.path.remove(p)


def used_activities(prefixes: tuple[str, ...]) -> set[tuple[str, str]]:
    """(module, function) of every Python provider under ``prefixes`` the shipped experiments name."""
    used = set()
    for path in (ROOT / "experiments").rglob("*.json"):
        doc = json.loads(path.read_text())
        stack = [doc]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                prov = node.get("provider")
                if isinstance(prov, dict) and prov.get("type") == "python" and \
                        str(prov.get("module", "")).startswith(prefixes):
                    used.add((str(prov["module"]), str(prov["func"])))
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
    return used


@pytest.mark.parametrize("dist", sorted(EXTENSIONS))
def test_named_as_the_ecosystem_names_extensions(dist: str) -> None:
    meta = tomllib.loads((ROOT / "extensions" / dist / "pyproject.toml").read_text())
    package, _ = EXTENSIONS[dist]
    assert meta["project"]["name"] == dist and dist.startswith("chaostoolkit-")
    # chaoslib maps a distribution to ONE top-level package and calls its discover()
    assert meta["tool"]["setuptools"]["packages"] == [package] and package.startswith("chaos")


@pytest.mark.parametrize("dist", sorted(EXTENSIONS))
def test_discover_lists_every_activity_the_experiments_use(dist: str) -> None:
    package, prefixes = EXTENSIONS[dist]
    mod = importlib.import_module(package)
    discovery = mod.discover(discover_system=False)
    assert discovery["extension"]["name"] == dist
    listed = {(a["mod"], a["name"]) for a in discovery["activities"]}
    used = used_activities(prefixes)
    assert used and used <= listed, sorted(used - listed)
    assert all(a["type"] in ("action", "probe") for a in discovery["activities"])


def test_chaos_discover_gameday_finds_its_one_top_level_package_and_every_activity() -> None:
    """``chaos discover gameday``: chaoslib maps the distribution to its one top-level package
    (``gameday`` now, ``analysis`` before the rename, which had no discover) and calls its discover."""
    from chaoslib.discovery.discover import discover

    discovery = discover("gameday", discover_system=False, download_and_install=False)
    assert discovery["extension"]["name"] == "gameday"
    listed = {(a["mod"], a["name"]) for a in discovery["activities"]}
    used = used_activities(("gameday.harness.chaosext", "gameday.sandbox.chaos"))
    assert used and used <= listed, sorted(used - listed)
