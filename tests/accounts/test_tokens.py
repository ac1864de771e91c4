"""API bearer tokens: `flask blog token`, stored hashed, listed, revoked, ended by deactivation."""

from __future__ import annotations

import hashlib

from flask import Flask
from sqlalchemy import select

from blog.accounts.tokens import create_token, user_for_token
from blog.extensions import db
from blog.models import ApiToken, Role, User
from tests import factories


def run(app: Flask, *args: str) -> tuple[int, str, str]:
    result = app.test_cli_runner().invoke(args=["blog", *args])
    return result.exit_code, result.stdout, result.stderr


def test_token_command_prints_the_token_once_and_stores_only_its_hash(app: Flask) -> None:
    factories.make_user(Role.EDITOR, username="eve")
    code, out, err = run(app, "token", "eve", "--name", "laptop script")
    assert code == 0, err
    secret = out.strip()
    assert secret.startswith("blog_") and len(secret) > 40
    assert "shown only once" in err and "editor" in err

    stored = db.session.scalars(select(ApiToken)).one()
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (stored.token_hash, stored.hint, stored.name)
    assert stored.name == "laptop script"
    user = user_for_token(secret)
    assert user is not None and user.username == "eve"

    code, listing, _ = run(app, "tokens")
    assert code == 0
    assert f"{stored.id}\teve\teditor\t{stored.hint}" in listing
    assert secret not in listing


def test_revoked_token_stops_working_and_others_stay(app: Flask) -> None:
    factories.make_user(Role.AUTHOR, username="ann")
    first = create_token("ann", "one")
    second = create_token("ann", "two")
    first_id = first.token.id
    code, out, _ = run(app, "token", "ann", "--revoke", str(first_id))
    assert code == 0 and f"revoked token {first_id} of ann" in out
    assert user_for_token(first.secret) is None
    assert user_for_token(second.secret) is not None

    code, _, err = run(app, "token", "ann", "--revoke", str(first_id))
    assert code != 0 and f"ann has no token {first_id}" in err
    code, listing, _ = run(app, "tokens", "ann")
    assert "\ttwo" in listing and "\tone" not in listing


def test_another_users_token_cannot_be_revoked_by_naming_the_wrong_user(app: Flask) -> None:
    factories.make_user(Role.AUTHOR, username="ann")
    factories.make_user(Role.AUTHOR, username="bob")
    issued = create_token("bob")
    code, _, _ = run(app, "token", "ann", "--revoke", str(issued.token.id))
    assert code != 0
    assert user_for_token(issued.secret) is not None


def test_deactivated_user_token_is_refused_and_none_can_be_made(app: Flask) -> None:
    user = factories.make_user(Role.MODERATOR, username="mo")
    issued = create_token("mo")
    user.active = False
    db.session.commit()
    assert user_for_token(issued.secret) is None
    code, _, err = run(app, "token", "mo")
    assert code != 0 and "deactivated" in err


def test_unknown_user_and_odd_tokens(app: Flask) -> None:
    code, _, err = run(app, "token", "nobody")
    assert code != 0 and "No user is called 'nobody'" in err
    for presented in ("", "blog_", "blog_x", "nope", "blog_" + "a" * 500, "blog_\x00\ud800"):
        assert user_for_token(presented) is None
    assert run(app, "tokens")[1].strip() == "no tokens"


def test_token_follows_the_users_current_role(app: Flask) -> None:
    user = factories.make_user(Role.AUTHOR, username="ann")
    issued = create_token("ann")
    user.role = Role.EDITOR
    db.session.commit()
    found = user_for_token(issued.secret)
    assert isinstance(found, User) and found.role == Role.EDITOR
