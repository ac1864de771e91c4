"""Posting a reply over the API: the HTML form's rules and codes, rate limits, CORS, bad bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from blog.accounts.tokens import create_token
from blog.extensions import db
from blog.models import Comment, CommentStatus, PostStatus, Role
from blog.settings import save_settings
from tests import factories
from tests.commenting import reader
from tests.helpers import seeded, snapshot

VALID = {"name": "Ann", "email": "ann@example.com", "body": "A fine reply."}


def stored() -> int:
    return db.session.scalar(select(func.count(Comment.id))) or 0


def send(client: FlaskClient, slug: str, body: Any, **kwargs: Any) -> Any:
    return client.post(f"/api/v1/posts/{slug}/comments", json=body, **kwargs)


def test_reply_is_stored_pending_and_not_listed_until_approved(app: Flask) -> None:
    post = factories.make_post()
    response = send(reader(app), post.slug, {**VALID, "url": "example.com/ann"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "pending" and isinstance(body["id"], int)
    comment = db.session.get(Comment, body["id"])
    assert comment is not None and comment.status == CommentStatus.PENDING
    assert comment.author_url == "http://example.com/ann"
    assert comment.ip_address.startswith("10.")
    listed = reader(app).get(f"/api/v1/posts/{post.slug}/comments").get_json()
    assert listed["items"] == []


def test_reply_to_an_approved_comment_and_counts_follow_approval(app: Flask) -> None:
    save_settings({"comment_moderation": False, "comment_previously_approved": False})
    post = factories.make_post()
    parent = factories.make_comment(post)
    response = send(reader(app), post.slug, {**VALID, "parent_id": parent.id})
    assert response.status_code == 201 and response.get_json()["status"] == "approved"
    items = reader(app).get(f"/api/v1/posts/{post.slug}/comments").get_json()["items"]
    assert [(c["parent_id"], c["depth"]) for c in items] == [(None, 1), (parent.id, 2)]
    counts = reader(app).get(f"/api/v1/comment-counts?slug={post.slug}").get_json()
    assert counts == {post.slug: 2}


def test_moderator_token_posts_approved_under_the_account_name(app: Flask) -> None:
    moderator = factories.make_user(Role.MODERATOR, username="mo", display_name="Mo Derator")
    secret = create_token("mo").secret
    post = factories.make_post()
    response = send(
        reader(app),
        post.slug,
        {"body": "Thanks, all."},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 201 and response.get_json()["status"] == "approved"
    comment = db.session.get(Comment, response.get_json()["id"])
    assert comment is not None
    assert (comment.author_name, comment.user_id) == ("Mo Derator", moderator.id)
    bad = send(reader(app), post.slug, VALID, headers={"Authorization": "Bearer blog_wrong"})
    assert bad.status_code == 401


def test_spam_verdict_answers_like_a_pending_comment(app: Flask) -> None:
    save_settings({"disallowed_keys": "casino"})
    post = factories.make_post()
    response = send(reader(app), post.slug, {**VALID, "body": "Best casino deals"})
    assert response.status_code == 201
    assert response.get_json() == {"id": response.get_json()["id"], "status": "pending"}
    comment = db.session.get(Comment, response.get_json()["id"])
    assert comment is not None and comment.status == CommentStatus.SPAM


def test_rejections_use_the_forms_codes_and_store_nothing(app: Flask) -> None:
    post = factories.make_post()
    closed = factories.make_post(comments_open=False)
    draft = factories.make_post(status=PostStatus.DRAFT)
    client = reader(app)

    invalid = send(client, post.slug, {"name": "", "email": "nope", "body": "", "url": "ftp://x"})
    assert invalid.status_code == 400
    error = invalid.get_json()["error"]
    assert error["code"] == "invalid_comment"
    assert set(error["fields"]) == {"name", "email", "body", "url"}

    too_long = send(client, post.slug, {**VALID, "name": "x" * 246})
    assert too_long.status_code == 400 and "245" in too_long.get_json()["error"]["fields"]["name"]
    wrong_parent = send(client, post.slug, {**VALID, "parent_id": 999_999})
    assert (
        wrong_parent.status_code == 400
        and "parent_id" in wrong_parent.get_json()["error"]["fields"]
    )
    typed = send(client, post.slug, {**VALID, "parent_id": "1", "name": 5, "notify_replies": "y"})
    assert typed.status_code == 400
    assert set(typed.get_json()["error"]["fields"]) == {"parent_id", "name", "notify_replies"}

    shut = send(client, closed.slug, VALID)
    assert shut.status_code == 403 and shut.get_json()["error"]["code"] == "comments_closed"
    for slug in (draft.slug, "no-such-post"):
        missing = send(client, slug, VALID)
        assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert stored() == 0

    save_settings({"flood_interval_seconds": 0})
    assert send(client, post.slug, VALID).status_code == 201
    duplicate = send(reader(app), post.slug, VALID)
    assert duplicate.status_code == 409
    assert duplicate.get_json()["error"]["code"] == "duplicate_comment"
    assert stored() == 1


def test_flood_is_429_with_retry_after(app: Flask) -> None:
    post = factories.make_post()
    client = reader(app)
    assert send(client, post.slug, VALID).status_code == 201
    again = send(client, post.slug, {**VALID, "body": "And another thing."})
    assert again.status_code == 429
    assert again.get_json()["error"]["code"] == "comment_flood"
    assert 1 <= int(again.headers["Retry-After"]) <= 15
    assert stored() == 1


def test_rate_limit_answers_json_429_with_retry_after(make_app: Callable[..., Flask]) -> None:
    app = make_app(RATELIMIT_ENABLED=True, API_COMMENT_RATE_LIMIT="2 per minute")
    with app.app_context():
        save_settings({"flood_interval_seconds": 0})
        slug = factories.make_post().slug
    client = app.test_client()
    answers = [send(client, slug, {**VALID, "body": f"Reply {n}"}) for n in range(3)]
    assert [r.status_code for r in answers] == [201, 201, 429]
    limited = answers[-1]
    assert limited.get_json()["error"]["code"] == "too_many_requests"
    assert int(limited.headers["Retry-After"]) >= 1
    # Reading is not limited.
    assert client.get(f"/api/v1/posts/{slug}/comments").status_code == 200


def test_malformed_bodies_are_clear_4xx(app: Flask) -> None:
    post = factories.make_post()
    url = f"/api/v1/posts/{post.slug}/comments"
    client = reader(app)
    cases = {
        "not json": (b"{name: 1}", "application/json", 400),
        "invalid utf-8": (b'{"body": "\xff\xfe"}', "application/json", 400),
        "raw nul byte": (b'{"body": "a\x00b"}', "application/json", 400),
        "a list": (b"[1, 2]", "application/json", 400),
        "lone surrogate": (
            b'{"body": "\\ud800", "name": "A", "email": "a@b.co"}',
            "application/json",
            400,
        ),
        "NaN": (b'{"body": NaN}', "application/json", 400),
        "deep": (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
        "form": (b"body=hi", "application/x-www-form-urlencoded", 415),
        "no type": (b"{}", "", 415),
        "huge": (json.dumps({"body": "x" * 2_000_000}).encode(), "application/json", 413),
    }
    for name, (raw, kind, status) in cases.items():
        response = client.post(url, data=raw, content_type=kind)
        assert response.status_code == status, name
        assert response.mimetype == "application/json", name
        assert set(response.get_json()["error"]) == {"code", "message", "fields"}
    escaped_nul = send(client, post.slug, {**VALID, "body": "a\u0000b"})
    assert escaped_nul.status_code == 201
    comment = db.session.get(Comment, escaped_nul.get_json()["id"])
    assert comment is not None and "\x00" not in comment.body_source
    assert stored() == 1


def test_cors_for_allowed_origins_only(make_app: Callable[..., Flask]) -> None:
    app = make_app(API_CORS_ORIGINS="https://reader.example, https://other.example/")
    with app.app_context():
        save_settings({"flood_interval_seconds": 0})
        slug = factories.make_post().slug
        factories.make_user(Role.ADMIN, username="root")
        secret = create_token("root").secret
    client = app.test_client()
    good, bad = {"Origin": "https://reader.example"}, {"Origin": "https://evil.example"}

    read = client.get(f"/api/v1/posts/{slug}", headers=good)
    assert read.headers["Access-Control-Allow-Origin"] == "https://reader.example"
    assert "ETag" in read.headers["Access-Control-Expose-Headers"]
    assert "Origin" in read.headers["Vary"]
    other = client.get("/api/v1/posts", headers={"Origin": "https://other.example"})
    assert other.headers["Access-Control-Allow-Origin"] == "https://other.example"
    assert "Access-Control-Allow-Origin" not in client.get("/api/v1/posts", headers=bad).headers

    preflight = client.options(
        f"/api/v1/posts/{slug}/comments",
        headers={**good, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://reader.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Authorization" not in preflight.headers["Access-Control-Allow-Headers"]
    refused = client.options(
        f"/api/v1/posts/{slug}/comments",
        headers={**bad, "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in refused.headers

    posted = send(client, slug, VALID, headers=good)
    assert posted.status_code == 201
    assert posted.headers["Access-Control-Allow-Origin"] == "https://reader.example"
    rejected = send(client, slug, {"body": ""}, headers=good)
    assert rejected.status_code == 400
    assert rejected.headers["Access-Control-Allow-Origin"] == "https://reader.example"

    # The token endpoints are not open to other origins, not even to allowed ones.
    for method, path in (("POST", "/api/v1/posts"), ("GET", "/api/v1/moderation/comments")):
        flight = client.options(path, headers={**good, "Access-Control-Request-Method": method})
        assert "Access-Control-Allow-Origin" not in flight.headers, path
    queue = client.get(
        "/api/v1/moderation/comments", headers={**good, "Authorization": f"Bearer {secret}"}
    )
    assert queue.status_code == 200 and "Access-Control-Allow-Origin" not in queue.headers


def test_no_cors_headers_by_default(app: Flask, client: FlaskClient) -> None:
    post = factories.make_post()
    response = client.get(f"/api/v1/posts/{post.slug}", headers={"Origin": "https://a.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options(
        f"/api/v1/posts/{post.slug}/comments",
        headers={"Origin": "https://a.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_any_origin_with_a_star(make_app: Callable[..., Flask]) -> None:
    app = make_app(API_CORS_ORIGINS="*")
    response = app.test_client().get("/api/v1/posts", headers={"Origin": "https://x.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://x.example"


# --- property-based --------------------------------------------------------------------------

scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=200),
    st.sampled_from(["", "\x00", "ann@example.com", "http://x", "x" * 300, "1", "🙂" * 70]),
)
member = st.recursive(scalar, lambda inner: st.lists(inner, max_size=3), max_leaves=5)
FIELDS = ["name", "email", "url", "body", "parent_id", "notify_replies", "extra"]
body = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), member, max_size=7),
    st.builds(
        lambda changed, n: {**VALID, "body": f"Reply {n}", **changed},
        st.dictionaries(st.sampled_from(FIELDS), member, max_size=2),
        st.integers(min_value=0),
    ),
    member,
)


def post_with_a_comment() -> str:
    save_settings({"flood_interval_seconds": 0})
    post = factories.make_post()
    factories.make_comment(post)
    return post.slug


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=body)
def test_random_json_never_500_and_a_refusal_stores_nothing(app: Flask, data: Any) -> None:
    slug = seeded(app, "api-json", post_with_a_comment)
    before = snapshot()
    response = app.test_client().post(
        f"/api/v1/posts/{slug}/comments", data=json.dumps(data), content_type="application/json"
    )
    assert response.status_code in (201, 400, 409), response.get_data(as_text=True)
    event(f"answered {response.status_code}")
    db.session.rollback()
    if response.status_code == 201:
        assert len(snapshot()[0]) == len(before[0]) + 1  # one comment more
    else:
        assert snapshot() == before


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=300))
def test_random_bytes_never_500(app: Flask, raw: bytes) -> None:
    slug = seeded(app, "api-bytes", lambda: factories.make_post().slug)
    before = stored()
    response = app.test_client().post(
        f"/api/v1/posts/{slug}/comments", data=raw, content_type="application/json"
    )
    assert response.status_code in (201, 400, 409, 429)
    assert response.get_json()["error"] if response.status_code != 201 else True
    db.session.rollback()
    if response.status_code != 201:
        assert stored() == before


def test_api_needs_no_csrf_token_while_a_cross_site_form_post_is_refused(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        slug = factories.make_post().slug
    client = app.test_client()
    assert send(client, slug, VALID).status_code == 201
    form = client.post(
        f"/blog/{slug}/comments",
        data={**VALID, "body": "Via the form"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert form.status_code == 403
