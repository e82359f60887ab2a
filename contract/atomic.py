"""One atomic write for every file gameday writes whole (results, reports, journals, evidence).

Like ``prometheus_client.exposition.write_to_textfile``: the content goes to a temporary file in
the same directory, is flushed and fsynced, then renamed over the destination, so a reader sees
the old file or the new one, never half of one; on any error the temporary file is removed and
the error re-raised. Unlike a fixed ``.name.tmp``, the temporary name is random and created with
``O_CREAT | O_EXCL | O_NOFOLLOW``: a file or symlink planted under any name (a run directory
handed over as a CI artifact is untrusted) is never opened, let alone written through. The
rename replaces a symlink at the destination itself rather than following it. With ``root``, the
destination's directory must resolve inside ``root``: a planted ``figures -> /elsewhere`` symlink
is refused (:class:`UnsafePath`), not written into.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from gameday.contract.redact import scrub

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_ATTEMPTS = 16  # random 64-bit names: a collision even once is already a planted file


class UnsafePath(OSError):
    """A destination whose directory leaves the tree it must stay in (a symlinked directory)."""


def check_inside(path: Path, root: Path) -> None:
    """Raise :class:`UnsafePath` unless ``path``'s directory resolves inside ``root``."""
    parent = path.parent.resolve()
    base = root.resolve()
    if parent != base and not parent.is_relative_to(base):
        raise UnsafePath(f"{path}: its directory resolves to {parent}, outside {base} (a symlink?); not written")


def ensure_dir(path: Path, root: Path | None = None) -> Path:
    """``mkdir -p`` that refuses a symlinked directory inside ``root`` (a planted ``figures`` link)."""
    if root is not None:
        check_inside(path / "x", root)
    path.mkdir(parents=True, exist_ok=True)
    if root is not None:
        check_inside(path / "x", root)
    return path


def write_atomic(path: Path | str, data: str | bytes, *, root: Path | None = None, mode: int = 0o644,
                 encoding: str = "utf-8", redact: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (see the module docstring); returns ``path``. Text is
    scrubbed first (``gameday.contract.redact.scrub``: secret shapes and the environment's secrets), so no
    writer can forget to; bytes (images) are written as given, and so is text with ``redact=False``
    (a page whose parts were scrubbed before base64 images went in)."""
    if isinstance(data, str) and redact:
        data = scrub(data)
    path = Path(path)
    if root is not None:
        check_inside(path, root)
    if path.is_dir() and not path.is_symlink():
        raise UnsafePath(f"{path}: is a directory; not replaced")
    raw = data.encode(encoding) if isinstance(data, str) else data
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)
    return path


def _create_temp(path: Path) -> tuple[int, str]:
    for _ in range(_ATTEMPTS):
        tmp = os.path.join(path.parent, f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            return os.open(tmp, _FLAGS, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{path}: no free temporary name after {_ATTEMPTS} attempts")


def _fsync_dir(directory: Path) -> None:
    """The rename itself durable (best effort: some file systems refuse fsync on a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
