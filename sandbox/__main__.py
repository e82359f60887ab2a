"""``python -m gameday.sandbox`` (what ``gameday sandbox`` runs). The sandbox's own packages are gameday's
``[sandbox]`` extra: without them, say which are missing and how to install them, not a traceback
from a child process half-way through ``up``."""

import importlib.util
import sys

PACKAGES = ("aiohttp", "asyncpg", "redis", "prometheus_client", "psutil")  # pyproject.toml [sandbox]

missing = [m for m in PACKAGES if importlib.util.find_spec(m) is None]
if missing:
    sys.stderr.write(f"sandbox: missing {', '.join(missing)}: install gameday's sandbox extra, "
                     "pip install -e '.[sandbox]' (scripts/bootstrap does)\n")
    sys.exit(69)  # EX_UNAVAILABLE

from .cli import main  # noqa: E402  (after the check: it imports psutil)

sys.exit(main())
