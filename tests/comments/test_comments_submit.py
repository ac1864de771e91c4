"""Leaving a reply over HTTP (SPEC section 5): success, every error case, threading, cookies."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from blog.extensions import db
from blog.models import (
    Comment,
    CommentStatus,
    ModerationEvent,
    Post,
    PostStatus,
    Role,
    User,
    utcnow,
)
from blog.settings import save_settings
from tests import factories
from tests.commenting import (
    comment_id,
    comments_title,
    field_errors,
    page_text,
    post_comment,
    reader,
)
from tests.conftest import login


def stored() -> int:
    return db.session.scalar(select(func.count(Comment.id))) or 0


def test_reply_is_held_seen_only_by_its_author_then_counted_once_approved(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    post = factories.make_post(title="Kaspersky")
    factories.make_comment(post, body="First", author_email="a@example.com")
    factories.make_comment(post, body="Second", author_email="b@example.com")
    author, stranger = reader(app), reader(app)
    response = post_comment(author, post, name="Ann", body="My *held* reply")
    new_id = comment_id(response)
    assert response.headers["Location"] == f"/blog/{post.slug}/#comment-{new_id}"

    own = author.get(f"/blog/{post.slug}/")
    assert "Your comment is awaiting moderation." in page_text(own)
    assert "My *held* reply" in page_text(own)
    assert comments_title(own) == "2 Comments"
    other = stranger.get(f"/blog/{post.slug}/")
    assert "My *held* reply" not in page_text(other)
    assert "awaiting moderation" not in page_text(other)

    moderator = client_as(Role.MODERATOR)
    assert moderator.post(f"/admin/comments/{new_id}/approve").status_code == 303
    after = stranger.get(f"/blog/{post.slug}/")
    assert comments_title(after) == "3 Comments"
    assert "My *held* reply" in page_text(after)
    assert "awaiting moderation" not in page_text(author.get(f"/blog/{post.slug}/"))

    assert moderator.post(f"/admin/comments/{new_id}/trash").status_code == 303
    trashed = stranger.get(f"/blog/{post.slug}/")
    assert comments_title(trashed) == "2 Comments"
    assert "My *held* reply" not in page_text(trashed)


def test_comment_is_stored_with_sanitized_html_and_its_decision(app: Flask) -> None:
    post = factories.make_post()
    typed = "Look: <b>bold</b> <script>alert(1)</script> https://example.com/x\r\n\r\nbye"
    new_id = comment_id(
        post_comment(reader(app), post, body=typed, url="example.com/me", notify_replies="yes")
    )
    comment = db.session.get(Comment, new_id)
    assert comment is not None
    assert comment.body_source == typed.replace("\r\n", "\n")
    assert "<b>bold</b>" in comment.body_html and "<script>" not in comment.body_html
    assert "&lt;script&gt;" in comment.body_html
    assert 'rel="nofollow ugc noopener"' in comment.body_html
    assert comment.author_url == "http://example.com/me"
    assert comment.status == CommentStatus.PENDING
    assert comment.held_reason == "held: manual moderation is on"
    assert comment.notify_replies is False  # no mail server: tests/comments/test_reply_form_mail.py
    assert comment.ip_address.startswith("10.")
    event = db.session.scalars(select(ModerationEvent)).one()
    assert (event.from_status, event.to_status, event.actor_id) == (None, comment.status, None)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "Please enter your name."),
        ({"email": ""}, "email", "Please enter your email address."),
        ({"email": "not-an-email"}, "email", "Please enter a valid email address"),
        ({"name": "n" * 246}, "name", "at most 245 characters"),
        ({"email": "e" * 90 + "@example.com"}, "email", "at most 100 characters"),
        ({"url": "javascript:alert(1)"}, "url", "http:// or https://"),
        ({"url": "ftp://example.com/"}, "url", "http:// or https://"),
        ({"url": "http://example.com/" + "u" * 190}, "url", "at most 200 characters"),
        ({"body": "   \n  "}, "body", "Please type your comment."),
        ({"body": '<a href="x"'}, "body", "Nothing of your comment would show"),
        ({"body": "é" * 32_763}, "body", "too long: 65,526 bytes"),
    ],
)
def test_bad_input_rerenders_the_form_with_a_message_beside_the_field(
    app: Flask, fields: dict[str, str], field: str, message: str
) -> None:
    post = factories.make_post()
    typed = {"name": "Typed Name", "email": "typed@example.com", "body": "Typed words, kept."}
    typed.update(fields)
    response = post_comment(reader(app), post, **typed)
    assert response.status_code == 400
    assert message in field_errors(response)[field]
    html_page = response.get_data(as_text=True)
    for name, value in typed.items():
        if name != field and name != "body":
            assert f'value="{html.escape(value)}"' in html_page
    if field != "body":
        assert "Typed words, kept.</textarea>" in html_page
    assert "no-store" in response.headers["Cache-Control"]
    assert stored() == 0


def test_limits_are_inclusive(app: Flask) -> None:
    post = factories.make_post()
    response = post_comment(
        reader(app),
        post,
        name="n" * 245,
        email="e" * 88 + "@example.com",
        url="http://example.com/" + "u" * 181,
        body="é" * 32_762 + "a",  # 65,525 bytes
    )
    comment = db.session.get(Comment, comment_id(response))
    assert comment is not None and len(comment.body_source.encode()) == 65_525


def test_name_and_email_are_optional_when_the_setting_says_so(app: Flask) -> None:
    save_settings({"require_name_email": False})
    post = factories.make_post()
    assert post_comment(reader(app), post, name="", email="").status_code == 303


def test_closed_post_answers_403_and_gives_the_text_back(app: Flask) -> None:
    post = factories.make_post(comments_open=False)
    response = post_comment(reader(app), post, body="Words I typed")
    assert response.status_code == 403
    assert "Comments are closed on this post." in page_text(response)
    assert "Words I typed</textarea>" in response.get_data(as_text=True)
    assert stored() == 0


def test_old_post_closes_when_the_setting_is_on(app: Flask) -> None:
    post = factories.make_post(published_at=utcnow() - timedelta(days=20))
    save_settings({"close_comments_for_old_posts": True, "close_comments_days_old": 14})
    assert post_comment(reader(app), post).status_code == 403
    save_settings({"close_comments_days_old": 30})
    assert post_comment(reader(app), post).status_code == 303


def test_unknown_draft_and_scheduled_posts_answer_404(app: Flask) -> None:
    draft = factories.make_post(status=PostStatus.DRAFT)
    later = factories.make_post(published_at=utcnow() + timedelta(days=1))
    for slug in (draft.slug, later.slug, "no-such-post"):
        assert post_comment(reader(app), slug).status_code == 404
    assert stored() == 0


def test_duplicate_answers_409_with_the_text_kept(app: Flask) -> None:
    post = factories.make_post()
    save_settings({"flood_interval_seconds": 0})
    first = post_comment(reader(app), post, name="Ann", email="ann@example.com", body="Same")
    comment_id(first)
    again = post_comment(reader(app), post, name="Other", email="ann@example.com", body="Same")
    assert again.status_code == 409
    assert "Duplicate comment detected" in page_text(again)
    assert "Same</textarea>" in again.get_data(as_text=True)
    by_name = post_comment(reader(app), post, name="Ann", email="x@example.com", body="Same")
    assert by_name.status_code == 409
    assert post_comment(reader(app), post, name="Ann", body="Different").status_code == 303
    assert stored() == 2


def test_flood_answers_429_with_retry_after(app: Flask) -> None:
    post = factories.make_post()
    browser = reader(app)
    comment_id(post_comment(browser, post))
    response = post_comment(browser, post, body="Too soon")
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 15
    assert "posting comments too quickly" in page_text(response)
    assert "Too soon</textarea>" in response.get_data(as_text=True)
    same_email = post_comment(reader(app), post, email="flood@example.org")
    comment_id(same_email)
    assert post_comment(reader(app), post, email="flood@example.org").status_code == 429
    assert stored() == 2


def test_rate_limit_holds_with_the_flood_check_off_and_keeps_the_text(
    make_app: Callable[..., Flask],
) -> None:
    limited = make_app(RATELIMIT_ENABLED=True, COMMENT_RATE_LIMIT="2 per minute")
    with limited.app_context():
        save_settings({"flood_interval_seconds": 0})
        post = factories.make_post()
        browser = reader(limited)
        comment_id(post_comment(browser, post))
        comment_id(post_comment(browser, post))
        response = post_comment(browser, post, body="My third <b>thought</b>")
        assert response.status_code == 429
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert "a lot of comments from this address" in page_text(response)
        assert "My third &lt;b&gt;thought&lt;/b&gt;</textarea>" in response.get_data(as_text=True)
        assert stored() == 2
        comment_id(post_comment(reader(limited), post))  # another address is not held back


def test_honeypot_looks_like_a_normal_submission_but_is_spam(app: Flask) -> None:
    post = factories.make_post()
    browser = reader(app)
    response = post_comment(browser, post, website="http://spam.example")
    new_id = comment_id(response)
    assert "blog_commenter" in response.headers.get("Set-Cookie", "")
    comment = db.session.get(Comment, new_id)
    assert comment is not None and comment.status == CommentStatus.SPAM
    assert db.session.get(Post, post.id).comment_count == 0  # type: ignore[union-attr]


def test_signed_in_moderator_is_approved_with_the_accounts_name(
    app: Flask, users: dict[Role, User], client_as: Callable[[Role], FlaskClient]
) -> None:
    post = factories.make_post()
    response = post_comment(client_as(Role.MODERATOR), post, name="Fake", email="fake@x.org")
    comment = db.session.get(Comment, comment_id(response))
    assert comment is not None
    assert comment.status == CommentStatus.APPROVED
    moderator = users[Role.MODERATOR]
    assert (comment.author_name, comment.author_email) == (moderator.display_name, moderator.email)
    assert comment.user_id == moderator.id
    assert db.session.get(Post, post.id).comment_count == 1  # type: ignore[union-attr]


def test_author_is_approved_on_own_post_but_held_on_anothers(
    app: Flask, users: dict[Role, User], client_as: Callable[[Role], FlaskClient]
) -> None:
    save_settings({"flood_interval_seconds": 0})
    mine = factories.make_post(author=users[Role.AUTHOR])
    theirs = factories.make_post()
    browser = client_as(Role.AUTHOR)
    own = db.session.get(Comment, comment_id(post_comment(browser, mine)))
    other = db.session.get(Comment, comment_id(post_comment(browser, theirs)))
    assert own is not None and own.status == CommentStatus.APPROVED
    assert other is not None and other.status == CommentStatus.PENDING
    page = browser.get(f"/blog/{theirs.slug}/")
    assert "Your comment is awaiting moderation." in page_text(page)
    assert "Logged in as" in page_text(page)


def test_reply_link_works_without_javascript_and_nests_the_reply(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    post = factories.make_post()
    parent = factories.make_comment(post, author_name="Ann", author_email="ann@example.com")
    page = reader(app).get(f"/blog/{post.slug}/")
    link = re.search(r'class="comment-reply-link" rel="nofollow" href="([^"]+)"', page.text)
    assert (
        link
        and html.unescape(link.group(1)) == f"/blog/{post.slug}/?replytocom={parent.id}#respond"
    )
    form = reader(app).get(f"/blog/{post.slug}/?replytocom={parent.id}")
    assert f'name="parent_id" value="{parent.id}"' in form.text
    assert "Leave a Reply to Ann" in page_text(form)
    reply_id = comment_id(post_comment(reader(app), post, parent_id=str(parent.id)))
    client_as(Role.MODERATOR).post(f"/admin/comments/{reply_id}/approve")
    thread = reader(app).get(f"/blog/{post.slug}/").text
    nested = re.search(
        rf'id="comment-{parent.id}".*?<ol class="children">.*?id="comment-{reply_id}"', thread, re.S
    )
    assert nested, "the reply is not nested under its parent"


@pytest.mark.parametrize("case", ["pending", "other-post", "missing", "garbage", "too-deep"])
def test_bad_parent_is_refused_with_a_message(app: Flask, case: str) -> None:
    post = factories.make_post()
    save_settings({"thread_comments_depth": 2})
    top = factories.make_comment(post)
    parent_id = {
        "pending": lambda: factories.make_comment(post, status=CommentStatus.PENDING).id,
        "other-post": lambda: factories.make_comment(factories.make_post()).id,
        "missing": lambda: 999_999,
        "garbage": lambda: "12abc",
        "too-deep": lambda: factories.make_comment(post, parent=top).id,
    }[case]()
    response = post_comment(reader(app), post, parent_id=str(parent_id), body="My reply")
    assert response.status_code == 400
    message = "Replies can nest at most 2" if case == "too-deep" else "is not available"
    assert message in page_text(response)
    assert "My reply</textarea>" in response.get_data(as_text=True)
    assert stored() == (1 if case in ("missing", "garbage") else 2)  # only what the test made


def test_threading_off_refuses_replies(app: Flask) -> None:
    save_settings({"thread_comments": False})
    post = factories.make_post()
    top = factories.make_comment(post)
    response = post_comment(reader(app), post, parent_id=str(top.id))
    assert response.status_code == 400
    assert "turned off" in page_text(response)


def test_save_my_details_is_opt_in_and_can_be_withdrawn(app: Flask) -> None:
    save_settings({"flood_interval_seconds": 0})
    post = factories.make_post()
    browser = reader(app)
    comment_id(post_comment(browser, post, name="Zoë", email="zoe@example.com"))
    assert 'value="Zoë"' not in browser.get(f"/blog/{post.slug}/").text
    comment_id(
        post_comment(
            browser, post, name="Zoë", email="zoe@example.com", url="https://zoe.example/",
            remember="yes",
        )
    )  # fmt: skip
    page = browser.get(f"/blog/{post.slug}/").text
    assert 'value="Zoë"' in page and 'value="zoe@example.com"' in page
    assert 'value="https://zoe.example/"' in page and 'value="yes" checked' in page
    cookie = browser.get_cookie("blog_comment_author")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    comment_id(post_comment(browser, post, name="Zoë", email="zoe@example.com"))
    assert browser.get_cookie("blog_comment_author") is None
    assert 'value="Zoë"' not in browser.get(f"/blog/{post.slug}/").text


def test_expired_csrf_token_keeps_the_typed_comment(make_app: Callable[..., Flask]) -> None:
    """A signed-in user's reply carries a token (an anonymous reader's does not: its page is
    shared, and the origin check protects it)."""
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        slug = factories.make_post().slug
        browser = login(reader(app), factories.make_user(role=Role.AUTHOR))
        typed = {"body": "Long thoughtful text"}
        response = browser.post(f"/blog/{slug}/comments", data={**typed, "csrf_token": "stale"})
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert "Your session expired" in page
        assert "Long thoughtful text</textarea>" in page
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        again = browser.post(f"/blog/{slug}/comments", data={**typed, "csrf_token": token.group(1)})
        assert again.status_code == 303
        missing = browser.post(f"/blog/{slug}/comments", data=typed)
        assert missing.status_code == 400 and "Long thoughtful text</textarea>" in missing.text
        assert stored() == 1


def test_own_pending_comment_cookie_is_signed(app: Flask) -> None:
    post = factories.make_post()
    held = factories.make_comment(post, status=CommentStatus.PENDING, body="Somebody's secret")
    browser = reader(app)
    browser.set_cookie("blog_commenter", f'{{"ids": [{held.id}]}}')
    assert "Somebody's secret" not in page_text(browser.get(f"/blog/{post.slug}/"))


def test_parent_deleted_between_the_check_and_the_insert_is_a_refusal(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blog.comments import submit as comments
    from blog.comments.policy import ParentFacts

    post = factories.make_post()
    # The race: the parent was approved when checked, and is gone when the reply is written.
    facts = ParentFacts(post_id=post.id, status=CommentStatus.APPROVED, depth=1)
    monkeypatch.setattr(comments, "_parent_facts", lambda *_args: facts)
    response = post_comment(reader(app), post, parent_id="424242", body="Orphan")
    assert response.status_code == 400
    assert "not available" in page_text(response)
    assert "Orphan</textarea>" in response.get_data(as_text=True)
    assert stored() == 0
