"""Sign-in and sign-out: generic refusals, equal cost for unknown users, same-site next=,
hardened cookies, fresh sessions, and sessions that end everywhere on the server side."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from blog.accounts import users
from blog.extensions import db
from blog.models import Role, User
from tests import factories
from tests.conftest import login

INVALID = "Invalid username or password."


def sign_in(
    client: FlaskClient, username: str, password: str = factories.PASSWORD, **form: str
) -> Any:
    query = form.pop("query", "")
    return client.post(f"/login{query}", data={"username": username, "password": password, **form})


def set_cookie_header(response: Any, name: str) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert headers, f"no {name} cookie set"
    return headers[-1]


def test_signing_in_lands_on_the_dashboard_with_a_hardened_cookie(client: FlaskClient) -> None:
    factories.make_user(role=Role.AUTHOR, username="ann")
    response = sign_in(client, "ann")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"
    cookie = set_cookie_header(response, "session")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http site: a Secure cookie would never come back
    assert client.get("/admin/").status_code == 200


def test_cookies_are_secure_when_the_site_is_served_over_https(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(SITE_URL="https://blog.example")
    with app.app_context():
        factories.make_user(username="ann")
        response = sign_in(app.test_client(), "ann", remember="y")
    assert response.status_code == 303
    for name in ("session", "remember_token"):
        cookie = set_cookie_header(response, name)
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize(
    "username, password",
    [("ann", "wrong password"), ("nobody", factories.PASSWORD), ("", ""), ("ann", "")],
    ids=["wrong-password", "unknown-user", "empty", "no-password"],
)
def test_every_refusal_says_the_same_thing_and_keeps_the_username(
    client: FlaskClient, username: str, password: str
) -> None:
    factories.make_user(username="ann")
    response = sign_in(client, username, password)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert INVALID in html
    assert "not found" not in html.lower() and "incorrect password" not in html.lower()
    if username:
        assert f'value="{username}"' in html
    assert client.get("/admin/").status_code == 302  # still signed out


def test_an_unknown_user_costs_one_full_password_check_like_a_wrong_password(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic stand-in for a timing test: the slow check runs exactly once whatever
    the reason for refusing, against a hash made with the same method and parameters."""
    factories.make_user(username="ann")
    factories.make_user(username="gone", active=False)
    nopass = factories.make_user(username="nopass")
    nopass.password_hash = "!"  # like the demo authors: cannot sign in until a password is set
    db.session.commit()
    checked: list[str] = []
    real = users.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(users, "check_password_hash", counting)
    real_hash = db.session.scalar(db.select(User.password_hash).where(User.username == "ann"))
    for username, password in [
        ("ann", "wrong"),
        ("nobody", "wrong"),
        ("gone", factories.PASSWORD),
        ("nopass", "x"),
        ("ann", factories.PASSWORD),
    ]:
        checked.clear()
        result = users.authenticate(username, password)
        assert (result is not None) == (username == "ann" and password == factories.PASSWORD)
        assert len(checked) == 1, username
        method = checked[0].split("$", 1)[0]
        assert method == real_hash.split("$", 1)[0] and method.startswith("scrypt:")


def test_an_inactive_user_is_refused_with_the_same_message(client: FlaskClient) -> None:
    factories.make_user(username="gone", active=False)
    response = sign_in(client, "gone")
    assert response.status_code == 400
    assert INVALID in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example/",
        "http:evil.example",
        "javascript:alert(1)",
        "/\r\nLocation: https://evil.example/",
        "/\tadmin",
        "",
    ],
)
def test_next_outside_the_site_is_ignored(client: FlaskClient, target: str) -> None:
    factories.make_user(username="ann")
    response = sign_in(client, "ann", next=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"


def test_next_on_the_site_is_honoured_from_the_query_string_or_the_form(
    client: FlaskClient,
) -> None:
    factories.make_user(username="ann")
    gate = client.get("/admin/posts/?status=draft")
    assert gate.status_code == 302
    assert gate.headers["Location"] == "/login?next=/admin/posts/?status%3Ddraft"
    form = client.get(gate.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/admin/posts/?status=draft"' in form
    response = sign_in(client, "ann", query="?next=/admin/posts/%3Fstatus%3Ddraft")
    assert response.headers["Location"] == "/admin/posts/?status=draft"


def test_signing_in_starts_a_fresh_session(client: FlaskClient) -> None:
    factories.make_user(username="ann")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    sign_in(client, "ann")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith(f"{users.find_user_by_name('ann').id}:")


def _copied_cookie(client: FlaskClient, name: str = "session") -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None
    return cookie.value


def _replay(app: Flask, name: str, value: str) -> Any:
    thief = app.test_client()
    thief.set_cookie(name, value)
    return thief.get("/admin/")


def test_a_copied_session_cookie_stops_working_after_sign_out(
    app: Flask, client: FlaskClient
) -> None:
    factories.make_user(username="ann")
    sign_in(client, "ann")
    copied = _copied_cookie(client)
    assert _replay(app, "session", copied).status_code == 200  # the copy works while signed in
    response = client.post("/logout")
    assert response.status_code == 303
    assert client.get("/admin/").status_code == 302
    replayed = _replay(app, "session", copied)
    assert replayed.status_code == 302
    assert replayed.headers["Location"].startswith("/login?next=")


def test_a_copied_remember_me_cookie_stops_working_after_sign_out(
    app: Flask, client: FlaskClient
) -> None:
    factories.make_user(username="ann")
    sign_in(client, "ann", remember="y")
    remembered = _copied_cookie(client, "remember_token")
    assert _replay(app, "remember_token", remembered).status_code == 200
    client.post("/logout")
    assert _replay(app, "remember_token", remembered).status_code == 302


def test_signing_out_ends_the_sessions_on_every_other_device(
    app: Flask, users: dict[Role, User]
) -> None:
    laptop = login(app.test_client(), users[Role.EDITOR])
    phone = login(app.test_client(), users[Role.EDITOR])
    assert phone.get("/admin/").status_code == 200
    laptop.post("/logout")
    assert phone.get("/admin/").status_code == 302


def test_get_logout_only_asks_and_changes_nothing(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    client = client_as(Role.AUTHOR)
    page = client.get("/logout")
    assert page.status_code == 200
    assert 'action="/logout"' in page.get_data(as_text=True)
    assert client.get("/admin/").status_code == 200


def test_changing_ones_password_ends_other_sessions_but_keeps_this_one(
    app: Flask, users: dict[Role, User]
) -> None:
    here = login(app.test_client(), users[Role.AUTHOR])
    elsewhere = login(app.test_client(), users[Role.AUTHOR])
    response = here.post(
        "/admin/profile/password",
        data={
            "current_password": factories.PASSWORD,
            "new_password": "a brand new secret",
            "confirm_password": "a brand new secret",
        },
    )
    assert response.status_code == 303
    assert here.get("/admin/").status_code == 200
    assert elsewhere.get("/admin/").status_code == 302
    assert users_module_authenticate("author", "a brand new secret")
    assert not users_module_authenticate("author", factories.PASSWORD)


def users_module_authenticate(username: str, password: str) -> bool:
    return users.authenticate(username, password) is not None


def test_a_wrong_current_password_changes_nothing(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    client = client_as(Role.AUTHOR)
    response = client.post(
        "/admin/profile/password",
        data={"current_password": "guess", "new_password": "x" * 12, "confirm_password": "x" * 12},
    )
    assert response.status_code == 400
    assert "current password is not correct" in response.get_data(as_text=True)
    assert users_module_authenticate("author", factories.PASSWORD)
    assert client.get("/admin/").status_code == 200


def test_deactivation_and_password_reset_end_the_users_sessions(
    app: Flask, users: dict[Role, User], client_as: Callable[[Role], FlaskClient]
) -> None:
    admin = client_as(Role.ADMIN)
    author = client_as(Role.AUTHOR)
    editor = client_as(Role.EDITOR)
    reset = admin.post(
        f"/admin/users/{users[Role.EDITOR].id}/password", data={"password": "another secret"}
    )
    assert reset.status_code == 303
    assert editor.get("/admin/").status_code == 302
    off = admin.post(f"/admin/users/{users[Role.AUTHOR].id}/deactivate")
    assert off.status_code == 303
    assert author.get("/admin/").status_code == 302
    assert sign_in(app.test_client(), "author").status_code == 400


def test_sign_in_form_works_with_csrf_on_and_keeps_the_username_when_the_token_is_stale(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        factories.make_user(username="ann")
        client = app.test_client()
        stale = sign_in(client, "ann")
        assert stale.status_code == 400
        html = stale.get_data(as_text=True)
        assert "session expired" in html and 'value="ann"' in html
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
        assert token is not None
        ok = sign_in(client, "ann", csrf_token=token.group(1))
        assert ok.status_code == 303
        page = client.get("/admin/").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        assert client.post("/logout").status_code == 400  # a sign-out needs the token too
        assert client.get("/admin/").status_code == 200
        assert client.post("/logout", data={"csrf_token": token.group(1)}).status_code == 303
        assert client.get("/admin/").status_code == 302


def test_set_password_from_the_command_line_ends_sessions(
    app: Flask, users: dict[Role, User]
) -> None:
    client = login(app.test_client(), users[Role.AUTHOR])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["blog", "set-password", "author"], input="fresh password\n")
    assert result.exit_code == 0, result.output
    assert client.get("/admin/").status_code == 302
    assert sign_in(app.test_client(), "author", "fresh password").status_code == 303
    short = runner.invoke(args=["blog", "set-password", "author"], input="short\n")
    assert short.exit_code != 0 and "at least 8" in short.output
    unknown = runner.invoke(args=["blog", "set-password", "nobody"], input="whatever123\n")
    assert unknown.exit_code != 0 and "No user" in unknown.output
