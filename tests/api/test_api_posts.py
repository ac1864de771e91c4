"""Writing posts over the API with a bearer token: the role matrix, validation, partial updates."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from blog.accounts.tokens import create_token
from blog.extensions import db
from blog.models import Comment, Post, Role, User, utcnow
from tests import factories
from tests.helpers import reseed, seeded


@pytest.fixture
def bearer(app: Flask, users: dict[Role, User]) -> Callable[[Role], dict[str, str]]:
    made: dict[Role, str] = {}

    def header(role: Role) -> dict[str, str]:
        if role not in made:
            made[role] = create_token(users[role].username).secret
        return {"Authorization": f"Bearer {made[role]}"}

    return header


def post_count() -> int:
    return db.session.scalar(select(func.count(Post.id))) or 0


def test_author_creates_a_published_post_with_terms(
    app: Flask, client: FlaskClient, users: dict[Role, User], bearer: Callable[..., Any]
) -> None:
    security = factories.make_category("Security")
    response = client.post(
        "/api/v1/posts",
        json={
            "title": "Über <b>news</b>",
            "body": "Hello **world** <script>alert(1)</script>",
            "status": "published",
            "categories": ["security"],
            "tags": ["Privacy", "privacy", " Browsers "],
            "comments_open": False,
        },
        headers=bearer(Role.AUTHOR),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["slug"] == "uber-b-news-b"
    assert response.headers["Location"] == f"http://localhost/api/v1/posts/{body['slug']}"
    assert body["status"] == "published" and body["comments_open"] is False
    assert "<strong>world</strong>" in body["body_html"] and "<script>" not in body["body_html"]
    assert body["body"].startswith("Hello **world**")
    assert body["author"]["slug"] == users[Role.AUTHOR].slug
    assert body["primary_category"]["slug"] == security.slug
    assert [t["name"] for t in body["tags"]] == ["Privacy", "Browsers"]
    assert "no-store" in response.headers["Cache-Control"]
    public = client.get(f"/api/v1/posts/{body['slug']}")
    assert public.status_code == 200 and public.get_json()["title"] == "Über <b>news</b>"


def test_draft_is_the_default_and_stays_hidden(
    app: Flask, client: FlaskClient, bearer: Callable[..., Any]
) -> None:
    response = client.post(
        "/api/v1/posts", json={"title": "Quiet", "body": "x"}, headers=bearer(Role.EDITOR)
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "draft" and body["published_at"] is None
    assert body["primary_category"]["slug"] == "uncategorized"
    assert client.get(f"/api/v1/posts/{body['slug']}").status_code == 404


def test_scheduled_post_from_an_iso_time(
    app: Flask, client: FlaskClient, bearer: Callable[..., Any]
) -> None:
    later = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    response = client.post(
        "/api/v1/posts",
        json={
            "title": "Later",
            "body": "x",
            "status": "published",
            "published_at": later.astimezone(datetime.now(UTC).astimezone().tzinfo).isoformat(),
        },
        headers=bearer(Role.EDITOR),
    )
    assert response.status_code == 201
    assert response.get_json()["published_at"] == later.isoformat().replace("+00:00", "Z")
    assert client.get(f"/api/v1/posts/{response.get_json()['slug']}").status_code == 404


def test_invalid_posts_are_400_with_fields_and_nothing_is_saved(
    app: Flask, client: FlaskClient, bearer: Callable[..., Any]
) -> None:
    headers = bearer(Role.EDITOR)
    cases = [
        ({"title": "", "body": "x"}, "title"),
        ({"title": "x" * 301, "body": "x"}, "title"),
        ({"title": "T", "status": "live"}, "status"),
        ({"title": "T", "published_at": "yesterday"}, "published_at"),
        ({"title": "T", "categories": ["no-such"]}, "categories"),
        ({"title": "T", "categories": "security"}, "categories"),
        ({"title": "T", "tags": [1, 2]}, "tags"),
        ({"title": "T", "comments_open": "yes"}, "comments_open"),
        ({"title": "T", "author": "nobody"}, "author"),
        ({"title": 5}, "title"),
    ]
    for data, field in cases:
        response = client.post("/api/v1/posts", json=data, headers=headers)
        assert response.status_code == 400, data
        assert field in response.get_json()["error"]["fields"], (data, response.get_json())
    factories.make_post(title="Taken")
    taken = client.post("/api/v1/posts", json={"title": "T", "slug": "taken"}, headers=headers)
    assert taken.status_code == 400 and "slug" in taken.get_json()["error"]["fields"]
    assert post_count() == 1


def test_role_matrix_for_writing(
    app: Flask,
    client: FlaskClient,
    users: dict[Role, User],
    bearer: Callable[..., Any],
) -> None:
    editors_post = factories.make_post(users[Role.EDITOR], title="Editors post")
    authors_post = factories.make_post(users[Role.AUTHOR], title="Authors post")
    new = {"title": "New", "body": "x"}
    assert client.post("/api/v1/posts", json=new).status_code == 401
    assert client.post("/api/v1/posts", json=new, headers=bearer(Role.MODERATOR)).status_code == 403

    author = bearer(Role.AUTHOR)
    url = f"/api/v1/posts/{editors_post.slug}"
    assert client.patch(url, json={"title": "Mine now"}, headers=author).status_code == 403
    assert client.delete(url, headers=author).status_code == 403
    give_away = client.patch(
        f"/api/v1/posts/{authors_post.slug}", json={"author": "editor"}, headers=author
    )
    assert give_away.status_code == 403
    assert client.patch(url, json={"title": "x"}).status_code == 401
    assert client.delete(url, headers={"Authorization": "Bearer blog_x"}).status_code == 401

    editor = bearer(Role.EDITOR)
    moved = client.patch(
        f"/api/v1/posts/{authors_post.slug}", json={"author": "editor"}, headers=editor
    )
    assert moved.status_code == 200
    assert moved.get_json()["author"]["display_name"] == users[Role.EDITOR].display_name
    db.session.expire_all()
    assert db.session.get(Post, editors_post.id).title == "Editors post"  # type: ignore[union-attr]


def test_patch_changes_only_the_given_fields(
    app: Flask, client: FlaskClient, users: dict[Role, User], bearer: Callable[..., Any]
) -> None:
    security = factories.make_category("Security")
    news = factories.make_category("News")
    post = factories.make_post(
        users[Role.AUTHOR],
        title="Original",
        body="Old body",
        categories=[security, news],
        tags=["Keep"],
    )
    published = post.published_at
    headers = bearer(Role.AUTHOR)
    response = client.patch(
        f"/api/v1/posts/{post.slug}", json={"body": "New *body*"}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["title"] == "Original" and body["slug"] == post.slug
    assert "<em>body</em>" in body["body_html"] and body["excerpt"] == "New body"
    assert [c["slug"] for c in body["categories"]] == ["security", "news"]
    assert [t["name"] for t in body["tags"]] == ["Keep"]
    assert body["published_at"] == published.isoformat(timespec="seconds").replace("+00:00", "Z")

    narrowed = client.patch(
        f"/api/v1/posts/{post.slug}", json={"categories": ["news"]}, headers=headers
    ).get_json()
    assert [c["slug"] for c in narrowed["categories"]] == ["news"]
    assert narrowed["primary_category"]["slug"] == "news"

    renamed = client.patch(
        f"/api/v1/posts/{post.slug}",
        json={"slug": "fresh-address", "status": "draft"},
        headers=headers,
    )
    assert renamed.status_code == 200 and renamed.get_json()["status"] == "draft"
    assert client.get("/api/v1/posts/fresh-address").status_code == 404
    assert client.patch("/api/v1/posts/original", json={}, headers=headers).status_code == 404
    again = client.patch(
        "/api/v1/posts/fresh-address", json={"status": "published"}, headers=headers
    )
    assert again.status_code == 200
    assert client.get("/api/v1/posts/fresh-address").status_code == 200


def test_delete_removes_the_post_and_its_comments(
    app: Flask, client: FlaskClient, users: dict[Role, User], bearer: Callable[..., Any]
) -> None:
    post = factories.make_post(users[Role.AUTHOR])
    factories.make_comments(post, 3)
    slug = post.slug
    response = client.delete(f"/api/v1/posts/{slug}", headers=bearer(Role.AUTHOR))
    assert response.status_code == 204
    assert post_count() == 0
    assert db.session.scalar(select(func.count(Comment.id))) == 0
    assert client.delete(f"/api/v1/posts/{slug}", headers=bearer(Role.AUTHOR)).status_code == 404


def editor_token_and_post() -> tuple[str, str]:
    factories.make_user(Role.EDITOR, username="editor")
    post = factories.make_post(title="Fuzz target")
    return create_token("editor").secret, post.slug


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(
        st.dictionaries(
            st.sampled_from(
                [
                    "title",
                    "body",
                    "excerpt",
                    "slug",
                    "status",
                    "published_at",
                    "comments_open",
                    "categories",
                    "primary_category",
                    "tags",
                    "author",
                ]
            ),
            st.one_of(
                st.none(),
                st.booleans(),
                st.integers(),
                st.text(max_size=40),
                st.sampled_from(
                    [
                        "published",
                        "draft",
                        "2025-01-01T00:00:00Z",
                        "9999-12-31T23:59:59-05:00",
                        "\x00",
                        "editor",
                        "uncategorized",
                    ]
                ),
                st.lists(st.text(max_size=10), max_size=3),
            ),
            max_size=6,
        ),
        st.lists(st.integers(), max_size=2),
    ),
    method=st.sampled_from(["POST", "PATCH"]),
)
def test_random_post_bodies_never_500_and_a_refusal_saves_nothing(
    app: Flask, data: Any, method: str
) -> None:
    secret, slug = seeded(app, "api-posts", editor_token_and_post)
    before = db.session.execute(select(Post.id, Post.slug, Post.title, Post.status)).all()
    url = "/api/v1/posts" if method == "POST" else f"/api/v1/posts/{slug}"
    response = app.test_client().open(
        url,
        method=method,
        data=json.dumps(data),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code in (200, 201, 400), response.get_data(as_text=True)
    db.session.rollback()
    if response.status_code == 200:
        reseed(app, "api-posts", (secret, response.get_json()["slug"]))
    if response.status_code == 400:
        after = db.session.execute(select(Post.id, Post.slug, Post.title, Post.status)).all()
        assert after == before
