"""The sandbox's state directory, made safe to use before anything is read or written in it.

It holds the passwords (``secrets.json``, the Postgres ``pgpass``), pidfiles that ``down`` acts on
and data directories that ``up`` deletes; by default it is a fixed name under /tmp, where any
user can create a directory or a symlink first. So:

* the path is used as given (made absolute, never resolved) and refused when it is a symlink,
  or reached through a symlink that neither root nor the invoking user owns: everything done in
  it would land where someone else points;
* an existing directory owned by another user is refused: its pidfiles and files are theirs;
* it is created (or tightened to) mode 0700: only its owner reads it. When the sandbox runs as
  root and Postgres / PgBouncer run as the ``postgres`` user, it is 0710 with the group of that
  user, so they can reach their own data directories inside (traverse only, no listing).

Every refusal is a :class:`StateDirError`; the CLI turns it into exit 64 naming the path.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .procs import RunAs, SandboxError


class StateDirError(SandboxError):
    """A state directory that is not safe to use; the message says which path and why."""


def absolute(path: Path) -> Path:
    """``path`` made absolute without following any symlink (``Path.resolve`` would)."""
    return Path(os.path.abspath(os.path.expanduser(str(path))))


def _owner(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def check(path: Path) -> Path:
    """The refusals that apply to any use (up, down, status, logs): ``path`` itself a symlink, a
    parent symlink owned by another user, a non-directory, a directory owned by another user."""
    path = absolute(path)
    me = os.geteuid()
    for i, part in enumerate([path, *path.parents]):
        try:
            st = os.lstat(part)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode):
            if i == 0:
                raise StateDirError(f"state directory {path} is a symlink (to {os.readlink(part)}); refusing to "
                                    f"follow it: give the real directory, or remove the link")
            if st.st_uid not in (0, me):
                raise StateDirError(f"state directory {path} is reached through the symlink {part}, owned by "
                                    f"{_owner(st.st_uid)}; refusing: choose a path without it")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path
    if not stat.S_ISDIR(st.st_mode):
        raise StateDirError(f"state directory {path} exists and is not a directory")
    if st.st_uid != me:
        raise StateDirError(f"state directory {path} is owned by {_owner(st.st_uid)}, not by {_owner(me)}; "
                            f"refusing to use it: choose another --state-dir")
    return path


def secure(path: Path, run_as: RunAs) -> Path:
    """:func:`check`, then create the directory (0700) or tighten it: 0700, or 0710 with the
    service user's group when Postgres runs as another user (see the module docstring)."""
    path = check(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    path = check(path)  # created by someone else between the check and the mkdir: refused here
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        if run_as.user is not None and run_as.uid != os.geteuid():
            os.fchown(fd, os.geteuid(), run_as.gid)
            os.fchmod(fd, 0o710)
        else:
            os.fchmod(fd, 0o700)
    finally:
        os.close(fd)
    return path


def remove_entry(path: Path) -> None:
    """Remove a file, a symlink (never what it points at) or a directory tree (``shutil.rmtree``
    does not follow the symlinks inside it); nothing there is fine."""
    import shutil

    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
    else:
        path.unlink()
