"""The public reading side: home, post page, archives, error pages, pagination, query counts."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from blog.extensions import db
from blog.models import Category, CommentStatus, PostStatus, utcnow
from blog.settings import save_settings
from tests import factories


def text_of(response: Any) -> str:
    """The page's visible text, sidebar left out, tags removed and whitespace collapsed."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<script.*?</script>|<aside class=\"sidebar\".*?</aside>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_home_lists_published_posts_newest_first_with_meta(client: FlaskClient) -> None:
    old = factories.make_post(title="Older post", published_at=utcnow() - timedelta(days=2))
    new = factories.make_post(title="Newer post", published_at=utcnow() - timedelta(hours=1))
    factories.make_comment(new)
    response = client.get("/")
    assert response.status_code == 200
    page = text_of(response)
    assert page.index("Newer post") < page.index("Older post")
    assert "1 Comment" in page and "No Comments" in page
    assert new.author.display_name in page and old.author.display_name in page
    assert "Uncategorized" in page


def test_drafts_and_scheduled_posts_are_hidden_and_404(client: FlaskClient) -> None:
    draft = factories.make_post(title="Secret draft", status=PostStatus.DRAFT)
    later = factories.make_post(title="Future post", published_at=utcnow() + timedelta(days=1))
    page = text_of(client.get("/"))
    assert "Secret draft" not in page and "Future post" not in page
    assert client.get(f"/blog/{draft.slug}/").status_code == 404
    assert client.get(f"/blog/{later.slug}/").status_code == 404
    assert client.get("/blog/no-such-post/").status_code == 404


def test_scheduled_post_appears_once_its_time_has_come(client: FlaskClient, app: Flask) -> None:
    from blog.extensions import db

    post = factories.make_post(title="Timed post", published_at=utcnow() + timedelta(days=1))
    assert client.get(f"/blog/{post.slug}/").status_code == 404
    post.published_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get(f"/blog/{post.slug}/").status_code == 200


def test_post_page_shows_breadcrumbs_author_body_and_comments(client: FlaskClient) -> None:
    save_settings({"site_title": "Test Site"})
    parent = factories.make_category("Security")
    child = factories.make_category("Malware", parent=parent)
    author = factories.make_user(display_name="Evans Asare")
    post = factories.make_post(
        author=author, title="A post", body="Hello **world**", categories=[child], tags=["uk"]
    )
    factories.make_comment(post, body="First!", author_name="Ann")
    factories.make_comment(post, body="Second.", author_name="Ben")
    response = client.get(f"/blog/{post.slug}/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = text_of(response)
    crumbs = re.search(r'<nav class="breadcrumbs.*?</nav>', html, re.S)
    assert crumbs is not None
    labels = re.findall(r">([^<>]+)</(?:a|span)>", crumbs.group(0))
    assert labels == ["Test Site", "Blog", "Security", "Malware", "A post"]
    links = re.findall(r'href="([^"]+)"', crumbs.group(0))
    assert links == ["/", "/blog/", "/category/security/", "/category/security/malware/"]
    assert "Posted by: Evans Asare" in page
    assert "Author: Evans Asare" in page
    assert "<strong>world</strong>" in html
    assert "2 Comments" in page and "First!" in page and "Second." in page
    assert "Leave a Reply" in page
    assert 'href="/tag/uk/"' in html


def test_breadcrumb_json_ld_lists_the_trail(client: FlaskClient) -> None:
    post = factories.make_post(title="Linked data")
    html = client.get(f"/blog/{post.slug}/").get_data(as_text=True)
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    [data] = [d for d in map(json.loads, blocks) if d["@type"] == "BreadcrumbList"]
    names = [item["name"] for item in data["itemListElement"]]
    assert names[1:] == ["Blog", "Uncategorized", "Linked data"]
    assert [item["position"] for item in data["itemListElement"]] == [1, 2, 3, 4]
    assert data["itemListElement"][1]["item"].endswith("/blog/")
    assert "item" not in data["itemListElement"][-1]


def test_post_title_with_markup_is_escaped_everywhere(client: FlaskClient) -> None:
    post = factories.make_post(title="</script><script>alert(1)</script>")
    html = client.get(f"/blog/{post.slug}/").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("approved", "label"), [(0, "No Comments"), (1, "1 Comment"), (2, "2 Comments")]
)
def test_comment_count_wording(client: FlaskClient, approved: int, label: str) -> None:
    post = factories.make_post()
    for _ in range(approved):
        factories.make_comment(post)
    factories.make_comment(post, status=CommentStatus.PENDING, body="held back")
    page = text_of(client.get(f"/blog/{post.slug}/"))
    assert label in page
    assert "held back" not in page


def test_replies_are_nested_under_their_parent(client: FlaskClient) -> None:
    post = factories.make_post()
    top = factories.make_comment(post, body="Top level")
    reply = factories.make_comment(post, body="A reply", parent=top)
    html = client.get(f"/blog/{post.slug}/").get_data(as_text=True)
    top_at = html.index(f'id="comment-{top.id}"')
    children_at = html.index('<ol class="children">', top_at)
    assert children_at < html.index(f'id="comment-{reply.id}"')
    assert "depth-2" in html


def test_closed_comments_show_no_form(client: FlaskClient) -> None:
    post = factories.make_post(comments_open=False)
    page = text_of(client.get(f"/blog/{post.slug}/"))
    assert "Comments are closed." in page
    assert "Leave a Reply" not in page


def test_pagination_ten_a_page(client: FlaskClient) -> None:
    start = utcnow() - timedelta(days=30)
    for i in range(23):
        factories.make_post(title=f"Paged {i:02d}", published_at=start + timedelta(hours=i))
    first = text_of(client.get("/"))
    assert "Paged 22" in first and "Paged 13" in first and "Paged 12" not in first
    third = client.get("/?page=3")
    assert third.status_code == 200
    assert "Paged 00" in text_of(third) and "Paged 03" not in text_of(third)
    assert client.get("/blog/?page=2").status_code == 200


@pytest.mark.parametrize("page", ["0", "-1", "99999", "abc", "1.5", "\uff11", "9" * 40])
def test_bad_page_numbers_are_404_not_500(client: FlaskClient, page: str) -> None:
    factories.make_post()
    for url in ("/", "/blog/", "/category/uncategorized/"):
        response = client.get(f"{url}?page={page}")
        assert response.status_code == 404, url
        assert "Page not found" in text_of(response)


def test_empty_site_home_page_is_fine(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "Nothing has been published yet." in text_of(response)


def test_category_archive_includes_child_categories(client: FlaskClient) -> None:
    parent = factories.make_category("News")
    child = factories.make_category("Local", parent=parent)
    factories.make_post(title="Parent post", categories=[parent])
    factories.make_post(title="Child post", categories=[child])
    factories.make_post(title="Elsewhere")
    page = text_of(client.get("/category/news/"))
    assert "Parent post" in page and "Child post" in page and "Elsewhere" not in page
    nested = text_of(client.get("/category/news/local/"))
    assert "Child post" in nested and "Parent post" not in nested
    assert client.get("/category/local/").status_code == 404  # the path must be the whole chain
    assert client.get("/category/nope/").status_code == 404


def test_tag_author_and_date_archives(client: FlaskClient) -> None:
    author = factories.make_user(username="writer", display_name="Wendy Writer")
    when = utcnow().replace(year=2024, month=3, day=15)
    factories.make_post(author=author, title="Tagged", tags=["Zero Day"], published_at=when)
    factories.make_post(title="Other")
    assert "Tagged" in text_of(client.get("/tag/zero-day/"))
    assert "Other" not in text_of(client.get("/tag/zero-day/"))
    by_author = text_of(client.get("/author/wendy-writer/"))
    assert "Wendy Writer" in by_author and "Tagged" in by_author and "Other" not in by_author
    assert "Tagged" in text_of(client.get("/archive/2024/"))
    assert "Tagged" in text_of(client.get("/archive/2024/03/"))
    assert "Tagged" not in text_of(client.get("/archive/2024/04/"))
    for missing in ("/tag/none/", "/author/nobody/", "/archive/2024/13/", "/archive/0/"):
        assert client.get(missing).status_code == 404, missing


def test_error_pages_use_the_site_layout(client: FlaskClient) -> None:
    save_settings({"site_title": "Layout Check"})
    response = client.get("/definitely/not/here")
    assert response.status_code == 404
    assert "Layout Check" in text_of(response)
    assert response.mimetype == "text/html"
    wrong_method = client.delete("/")
    assert wrong_method.status_code == 405


def test_every_page_has_title_canonical_and_description(client: FlaskClient) -> None:
    post = factories.make_post(title="Metadata post", body="Describe me please.")
    for url in ("/", "/blog/", f"/blog/{post.slug}/", "/category/uncategorized/"):
        html = client.get(url).get_data(as_text=True)
        assert re.search(r"<title>[^<]+</title>", html), url
        assert '<link rel="canonical"' in html, url
        assert '<meta name="description" content="' in html, url
    post_html = client.get(f"/blog/{post.slug}/").get_data(as_text=True)
    assert "Describe me please." in re.search(r'name="description" content="([^"]*)"', post_html)[1]


def test_security_headers_are_sent(client: FlaskClient) -> None:
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


# -- SQL query counts do not grow with data -------------------------------------------------


def _queries_for(client: FlaskClient, count_queries: Callable[[], Any], url: str) -> int:
    client.get(url)  # warm-up: first request compiles templates
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    return counter.count


def test_post_page_queries_do_not_grow_with_comments(
    client: FlaskClient, count_queries: Callable[[], Any]
) -> None:
    small = factories.make_post(title="Small")
    factories.make_comments(small, 1)
    large = factories.make_post(title="Large")
    factories.make_comments(large, 500)
    few = _queries_for(client, count_queries, f"/blog/{small.slug}/")
    many = _queries_for(client, count_queries, f"/blog/{large.slug}/")
    assert few == many
    assert many <= 8


def test_home_page_queries_do_not_grow_with_posts(
    client: FlaskClient, count_queries: Callable[[], Any]
) -> None:
    factories.make_post(title="Only one")
    one = _queries_for(client, count_queries, "/")
    author = factories.make_user()
    category = factories.make_category("Busy")
    for i in range(199):
        factories.make_post(author=author, title=f"Bulk {i}", categories=[category], commit=False)
    from blog.extensions import db

    db.session.commit()
    two_hundred = _queries_for(client, count_queries, "/")
    assert one == two_hundred
    assert _queries_for(client, count_queries, "/?page=5") == one
    assert _queries_for(client, count_queries, "/category/busy/") <= one + 2


def test_sidebar_lists_recent_posts_and_categories_with_counts(client: FlaskClient) -> None:
    parent = factories.make_category("Outer")
    child = factories.make_category("Inner", parent=parent)
    factories.make_post(title="In inner", categories=[child])
    factories.make_post(title="Hidden draft", categories=[child], status=PostStatus.DRAFT)
    html = client.get("/").get_data(as_text=True)
    sidebar = html[html.index('class="sidebar"') :]
    assert "In inner" in sidebar and "Hidden draft" not in sidebar
    assert 'href="/category/outer/inner/">Inner</a> <span class="count">(1)</span>' in sidebar
    assert ">Outer</a>" not in sidebar  # no published post directly in it


def test_sidebar_and_archive_counts_follow_a_change_made_by_another_worker(
    make_app: Callable[..., Flask],
) -> None:
    """The sidebar and the number of posts of an archive are kept per worker until the content
    version moves: a post published through another worker shows at once."""
    reader_side, writer_side = make_app(PAGE_CACHE=False), make_app()
    with reader_side.app_context():
        news = factories.make_category("News")
        for i in range(10):
            factories.make_post(title=f"News {i}", categories=[news])
        news_id = news.id
    client = reader_side.test_client()
    first = client.get("/category/news/").get_data(as_text=True)
    assert '<span class="count">(10)</span>' in first
    assert client.get("/category/news/?page=2").status_code == 404  # ten a page: one page
    with writer_side.app_context():
        category = db.session.get(Category, news_id)
        assert category is not None
        factories.make_post(title="News 10", categories=[category])
    again = client.get("/category/news/").get_data(as_text=True)
    assert '<span class="count">(11)</span>' in again and "News 10" in again
    assert client.get("/category/news/?page=2").status_code == 200  # the new total pages on


@pytest.mark.parametrize("large", [False, True])
def test_archives_list_the_same_posts_however_they_are_looked_up(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, large: bool
) -> None:
    from blog.posts import reading as posts

    monkeypatch.setattr(posts, "LARGE_ARCHIVE", 0 if large else 10**9)
    outer = factories.make_category("Outer")
    inner = factories.make_category("Inner", parent=outer)
    start = utcnow() - timedelta(days=30)
    for i in range(14):
        where = [outer] if i % 3 == 0 else [inner] if i % 3 == 1 else []
        tags = ["Odd"] if i % 2 else []
        at = start + timedelta(days=i)
        factories.make_post(title=f"Post {i:02}", categories=where, tags=tags, published_at=at)

    def titles(url: str) -> list[str]:
        return list(dict.fromkeys(re.findall(r"Post \d\d", text_of(client.get(url)))))

    in_outer = [f"Post {i:02}" for i in reversed(range(14)) if i % 3 != 2]
    assert titles("/category/outer/") + titles("/category/outer/?page=2") == in_outer
    assert titles("/tag/odd/") == [f"Post {i:02}" for i in reversed(range(14)) if i % 2]
