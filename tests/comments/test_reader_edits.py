"""A reader's own comment over HTTP: preview, edit and delete within the window, revisions."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from blog.comments.counts import find_drift
from blog.extensions import db
from blog.models import (
    Comment,
    CommentRevision,
    CommentStatus,
    ModerationEvent,
    Role,
    User,
)
from blog.settings import save_settings
from tests import factories
from tests.commenting import comment_id, page_text, post_comment, reader
from tests.conftest import login
from tests.helpers import count_of

OPEN = {"comment_moderation": False, "comment_previously_approved": False}


def stored() -> int:
    return db.session.scalar(select(func.count(Comment.id))) or 0


def comment(cid: int) -> Comment:
    found = db.session.scalars(
        select(Comment).where(Comment.id == cid).execution_options(populate_existing=True)
    ).one()
    return found


def age(cid: int, minutes: int) -> None:
    """Make a comment ``minutes`` older, as if the reader came back later."""
    found = comment(cid)
    found.created_at = found.created_at - timedelta(minutes=minutes)
    db.session.commit()


# --- Preview ---------------------------------------------------------------------------------


def test_preview_shows_the_sanitized_comment_keeps_the_text_and_stores_nothing(
    app: Flask,
) -> None:
    post = factories.make_post()
    browser = reader(app)
    typed = "Look: <b>bold</b> <script>alert(1)</script>\n\nhttps://example.com"
    answer = post_comment(browser, post, name="Ann", body=typed, preview="1")
    assert answer.status_code == 200
    preview = answer.text.split('id="comment-preview"')[1].split("</div></div>")[0]
    assert "<b>bold</b>" in preview
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview and "<script>alert" not in preview
    assert 'href="https://example.com" rel="nofollow ugc noopener"' in preview
    assert f">{html.escape(typed, quote=False)}</textarea>" in answer.text
    assert 'value="Ann"' in answer.text
    assert "no-store" in answer.headers["Cache-Control"]
    assert stored() == 0
    assert "blog_commenter" not in str(answer.headers.getlist("Set-Cookie"))


def test_preview_of_nothing_says_so_and_stores_nothing(app: Flask) -> None:
    post = factories.make_post()
    answer = post_comment(reader(app), post, body="<!-- -->", preview="1")
    assert answer.status_code == 400
    assert "Nothing of your comment would show" in page_text(answer)
    assert stored() == 0


def test_instant_preview_answers_json_without_a_token_for_an_anonymous_reader(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        slug = factories.make_post().slug
    browser = reader(app)
    url = f"/blog/{slug}/comments/preview"
    done = browser.post(url, data={"body": "Hi <em>there</em>"})
    assert done.status_code == 200
    assert done.get_json() == {"html": "<p>Hi <em>there</em></p>"}
    empty = browser.post(url, data={"body": "  "})
    assert empty.status_code == 400 and empty.get_json()["error"] == "Please type your comment."
    assert browser.post("/blog/nothing-here/comments/preview", data={"body": "x"}).status_code in (
        400,
        404,
    )
    with app.app_context():
        assert stored() == 0


def test_instant_preview_needs_the_csrf_token_of_a_signed_in_user(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        slug = factories.make_post().slug
        browser = login(reader(app), factories.make_user(role=Role.AUTHOR))
        page = browser.get(f"/blog/{slug}/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        url = f"/blog/{slug}/comments/preview"
        refused = browser.post(url, data={"body": "Hi *there*"})
        assert refused.status_code == 400 and refused.mimetype == "text/html"
        done = browser.post(url, data={"body": "Hi <em>there</em>", "csrf_token": token.group(1)})
        assert done.status_code == 200
        assert done.get_json() == {"html": "<p>Hi <em>there</em></p>"}


# --- Editing ---------------------------------------------------------------------------------


def test_reader_edits_a_held_comment_within_the_window_and_the_old_text_is_kept(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    post = factories.make_post()
    author, stranger = reader(app), reader(app)
    cid = comment_id(post_comment(author, post, name="Ann", body="Frist!"))
    page = author.get(f"/blog/{post.slug}/")
    assert f'href="/comments/{cid}/edit">Edit</a>' in page.text
    assert "/edit" not in stranger.get(f"/blog/{post.slug}/").text

    form = author.get(f"/comments/{cid}/edit")
    assert form.status_code == 200 and "Frist!</textarea>" in form.text
    previewed = author.post(
        f"/comments/{cid}/edit", data={"body": "First <em>indeed</em>", "preview": "1"}
    )
    assert previewed.status_code == 200 and "<em>indeed</em>" in previewed.text
    assert comment(cid).body_source == "Frist!"

    saved = author.post(f"/comments/{cid}/edit", data={"body": "First!"})
    assert saved.status_code == 303
    assert saved.headers["Location"] == f"/blog/{post.slug}/#comment-{cid}"
    edited = comment(cid)
    assert edited.body_source == "First!" and edited.edited_at is not None
    assert edited.status == CommentStatus.PENDING
    revision = db.session.scalars(select(CommentRevision)).one()
    assert (revision.comment_id, revision.body_source, revision.editor_id) == (cid, "Frist!", None)
    assert revision.editor_name == "Ann"

    queue = client_as(Role.MODERATOR).get("/admin/comments/")
    assert (
        "Edited 1 time" in queue.text and "Frist!" in queue.text and "(the commenter)" in queue.text
    )


def test_editing_an_approved_comment_sends_it_back_through_moderation_with_exact_counts(
    app: Flask,
) -> None:
    save_settings({"flood_interval_seconds": 0})
    post = factories.make_post()
    author = reader(app)
    cid = comment_id(post_comment(author, post, name="Bo", body="Nice post."))
    from blog.comments.moderation import set_status

    set_status(cid, CommentStatus.APPROVED, None, "approved")
    assert count_of(post) == 1
    answer = author.post(f"/comments/{cid}/edit", data={"body": "Nice post. Buy pills here."})
    assert answer.status_code == 303
    edited = comment(cid)
    assert edited.status == CommentStatus.PENDING
    assert edited.held_reason == "held: manual moderation is on"
    assert count_of(post) == 0 and find_drift() == []
    last = db.session.scalars(
        select(ModerationEvent)
        .where(ModerationEvent.comment_id == cid)
        .order_by(ModerationEvent.id.desc())
    ).first()
    assert last is not None
    assert (last.from_status, last.to_status) == (CommentStatus.APPROVED, CommentStatus.PENDING)
    assert last.reason.startswith("edited: ")
    assert "awaiting moderation" in page_text(author.get(f"/blog/{post.slug}/"))


def test_an_edit_the_rules_accept_keeps_an_approved_comment_approved(app: Flask) -> None:
    save_settings({**OPEN, "flood_interval_seconds": 0})
    post = factories.make_post()
    author = reader(app)
    cid = comment_id(post_comment(author, post, body="Approved at once."))
    assert comment(cid).status == CommentStatus.APPROVED and count_of(post) == 1
    assert author.post(f"/comments/{cid}/edit", data={"body": "Still fine."}).status_code == 303
    assert comment(cid).status == CommentStatus.APPROVED and count_of(post) == 1
    # A disallowed word in the new text makes it spam, as it would a new comment.
    save_settings({"disallowed_keys": "casino"})
    assert author.post(f"/comments/{cid}/edit", data={"body": "Visit my casino"}).status_code == 303
    assert comment(cid).status == CommentStatus.SPAM and count_of(post) == 0
    assert find_drift() == []


def test_after_the_window_the_comment_cannot_be_edited_and_the_text_is_shown_back(
    app: Flask,
) -> None:
    post = factories.make_post()
    author = reader(app)
    cid = comment_id(post_comment(author, post, body="Original words"))
    age(cid, 16)
    assert "/edit" not in author.get(f"/blog/{post.slug}/").text
    assert author.get(f"/comments/{cid}/edit").status_code == 403
    late = author.post(f"/comments/{cid}/edit", data={"body": "Second thoughts"})
    assert late.status_code == 403
    assert "The time to edit or delete this comment has passed." in page_text(late)
    assert "Second thoughts</textarea>" in late.text  # nothing typed is lost
    assert author.post(f"/comments/{cid}/delete").status_code == 403
    assert comment(cid).body_source == "Original words"
    save_settings({"comment_edit_window_minutes": 30})
    assert author.get(f"/comments/{cid}/edit").status_code == 200
    save_settings({"comment_edit_window_minutes": 0})
    assert author.get(f"/comments/{cid}/edit").status_code == 403


def test_only_the_browser_that_wrote_it_may_edit_or_delete(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    post = factories.make_post()
    author, stranger = reader(app), reader(app)
    cid = comment_id(post_comment(author, post, body="Mine"))
    stranger.set_cookie("blog_commenter", "eyJpZHMiOlsxXX0.forged")
    for browser in (stranger, client_as(Role.ADMIN)):
        assert browser.get(f"/comments/{cid}/edit").status_code == 404
        assert browser.post(f"/comments/{cid}/edit", data={"body": "Theirs"}).status_code == 404
        assert browser.post(f"/comments/{cid}/delete").status_code == 404
    assert reader(app).get("/comments/999999/edit").status_code == 404
    assert comment(cid).body_source == "Mine"


def test_a_bad_edit_is_refused_beside_the_field_and_changes_nothing(app: Flask) -> None:
    post = factories.make_post()
    author = reader(app)
    cid = comment_id(post_comment(author, post, body="Keep me"))
    for body in ("", "   ", "<!-- nothing -->", "x" * 70_000):
        answer = author.post(f"/comments/{cid}/edit", data={"body": body})
        assert answer.status_code == 400
        assert 'class="form-error"' in answer.text
    assert comment(cid).body_source == "Keep me"
    assert db.session.scalar(select(func.count(CommentRevision.id))) == 0


# --- Deleting --------------------------------------------------------------------------------


def test_deleting_a_comment_without_replies_removes_it_and_its_count(app: Flask) -> None:
    save_settings({**OPEN, "flood_interval_seconds": 0})
    post = factories.make_post()
    author = reader(app)
    cid = comment_id(post_comment(author, post, body="Oops, wrong post."))
    assert count_of(post) == 1
    answer = author.post(f"/comments/{cid}/delete")
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/blog/{post.slug}/#comments"
    assert db.session.get(Comment, cid) is None
    assert count_of(post) == 0 and find_drift() == []
    assert "Oops" not in author.get(f"/blog/{post.slug}/").text
    assert author.get(f"/comments/{cid}/edit").status_code == 404


def test_deleting_a_comment_with_approved_replies_keeps_the_thread(app: Flask) -> None:
    save_settings({**OPEN, "flood_interval_seconds": 0})
    post = factories.make_post()
    author = reader(app)
    cid = comment_id(post_comment(author, post, name="Ann", body="Starting a thread."))
    reply = factories.make_comment(post, body="An answer", parent=comment(cid))
    held = factories.make_comment(
        post, body="A held answer", parent=comment(cid), status=CommentStatus.PENDING
    )
    assert count_of(post) == 2
    answer = author.post(f"/comments/{cid}/delete")
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/blog/{post.slug}/#comment-{cid}"
    kept = comment(cid)
    assert kept.body_source == "This comment was deleted."
    assert (kept.author_name, kept.author_email, kept.status) == ("", "", CommentStatus.APPROVED)
    assert kept.deleted_at is not None
    assert count_of(post) == 2 and find_drift() == []
    assert comment(reply.id).parent_id == cid and comment(held.id).parent_id == cid
    revision = db.session.scalars(select(CommentRevision)).one()
    assert revision.body_source == "Starting a thread."

    page = reader(app).get(f"/blog/{post.slug}/").text
    block = page.split(f'id="comment-{cid}"')[1]
    assert "This comment was deleted." in block and "Starting a thread." not in page
    assert f'id="comment-{reply.id}"' in block  # the reply is still nested under it
    assert f"/comments/{cid}/report" not in page and "Ann" not in block.split("<ol")[0]


def test_the_spam_filter_forgets_what_an_edited_comment_said(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    from blog.comments.spam.filter import load_model

    post = factories.make_post()
    author = reader(app)
    cid = comment_id(post_comment(author, post, body="Zebrafish are lovely"))
    assert client_as(Role.MODERATOR).post(f"/admin/comments/{cid}/approve").status_code == 303
    learned = load_model()
    assert learned.counts["w:zebrafish"][1] == 1  # a moderator's approval teaches it
    assert author.post(f"/comments/{cid}/edit", data={"body": "Axolotls too"}).status_code == 303
    model = load_model()
    assert model.counts.get("w:zebrafish", [0, 0])[1] == 0
    assert model.counts.get("w:axolotls", [0, 0])[1] == 0  # held again: no longer an example
    assert model.totals == [0, 0]  # nothing left of the one example it had


def test_a_moderators_correction_is_kept_as_a_revision_too(
    app: Flask, users: dict[Role, User], client_as: Callable[[Role], FlaskClient]
) -> None:
    post = factories.make_post()
    target = factories.make_comment(post, body="Teh original", author_name="Cy")
    moderator = client_as(Role.MODERATOR)
    fields = {"name": "Cy", "email": "reader@example.com", "body": "The original"}
    assert moderator.post(f"/admin/comments/{target.id}/edit", data=fields).status_code == 303
    revision = db.session.scalars(select(CommentRevision)).one()
    assert (revision.body_source, revision.editor_id) == ("Teh original", users[Role.MODERATOR].id)
    queue = moderator.get("/admin/comments/?status=approved").text
    assert "Edited 1 time" in queue and "Teh original" in queue
    assert "(the commenter)" not in queue
    assert "(edited)" in reader(app).get(f"/blog/{post.slug}/").text
    # Changing only the name is no edit of the text: no revision.
    fields["name"] = "Cy Young"
    assert moderator.post(f"/admin/comments/{target.id}/edit", data=fields).status_code == 303
    assert db.session.scalar(select(func.count(CommentRevision.id))) == 1


def test_edits_are_rate_limited_and_the_text_is_shown_back(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(RATELIMIT_ENABLED=True, EDIT_RATE_LIMIT="2 per minute")
    with app.app_context():
        slug = factories.make_post().slug
    author = reader(app)
    cid = comment_id(post_comment(author, slug, body="Draft 0"))
    for n in (1, 2):
        assert author.post(f"/comments/{cid}/edit", data={"body": f"Draft {n}"}).status_code == 303
    third = author.post(f"/comments/{cid}/edit", data={"body": "Draft 3"})
    assert third.status_code == 429 and "Retry-After" in third.headers
    assert "Draft 3</textarea>" in third.text
    assert "no-store" in author.get(f"/comments/{cid}/edit").headers["Cache-Control"]
    with app.app_context():
        assert comment(cid).body_source == "Draft 2"


def test_the_settings_page_offers_the_reader_settings(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    from blog.settings import Settings, load_settings
    from blog.settings_admin import form_values

    admin = client_as(Role.ADMIN)
    page = admin.get("/admin/settings/").text
    for name in (
        "comment_edit_window_minutes",
        "report_hold_threshold",
        "require_email_confirmation",
        "show_gravatar",
    ):
        assert f'name="{name}"' in page
    data = {k: v for k, v in form_values(Settings()).items() if v != ""}
    data.update(
        comment_edit_window_minutes="30",
        report_hold_threshold="0",
        require_email_confirmation="on",
        show_gravatar="on",
    )
    saving = admin.post("/admin/settings/", data=data)
    assert saving.status_code == 303, re.findall(r'class="field-error"[^>]*>([^<]*)<', saving.text)
    saved = load_settings()
    assert (saved.comment_edit_window_minutes, saved.report_hold_threshold) == (30, 0)
    assert saved.require_email_confirmation and saved.show_gravatar
    data["comment_edit_window_minutes"] = "-5"
    refused = admin.post("/admin/settings/", data=data)
    assert refused.status_code == 400 and load_settings().comment_edit_window_minutes == 30
