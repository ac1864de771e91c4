"""``/sitemap.xml`` against the sitemap protocol's schema, and ``/robots.txt``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from blog.extensions import db
from blog.models import PostStatus, utcnow
from tests import factories
from tests.paths import FIXTURES

SITE = "https://blog.example.com"
NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
SCHEMA = etree.XMLSchema(etree.parse(str(FIXTURES / "sitemap.xsd")))
W3C_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


@pytest.fixture
def site_client(make_app: Callable[..., Flask]) -> Any:
    application = make_app(SITE_URL=SITE, SITEMAP_URLS_PER_FILE=12)
    with application.app_context():
        yield application.test_client()


def read_sitemap(client: FlaskClient, url: str) -> etree._Element:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == "application/xml"
    root = etree.fromstring(response.data)
    SCHEMA.assertValid(root)
    return root


def entries(root: etree._Element) -> dict[str, str | None]:
    """loc -> lastmod of a urlset."""
    assert root.tag == f"{NS}urlset"
    found: dict[str, str | None] = {}
    for url in root.iter(f"{NS}url"):
        lastmod = url.find(f"{NS}lastmod")
        found[url.findtext(f"{NS}loc") or ""] = lastmod.text if lastmod is not None else None
    return found


def test_sitemap_lists_visible_posts_and_archives_with_lastmod(site_client: FlaskClient) -> None:
    security = factories.make_category("Security")
    malware = factories.make_category("Malware", parent=security)
    factories.make_category("Empty")
    author = factories.make_user(username="evans", display_name="Evans Asare")
    post = factories.make_post(author=author, title="Listed", categories=[malware], tags=["uk"])
    post.updated_at = datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
    db.session.commit()
    factories.make_post(author=author, title="Draft", status=PostStatus.DRAFT, tags=["hidden"])
    factories.make_post(title="Later", published_at=utcnow() + timedelta(days=1))

    found = entries(read_sitemap(site_client, "/sitemap.xml"))
    assert found[f"{SITE}/blog/listed/"] == "2025-03-01T09:30:15+00:00"
    assert set(found) == {
        f"{SITE}/",
        f"{SITE}/blog/",
        f"{SITE}/blog/listed/",
        f"{SITE}/category/security/malware/",
        f"{SITE}/tag/uk/",
        f"{SITE}/author/evans-asare/",
    }
    assert all(value is not None and W3C_DATETIME.fullmatch(value) for value in found.values())
    assert found[f"{SITE}/category/security/malware/"] == "2025-03-01T09:30:15+00:00"


def test_many_posts_make_a_sitemap_index_of_files(site_client: FlaskClient) -> None:
    start = utcnow() - timedelta(days=40)
    slugs = {
        factories.make_post(title=f"Post {i:02d}", published_at=start + timedelta(days=i)).slug
        for i in range(30)
    }
    index = read_sitemap_index(site_client)
    files = [loc.removeprefix(SITE) for loc in index]
    assert files == [
        "/sitemap-archives.xml",
        "/sitemap-posts-1.xml",
        "/sitemap-posts-2.xml",
        "/sitemap-posts-3.xml",
    ]
    listed: list[str] = []
    for name in files[1:]:
        found = entries(read_sitemap(site_client, name))
        assert len(found) <= 12
        listed += found
    assert sorted(listed) == sorted(f"{SITE}/blog/{slug}/" for slug in slugs)
    archives = entries(read_sitemap(site_client, files[0]))
    assert f"{SITE}/" in archives and f"{SITE}/category/uncategorized/" in archives
    assert site_client.get("/sitemap-posts-4.xml").status_code == 404
    assert site_client.get("/sitemap-posts-0.xml").status_code == 404


def read_sitemap_index(client: FlaskClient) -> list[str]:
    root = read_sitemap(client, "/sitemap.xml")
    assert root.tag == f"{NS}sitemapindex"
    return [s.findtext(f"{NS}loc") or "" for s in root.iter(f"{NS}sitemap")]


def test_an_empty_site_has_a_valid_sitemap(client: FlaskClient) -> None:
    found = entries(read_sitemap(client, "/sitemap.xml"))
    assert set(found) == {"http://localhost/", "http://localhost/blog/"}


def test_robots_txt_points_at_the_sitemap(site_client: FlaskClient) -> None:
    response = site_client.get("/robots.txt")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "User-agent: *"
    assert "Disallow: /admin/" in lines
    assert f"Sitemap: {SITE}/sitemap.xml" in lines


def test_sitemap_query_count_does_not_grow_with_posts(
    client: FlaskClient, count_queries: Callable[[], Any]
) -> None:
    factories.make_post(title="First", tags=["a"])

    def measure() -> int:
        client.get("/sitemap.xml")  # the test's pending writes are committed before a request
        with count_queries() as counter:
            assert client.get("/sitemap.xml").status_code == 200
        return counter.count

    few = measure()
    for i in range(20):
        category = factories.make_category(f"Category {i}")
        factories.make_post(author=factories.make_user(), categories=[category], tags=[f"t{i}"])
    assert measure() == few
