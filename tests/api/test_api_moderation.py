"""Moderation over the API with a bearer token: the role matrix, status changes, deleting."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from blog.accounts.tokens import create_token
from blog.extensions import db
from blog.models import Comment, CommentStatus, ModerationEvent, Post, Role, User
from tests import factories
from tests.helpers import seeded

QUEUE = "/api/v1/moderation/comments"


@pytest.fixture
def bearer(app: Flask, users: dict[Role, User]) -> Callable[[Role], dict[str, str]]:
    """The Authorization header of a token of the user of a role."""
    made: dict[Role, str] = {}

    def header(role: Role) -> dict[str, str]:
        if role not in made:
            made[role] = create_token(users[role].username).secret
        return {"Authorization": f"Bearer {made[role]}"}

    return header


def test_queue_needs_a_valid_token(app: Flask, client: FlaskClient) -> None:
    for headers in ({}, {"Authorization": "Bearer blog_nope"}, {"Authorization": "Basic x"}):
        response = client.get(QUEUE, headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_queue_lists_a_status_with_private_details_and_counts(
    app: Flask, client: FlaskClient, bearer: Callable[[Role], dict[str, str]]
) -> None:
    post = factories.make_post(title="Queue post")
    held = factories.make_comment(post, status=CommentStatus.PENDING, author_email="p@example.com")
    factories.make_comment(post)
    factories.make_comment(post, status=CommentStatus.SPAM)
    response = client.get(QUEUE, headers=bearer(Role.MODERATOR))
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_json()
    assert [c["id"] for c in body["items"]] == [held.id]
    item = body["items"][0]
    assert item["author"]["email"] == "p@example.com"
    assert item["author"]["ip_address"] == "127.0.0.1"
    assert item["post"] == {"id": post.id, "slug": post.slug, "title": "Queue post"}
    assert body["counts"] == {
        "pending": 1,
        "approved": 1,
        "spam": 1,
        "trash": 0,
        "unconfirmed": 0,
    }
    assert (body["total"], body["page"], body["pages"]) == (1, 1, 1)

    spam = client.get(f"{QUEUE}?status=spam", headers=bearer(Role.MODERATOR)).get_json()
    assert [c["status"] for c in spam["items"]] == ["spam"]
    wrong = client.get(f"{QUEUE}?status=held", headers=bearer(Role.MODERATOR))
    assert wrong.status_code == 400 and "status" in wrong.get_json()["error"]["fields"]
    assert client.get(f"{QUEUE}?page=2", headers=bearer(Role.MODERATOR)).status_code == 400
    found = client.get(f"{QUEUE}?q=p@example", headers=bearer(Role.MODERATOR)).get_json()
    assert found["total"] == 1
    other = client.get(f"{QUEUE}?post=nope", headers=bearer(Role.MODERATOR))
    assert other.status_code == 400


def test_authors_see_and_moderate_only_their_posts_comments(
    app: Flask,
    client: FlaskClient,
    users: dict[Role, User],
    bearer: Callable[[Role], dict[str, str]],
) -> None:
    own = factories.make_post(users[Role.AUTHOR], title="Mine")
    other = factories.make_post(users[Role.EDITOR], title="Theirs")
    mine = factories.make_comment(own, status=CommentStatus.PENDING)
    theirs = factories.make_comment(other, status=CommentStatus.PENDING)
    author = bearer(Role.AUTHOR)

    listed = client.get(QUEUE, headers=author).get_json()
    assert [c["id"] for c in listed["items"]] == [mine.id]
    assert listed["counts"]["pending"] == 1

    denied = client.post(f"{QUEUE}/{theirs.id}", json={"status": "approved"}, headers=author)
    assert denied.status_code == 403
    assert client.delete(f"{QUEUE}/{theirs.id}", headers=author).status_code == 403
    allowed = client.post(f"{QUEUE}/{mine.id}", json={"status": "approved"}, headers=author)
    assert allowed.status_code == 200 and allowed.get_json()["status"] == "approved"
    db.session.expire_all()
    assert db.session.get(Comment, theirs.id).status == CommentStatus.PENDING  # type: ignore[union-attr]

    editor = client.get(QUEUE, headers=bearer(Role.EDITOR)).get_json()
    assert [c["id"] for c in editor["items"]] == [theirs.id]


def test_status_change_writes_an_event_and_keeps_the_count(
    app: Flask,
    client: FlaskClient,
    users: dict[Role, User],
    bearer: Callable[[Role], dict[str, str]],
) -> None:
    post = factories.make_post()
    comment = factories.make_comment(post, status=CommentStatus.PENDING)
    headers = bearer(Role.MODERATOR)
    url = f"{QUEUE}/{comment.id}"
    for status, count in (("approved", 1), ("spam", 0), ("approved", 1), ("trash", 0)):
        response = client.post(url, json={"status": status}, headers=headers)
        assert response.status_code == 200
        assert response.get_json()["status"] == status
        db.session.expire_all()
        assert db.session.get(Post, post.id).comment_count == count  # type: ignore[union-attr]
        public = client.get(f"/api/v1/comment-counts?slug={post.slug}").get_json()
        assert public == {post.slug: count}
    events = db.session.scalars(
        select(ModerationEvent).where(ModerationEvent.comment_id == comment.id)
    ).all()
    assert [e.to_status for e in events][-4:] == [
        CommentStatus.APPROVED,
        CommentStatus.SPAM,
        CommentStatus.APPROVED,
        CommentStatus.TRASH,
    ]
    assert events[-1].actor_id == users[Role.MODERATOR].id

    same = client.post(url, json={"status": "trash"}, headers=headers)
    assert same.status_code == 200
    for bad in ({"status": "held"}, {"status": None}, {}, {"status": 3}):
        response = client.post(url, json=bad, headers=headers)
        assert response.status_code == 400 and "status" in response.get_json()["error"]["fields"]
    assert client.post(f"{QUEUE}/999999", json={"status": "spam"}, headers=headers).status_code == (
        404
    )
    assert client.post(url, data="status=spam", headers=headers).status_code == 415


def test_delete_only_from_spam_or_trash(
    app: Flask, client: FlaskClient, bearer: Callable[[Role], dict[str, str]]
) -> None:
    post = factories.make_post()
    approved = factories.make_comment(post)
    trashed = factories.make_comment(post, status=CommentStatus.TRASH)
    headers = bearer(Role.MODERATOR)
    refused = client.delete(f"{QUEUE}/{approved.id}", headers=headers)
    assert refused.status_code == 409
    assert "spam or trash" in refused.get_json()["error"]["message"]
    trashed_id = trashed.id
    done = client.delete(f"{QUEUE}/{trashed_id}", headers=headers)
    assert done.status_code == 204 and done.get_data() == b""
    db.session.expire_all()
    assert db.session.get(Comment, trashed_id) is None
    assert client.delete(f"{QUEUE}/{trashed_id}", headers=headers).status_code == 404
    assert client.delete(f"{QUEUE}/{approved.id}").status_code == 401


def test_queue_runs_a_constant_number_of_queries(
    app: Flask,
    client: FlaskClient,
    bearer: Callable[[Role], dict[str, str]],
    count_queries: Callable[[], Any],
) -> None:
    headers = bearer(Role.MODERATOR)
    post = factories.make_post()
    factories.make_comments(post, 3, status=CommentStatus.PENDING)  # one of them a reply

    def measure() -> int:
        with count_queries() as counter:
            assert client.get(f"{QUEUE}?per_page=100", headers=headers).status_code == 200
        return counter.count

    few = measure()
    assert few <= 10  # a small constant; what matters is that it does not grow
    for _ in range(5):
        other = factories.make_post()
        factories.make_comments(other, 10, status=CommentStatus.PENDING)
    assert measure() == few


def moderator_token_and_comments() -> tuple[str, list[int]]:
    factories.make_user(Role.MODERATOR, username="fuzz-mod")
    post = factories.make_post()
    ids = [factories.make_comment(post, status=s).id for s in CommentStatus]
    return create_token("fuzz-mod").secret, ids


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    target=st.one_of(st.integers(min_value=0, max_value=4), st.integers(min_value=0)),
    body=st.one_of(
        st.dictionaries(
            st.sampled_from(["status", "x"]),
            st.one_of(
                st.sampled_from(["approved", "pending", "spam", "trash", "APPROVED", ""]),
                st.none(),
                st.integers(),
                st.text(max_size=20),
                st.lists(st.text(max_size=3), max_size=2),
            ),
            max_size=2,
        ),
        st.lists(st.integers(), max_size=2),
        st.text(max_size=10),
    ),
    method=st.sampled_from(["POST", "DELETE"]),
)
def test_random_moderation_requests_never_500_and_keep_counts_exact(
    app: Flask, target: int, body: Any, method: str
) -> None:
    secret, ids = seeded(app, "api-moderation", moderator_token_and_comments)
    comment_id = ids[target] if target < len(ids) else target
    response = app.test_client().open(
        f"{QUEUE}/{comment_id}",
        method=method,
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code in (200, 204, 400, 404, 409), response.get_data(as_text=True)
    db.session.rollback()
    drift = db.session.scalar(
        select(func.count(Post.id)).where(
            Post.comment_count
            != select(func.count(Comment.id))
            .where(Comment.post_id == Post.id, Comment.status == CommentStatus.APPROVED)
            .scalar_subquery()
        )
    )
    assert drift == 0
