"""Readers report comments; enough reports hold one for moderation, counts staying exact."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from blog.comments.counts import find_drift
from blog.extensions import db
from blog.models import Comment, CommentReport, CommentStatus, ModerationEvent, Role
from blog.settings import save_settings
from tests import factories
from tests.commenting import page_text, reader
from tests.helpers import count_of, status_of


def reports() -> int:
    return db.session.scalar(select(func.count(CommentReport.id))) or 0


def report(browser: FlaskClient, cid: int, reason: str = "abuse", details: str = "") -> int:
    answer = browser.post(f"/comments/{cid}/report", data={"reason": reason, "details": details})
    return answer.status_code


def test_a_reader_reports_a_comment_with_a_reason_seen_in_the_queue(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    post = factories.make_post()
    target = factories.make_comment(post, body="Rude words")
    browser = reader(app)
    page = browser.get(f"/blog/{post.slug}/")
    assert f'href="/comments/{target.id}/report">Report</a>' in page.text
    form = browser.get(f"/comments/{target.id}/report")
    assert form.status_code == 200 and "Rude words" in form.text
    assert 'name="reason" value="spam"' in form.text

    missing = browser.post(f"/comments/{target.id}/report", data={"details": "why not"})
    assert missing.status_code == 400
    assert "Please choose why you report this comment." in page_text(missing)
    assert "why not</textarea>" in missing.text and reports() == 0
    too_long = report(browser, target.id, "other", "x" * 401)
    assert too_long == 400 and reports() == 0

    answer = browser.post(
        f"/comments/{target.id}/report", data={"reason": "abuse", "details": "  calls\x00 names "}
    )
    assert answer.status_code == 200 and "Thank you" in answer.text
    stored = db.session.scalars(select(CommentReport)).one()
    assert stored.reason == "Abusive, hateful or harassing: calls names"
    assert stored.ip == browser.environ_base["REMOTE_ADDR"]
    assert status_of(target.id) == CommentStatus.APPROVED  # one report holds nothing

    again = browser.post(f"/comments/{target.id}/report", data={"reason": "spam"})
    assert again.status_code == 409 and "reported this comment already" in page_text(again)
    assert reports() == 1

    queue = client_as(Role.MODERATOR).get("/admin/comments/?status=approved")
    row = queue.text.split(f'id="comment-{target.id}"')[1].split("</tr>")[0]
    assert "1 report<" in row and "calls names" in row


def test_three_reports_hold_a_comment_and_the_count_drops_exactly(
    app: Flask, client_as: Callable[[Role], FlaskClient]
) -> None:
    post = factories.make_post()
    target = factories.make_comment(post, body="Questionable")
    factories.make_comment(post, body="Fine")
    assert count_of(post) == 2
    for _ in range(2):
        assert report(reader(app), target.id) == 200
        assert status_of(target.id) == CommentStatus.APPROVED
    assert report(reader(app), target.id, "spam") == 200
    assert status_of(target.id) == CommentStatus.PENDING
    assert db.session.get(Comment, target.id).held_reason == "held: 3 reports"  # type: ignore[union-attr]
    assert count_of(post) == 1 and find_drift() == []
    event = db.session.scalars(
        select(ModerationEvent).where(
            ModerationEvent.comment_id == target.id, ModerationEvent.from_status.is_not(None)
        )
    ).one()  # the one change since the comment was created
    assert (event.from_status, event.to_status, event.actor_id) == (
        CommentStatus.APPROVED,
        CommentStatus.PENDING,
        None,
    )
    assert event.reason == "held: 3 reports"
    public = reader(app).get(f"/blog/{post.slug}/")
    assert "Questionable" not in public.text and "1 Comment" in public.text
    assert report(reader(app), target.id) == 404  # held comments cannot be reported

    moderator = client_as(Role.MODERATOR)
    queue = moderator.get("/admin/comments/")
    assert "held: 3 reports" in queue.text and "3 reports<" in queue.text
    assert moderator.post(f"/admin/comments/{target.id}/approve").status_code == 303
    assert count_of(post) == 2 and find_drift() == []
    # Approved again by a person: earlier reports are settled, counting starts afresh.
    assert report(reader(app), target.id) == 200
    assert status_of(target.id) == CommentStatus.APPROVED


def test_reports_never_hold_when_the_threshold_is_zero(app: Flask) -> None:
    save_settings({"report_hold_threshold": 0})
    post = factories.make_post()
    target = factories.make_comment(post)
    for _ in range(5):
        assert report(reader(app), target.id) == 200
    assert status_of(target.id) == CommentStatus.APPROVED and reports() == 5


def test_only_approved_comments_on_visible_posts_can_be_reported(app: Flask) -> None:
    post = factories.make_post()
    held = factories.make_comment(post, status=CommentStatus.PENDING)
    spam = factories.make_comment(post, status=CommentStatus.SPAM)
    browser = reader(app)
    for cid in (held.id, spam.id, 987_654):
        assert browser.get(f"/comments/{cid}/report").status_code == 404
        assert report(browser, cid) == 404
    assert reports() == 0


def test_reports_are_rate_limited(make_app: Callable[..., Flask]) -> None:
    app = make_app(RATELIMIT_ENABLED=True, REPORT_RATE_LIMIT="2 per minute")
    with app.app_context():
        post = factories.make_post()
        ids = [factories.make_comment(post, body=f"Comment {i}").id for i in range(3)]
    browser = reader(app)
    assert report(browser, ids[0]) == 200
    assert report(browser, ids[1]) == 200
    third = browser.post(f"/comments/{ids[2]}/report", data={"reason": "spam"})
    assert third.status_code == 429 and "Retry-After" in third.headers
    assert reader(app).get(f"/comments/{ids[2]}/report").status_code == 200  # GET is free
    with app.app_context():
        assert reports() == 2


def test_a_report_needs_the_csrf_token(make_app: Callable[..., Flask]) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        post = factories.make_post()
        cid = factories.make_comment(post).id
    browser = reader(app)
    assert report(browser, cid) == 400
    form = browser.get(f"/comments/{cid}/report")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    sent = browser.post(
        f"/comments/{cid}/report", data={"reason": "spam", "csrf_token": token.group(1)}
    )
    assert sent.status_code == 200
    with app.app_context():
        assert reports() == 1
