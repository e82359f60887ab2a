"""The sandbox's state directory (issue 13, item 6): created 0700 (0710 with the postgres group
when Postgres runs as its own user), refused when another user owns it or when it is reached
through a symlink, and clean-up never follows a symlink. Real directories, links and owners;
nothing is started (each refusal comes before the sandbox reads anything in the directory)."""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

import pytest

from gameday.sandbox import cli, statedir
from gameday.sandbox.layout import Layout, load_or_create_secrets
from gameday.sandbox.procs import RunAs

ME = RunAs(None, os.geteuid(), os.getegid())


def _other_uid() -> int:
    for name in ("nobody", "daemon", "postgres"):
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            continue
        if uid != os.geteuid():
            return uid
    pytest.skip("no other user on this machine")


def test_created_0700_and_an_existing_one_tightened(tmp_path: Path) -> None:
    d = statedir.secure(tmp_path / "a" / "state", ME)
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700 and os.stat(d).st_uid == os.geteuid()
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    statedir.secure(loose, ME)
    assert stat.S_IMODE(os.stat(loose).st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="the postgres group case is for a root-run sandbox")
def test_root_with_a_service_user_gives_its_group_traverse_only(tmp_path: Path) -> None:
    service = RunAs.service()
    d = statedir.secure(tmp_path / "state", service)
    st = os.stat(d)
    assert stat.S_IMODE(st.st_mode) == 0o710 and st.st_uid == 0 and st.st_gid == service.gid


def test_a_symlinked_state_dir_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o755)
    (target / "keep.txt").write_text("not yours")
    link = tmp_path / "state"
    link.symlink_to(target)
    with pytest.raises(statedir.StateDirError, match="is a symlink"):
        statedir.secure(link, ME)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o755 and (target / "keep.txt").read_text() == "not yours"
    # the CLI: exit 64 for every command, before anything is read or written there
    for argv in (["up"], ["down"], ["status"], ["logs"]):
        assert cli.main(["--state-dir", str(link), *argv]) == 64, argv
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]


def test_a_dir_owned_by_another_user_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() != 0:
        pytest.skip("making a directory another user owns needs root")
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o777)
    os.chown(theirs, _other_uid(), -1)
    with pytest.raises(statedir.StateDirError, match="is owned by"):
        statedir.secure(theirs, ME)
    assert cli.main(["--state-dir", str(theirs), "up"]) == 64
    assert "is owned by" in capsys.readouterr().err
    assert list(theirs.iterdir()) == [], "nothing written into it"


def test_a_parent_symlink_of_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("a symlink another user owns needs root to make")
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "via"
    link.symlink_to(real)
    os.lchown(link, _other_uid(), -1)
    with pytest.raises(statedir.StateDirError, match="reached through the symlink"):
        statedir.check(link / "state")
    assert not (real / "state").exists()


def test_clean_up_removes_a_planted_symlink_never_its_target(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "data.txt").write_text("precious")
    state = statedir.secure(tmp_path / "state", ME)
    (state / "pg").symlink_to(victim, target_is_directory=True)
    (state / "status.json").symlink_to(victim / "data.txt")
    statedir.remove_entry(state / "pg")
    statedir.remove_entry(state / "status.json")
    assert not (state / "pg").exists() and not (state / "pg").is_symlink()
    assert (victim / "data.txt").read_text() == "precious"
    # a directory with a link inside: the tree goes, the link's target stays
    (state / "redis").mkdir()
    (state / "redis" / "link").symlink_to(victim, target_is_directory=True)
    statedir.remove_entry(state / "redis")
    assert not (state / "redis").exists() and (victim / "data.txt").read_text() == "precious"


def test_secrets_are_0600_every_role_has_one_and_a_planted_temp_link_is_not_followed(tmp_path: Path) -> None:
    state = statedir.secure(tmp_path / "state", ME)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (state / ".secrets.json.tmp").symlink_to(victim)
    got = load_or_create_secrets(Layout(state))
    assert set(got) == {"db_password", "pgbouncer_admin_password", "postgres_password"}
    assert all(len(v) >= 20 for v in got.values())
    assert stat.S_IMODE(os.stat(state / "secrets.json").st_mode) == 0o600
    assert victim.read_text() == "precious"
    assert load_or_create_secrets(Layout(state)) == got, "made once per state directory"
