"""The files a new project starts from, wherever gameday is installed, and ``gameday init DIR``.

The default profiles, the Chaos Toolkit experiments and the locustfile live at the top of the
repository (``profiles/``, ``experiments/``, ``loadtests/``), where the project uses them. An installed
gameday carries the same files as data (``[tool.setuptools.data-files]`` in pyproject.toml puts them
in ``<prefix>/share/gameday/``), so ``gameday run`` with no profile and ``gameday init`` work from any
directory. They are found in that order: the installation's share/gameday, then the source tree
(an editable install or a checkout run with ``python -m gameday.harness.cli``).

The starter project keeps the repository's layout, so every relative path in a profile
(``../experiments/...``, ``../loadtests/...``) resolves against the profile's own folder, not the
working directory (``gameday.harness.profile.load``).
"""

from __future__ import annotations

import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from gameday.harness.errors import BadInput

# (folder, file glob) of what a starter project gets; the source tree and share/gameday hold the same
STARTER = (("profiles", "sandbox.yaml"), ("profiles", "smoke.yaml"), ("profiles", "custom-fault.yaml"),
           ("profiles", "cluster.example.yaml"), ("experiments/sandbox", "*.json"),
           ("experiments/cluster", "*.json"), ("loadtests", "*.py"))
DEFAULT_PROFILE = Path("profiles/sandbox.yaml")
_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def data_roots() -> list[Path]:
    """Where the shipped files may be, the installation's first."""
    prefixes = dict.fromkeys([Path(sysconfig.get_path("data")), Path(sys.prefix)])
    return [p / "share" / "gameday" for p in prefixes] + [_SOURCE_ROOT]


def data_root() -> Path:
    """The first root holding the default profile; BadInput naming every place looked at."""
    roots = data_roots()
    for root in roots:
        if (root / DEFAULT_PROFILE).is_file() and (root / "experiments" / "sandbox").is_dir():
            return root
    raise BadInput(f"gameday's default profiles and experiments are not installed (looked in "
                   f"{', '.join(str(r) for r in roots)}); reinstall gameday")


def default_profile() -> Path:
    """``profiles/sandbox.yaml`` of the working directory when there is one, else the installed one."""
    here = Path.cwd() / DEFAULT_PROFILE
    return DEFAULT_PROFILE if here.is_file() else data_root() / DEFAULT_PROFILE


@dataclass(frozen=True)
class Written:
    path: Path
    replaced: bool


def init(target: Path, force: bool = False) -> list[Written]:
    """Write the starter project into ``target`` (created if missing). Refuses, writing nothing, when a
    file it would write exists, unless ``force``."""
    from gameday.harness.commands.schema import render as schema_text

    root = data_root()
    plan: list[tuple[Path, bytes]] = []
    for folder, pattern in STARTER:
        found = sorted((root / folder).glob(pattern))
        if not found:
            raise BadInput(f"{root / folder}: no {pattern}: the installation is incomplete; reinstall gameday")
        plan += [(Path(folder) / f.name, f.read_bytes()) for f in found]
    plan.append((Path("docs/profile.schema.json"), schema_text().encode()))  # the profiles' editor header
    plan.append((Path("README.md"), _README.encode()))
    if target.exists() and not target.is_dir():
        raise BadInput(f"{target}: exists and is not a directory")
    clashes = [rel for rel, _ in plan if (target / rel).exists()]
    if clashes and not force:
        shown = ", ".join(str(c) for c in clashes[:5]) + (" ..." if len(clashes) > 5 else "")
        raise BadInput(f"{target}: would overwrite {len(clashes)} files ({shown}); use --force to replace them")
    written = []
    for rel, data in plan:
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        replaced = dest.exists()
        dest.write_bytes(data)
        written.append(Written(dest, replaced))
    return written


_README = """# A gameday project

Written by `gameday init`. Everything here is yours to change; paths inside a profile are relative to
the profile's own folder.

    gameday validate profiles/sandbox.yaml     # check a profile (exit 64 names the bad field)
    gameday plan profiles/sandbox.yaml         # what each fault would do, changing nothing
    gameday run profiles/smoke.yaml            # a short certification against the embedded sandbox
    gameday run                                # profiles/sandbox.yaml: the four checklist faults

- `profiles/sandbox.yaml`, `profiles/smoke.yaml`: the embedded sandbox (it needs PostgreSQL 15,
  PgBouncer, Redis + Sentinel, nginx and Prometheus on this machine).
- `profiles/custom-fault.yaml`: your own Chaos Toolkit experiment as a fault, with its own recovery bound.
- `profiles/cluster.example.yaml`: a real EKS + AWS deployment; fill in every name and the allow-list.
- `experiments/`: the Chaos Toolkit experiments, one per fault, for the sandbox and for the cluster.
- `loadtests/crew_spawn.py`: the Locust scenario.
- `docs/profile.schema.json`: the profiles' JSON Schema (`gameday schema`), named in their
  `# yaml-language-server:` header for completion in your editor.

Runs go to `runs/<UTC>-<profile>/` under the working directory.
"""
