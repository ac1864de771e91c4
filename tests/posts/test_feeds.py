"""RSS 2.0 and Atom feeds, read back with feedparser as a feed reader would."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import feedparser
import pytest
from flask import Flask
from flask.testing import FlaskClient

from blog.models import CommentStatus, PostStatus, utcnow
from blog.settings import save_settings
from tests import factories

SITE = "https://blog.example.com"


@pytest.fixture
def site_app(make_app: Callable[..., Flask]) -> Any:
    application = make_app(SITE_URL=SITE)
    with application.app_context():
        yield application


@pytest.fixture
def site_client(site_app: Flask) -> FlaskClient:
    return site_app.test_client()


def read_feed(client: FlaskClient, url: str, mimetype: str = "application/rss+xml") -> Any:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == mimetype
    assert response.mimetype_params["charset"] == "utf-8"
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, (url, parsed.get("bozo_exception"))
    return parsed


def entry_titles(parsed: Any) -> list[str]:
    return [entry.title for entry in parsed.entries]


def test_posts_feed_lists_visible_posts_newest_first_with_absolute_links(
    site_client: FlaskClient,
) -> None:
    save_settings({"site_title": "Test Site", "tagline": "News & views"})
    author = factories.make_user(display_name="Evans Asare")
    old = factories.make_post(
        author=author, title="Older", published_at=utcnow() - timedelta(days=2)
    )
    factories.make_post(
        author=author,
        title="Newer",
        body="Hello **world**",
        published_at=utcnow() - timedelta(hours=1),
        tags=["uk"],
    )
    factories.make_post(title="A draft", status=PostStatus.DRAFT)
    factories.make_post(title="Scheduled", published_at=utcnow() + timedelta(days=1))

    for url, mimetype in (
        ("/feed/", "application/rss+xml"),
        ("/feed/atom/", "application/atom+xml"),
    ):
        parsed = read_feed(site_client, url, mimetype)
        assert parsed.feed.title == "Test Site"
        assert parsed.feed.link == f"{SITE}/"
        assert entry_titles(parsed) == ["Newer", "Older"]
        newer = parsed.entries[0]
        assert newer.link == f"{SITE}/blog/newer/"
        assert newer.author == "Evans Asare"
        assert "<strong>world</strong>" in newer.content[0].value
        assert {t.term for t in newer.tags} == {"Uncategorized", "uk"}
        assert parsed.entries[1].link == f"{SITE}/blog/{old.slug}/"
    rss = read_feed(site_client, "/feed/")
    assert rss.version == "rss20"
    assert rss.feed.subtitle == "News & views"
    atom = read_feed(site_client, "/feed/atom/", "application/atom+xml")
    assert atom.version == "atom10"
    self_links = [link.href for link in atom.feed.links if link.rel == "self"]
    assert self_links == [f"{SITE}/feed/atom/"]


def test_links_use_the_request_host_without_a_site_url(client: FlaskClient) -> None:
    factories.make_post(title="Hosted")
    response = client.get("/feed/", base_url="http://news.example.org")
    parsed = feedparser.parse(response.data)
    assert parsed.entries[0].link == "http://news.example.org/blog/hosted/"


def test_a_feed_holds_the_ten_newest_posts(client: FlaskClient) -> None:
    start = utcnow() - timedelta(days=20)
    for i in range(12):
        factories.make_post(title=f"Item {i:02d}", published_at=start + timedelta(days=i))
    titles = entry_titles(read_feed(client, "/feed/"))
    assert titles == [f"Item {i:02d}" for i in range(11, 1, -1)]


def test_category_feed_includes_sub_categories_only(site_client: FlaskClient) -> None:
    security = factories.make_category("Security")
    malware = factories.make_category("Malware", parent=security)
    other = factories.make_category("Gardening")
    factories.make_post(title="Top level", categories=[security])
    factories.make_post(title="Nested", categories=[malware])
    factories.make_post(title="Tomatoes", categories=[other])
    parsed = read_feed(site_client, "/category/security/feed/")
    assert sorted(entry_titles(parsed)) == ["Nested", "Top level"]
    assert parsed.feed.title.endswith("Security")
    assert parsed.feed.link == f"{SITE}/category/security/"
    nested = read_feed(site_client, "/category/security/malware/feed/atom/", "application/atom+xml")
    assert entry_titles(nested) == ["Nested"]
    assert site_client.get("/category/malware/feed/").status_code == 404
    assert site_client.get("/category/nope/feed/").status_code == 404


def test_post_comment_feed_has_approved_comments_only(site_client: FlaskClient) -> None:
    post = factories.make_post(title="Discussed")
    first = factories.make_comment(post, body="First <b>approved</b>", author_name="Ann")
    factories.make_comment(post, body="Second approved", author_name="Ben", parent=first)
    for status in (CommentStatus.PENDING, CommentStatus.SPAM, CommentStatus.TRASH):
        factories.make_comment(post, body=f"hidden {status.value}", status=status)
    for url, mimetype in (
        (f"/blog/{post.slug}/feed/", "application/rss+xml"),
        (f"/blog/{post.slug}/feed/atom/", "application/atom+xml"),
    ):
        parsed = read_feed(site_client, url, mimetype)
        assert parsed.feed.title == "Comments on: Discussed"
        assert sorted(entry_titles(parsed)) == ["By: Ann", "By: Ben"]
        bodies = " ".join(e.content[0].value for e in parsed.entries)
        assert "<b>approved</b>" in bodies and "hidden" not in bodies
        ann = next(e for e in parsed.entries if e.title == "By: Ann")
        assert ann.id == f"{SITE}/blog/discussed/#comment-{first.id}"
        assert ann.link == f"{SITE}/comments/{first.id}"
        landing = site_client.get(ann.link.removeprefix(SITE))
        assert landing.status_code == 302
        assert landing.headers["Location"].endswith(f"/blog/discussed/?cpage=1#comment-{first.id}")


def test_comments_of_hidden_posts_stay_out_of_every_feed(client: FlaskClient) -> None:
    draft = factories.make_post(title="Draft", status=PostStatus.DRAFT)
    later = factories.make_post(title="Later", published_at=utcnow() + timedelta(days=1))
    shown = factories.make_post(title="Shown")
    for post in (draft, later, shown):
        factories.make_comment(post, body=f"on {post.title}", author_name="Cy")
    factories.make_comment(shown, body="held", status=CommentStatus.PENDING)
    parsed = read_feed(client, "/comments/feed/")
    assert entry_titles(parsed) == ["Comment on Shown by Cy"]
    assert read_feed(client, "/comments/feed/atom/", "application/atom+xml").entries
    assert client.get(f"/blog/{draft.slug}/feed/").status_code == 404
    assert client.get(f"/blog/{later.slug}/feed/").status_code == 404
    assert client.get("/blog/no-such-post/feed/").status_code == 404


def test_hostile_and_odd_text_still_makes_a_valid_feed(client: FlaskClient) -> None:
    post = factories.make_post(
        title="Bell \x07 and vertical\x0btab ]]> <script>x</script>",
        body="Body ]]> with <script>alert(1)</script> & <iframe src=x></iframe> \ufffe text",
    )
    factories.make_comment(post, body="Reply ]]> <img src=x onerror=alert(1)>", author_name="\x01")
    for url in ("/feed/", "/feed/atom/", "/comments/feed/", f"/blog/{post.slug}/feed/"):
        mimetype = "application/atom+xml" if "atom" in url else "application/rss+xml"
        parsed = read_feed(client, url, mimetype)
        content = parsed.entries[0].content[0].value
        assert "<script" not in content and "<iframe" not in content and "<img" not in content
    titles = entry_titles(read_feed(client, "/feed/"))
    assert titles == ["Bell  and verticaltab ]]> <script>x</script>"]
    assert entry_titles(read_feed(client, "/comments/feed/")) == [
        f"Comment on {titles[0]} by Anonymous"
    ]


def test_pages_advertise_their_feeds(client: FlaskClient) -> None:
    category = factories.make_category("Security")
    post = factories.make_post(title="Advertised", categories=[category])

    def feed_links(url: str) -> list[str]:
        html = client.get(url).get_data(as_text=True)
        head = html[: html.index("</head>")]
        return re.findall(
            r'<link rel="alternate" type="application/rss\+xml"[^>]*href="([^"]+)"', head
        )

    assert feed_links("/") == ["/feed/", "/comments/feed/"]
    assert feed_links(f"/blog/{post.slug}/") == [
        "/feed/",
        "/comments/feed/",
        f"/blog/{post.slug}/feed/",
    ]
    assert feed_links("/category/security/")[-1] == "/category/security/feed/"
    for link in {*feed_links(f"/blog/{post.slug}/"), *feed_links("/category/security/")}:
        read_feed(client, link)


def test_feed_query_count_does_not_grow_with_posts(
    client: FlaskClient, count_queries: Callable[[], Any]
) -> None:
    post = factories.make_post(title="Only", tags=["a"])
    factories.make_comment(post)
    urls = [
        "/feed/",
        "/comments/feed/",
        f"/blog/{post.slug}/feed/",
        "/category/uncategorized/feed/",
    ]

    def measure() -> list[int]:
        counts = []
        for url in urls:
            client.get(url)  # the test's pending writes are committed before a request
            with count_queries() as counter:
                assert client.get(url).status_code == 200
            counts.append(counter.count)
        return counts

    few = measure()
    for i in range(15):
        other = factories.make_post(author=factories.make_user(), tags=[f"t{i}", "a"])
        factories.make_comment(other)
        factories.make_comment(post)
    assert measure() == few
