"""Redaction: no secret value reaches a file gameday writes (journal, timeline, resolved profile).

A :class:`Redactor` knows a set of secret *values* (the profile's ``secrets``, an experiment's
resolved ``secrets``, and the environment's values whose names look secret: ``*TOKEN*``,
``*SECRET*``, ``*PASSWORD*``, AWS keys) and replaces every occurrence of them in any string of
a JSON-like structure. Values stored under a key whose *name* looks secret are replaced whole,
whatever they are, so a secret nobody declared still does not leak through a configuration key
called ``api_token``. Pure: it returns a redacted copy and never changes its input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from gameday.contract.redact import (
    MASK,
    MIN_LEN,
    SECRET_NAME,
    declare,
    env_secrets,
    forms,
    mask_shapes,
    scrub,
    secret_name,
)

__all__ = ["MASK", "MIN_LEN", "SECRET_NAME", "Redactor", "env_secrets", "leaves", "say_safely", "secret_name"]


def say_safely(message: str) -> str:
    """A message for the terminal with the environment's secrets and every secret shape masked."""
    return scrub(message)


def leaves(data: Any) -> Iterable[str]:
    """Every scalar value of a nested structure, as strings (for collecting secret values)."""
    if isinstance(data, Mapping):
        for v in data.values():
            yield from leaves(v)
    elif isinstance(data, list | tuple | set):
        for v in data:
            yield from leaves(v)
    elif data is not None and not isinstance(data, bool):
        yield str(data)


class Redactor:
    """Replaces known secret values anywhere in a structure; see the module docstring."""

    def __init__(self, values: Iterable[str] = (), *, mask: str = MASK) -> None:
        self.mask = mask
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        """Learn more secret values (empty ones are ignored)."""
        new = {str(v) for v in values if v is not None and str(v) != ""}
        declare(new)  # every writer's scrub knows them too (gameday.contract.redact)
        if new - self._values:
            self._values |= new
            every = {f for v in self._values if len(v) >= MIN_LEN for f in forms(v)}
            searchable = sorted(every, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in searchable)) if searchable else None

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def text(self, s: str) -> str:
        """Known values in every form (as is, JSON-escaped, URL-encoded, base64), then secret shapes
        (URL user-info, Authorization/Bearer/Basic values, AWS keys) whoever declared them."""
        if s in self._values:
            return self.mask
        s = self._pattern.sub(self.mask, s) if self._pattern is not None else s
        return mask_shapes(s)

    def __call__(self, data: Any) -> Any:
        """A redacted copy of ``data`` (dicts, lists, tuples, strings, bytes; other scalars kept)."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, bytes):
            return self.text(data.decode("utf-8", errors="replace"))
        if isinstance(data, Mapping):
            out: dict[Any, Any] = {}
            for k, v in data.items():
                key = self.text(k) if isinstance(k, str) else k
                if isinstance(k, str) and secret_name(k) and not isinstance(v, Mapping | list | tuple):
                    out[key] = self.mask if v not in (None, "") else v
                else:
                    out[key] = self(v)
            return out
        if isinstance(data, list | tuple):
            return [self(v) for v in data]
        return data
