"""Forgot password, end to end against a real SMTP server (aiosmtpd on loopback): ask, receive
the mail, follow the link, set a new password, sign in with it. The link works once, for an
hour (itsdangerous' max_age on a clock the test sets), and asking never tells whether an
account exists."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from blog.accounts import password_reset
from blog.accounts.password_reset import ResetLinkInvalid, reset_token, user_for_token
from blog.accounts.users import set_password
from blog.models import Role, User, utcnow
from tests import factories
from tests.conftest import login
from tests.smtp import Inbox, plain_server

SITE = "https://blog.example"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    with plain_server(handler) as port:
        yield handler, port


@pytest.fixture
def mail_app(make_app: Callable[..., Flask], inbox: tuple[Inbox, int]) -> Iterator[Flask]:
    app = make_app(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=inbox[1], MAIL_FROM="blog@blog.example", SITE_URL=SITE
    )
    with app.app_context():
        yield app


@pytest.fixture
def ann(mail_app: Flask) -> User:
    return factories.make_user(Role.AUTHOR, username="ann", email="Ann@Example.org")


def ask(client: FlaskClient, name: str, address: str = "127.0.0.1") -> Any:
    return client.post("/login/forgot", data={"name": name}, environ_base={"REMOTE_ADDR": address})


def sign_in(client: FlaskClient, password: str, username: str = "ann") -> Any:
    return client.post("/login", data={"username": username, "password": password})


def mailed_link(inbox: Inbox, address: str) -> str:
    """The path of the link in the one mail sent to ``address``."""
    [mail] = inbox.to(address)
    found = re.search(rf"{re.escape(SITE)}(/login/reset/\S+)", mail.get_content())
    assert found is not None, mail.get_content()
    return found.group(1)


def test_a_forgotten_password_is_set_again_through_the_mailed_link(
    mail_app: Flask, inbox: tuple[Inbox, int], ann: User
) -> None:
    mails, _ = inbox
    client = mail_app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    assert 'href="/login/forgot"' in login_page and "Forgot password?" in login_page
    assert client.get("/login/forgot").status_code == 200
    answer = ask(client, "ann")
    assert answer.status_code == 200 and "we sent a link" in answer.get_data(as_text=True)
    [mail] = mails.to("Ann@Example.org")
    assert mail["Subject"] == "[My Blog] Set a new password"
    assert '"ann"' in mail.get_content()
    link = mailed_link(mails, "Ann@Example.org")
    form = client.get(link)
    assert form.status_code == 200 and form.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in form.headers["Cache-Control"]
    done = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["Location"].endswith("/login")
    assert "Your new password is set" in client.get("/login").get_data(as_text=True)
    assert sign_in(client, factories.PASSWORD).status_code == 400
    assert sign_in(client, NEW_PASSWORD).status_code == 303
    assert client.get("/admin/").status_code == 200


def test_the_link_works_once(mail_app: Flask, inbox: tuple[Inbox, int], ann: User) -> None:
    client = mail_app.test_client()
    ask(client, "ann")
    link = mailed_link(inbox[0], "Ann@Example.org")
    client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    again = client.post(
        link, data={"password": "another passphrase", "confirm": "another passphrase"}
    )
    assert again.status_code == 404 and "not valid any more" in again.get_data(as_text=True)
    assert client.get(link).status_code == 404
    assert sign_in(mail_app.test_client(), NEW_PASSWORD).status_code == 303


def test_setting_the_password_signs_out_every_other_session(
    mail_app: Flask, inbox: tuple[Inbox, int], ann: User
) -> None:
    elsewhere = login(mail_app.test_client(), ann)
    assert elsewhere.get("/admin/").status_code == 200
    client = mail_app.test_client()
    ask(client, "ann")
    link = mailed_link(inbox[0], "Ann@Example.org")
    client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert elsewhere.get("/admin/").status_code == 302


def test_the_link_expires_after_an_hour(
    mail_app: Flask, inbox: tuple[Inbox, int], ann: User
) -> None:
    client = mail_app.test_client()
    ask(client, "ann")
    token = mailed_link(inbox[0], "Ann@Example.org").rsplit("/", 1)[1]
    sent_at = utcnow()
    assert user_for_token(token, clock=lambda: sent_at + timedelta(minutes=59)).id == ann.id
    with pytest.raises(ResetLinkInvalid):
        user_for_token(token, clock=lambda: sent_at + timedelta(minutes=61))
    # Made 61 minutes ago: refused over HTTP too, and it sets nothing.
    old = reset_token(ann, clock=lambda: utcnow() - timedelta(minutes=61))
    refused = client.post(
        f"/login/reset/{old}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert refused.status_code == 404
    assert sign_in(mail_app.test_client(), factories.PASSWORD).status_code == 303


def test_a_password_changed_meanwhile_kills_the_link(
    mail_app: Flask, inbox: tuple[Inbox, int], ann: User
) -> None:
    client = mail_app.test_client()
    ask(client, "ann")
    link = mailed_link(inbox[0], "Ann@Example.org")
    set_password(ann, "changed by the admin")
    assert client.get(link).status_code == 404


def test_an_unknown_account_gets_the_same_answer_and_no_mail(
    mail_app: Flask, inbox: tuple[Inbox, int], ann: User
) -> None:
    factories.make_user(username="gone", email="gone@example.org", active=False)
    factories.make_user(username="nomail", email="")
    client = mail_app.test_client()
    known = ask(client, "ann")
    answers = [ask(client, name) for name in ("nobody", "nobody@example.org", "gone", "nomail")]
    for answer in answers:
        assert answer.status_code == known.status_code == 200
        assert answer.get_data(as_text=True) == known.get_data(as_text=True)
    received = inbox[0].settled()
    assert [rcpt for rcpt, _ in received] == [["Ann@Example.org"]]


def test_an_email_address_in_any_case_finds_the_account(
    mail_app: Flask, inbox: tuple[Inbox, int], ann: User
) -> None:
    ask(mail_app.test_client(), "ann@example.ORG")
    assert len(inbox[0].to("Ann@Example.org")) == 1


def test_the_new_password_follows_the_password_rules(
    mail_app: Flask, inbox: tuple[Inbox, int], ann: User
) -> None:
    client = mail_app.test_client()
    ask(client, "ann")
    link = mailed_link(inbox[0], "Ann@Example.org")
    short = client.post(link, data={"password": "short", "confirm": "short"})
    assert short.status_code == 400 and "at least 8" in short.get_data(as_text=True)
    differ = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "!"})
    assert differ.status_code == 400 and "differ" in differ.get_data(as_text=True)
    # Refused tries do not use the link up.
    assert (
        client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code
        == 303
    )


def test_without_a_mail_server_nothing_offers_a_reset(client: FlaskClient) -> None:
    factories.make_user(username="ann")
    assert "Forgot password" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/forgot").status_code == 404
    assert client.post("/login/forgot", data={"name": "ann"}).status_code == 404


def test_asking_is_limited_per_address_and_per_account(
    make_app: Callable[..., Flask], inbox: tuple[Inbox, int]
) -> None:
    app = make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=inbox[1],
        SITE_URL=SITE,
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT="2 per minute",
    )
    with app.app_context():
        factories.make_user(username="ann", email="ann@example.org")
        client = app.test_client()
        assert ask(client, "nobody").status_code == 200
        assert ask(client, "nobody").status_code == 200
        blocked = ask(client, "nobody")
        assert blocked.status_code == 429 and 0 < int(blocked.headers["Retry-After"]) <= 60
        # From many addresses, one account still gets at most three mails an hour.
        for n in range(5):
            assert ask(client, "ann", address=f"10.0.0.{n}").status_code == 200
        assert len(inbox[0].to("ann@example.org")) == 3
        assert password_reset.PER_NAME_RULE == "3 per hour"


def test_a_forged_token_is_refused(mail_app: Flask, ann: User) -> None:
    client = mail_app.test_client()
    token = reset_token(ann)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/login/reset/{forged}").status_code == 404
    assert client.get("/login/reset/not-a-token").status_code == 404
    assert (
        client.post(
            f"/login/reset/{forged}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        ).status_code
        == 404
    )


def csrf_of(page: Any) -> str:
    found = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)
    )
    assert found is not None
    return found.group(1)


def test_the_forms_carry_their_csrf_token_and_a_stale_one_is_refused(
    make_app: Callable[..., Flask], inbox: tuple[Inbox, int]
) -> None:
    app = make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=inbox[1],
        SITE_URL=SITE + "/site",
        WTF_CSRF_ENABLED=True,
    )
    with app.app_context():
        factories.make_user(username="ann", email="ann@example.org")
        client = app.test_client()
        stale = client.post("/login/forgot", data={"name": "ann", "csrf_token": "stale"})
        assert stale.status_code == 400 and "session expired" in stale.get_data(as_text=True)
        assert inbox[0].to("ann@example.org") == []
        token = csrf_of(client.get("/login/forgot"))
        asked = client.post("/login/forgot", data={"name": "ann", "csrf_token": token})
        assert asked.status_code == 200
        [mail] = inbox[0].to("ann@example.org")
        found = re.search(rf"{re.escape(SITE)}/site(/login/reset/\S+)", mail.get_content())
        assert found is not None
        form = client.get(found.group(1))
        assert f'action="/site{found.group(1)}"' in form.get_data(as_text=True)
        chosen = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf_of(form)}
        done = client.post(found.group(1), data=chosen)
        assert done.status_code == 303
        assert sign_in_with_csrf(client, NEW_PASSWORD).status_code == 303


def sign_in_with_csrf(client: FlaskClient, password: str) -> Any:
    token = csrf_of(client.get("/login"))
    return client.post(
        "/login", data={"username": "ann", "password": password, "csrf_token": token}
    )


def test_somebody_signed_in_is_sent_to_their_profile(mail_app: Flask, ann: User) -> None:
    client = login(mail_app.test_client(), ann)
    answer = client.get("/login/forgot")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/admin/profile/")
