"""The public JSON API: posts, a post, its comments, counts; lists, caching, errors, queries."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from blog import create_app
from blog.extensions import db
from blog.models import CommentStatus, PostStatus, Role, User, utcnow
from blog.settings import save_settings
from tests import factories


def error_of(response: Any) -> dict[str, Any]:
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:200]
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def test_posts_list_is_published_only_newest_first_with_authors_and_terms(
    app: Flask, client: FlaskClient
) -> None:
    ann = factories.make_user(Role.AUTHOR, username="ann", display_name="Ann Writer")
    security = factories.make_category("Security")
    now = utcnow()
    old = factories.make_post(ann, "Old news", published_at=now - timedelta(days=2))
    new = factories.make_post(
        ann, "Fresh news", categories=[security], tags=["Privacy"], published_at=now
    )
    factories.make_post(ann, "A draft", status=PostStatus.DRAFT)
    factories.make_post(ann, "Scheduled", published_at=now + timedelta(days=1))
    factories.make_comment(new)

    body = client.get("/api/v1/posts").get_json()
    assert [p["slug"] for p in body["items"]] == [new.slug, old.slug]
    assert (body["page"], body["per_page"], body["total"], body["pages"]) == (1, 10, 2, 1)
    first = body["items"][0]
    assert first["author"] == {  # the public slug, never the login name
        "slug": "ann-writer",
        "display_name": "Ann Writer",
        "url": "http://localhost/author/ann-writer/",
    }
    assert first["primary_category"]["slug"] == "security"
    assert [t["name"] for t in first["tags"]] == ["Privacy"]
    assert first["comment_count"] == 1
    assert first["url"] == f"http://localhost/blog/{new.slug}/"
    assert first["published_at"].endswith("Z") and "T" in first["published_at"]
    assert "body_html" not in first


def test_posts_list_filters_by_category_with_children_tag_and_author(
    app: Flask, client: FlaskClient
) -> None:
    parent = factories.make_category("Security")
    child = factories.make_category("Malware", parent=parent)
    ann = factories.make_user(username="ann", display_name="Ann Writer")
    in_child = factories.make_post(ann, "In child", categories=[child], tags=["Worms"])
    factories.make_post(title="Elsewhere")

    def slugs(query: str) -> list[str]:
        response = client.get(f"/api/v1/posts?{query}")
        assert response.status_code == 200, response.get_json()
        return [p["slug"] for p in response.get_json()["items"]]

    assert slugs("category=security") == [in_child.slug]
    assert slugs("category=malware") == [in_child.slug]
    assert slugs("tag=worms") == [in_child.slug]
    assert slugs("author=ann-writer") == [in_child.slug]
    assert slugs("author=ann-writer&tag=worms&category=security") == [in_child.slug]
    detail = client.get(f"/api/v1/posts/{in_child.slug}").get_json()
    assert detail["primary_category"]["path"] == "security/malware"

    for query, field in (
        ("category=nope", "category"),
        ("tag=nope", "tag"),
    ):
        response = client.get(f"/api/v1/posts?{query}")
        assert response.status_code == 400
        assert field in error_of(response)["fields"]


def test_search_with_q_ranks_and_marks_and_refuses_filters(app: Flask, client: FlaskClient) -> None:
    factories.make_post(title="Kaspersky closes its office", body="A security vendor leaves.")
    factories.make_post(title="Gardening", body="Tomatoes and kaspersky-free soil.")
    body = client.get("/api/v1/posts?q=kaspersky").get_json()
    assert body["items"][0]["title"] == "Kaspersky closes its office"
    assert body["total"] == 2
    assert "<mark>Kaspersky</mark>" in body["items"][0]["highlight"]["title_html"]
    for odd in ('"', "AND OR NOT", "-", "ünïcødé", "*", "%00", "'; DROP TABLE posts; --"):
        assert client.get("/api/v1/posts", query_string={"q": odd}).status_code == 200
    response = client.get("/api/v1/posts?q=kaspersky&tag=x")
    assert response.status_code == 400 and "q" in error_of(response)["fields"]


def test_paging_limits_and_bad_pages_are_400(app: Flask, client: FlaskClient) -> None:
    author = factories.make_user()
    for n in range(3):
        factories.make_post(author, f"Post {n}")
    body = client.get("/api/v1/posts?per_page=2&page=2").get_json()
    assert (len(body["items"]), body["total"], body["pages"]) == (1, 3, 2)
    assert client.get("/api/v1/posts?per_page=100").status_code == 200
    for query, field in (
        ("per_page=101", "per_page"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1e3", "page"),
        ("page=99999999999999", "page"),
        ("page=3&per_page=2", "page"),
    ):
        response = client.get(f"/api/v1/posts?{query}")
        assert response.status_code == 400, query
        assert field in error_of(response)["fields"], query
    too_many = client.get("/api/v1/posts?per_page=500").get_json()["error"]
    assert too_many["fields"]["per_page"] == "per_page must be between 1 and 100."


def test_empty_list_has_page_one_and_zero_pages(app: Flask, client: FlaskClient) -> None:
    body = client.get("/api/v1/posts").get_json()
    assert body == {"items": [], "page": 1, "per_page": 10, "total": 0, "pages": 0}


def test_post_detail_adds_body_breadcrumbs_and_comments_open(
    app: Flask, client: FlaskClient
) -> None:
    parent = factories.make_category("Security")
    child = factories.make_category("Malware", parent=parent)
    post = factories.make_post(title="Worm season", body="**bold** text", categories=[child])
    body = client.get(f"/api/v1/posts/{post.slug}").get_json()
    assert "<strong>bold</strong>" in body["body_html"]
    assert [c["label"] for c in body["breadcrumbs"]] == [
        "My Blog",
        "Blog",
        "Security",
        "Malware",
        "Worm season",
    ]
    assert body["breadcrumbs"][3]["url"] == "http://localhost/category/security/malware/"
    assert body["breadcrumbs"][-1]["url"] is None
    assert body["comments_open"] is True

    closed = factories.make_post(title="Closed", comments_open=False)
    assert client.get(f"/api/v1/posts/{closed.slug}").get_json()["comments_open"] is False
    old = factories.make_post(title="Old", published_at=utcnow() - timedelta(days=30))
    assert client.get(f"/api/v1/posts/{old.slug}").get_json()["comments_open"] is True
    save_settings({"close_comments_for_old_posts": True})
    assert client.get(f"/api/v1/posts/{old.slug}").get_json()["comments_open"] is False


def test_unpublished_and_unknown_posts_are_404_json(app: Flask, client: FlaskClient) -> None:
    draft = factories.make_post(status=PostStatus.DRAFT)
    later = factories.make_post(published_at=utcnow() + timedelta(hours=1))
    for slug in (draft.slug, later.slug, "no-such-post", "%00", "x" * 300, "%ff%fe"):
        for suffix in ("", "/comments"):
            response = client.get(f"/api/v1/posts/{slug}{suffix}")
            assert response.status_code == 404, slug
            assert error_of(response)["code"] == "not_found"


def test_comments_are_approved_only_in_thread_order_with_depth_and_no_private_data(
    app: Flask, client: FlaskClient
) -> None:
    post = factories.make_post()
    first = factories.make_comment(post, body="first", author_email="secret@example.com")
    held = factories.make_comment(post, body="held", status=CommentStatus.PENDING)
    second = factories.make_comment(post, body="second")
    reply = factories.make_comment(post, body="reply to first", parent=first)
    deeper = factories.make_comment(post, body="reply to reply", parent=reply)
    orphan = factories.make_comment(post, body="reply to held", parent=held)
    factories.make_comment(post, body="spam", status=CommentStatus.SPAM)

    response = client.get(f"/api/v1/posts/{post.slug}/comments")
    body = response.get_json()
    shape = [(c["id"], c["parent_id"], c["depth"]) for c in body["items"]]
    assert shape == [
        (first.id, None, 1),
        (reply.id, first.id, 2),
        (deeper.id, reply.id, 3),
        (second.id, None, 1),
        (orphan.id, None, 1),
    ]
    assert body["total"] == 5 and body["per_page"] == 50
    text = response.get_data(as_text=True)
    assert "secret@example.com" not in text and "127.0.0.1" not in text
    assert set(body["items"][0]) == {
        "id",
        "parent_id",
        "depth",
        "author",
        "body_html",
        "created_at",
        "url",
    }
    assert body["items"][0]["url"].endswith(f"/comments/{first.id}")  # the permalink

    page_two = client.get(f"/api/v1/posts/{post.slug}/comments?per_page=2&page=2").get_json()
    assert [c["id"] for c in page_two["items"]] == [deeper.id, second.id]
    assert client.get(f"/api/v1/posts/{post.slug}/comments?page=4&per_page=2").status_code == 400


def test_comment_counts_map_slugs_and_null_for_unknown(app: Flask, client: FlaskClient) -> None:
    a = factories.make_post(title="A")
    b = factories.make_post(title="B")
    draft = factories.make_post(title="Draft", status=PostStatus.DRAFT)
    factories.make_comments(a, 3)
    factories.make_comment(b, status=CommentStatus.PENDING)
    response = client.get(
        "/api/v1/comment-counts",
        query_string=[("slug", a.slug), ("slug", b.slug), ("slug", draft.slug), ("slug", "nope")],
    )
    assert response.get_json() == {a.slug: 3, b.slug: 0, draft.slug: None, "nope": None}
    # NUL can name no post; it is refused as malformed before any query, as JSON.
    nul = client.get("/api/v1/comment-counts", query_string=[("slug", "x\x00")])
    assert nul.status_code == 400 and "message" in error_of(nul)
    assert client.get("/api/v1/comment-counts").get_json() == {}
    too_many = [("slug", f"s{n}") for n in range(101)]
    response = client.get("/api/v1/comment-counts", query_string=too_many)
    assert response.status_code == 400 and "slug" in error_of(response)["fields"]


def test_reads_answer_304_until_content_changes(app: Flask, client: FlaskClient) -> None:
    post = factories.make_post()
    comment = factories.make_comment(post, status=CommentStatus.PENDING)
    urls = [
        "/api/v1/posts",
        f"/api/v1/posts/{post.slug}",
        f"/api/v1/posts/{post.slug}/comments",
        f"/api/v1/comment-counts?slug={post.slug}",
    ]
    tags = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["ETag"] and response.headers["Last-Modified"]
        assert "public" in response.headers["Cache-Control"]
        tags[url] = response.headers["ETag"]
        again = client.get(url, headers={"If-None-Match": tags[url]})
        assert again.status_code == 304 and again.get_data() == b""

    from blog.comments.moderation import ModerationAction, moderate_comment

    moderate_comment(comment.id, ModerationAction.APPROVE, None)
    for url in urls:
        fresh = client.get(url, headers={"If-None-Match": tags[url]})
        assert fresh.status_code == 200 and fresh.headers["ETag"] != tags[url]
    counts = client.get(urls[-1]).get_json()
    assert counts == {post.slug: 1}


def test_a_repeated_read_is_served_from_the_page_store_until_content_changes(
    app: Flask, client: FlaskClient, count_queries: Callable[[], Any]
) -> None:
    post = factories.make_post(title="Before")
    url = f"/api/v1/posts/{post.slug}"
    first = client.get(url)
    with count_queries() as counter:
        again = client.get(url)
    assert counter.count == 1 and again.get_data() == first.get_data()
    assert again.headers["ETag"] == first.headers["ETag"]
    post.title = "After"
    db.session.commit()
    assert client.get(url).get_json()["title"] == "After"
    other_host = client.get(url, base_url="http://blog.example")
    assert other_host.get_json()["url"].startswith("http://blog.example/")


def test_conditional_request_costs_one_query(
    app: Flask, client: FlaskClient, count_queries: Callable[[], Any]
) -> None:
    post = factories.make_post()
    url = f"/api/v1/posts/{post.slug}/comments"
    etag = client.get(url).headers["ETag"]
    with count_queries() as counter:
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert counter.count == 1


def test_list_endpoints_run_a_constant_number_of_queries(
    app: Flask, client: FlaskClient, count_queries: Callable[[], Any]
) -> None:
    categories = [factories.make_category(f"Cat {n}") for n in range(3)]
    authors = [factories.make_user() for _ in range(3)]
    target = factories.make_post(authors[0], categories=categories[:1], tags=["common"])
    factories.make_comments(target, 1)
    slugs = [target.slug]

    def measure() -> dict[str, int]:
        counts = {}
        urls = [
            "/api/v1/posts?per_page=50",
            "/api/v1/posts?tag=common&per_page=50",
            "/api/v1/posts?q=post&per_page=50",
            f"/api/v1/posts/{target.slug}",
            f"/api/v1/posts/{target.slug}/comments?per_page=100",
            "/api/v1/comment-counts?" + "&".join(f"slug={s}" for s in slugs),
        ]
        for n, url in enumerate(urls):
            with count_queries() as counter:
                assert client.get(url).status_code == 200
            counts[f"{n}: {url.split('?')[0]}"] = counter.count
        return counts

    few = measure()
    assert max(few.values()) <= 7, few
    for n in range(15):
        post = factories.make_post(
            authors[n % 3], categories=categories[: 1 + n % 3], tags=[f"t{n}", "common"]
        )
        factories.make_comments(post, 3)
        slugs.append(post.slug)
    factories.make_comments(target, 40)
    assert measure() == few


def test_errors_under_api_are_json_never_html(app: Flask, client: FlaskClient) -> None:
    post = factories.make_post()
    cases = [
        (client.get("/api/v1/nothing-here"), 404, "not_found"),
        (client.get("/api/v2/posts"), 404, "not_found"),
        (client.put("/api/v1/posts"), 405, "method_not_allowed"),
        (client.delete("/api/v1/comment-counts"), 405, "method_not_allowed"),
        (client.get("/api/v1/moderation/comments/abc"), 404, "not_found"),
        (client.post(f"/api/v1/posts/{post.slug}/comments", data="x"), 415, None),
        (
            client.post(
                f"/api/v1/posts/{post.slug}/comments", data="{", content_type="application/json"
            ),
            400,
            None,
        ),
    ]
    for response, status, code in cases:
        assert response.status_code == status
        found = error_of(response)
        if code:
            assert found["code"] == code
    assert cases[2][0].headers["Allow"]


def test_503_under_api_is_json(tmp_path: Path) -> None:
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/gone/db.sqlite3", "SECRET_KEY": "x"},
        instance_path=str(tmp_path / "instance"),
    )
    response = app.test_client().get("/api/v1/posts")
    assert response.status_code == 503
    assert error_of(response)["code"] == "service_unavailable"
    assert response.headers["Retry-After"]


def test_openapi_document_is_served_and_valid(app: Flask, client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    described = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    routed = {
        (re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1")), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi_document"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routed == described
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_signed_in_browser_session_grants_nothing_on_the_api(
    app: Flask, client_as: Callable[[Role], FlaskClient], users: dict[Role, User]
) -> None:
    admin = client_as(Role.ADMIN)
    response = admin.get("/api/v1/moderation/comments")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unexpected_error_is_a_json_500(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(TESTING=False)
    with app.app_context():
        slug = factories.make_post().slug

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("blog.api.comments.build_thread", broken)
    monkeypatch.setattr(app.logger, "disabled", True)
    response = app.test_client().get(f"/api/v1/posts/{slug}/comments")
    assert response.status_code == 500
    assert error_of(response)["code"] == "internal_error"
