"""Where a state-changing request comes from (SPEC sections 2 and 5): Fetch Metadata, Origin as
the fallback; cross-site is refused with 403 and the typed text is kept."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from blog.accounts.tokens import create_token
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, Role, User
from blog.web.origin import origin_of, request_allowed
from tests import factories
from tests.commenting import comment_id, post_comment, reader
from tests.conftest import login

OWN = "http://localhost"
CROSS = {"Sec-Fetch-Site": "cross-site"}
TYPED = {"name": "Ann", "email": "ann@example.com", "body": "Words I would hate to lose."}


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "site", "origin", "allowed"),
    [
        ("GET", "cross-site", "https://evil.example", True),
        ("HEAD", "cross-site", None, True),
        ("POST", "same-origin", None, True),
        ("POST", "none", None, True),
        ("POST", "Same-Origin", "https://evil.example", True),
        ("POST", "cross-site", None, False),
        ("POST", "same-site", "http://sub.localhost", False),
        ("PUT", "cross-site", OWN, False),
        ("DELETE", "cross-site", None, False),
        ("PATCH", "garbage", None, False),
        ("POST", None, None, True),
        ("POST", None, OWN, True),
        ("POST", None, "http://localhost:80", True),
        ("POST", None, "HTTP://LOCALHOST", True),
        ("POST", None, "https://localhost", False),
        ("POST", None, "http://localhost:8080", False),
        ("POST", None, "https://evil.example", False),
        ("POST", None, "null", False),
        ("POST", None, "", False),
    ],
)
def test_only_requests_from_the_site_itself_may_change_anything(
    method: str, site: str | None, origin: str | None, allowed: bool
) -> None:
    assert request_allowed(method, site, origin, OWN) is allowed


def test_trusted_origins_may_post_from_their_pages() -> None:
    reader_site = "https://reader.example"
    assert request_allowed("POST", "cross-site", reader_site, OWN, {reader_site})
    assert request_allowed("POST", None, reader_site, OWN, {reader_site})
    assert request_allowed("POST", "cross-site", reader_site, OWN, {"*"})
    assert not request_allowed("POST", "cross-site", "https://other.example", OWN, {reader_site})
    assert not request_allowed("POST", "cross-site", None, OWN, {"*"})
    assert not request_allowed("POST", "cross-site", "null", OWN, {"*"})


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Blog.Example/path/?q=1", "https://blog.example"),
        ("https://blog.example:443", "https://blog.example"),
        ("http://blog.example:8000/", "http://blog.example:8000"),
        ("http://[::1]:5000", "http://[::1]:5000"),
        ("null", ""),
        ("ftp://blog.example", ""),
        ("http://[bad", ""),
        ("http://blog.example:99999", ""),
    ],
)
def test_origin_of(url: str, origin: str) -> None:
    assert origin_of(url) == origin


# --- the reply form ---------------------------------------------------------------------------


def stored() -> int:
    return db.session.scalar(select(func.count(Comment.id))) or 0


def test_a_cross_site_reply_is_refused_with_the_typed_text_kept(app: Flask) -> None:
    post = factories.make_post()
    refused = reader(app).post(f"/blog/{post.slug}/comments", data=TYPED, headers=CROSS)
    assert refused.status_code == 403
    page = refused.get_data(as_text=True)
    assert "sent from another site" in page
    assert "Words I would hate to lose.</textarea>" in page
    assert 'value="ann@example.com"' in page
    assert "no-store" in refused.headers["Cache-Control"]
    assert stored() == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://other.localhost"},
    ],
)
def test_a_reply_from_another_origin_is_refused(app: Flask, headers: dict[str, str]) -> None:
    post = factories.make_post()
    refused = reader(app).post(f"/blog/{post.slug}/comments", data=TYPED, headers=headers)
    assert refused.status_code == 403
    assert "Words I would hate to lose.</textarea>" in refused.get_data(as_text=True)
    assert stored() == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin", "Origin": OWN},
        {"Sec-Fetch-Site": "none"},
        {"Origin": OWN},
        {},
    ],
)
def test_a_reply_from_the_site_itself_is_posted(app: Flask, headers: dict[str, str]) -> None:
    post = factories.make_post()
    comment_id(reader(app).post(f"/blog/{post.slug}/comments", data=TYPED, headers=headers))
    assert stored() == 1


def test_behind_site_url_only_its_origin_counts_never_the_host(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(SITE_URL="https://blog.example/")
    with app.app_context():
        slug = factories.make_post().slug
        url = f"/blog/{slug}/comments"
        forged = reader(app).post(url, data=TYPED, headers={"Origin": OWN})
        assert forged.status_code == 403
        ok = reader(app).post(url, data=TYPED, headers={"Origin": "https://blog.example"})
        assert ok.status_code == 303


# --- every other form -------------------------------------------------------------------------


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_an_admin_action_from_another_site_is_refused_even_with_a_valid_token(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        post = factories.make_post()
        held = factories.make_comment(post, status=CommentStatus.PENDING)
        browser = login(app.test_client(), factories.make_user(role=Role.ADMIN))
        token = _token(browser.get("/admin/comments/").get_data(as_text=True))
        url = f"/admin/comments/{held.id}/approve"
        refused = browser.post(url, data={"csrf_token": token}, headers=CROSS)
        assert refused.status_code == 403
        db.session.expire_all()
        assert db.session.get(Comment, held.id).status == CommentStatus.PENDING  # type: ignore[union-attr]
        same = {"Sec-Fetch-Site": "same-origin"}
        assert browser.post(url, data={"csrf_token": token}, headers=same).status_code in (302, 303)
        db.session.expire_all()
        assert db.session.get(Comment, held.id).status == CommentStatus.APPROVED  # type: ignore[union-attr]


def test_a_post_form_sent_from_another_site_comes_back_filled_in_and_saves_nothing(
    client_as: Callable[[Role], FlaskClient],
) -> None:
    typed = {"title": "Cross-site title", "body": "A long draft nobody should lose."}
    typed["status"] = "draft"
    refused = client_as(Role.EDITOR).post("/admin/posts/new", data=typed, headers=CROSS)
    assert refused.status_code == 403
    page = refused.get_data(as_text=True)
    assert "sent from another site" in page
    assert "A long draft nobody should lose." in page and 'value="Cross-site title"' in page
    assert db.session.scalar(select(func.count(Post.id))) == 0


def test_a_comment_edit_from_another_site_keeps_the_typed_text(app: Flask) -> None:
    post = factories.make_post()
    author = reader(app)
    cid = comment_id(post_comment(author, post, name="Ann", body="Frist!"))
    refused = author.post(f"/comments/{cid}/edit", data={"body": "First, kept."}, headers=CROSS)
    assert refused.status_code == 403
    assert "First, kept.</textarea>" in refused.get_data(as_text=True)
    assert db.session.get(Comment, cid).body_source == "Frist!"  # type: ignore[union-attr]


def test_a_sign_in_from_another_site_is_refused(app: Flask, users: dict[Role, User]) -> None:
    form = {"username": users[Role.ADMIN].username, "password": factories.PASSWORD}
    refused = app.test_client().post("/login", data=form, headers=CROSS)
    assert refused.status_code == 403
    assert app.test_client().post("/login", data=form).status_code in (302, 303)


# --- the API ----------------------------------------------------------------------------------


def test_api_calls_with_a_bearer_token_are_not_checked(app: Flask, users: dict[Role, User]) -> None:
    secret = create_token(users[Role.ADMIN].username).secret
    created = app.test_client().post(
        "/api/v1/posts",
        json={"title": "By token", "body": "Text", "status": "draft"},
        headers={"Authorization": f"Bearer {secret}", **CROSS, "Origin": "https://tool.example"},
    )
    assert created.status_code == 201


def test_the_api_comment_post_is_open_to_the_cors_origins_only(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(API_CORS_ORIGINS="https://reader.example")
    with app.app_context():
        slug = factories.make_post().slug
        url = f"/api/v1/posts/{slug}/comments"
        allowed = {**CROSS, "Origin": "https://reader.example"}
        posted = reader(app).post(url, json=TYPED, headers=allowed)
        assert posted.status_code == 201
        assert posted.headers["Access-Control-Allow-Origin"] == "https://reader.example"
        other = {**CROSS, "Origin": "https://evil.example"}
        refused = reader(app).post(url, json=TYPED, headers=other)
        assert refused.status_code == 403
        assert "another site" in refused.get_json()["error"]["message"]
        assert stored() == 1
