"""Mail after the commit, against a real SMTP server (aiosmtpd) on loopback; and a dead one."""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from bench.load import free_port
from blog.extensions import db
from blog.mail import outbox
from blog.models import Comment, CommentStatus, OutboxMessage, Role, User
from blog.settings import save_settings
from tests import factories
from tests.commenting import comment_id, post_comment, reader
from tests.conftest import login
from tests.smtp import Inbox, plain_server


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    with plain_server(handler) as port:
        yield handler, port


@pytest.fixture
def mail_app(
    make_app: Callable[..., Flask], inbox: tuple[Inbox, int]
) -> Iterator[tuple[Flask, Inbox]]:
    app = make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=inbox[1],
        MAIL_FROM="blog@blog.example",
        SITE_URL="https://blog.example",
    )
    with app.app_context():
        save_settings({"site_title": "Test Blog"})
        yield app, inbox[0]


@pytest.fixture
def staff(mail_app: tuple[Flask, Inbox]) -> dict[str, User]:
    return {
        "admin": factories.make_user(Role.ADMIN, email="admin@blog.example"),
        "editor": factories.make_user(Role.EDITOR, email="editor@blog.example"),
        "moderator": factories.make_user(Role.MODERATOR, email="mod@blog.example"),
        "writer": factories.make_user(Role.AUTHOR, email="writer@blog.example"),
        "other": factories.make_user(Role.AUTHOR, email="other@blog.example"),
        "nomail": factories.make_user(Role.MODERATOR, email=""),
        "gone": factories.make_user(Role.MODERATOR, email="gone@blog.example", active=False),
    }


def test_held_comment_is_mailed_to_everyone_who_may_moderate_the_post(
    mail_app: tuple[Flask, Inbox], staff: dict[str, User]
) -> None:
    app, inbox = mail_app
    post = factories.make_post(author=staff["writer"], title="On moderation")
    comment_id(post_comment(reader(app), post, name="Ann", body="Held words", url="ann.example"))
    received = inbox.settled()
    recipients = sorted(r for rcpt, _ in received for r in rcpt)
    assert recipients == sorted(
        ["admin@blog.example", "editor@blog.example", "mod@blog.example", "writer@blog.example"]
    )
    message = received[0][1]
    assert message["Subject"] == '[Test Blog] Please moderate: "On moderation"'
    assert message["From"] == "blog@blog.example"
    body = message.get_content()
    assert "Held words" in body and "Author: Ann" in body
    assert "Why it is held: held: manual moderation is on" in body
    assert f"https://blog.example/admin/comments/?status=pending&post={post.id}" in body


def test_approval_mails_the_post_author_once(
    mail_app: tuple[Flask, Inbox], staff: dict[str, User]
) -> None:
    app, inbox = mail_app
    save_settings({"moderation_notify": False})
    post = factories.make_post(author=staff["writer"], title="Approved here")
    new_id = comment_id(post_comment(reader(app), post, body="Worth reading"))
    assert inbox.settled() == []
    moderator = login(app.test_client(), staff["moderator"])
    moderator.post(f"/admin/comments/{new_id}/approve")
    mails = inbox.to("writer@blog.example")
    assert len(mails) == 1
    assert mails[0]["Subject"] == '[Test Blog] Comment: "Approved here"'
    assert f"https://blog.example/blog/{post.slug}/#comment-{new_id}" in mails[0].get_content()
    moderator.post(f"/admin/comments/{new_id}/unapprove")
    moderator.post(f"/admin/comments/{new_id}/approve")
    assert len(inbox.to("writer@blog.example")) == 1
    save_settings({"comments_notify": False})
    other = comment_id(post_comment(reader(app), post, body="Also good"))
    moderator.post(f"/admin/comments/{other}/approve")
    assert len(inbox.settled()) == 1


def test_no_mail_about_spam_or_to_the_author_about_their_own_comment(
    mail_app: tuple[Flask, Inbox], staff: dict[str, User]
) -> None:
    app, inbox = mail_app
    post = factories.make_post(author=staff["writer"])
    comment_id(post_comment(reader(app), post, website="http://bot.example"))
    writer = login(app.test_client(), staff["writer"])
    comment_id(post_comment(writer, post, body="Author's own note"))
    assert inbox.settled() == []


def test_subscriber_hears_of_an_approved_reply_and_unsubscribes_in_one_click(
    make_app: Callable[..., Flask], inbox: tuple[Inbox, int]
) -> None:
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=inbox[1], WTF_CSRF_ENABLED=True)
    mails = inbox[0]
    with app.app_context():
        save_settings({"moderation_notify": False, "comments_notify": False})
        post = factories.make_post(title="Threads")
        parent = factories.make_comment(post, author_email="sub@example.org", body="Question?")
        parent.notify_replies = True
        db.session.commit()
        moderator = factories.make_user(Role.MODERATOR)
        reply = factories.make_comment(post, parent=parent, status=CommentStatus.PENDING)
        client = login(app.test_client(), moderator)
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/comments/").text)
        assert token is not None
        client.post(f"/admin/comments/{reply.id}/approve", data={"csrf_token": token.group(1)})
        received = mails.to("sub@example.org")
        assert len(received) == 1
        message = received[0]
        assert "Threads" in message["Subject"] and "Question?" in message.get_content()
        link = re.search(
            r"<(http://localhost/comments/unsubscribe/[^>]+)>", message["List-Unsubscribe"]
        )
        assert link is not None and link.group(1) in message.get_content()
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

        path = link.group(1).removeprefix("http://localhost")
        browser = app.test_client()
        confirm = browser.get(path)
        assert confirm.status_code == 200 and "sub@example.org" in confirm.text
        assert db.session.scalar(select(Comment.notify_replies).where(Comment.id == parent.id))
        done = browser.post(path, data={"List-Unsubscribe": "One-Click"})  # no CSRF token
        assert done.status_code == 200 and "no more emails" in done.text
        assert not db.session.scalar(select(Comment.notify_replies).where(Comment.id == parent.id))
        forged = browser.post(path[:-3] + "abc")
        assert forged.status_code == 404

        second = factories.make_comment(post, parent=parent, status=CommentStatus.PENDING)
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/comments/").text)
        assert token is not None
        client.post(f"/admin/comments/{second.id}/approve", data={"csrf_token": token.group(1)})
        assert len(mails.to("sub@example.org")) == 1


def test_a_dead_mail_server_loses_nothing_and_delays_nobody(
    make_app: Callable[..., Flask],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # alembic's fileConfig (migrations/env.py) disables existing loggers when the migration
    # tests ran earlier in this process; the warning must still be seen here.
    monkeypatch.setattr(logging.getLogger("blog.mail.outbox"), "disabled", False)
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nothing listens there
    with app.app_context():
        factories.make_user(Role.MODERATOR, email="mod@blog.example")
        post = factories.make_post(author=factories.make_user(Role.AUTHOR, email=""))
        with caplog.at_level(logging.WARNING, logger="blog.mail.outbox"):
            response = post_comment(reader(app), post, body="Kept despite the mail")
            new_id = comment_id(response)
            outbox.wait_for_mail(timeout=10)
        assert "could not send" in caplog.text
        stored = db.session.get(Comment, new_id)
        assert stored is not None and stored.body_source == "Kept despite the mail"
        waiting = db.session.scalars(select(OutboxMessage)).one()  # to be sent again later
        assert waiting.recipient == "mod@blog.example" and waiting.sent_at is None
        assert waiting.attempts == 1 and waiting.last_error


def test_a_mail_server_that_never_answers_does_not_hold_up_the_reader(
    make_app: Callable[..., Flask],
) -> None:
    with socket.socket() as silent:  # accepts connections into its backlog, never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=3)
        with app.app_context():
            factories.make_user(Role.MODERATOR, email="mod@blog.example")
            post = factories.make_post()
            started = time.monotonic()
            new_id = comment_id(post_comment(reader(app), post))
            assert time.monotonic() - started < 2.5  # well under the 3 s the sender waits
            assert db.session.get(Comment, new_id) is not None
            outbox.wait_for_mail(timeout=10)
