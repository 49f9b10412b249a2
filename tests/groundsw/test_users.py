"""Users, roles and tokens (groundsw/users.py): real users.json files."""

from __future__ import annotations

import json
import os
import stat

import pytest

from groundsw.users import (
    ROLES,
    User,
    UserError,
    UserStore,
    add_user,
    has_role,
    load_users,
    token_digest,
)


def test_a_token_is_returned_once_and_stored_only_hashed(tmp_path) -> None:
    token = add_user(tmp_path, "otto", "operator")
    text = (tmp_path / "users.json").read_text()
    assert token not in text, "the token itself was written to disk"
    doc = json.loads(text)
    assert doc == {"users": {"otto": {"role": "operator", "token_sha256": token_digest(token)}}}
    assert len(token) >= 43, "a token shorter than 256 bits of randomness"


def test_the_users_file_is_readable_by_its_owner_only(tmp_path) -> None:
    add_user(tmp_path, "otto", "operator")
    mode = stat.S_IMODE(os.stat(tmp_path / "users.json").st_mode)
    assert mode == 0o600, oct(mode)


def test_tokens_are_different_every_time(tmp_path) -> None:
    assert add_user(tmp_path, "a", "viewer") != add_user(tmp_path, "b", "viewer")


def test_a_token_never_starts_with_a_dash_so_the_command_line_takes_it(tmp_path, monkeypatch) -> None:
    # token_urlsafe starts with "-" one time in 64: `groundsw --token -Ab...` then failed
    # with "argument --token: expected one argument" (a flaky CLI test found it)
    import secrets

    drawn = iter(["-leading-dash", "-again", "Fine_token"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: next(drawn))
    token = add_user(tmp_path, "d", "viewer")
    assert token == "Fine_token"
    monkeypatch.undo()
    from groundsw.cli import main

    assert main(["--url", "http://127.0.0.1:9", "--token", add_user(tmp_path, "e", "viewer"), "status"]) == 1, \
        "a fresh token parses as --token's value (1: no server there, not 2: a usage error)"


def test_the_store_finds_the_user_of_a_token_and_nobody_for_others(tmp_path) -> None:
    t_otto = add_user(tmp_path, "otto", "operator")
    t_vera = add_user(tmp_path, "vera", "viewer")
    store = UserStore(tmp_path)
    assert store.authenticate(t_otto) == User("otto", "operator")
    assert store.authenticate(t_vera) == User("vera", "viewer")
    for bad in ("", None, t_otto[:-1], t_otto + "x", token_digest(t_otto)):
        assert store.authenticate(bad) is None, f"{bad!r} was let in"


def test_a_user_added_while_serving_can_log_in_at_once(tmp_path) -> None:
    store = UserStore(tmp_path)
    assert store.authenticate("anything") is None and store.names() == {}
    token = add_user(tmp_path, "late", "approver")
    assert store.authenticate(token) == User("late", "approver"), "users.json not reloaded"


def test_an_existing_user_is_refused_unless_replaced_and_then_the_old_token_dies(tmp_path) -> None:
    old = add_user(tmp_path, "otto", "operator")
    with pytest.raises(UserError, match="already exists"):
        add_user(tmp_path, "otto", "approver")
    new = add_user(tmp_path, "otto", "approver", replace=True)
    store = UserStore(tmp_path)
    assert store.authenticate(old) is None and store.authenticate(new) == User("otto", "approver")


@pytest.mark.parametrize(("name", "role", "needle"), [
    ("", "viewer", "name"), ("a b", "viewer", "name"), ("x" * 33, "viewer", "name"),
    ("otto", "admin", "role"),
])
def test_bad_names_and_roles_are_named(tmp_path, name, role, needle) -> None:
    with pytest.raises(UserError) as err:
        add_user(tmp_path, name, role)
    assert str(err.value).startswith(f"{needle}: "), str(err.value)
    assert not (tmp_path / "users.json").exists(), "a refused user was written"


def test_roles_are_ranked() -> None:
    assert ROLES == ("viewer", "operator", "approver")
    approver, viewer = User("a", "approver"), User("v", "viewer")
    assert has_role(approver, "operator") and has_role(approver, "viewer")
    assert not has_role(viewer, "operator")


@pytest.mark.parametrize(("doc", "needle"), [
    ("not json", "expected a JSON users file"),
    ('{"people": {}}', "expected {\"users\""),
    ('{"users": {"otto": {"role": "god", "token_sha256": "' + "0" * 64 + '"}}}', "users.otto: role"),
    ('{"users": {"otto": {"role": "viewer", "token_sha256": "abc"}}}', "users.otto: token_sha256"),
])
def test_a_broken_users_file_is_an_error_naming_the_entry(tmp_path, doc, needle) -> None:
    (tmp_path / "users.json").write_text(doc)
    with pytest.raises(UserError) as err:
        load_users(tmp_path / "users.json")
    assert needle in str(err.value), str(err.value)
