"""Mail to commenters, against a real SMTP server (aiosmtpd) on loopback: the approval notice
they asked for, and the optional confirmation of an anonymous commenter's address."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask import Flask
from itsdangerous import TimestampSigner
from sqlalchemy import select

from blog.comments.counts import find_drift
from blog.database import begin_write
from blog.extensions import db
from blog.models import Comment, CommentStatus, ModerationEvent, Role, User, utcnow
from blog.settings import save_settings
from tests import factories
from tests.commenting import comment_id, page_text, post_comment, reader
from tests.conftest import login
from tests.helpers import count_of, status_of
from tests.smtp import Inbox, plain_server

SITE = "https://blog.example"


@pytest.fixture
def mail(make_app: Callable[..., Flask]) -> Iterator[tuple[Flask, Inbox]]:
    handler = Inbox()
    with plain_server(handler) as port:
        app = make_app(
            MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="blog@blog.example", SITE_URL=SITE
        )
        with app.app_context():
            save_settings({"site_title": "Test Blog", "flood_interval_seconds": 0})
            yield app, handler


def moderator_user(_app: Flask) -> User:
    return factories.make_user(Role.MODERATOR, email="mod@blog.example")


# --- "Email me when my comment is approved" --------------------------------------------------


def test_commenter_who_asked_hears_once_when_their_comment_is_approved(
    mail: tuple[Flask, Inbox],
) -> None:
    app, inbox = mail
    save_settings({"moderation_notify": False, "comments_notify": False})
    post = factories.make_post(title="Held here")
    asked = comment_id(
        post_comment(
            reader(app), post, email="ann@example.org", body="Please approve", notify_approved="yes"
        )
    )
    silent = comment_id(post_comment(reader(app), post, email="bo@example.org", body="Quiet one"))
    assert inbox.settled() == []
    assert db.session.get(Comment, asked).notify_approved  # type: ignore[union-attr]

    mod = login(app.test_client(), moderator_user(app))
    assert mod.post(f"/admin/comments/{asked}/approve").status_code == 303
    assert mod.post(f"/admin/comments/{silent}/approve").status_code == 303
    received = inbox.to("ann@example.org")
    assert len(received) == 1 and inbox.to("bo@example.org") == []
    message = received[0]
    assert message["Subject"] == '[Test Blog] Your comment on "Held here" is published'
    body = message.get_content()
    assert "Please approve" in body and f"{SITE}/blog/{post.slug}/#comment-{asked}" in body
    link = re.search(
        r"<(https://blog\.example/comments/unsubscribe/[^>]+)>", message["List-Unsubscribe"]
    )
    assert link is not None and link.group(1) in body
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    mod.post(f"/admin/comments/{asked}/unapprove")
    mod.post(f"/admin/comments/{asked}/approve")
    assert len(inbox.to("ann@example.org")) == 1  # the first approval only

    browser = app.test_client()
    assert browser.post(link.group(1).removeprefix(SITE)).status_code == 200
    assert not db.session.scalar(select(Comment.notify_approved).where(Comment.id == asked))


def test_no_notice_for_a_comment_approved_at_once(mail: tuple[Flask, Inbox]) -> None:
    app, inbox = mail
    save_settings(
        {
            "comment_moderation": False,
            "comment_previously_approved": False,
            "comments_notify": False,
        }
    )
    post = factories.make_post()
    cid = comment_id(post_comment(reader(app), post, email="cy@example.org", notify_approved="yes"))
    assert status_of(cid) == CommentStatus.APPROVED
    assert inbox.to("cy@example.org") == []


def test_the_approval_notice_links_to_the_right_comment_page(mail: tuple[Flask, Inbox]) -> None:
    app, inbox = mail
    save_settings({"moderation_notify": False, "comments_notify": False, "comments_per_page": 2})
    post = factories.make_post()
    for i in range(4):
        factories.make_comment(post, created_at=utcnow() - timedelta(hours=1, minutes=-i))
    cid = comment_id(post_comment(reader(app), post, email="di@example.org", notify_approved="yes"))
    login(app.test_client(), moderator_user(app)).post(f"/admin/comments/{cid}/approve")
    (message,) = inbox.to("di@example.org")
    assert f"{SITE}/blog/{post.slug}/?cpage=3#comment-{cid}" in message.get_content()


# --- Email confirmation for anonymous comments -----------------------------------------------


def confirmation_link(inbox: Inbox, address: str) -> str:
    (message,) = inbox.to(address)
    assert "confirm" in message["Subject"].lower()
    found = re.search(r"https://blog\.example(/comments/confirm/\S+)", message.get_content())
    assert found is not None
    return found.group(1)


def test_anonymous_comment_waits_for_its_confirmed_address_then_meets_the_rules(
    mail: tuple[Flask, Inbox],
) -> None:
    app, inbox = mail
    save_settings({"require_email_confirmation": True})
    mod = login(app.test_client(), moderator_user(app))
    post = factories.make_post(title="Confirm me")
    author, stranger = reader(app), reader(app)
    cid = comment_id(post_comment(author, post, email="eve@example.org", body="Unconfirmed words"))
    assert status_of(cid) == CommentStatus.UNCONFIRMED and count_of(post) == 0
    own = page_text(author.get(f"/blog/{post.slug}/"))
    assert "Unconfirmed words" in own and "Please confirm your comment" in own
    assert "Unconfirmed words" not in page_text(stranger.get(f"/blog/{post.slug}/"))
    assert stranger.get(f"/comments/{cid}").status_code == 404
    path = confirmation_link(inbox, "eve@example.org")
    assert inbox.to("mod@blog.example") == []  # moderators hear of it once it is confirmed

    listed = mod.get("/admin/comments/?status=unconfirmed")
    assert "Unconfirmed words" in listed.text and "Unconfirmed <span" in listed.text

    asked = reader(app).get(path)  # a mail scanner following the link changes nothing
    assert asked.status_code == 200 and "Confirm my comment" in asked.text
    assert status_of(cid) == CommentStatus.UNCONFIRMED

    clicked = reader(app)
    done = clicked.post(path)
    assert done.status_code == 303
    assert done.headers["Location"] == f"/blog/{post.slug}/#comment-{cid}"
    assert status_of(cid) == CommentStatus.PENDING  # manual moderation, as any comment
    assert "awaiting moderation" in page_text(clicked.get(done.headers["Location"]))
    events = db.session.scalars(
        select(ModerationEvent)
        .where(ModerationEvent.comment_id == cid)
        .order_by(ModerationEvent.id)
    ).all()
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, CommentStatus.UNCONFIRMED),
        (CommentStatus.UNCONFIRMED, CommentStatus.PENDING),
    ]
    assert len(inbox.to("mod@blog.example")) == 1

    again = reader(app).post(path)  # opening it twice is harmless
    assert again.status_code == 303 and status_of(cid) == CommentStatus.PENDING
    assert reader(app).post(path[:-4] + "abcd").status_code == 404
    assert reader(app).get("/comments/confirm/nonsense").status_code == 404
    assert find_drift() == []


def test_a_confirmed_comment_can_be_approved_by_the_rules_at_once(
    mail: tuple[Flask, Inbox],
) -> None:
    app, inbox = mail
    save_settings(
        {
            "require_email_confirmation": True,
            "comment_moderation": False,
            "comment_previously_approved": False,
        }
    )
    post = factories.make_post()
    cid = comment_id(post_comment(reader(app), post, email="fay@example.org"))
    assert status_of(cid) == CommentStatus.UNCONFIRMED and count_of(post) == 0
    assert reader(app).post(confirmation_link(inbox, "fay@example.org")).status_code == 303
    assert status_of(cid) == CommentStatus.APPROVED and count_of(post) == 1


def test_spam_signed_in_users_and_sites_without_mail_skip_confirmation(
    mail: tuple[Flask, Inbox], make_app: Callable[..., Flask]
) -> None:
    app, inbox = mail
    save_settings({"require_email_confirmation": True, "disallowed_keys": "casino"})
    post = factories.make_post()
    spam = comment_id(post_comment(reader(app), post, email="s@example.org", body="casino"))
    assert status_of(spam) == CommentStatus.SPAM
    writer = factories.make_user(Role.AUTHOR)
    mine = comment_id(post_comment(login(app.test_client(), writer), post, body="From a user"))
    assert status_of(mine) == CommentStatus.PENDING
    assert inbox.to("s@example.org") == [] and inbox.to(writer.email) == []

    quiet = make_app()  # no MAIL_SERVER: nobody could ever confirm, so nobody is asked to
    with quiet.app_context():
        cid = comment_id(post_comment(reader(quiet), post.slug, email="g@example.org"))
        assert status_of(cid) == CommentStatus.PENDING


def test_an_expired_link_confirms_nothing(
    mail: tuple[Flask, Inbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _inbox = mail
    save_settings({"require_email_confirmation": True})
    post = factories.make_post()
    cid = comment_id(post_comment(reader(app), post, email="old@example.org"))
    from blog.comments.notifications import confirmation_token

    with app.test_request_context():
        monkeypatch.setattr(
            TimestampSigner, "get_timestamp", lambda _self: int(time.time()) - 8 * 86400
        )
        token = confirmation_token(db.session.get(Comment, cid))  # type: ignore[arg-type]
        monkeypatch.undo()
    answer = reader(app).post(f"/comments/confirm/{token}")
    assert answer.status_code == 404 and "older than 7 days" in page_text(answer)
    assert status_of(cid) == CommentStatus.UNCONFIRMED


def test_purge_deletes_comments_left_unconfirmed_for_7_days(mail: tuple[Flask, Inbox]) -> None:
    app, _inbox = mail
    save_settings({"require_email_confirmation": True})
    post = factories.make_post()
    old = comment_id(post_comment(reader(app), post, email="h@example.org", body="Old"))
    new = comment_id(post_comment(reader(app), post, email="i@example.org", body="New"))
    # A write transaction from the start: the outbox may be writing its confirmation mails in
    # its own thread, and on SQLite a read transaction cannot become a write one meanwhile.
    begin_write()
    for event in db.session.scalars(
        select(ModerationEvent).where(ModerationEvent.comment_id == old)
    ):
        event.at = utcnow() - timedelta(days=8)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["blog", "purge"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 comment(s) left unconfirmed for 7 days" in result.output
    assert db.session.get(Comment, old) is None
    assert status_of(new) == CommentStatus.UNCONFIRMED
