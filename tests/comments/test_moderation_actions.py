"""Row and bulk actions, reply and edit in the queue: statuses, events, counts and rights."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blog.comments.counts import find_drift
from blog.comments.moderation import (
    ModerationAction,
    ModerationError,
    moderate_comment,
    set_status,
)
from blog.extensions import db
from blog.models import Comment, CommentStatus, Role, User
from tests import factories
from tests.commenting import page_text
from tests.helpers import count_of, events_of, status_of

P, A, S, T = CommentStatus.PENDING, CommentStatus.APPROVED, CommentStatus.SPAM, CommentStatus.TRASH


@pytest.mark.parametrize(
    ("start", "action", "end", "count"),
    [
        (P, "approve", A, 1),
        (A, "unapprove", P, 0),
        (P, "spam", S, 0),
        (A, "spam", S, 0),
        (A, "trash", T, 0),
        (S, "trash", T, 0),
    ],
)
def test_row_action_changes_status_writes_an_event_and_keeps_the_count(
    moderator: FlaskClient,
    users: dict[Role, User],
    start: CommentStatus,
    action: str,
    end: CommentStatus,
    count: int,
) -> None:
    post = factories.make_post()
    comment = factories.make_comment(post, status=start)
    response = moderator.post(f"/admin/comments/{comment.id}/{action}?status={start.value}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/comments/?status={start.value}"
    assert status_of(comment.id) == end
    assert count_of(post) == count
    assert events_of(comment.id) == [(start, end, users[Role.MODERATOR].id)]
    assert "Comment " in page_text(moderator.get(response.headers["Location"]))  # the flash


@pytest.mark.parametrize(("before", "count"), [(A, 1), (P, 0)])
def test_not_spam_and_restore_return_to_the_status_before(
    moderator: FlaskClient, before: CommentStatus, count: int
) -> None:
    post = factories.make_post()
    comment = factories.make_comment(post, status=before)
    moderator.post(f"/admin/comments/{comment.id}/spam")
    assert count_of(post) == 0
    moderator.post(f"/admin/comments/{comment.id}/unspam")
    assert status_of(comment.id) == before and count_of(post) == count
    moderator.post(f"/admin/comments/{comment.id}/trash")
    moderator.post(f"/admin/comments/{comment.id}/restore")
    assert status_of(comment.id) == before and count_of(post) == count
    assert len(events_of(comment.id)) == 4


def test_action_that_does_not_apply_answers_409_and_changes_nothing(
    moderator: FlaskClient,
) -> None:
    post = factories.make_post()
    comment = factories.make_comment(post, status=A)
    for action, message in [
        ("approve", "already approved"),
        ("delete", "Only comments in spam or trash"),
        ("restore", "not in the trash"),
        ("unspam", "not marked as spam"),
    ]:
        response = moderator.post(f"/admin/comments/{comment.id}/{action}")
        assert response.status_code == 409
        assert message in page_text(response)
    assert status_of(comment.id) == A and count_of(post) == 1
    assert events_of(comment.id) == []


def test_delete_permanently_only_from_spam_or_trash_and_replies_move_up(
    moderator: FlaskClient,
) -> None:
    post = factories.make_post()
    top = factories.make_comment(post)
    middle = factories.make_comment(post, parent=top, status=T)
    reply = factories.make_comment(post, parent=middle)
    gone, top_id, reply_id = middle.id, top.id, reply.id
    assert moderator.post(f"/admin/comments/{gone}/delete").status_code == 303
    assert status_of(gone) is None
    assert db.session.scalar(select(Comment.parent_id).where(Comment.id == reply_id)) == top_id
    assert events_of(gone) == []
    assert count_of(post) == 2
    assert moderator.post(f"/admin/comments/{gone}/delete").status_code == 404


def test_bulk_action_applies_where_it_can_and_reports_the_rest(
    moderator: FlaskClient,
) -> None:
    first, second = factories.make_post(), factories.make_post()
    pending = [factories.make_comment(p, status=P) for p in (first, second, second)]
    approved = factories.make_comment(first)
    ids = [str(c.id) for c in (*pending, approved)]
    response = moderator.post("/admin/comments/bulk", data={"action": "approve", "ids": ids})
    assert response.status_code == 303
    assert "3 comments approved; 1 left as they were." in page_text(
        moderator.get("/admin/comments/")
    )
    assert (count_of(first), count_of(second)) == (2, 2)
    moderator.post("/admin/comments/bulk", data={"action": "trash", "ids": ids})
    assert (count_of(first), count_of(second)) == (0, 0)
    moderator.post("/admin/comments/bulk", data={"action": "restore", "ids": ids})
    assert (count_of(first), count_of(second)) == (2, 2)
    assert find_drift() == []


@pytest.mark.parametrize(
    "data",
    [
        {"action": "approve"},
        {"action": "explode", "ids": ["1"]},
        {"ids": ["1"]},
        {"action": "approve", "ids": ["1", "x"]},
        {"action": "approve", "ids": ["99999999999999"]},
    ],
)
def test_bad_bulk_requests_answer_400_and_change_nothing(
    moderator: FlaskClient, data: dict[str, object]
) -> None:
    post = factories.make_post()
    comment = factories.make_comment(post, status=P)
    assert comment.id == 1
    response = moderator.post("/admin/comments/bulk", data=data)
    assert response.status_code == 400
    assert status_of(comment.id) == P and count_of(post) == 0


def test_anonymous_is_sent_to_login_and_nothing_changes(client: FlaskClient) -> None:
    post = factories.make_post()
    comment = factories.make_comment(post, status=P)
    response = client.post(f"/admin/comments/{comment.id}/approve")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert client.get("/admin/comments/").status_code == 302
    assert status_of(comment.id) == P


def test_author_moderates_only_comments_on_own_posts(
    users: dict[Role, User], client_as: Callable[[Role], FlaskClient]
) -> None:
    mine = factories.make_post(author=users[Role.AUTHOR], title="My own post")
    theirs = factories.make_post(title="Someone else's post")
    on_mine = factories.make_comment(mine, status=P, body="On mine")
    on_theirs = factories.make_comment(theirs, status=P, body="On theirs")
    author = client_as(Role.AUTHOR)
    queue = page_text(author.get("/admin/comments/"))
    assert "On mine" in queue and "On theirs" not in queue
    assert "Pending (1)" in queue
    assert author.post(f"/admin/comments/{on_theirs.id}/approve").status_code == 403
    ids = [str(on_mine.id), str(on_theirs.id)]
    author.post("/admin/comments/bulk", data={"action": "approve", "ids": ids})
    assert status_of(on_mine.id) == A and status_of(on_theirs.id) == P
    assert author.get(f"/admin/comments/?edit={on_theirs.id}").status_code == 403
    assert (
        author.post(f"/admin/comments/{on_theirs.id}/reply", data={"body": "x"}).status_code == 403
    )


def test_a_deactivated_moderator_is_signed_out_of_the_queue(app: Flask) -> None:
    from tests.conftest import login

    post = factories.make_post()
    comment = factories.make_comment(post, status=P)
    gone = login(app.test_client(), factories.make_user(role=Role.MODERATOR, active=False))
    assert gone.get("/admin/comments/").status_code == 302
    assert gone.post(f"/admin/comments/{comment.id}/approve").status_code == 302
    assert status_of(comment.id) == P


def test_queue_actions_need_a_csrf_token(make_app: Callable[..., Flask]) -> None:
    from tests.conftest import login

    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        post = factories.make_post()
        comment = factories.make_comment(post, status=P)
        moderator = factories.make_user(role=Role.MODERATOR)
        client = login(app.test_client(), moderator)
        refused = client.post(f"/admin/comments/{comment.id}/approve")
        assert refused.status_code == 400
        assert status_of(comment.id) == P
        page = client.get("/admin/comments/").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        done = client.post(
            f"/admin/comments/{comment.id}/approve", data={"csrf_token": token.group(1)}
        )
        assert done.status_code == 303
        assert status_of(comment.id) == A and count_of(post) == 1


def test_reply_from_the_queue_approves_the_parent_and_posts_an_approved_reply(
    moderator: FlaskClient, users: dict[Role, User]
) -> None:
    post = factories.make_post()
    parent = factories.make_comment(post, status=P, author_name="Ann")
    form = moderator.get(f"/admin/comments/?reply={parent.id}")
    assert "Reply to Ann" in page_text(form)
    response = moderator.post(f"/admin/comments/{parent.id}/reply", data={"body": "Thanks!"})
    assert response.status_code == 303
    reply = db.session.scalars(select(Comment).where(Comment.parent_id == parent.id)).one()
    assert reply.status == A and reply.user_id == users[Role.MODERATOR].id
    assert status_of(parent.id) == A
    assert count_of(post) == 2


def test_empty_reply_changes_nothing_and_reply_to_spam_is_refused(moderator: FlaskClient) -> None:
    post = factories.make_post()
    parent = factories.make_comment(post, status=P)
    empty = moderator.post(f"/admin/comments/{parent.id}/reply", data={"body": "  "})
    assert empty.status_code == 400
    assert "Please type your comment." in page_text(empty)
    assert status_of(parent.id) == P
    spam = factories.make_comment(post, status=S)
    refused = moderator.post(f"/admin/comments/{spam.id}/reply", data={"body": "Hello"})
    assert refused.status_code == 409
    assert db.session.scalars(select(Comment).where(Comment.parent_id.is_not(None))).all() == []


def test_edit_re_sanitizes_and_keeps_the_status(moderator: FlaskClient) -> None:
    post = factories.make_post()
    comment = factories.make_comment(post, body="Typo")
    form = moderator.get(f"/admin/comments/?status=approved&edit={comment.id}")
    assert "Typo</textarea>" in form.get_data(as_text=True)
    data = {"name": "Ann", "email": "ann@example.com", "url": "", "body": "Fixed <i>x</i><img>"}
    response = moderator.post(f"/admin/comments/{comment.id}/edit?status=approved", data=data)
    assert response.headers["Location"] == "/admin/comments/?status=approved"
    db.session.expire_all()
    edited = db.session.get(Comment, comment.id)
    assert edited is not None and edited.body_source == data["body"]
    assert edited.body_html == "<p>Fixed <i>x</i>&lt;img&gt;</p>"
    assert edited.status == A and count_of(post) == 1
    bad = moderator.post(
        f"/admin/comments/{comment.id}/edit", data={**data, "email": "nope", "body": "Kept"}
    )
    assert bad.status_code == 400
    assert "valid email address" in page_text(bad) and "Kept</textarea>" in bad.text


def test_domain_functions_refuse_the_impossible_and_report_no_change(app: Flask) -> None:
    post = factories.make_post()
    comment = factories.make_comment(post, status=A)
    assert set_status(comment.id, A, None) is False
    assert set_status(comment.id, S, None) is True
    with pytest.raises(ModerationError) as raised:
        moderate_comment(comment.id, ModerationAction.APPROVE, None)
    assert raised.value.status_code == 409
    with pytest.raises(ModerationError) as missing:
        set_status(123_456, A, None)
    assert missing.value.status_code == 404
    assert count_of(post) == 0
