"""Loading, checking and reading Chaos Toolkit experiments: chaoslib's errors become gameday's.

This is the adapter's edge for everything that happens before an experiment runs: a file that
is not JSON/YAML, an experiment chaoslib finds invalid, a configuration that cannot be loaded
all raise :class:`~gameday.harness.errors.ExperimentError` (exit 64) naming the file.
"""

from __future__ import annotations

import copy
import json
import os
import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from gameday.harness.errors import ExperimentError, GamedayWarning

Kind = Literal["sandbox", "cluster", "neutral"]
Section = Literal["hypothesis", "method", "rollbacks"]

# provider modules that act on one kind of target; anything else is neutral (SLA probes, stdlib)
SANDBOX_MODULES = ("gameday.sandbox.chaos",)
CLUSTER_MODULES = ("chaosaws", "chaosk8s", "gameday.harness.chaosext.k8s", "gameday.harness.chaosext.release",
                   "gameday.harness.chaosext.aws")
KUBE_MODULES = ("chaosk8s", "gameday.harness.chaosext.k8s", "gameday.harness.chaosext.release")
AWS_MODULES = ("chaosaws", "gameday.harness.chaosext.aws")


@dataclass(frozen=True)
class Activity:
    section: Section
    index: int
    type: str
    name: str
    module: str
    func: str
    arguments: Mapping[str, Any]
    raw: Mapping[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.module}.{self.func}"


def load(path: Path) -> dict[str, Any]:
    """The experiment at ``path`` (JSON or YAML), not yet validated."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ExperimentError(f"{path}: cannot read the experiment ({exc.strerror})") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ExperimentError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None
    if not isinstance(data, dict):
        raise ExperimentError(f"{path}: an experiment is a mapping, got {type(data).__name__}")
    renamed = sorted(set(renamed_modules(data)))
    if renamed and path not in _WARNED:
        _WARNED.add(path)
        shown = ", ".join(f"{was} -> {now}" for was, now in renamed)
        warnings.warn(f"{path}: provider modules named as before gameday became one package are read by "
                      f"their new names ({shown}); rename them in the experiment (an installed gameday has "
                      "no module named harness or sandbox, and `chaos run` alone needs the new names)",
                      RenamedModule, stacklevel=2)
    return data


class RenamedModule(GamedayWarning):
    """An experiment names a provider module by its name before gameday became one package. The
    CLI prints it as one line (``gameday: warning: ...``), once per experiment file."""


_WARNED: set[Path] = set()  # experiment files already warned about in this process


# the provider modules experiments named before gameday became one package: its two extensions' (only
# those: a team's own ``analysis.probes`` or ``sandbox.tools`` is theirs, and keeps its name)
_OLD_NAME = re.compile(r"^(harness\.chaosext|sandbox\.chaos)(\.|$)")


def renamed_modules(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """Rewrite, in place, every Python provider anywhere in ``raw`` that names one of gameday's
    activity modules by its name before the rename (``harness.chaosext.sla``, ``sandbox.chaos.actions``)
    to its name in the one package (``gameday.harness.chaosext.sla``): a team's experiments written
    before the rename keep running, and what is screened, pinned and run is the module that runs.
    Returns (old, new) for each rewrite."""
    out: list[tuple[str, str]] = []
    for found in providers(raw):
        provider = found.node["provider"]
        module = provider.get("module") if isinstance(provider, dict) and provider.get("type") == "python" else None
        if isinstance(module, str) and _OLD_NAME.match(module):
            provider["module"] = f"gameday.{module}"
            out.append((module, provider["module"]))
    return out


@dataclass(frozen=True)
class ProviderAt:
    """A mapping that holds a ``provider``, where it is in the experiment and its role there."""

    where: str
    role: str
    node: Mapping[str, Any]  # the mapping that holds "provider"


def providers(raw: Mapping[str, Any]) -> Iterator[ProviderAt]:
    """Every mapping with a ``provider`` anywhere in the document, with where it is and its role
    (what the safety screen decides on, and what the rename of old module names rewrites)."""
    def walk(node: Any, where: str, role: str) -> Iterator[ProviderAt]:
        if isinstance(node, Mapping):
            if "provider" in node:
                yield ProviderAt(where, role, node)
            for k, v in node.items():
                if k == "provider":
                    continue
                child_role = ("control" if k == "controls" or role == "control"
                              else "tolerance" if k == "tolerance" else role)
                yield from walk(v, f"{where}.{k}" if where else str(k), child_role)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, f"{where}[{i}]", role)

    for key, value in raw.items():
        role = {"configuration": "configuration", "method": "method", "rollbacks": "rollbacks",
                "steady-state-hypothesis": "hypothesis", "controls": "control"}.get(str(key), "other")
        yield from walk(value, str(key), role)


def validate(experiment: Mapping[str, Any], path: Path) -> None:
    """chaoslib's own validation (it imports the provider modules and checks every argument
    against its function's signature); any failure becomes an ExperimentError."""
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid

    try:
        ensure_experiment_is_valid(copy.deepcopy(dict(experiment)))
    except ChaosException as exc:
        raise ExperimentError(f"{path}: {exc}") from None
    except (ImportError, AttributeError, TypeError, ValueError, KeyError) as exc:
        raise ExperimentError(f"{path}: invalid experiment ({type(exc).__name__}: {exc})") from None


def activities(experiment: Mapping[str, Any]) -> Iterator[Activity]:
    """Every Python activity of the hypothesis, the method and the rollbacks, in order."""
    sections: list[tuple[Section, list[Any]]] = [
        ("hypothesis", list((experiment.get("steady-state-hypothesis") or {}).get("probes") or [])),
        ("method", list(experiment.get("method") or [])),
        ("rollbacks", list(experiment.get("rollbacks") or [])),
    ]
    for section, items in sections:
        for i, act in enumerate(items):
            if not isinstance(act, Mapping):
                continue
            raw_provider = act.get("provider")
            provider: Mapping[str, Any] = raw_provider if isinstance(raw_provider, Mapping) else {}
            args = provider.get("arguments")  # a process provider's are a string: not Python arguments
            yield Activity(section=section, index=i, type=str(act.get("type", "")), name=str(act.get("name", "")),
                           module=str(provider.get("module", "")), func=str(provider.get("func", "")),
                           arguments=dict(args) if isinstance(args, Mapping) else {}, raw=act)


def modules(experiment: Mapping[str, Any]) -> set[str]:
    """Every provider module the experiment calls, dynamic configuration included."""
    mods = {a.module for a in activities(experiment)}
    for entry in (experiment.get("configuration") or {}).values():
        if isinstance(entry, Mapping) and entry.get("type") == "probe":
            provider = entry.get("provider")
            mods.add(str(provider.get("module", "")) if isinstance(provider, Mapping) else "")
    return mods


def kind(experiment: Mapping[str, Any]) -> Kind:
    """sandbox or cluster by the providers it uses; ExperimentError when it mixes both."""
    mods = modules(experiment)
    sandbox = any(m.startswith(SANDBOX_MODULES) for m in mods)
    cluster = any(m.startswith(CLUSTER_MODULES) for m in mods)
    if sandbox and cluster:
        raise ExperimentError(f"{experiment.get('title')!r} drives both the sandbox and a cluster; split it")
    return "sandbox" if sandbox else "cluster" if cluster else "neutral"


def uses(experiment: Mapping[str, Any], prefixes: tuple[str, ...]) -> bool:
    return any(m.startswith(prefixes) for m in modules(experiment))


def dynamic_keys(experiment: Mapping[str, Any]) -> list[str]:
    """Configuration keys whose value a probe computes when the experiment starts."""
    return [k for k, v in (experiment.get("configuration") or {}).items()
            if isinstance(v, Mapping) and v.get("type") == "probe"]


def static_configuration(experiment: Mapping[str, Any], overlay: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """The configuration the run will see, before dynamic entries: the experiment's block with
    ``overlay`` on top, environment references resolved (chaoslib's rules)."""
    from chaoslib.configuration import load_configuration
    from chaoslib.exceptions import ChaosException

    block = {k: v for k, v in (experiment.get("configuration") or {}).items() if k not in overlay}
    block = {k: v for k, v in block.items() if not (isinstance(v, Mapping) and v.get("type") == "probe")}
    try:
        conf: dict[str, Any] = load_configuration(copy.deepcopy(block))
    except ChaosException as exc:
        raise ExperimentError(f"{path}: configuration: {exc}") from None
    conf.update(overlay)
    return conf


def substitute(arguments: Mapping[str, Any], configuration: Mapping[str, Any]) -> dict[str, Any]:
    """``${key}`` placeholders replaced as chaoslib will replace them."""
    from chaoslib import substitute as ctk_substitute

    out = ctk_substitute(dict(arguments), dict(configuration), {})
    return dict(out or {})


def with_configuration(experiment: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of the experiment whose configuration block has ``overlay`` on top."""
    exp = copy.deepcopy(dict(experiment))
    conf = dict(exp.get("configuration") or {})
    conf.update(copy.deepcopy(dict(overlay)))
    exp["configuration"] = conf
    return exp


@contextmanager
def scoped_env(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, leave alone) environment variables for the duration of a block:
    chaosk8s reads its kubeconfig and context only from there.

    The kubernetes client reads ``$KUBECONFIG`` once, when ``kubernetes.config.kube_config`` is
    imported, and chaosk8s calls ``load_kube_config()`` without a path: so the module's default
    is moved too, or a process that imported kubernetes earlier would load ``~/.kube/config``,
    perhaps another cluster."""
    import sys

    saved = {k: os.environ.get(k) for k in values}
    kube = sys.modules.get("kubernetes.config.kube_config") if values.get("KUBECONFIG") else None
    saved_default = getattr(kube, "KUBE_CONFIG_DEFAULT_LOCATION", None)
    try:
        for k, v in values.items():
            if v is not None:
                os.environ[k] = v
        if kube is not None:
            setattr(kube, "KUBE_CONFIG_DEFAULT_LOCATION", values["KUBECONFIG"])  # noqa: B010
        yield
    finally:
        for k, old in saved.items():
            if old is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = old
        if kube is not None:
            setattr(kube, "KUBE_CONFIG_DEFAULT_LOCATION", saved_default)  # noqa: B010
