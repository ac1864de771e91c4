"""Link previews and search engines: Open Graph, Twitter card and JSON-LD ``BlogPosting`` on
post pages, Open Graph on the home page; read by parsing the HTML (lxml) and the JSON-LD."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html

from blog.models import CommentStatus, Post
from blog.settings import save_settings
from tests import factories

SITE = "https://blog.example"
HOSTILE = "</script><script>alert(1)</script>"


@pytest.fixture
def site_client(make_app: Callable[..., Flask]) -> Any:
    app = make_app(SITE_URL=SITE)
    with app.app_context():
        save_settings({"site_title": "Cyber & Notes", "tagline": "Security, plainly"})
        yield app.test_client()


def parse(client: FlaskClient, url: str, **headers: str) -> Any:
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return lxml_html.fromstring(response.get_data(as_text=True))


def meta(page: Any) -> dict[str, str]:
    """Every Open Graph, article and Twitter tag of the head, by name."""
    found: dict[str, str] = {}
    for tag in page.xpath("/html/head/meta[@property or @name]"):
        key = tag.get("property") or tag.get("name")
        if key.startswith(("og:", "article:", "twitter:")):
            assert key not in found, f"{key} twice"
            found[key] = tag.get("content")
    return found


def json_ld(page: Any, kind: str) -> dict[str, Any]:
    blocks = [
        json.loads(script.text) for script in page.xpath("//script[@type='application/ld+json']")
    ]
    [found] = [block for block in blocks if block.get("@type") == kind]
    return found


def a_post(title: str = "Patch Tuesday", body: str = "Some *text*.") -> Post:
    author = factories.make_user(display_name="Ada Writer")
    return factories.make_post(
        author, title, body, published_at=datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
    )


def test_a_post_page_describes_the_post_for_link_previews(site_client: FlaskClient) -> None:
    post = a_post()
    factories.make_comment(post)
    factories.make_comment(post, status=CommentStatus.PENDING)
    page = parse(site_client, f"/blog/{post.slug}/", Host="evil.example")
    tags = meta(page)
    url = f"{SITE}/blog/{post.slug}/"
    assert tags["og:type"] == "article" and tags["og:title"] == "Patch Tuesday"
    assert tags["og:url"] == url and tags["og:site_name"] == "Cyber & Notes"
    assert tags["og:description"] == "Some text."
    assert tags["article:published_time"] == "2025-03-03T09:30:00+00:00"
    assert datetime.fromisoformat(tags["article:modified_time"]) >= datetime.fromisoformat(
        tags["article:published_time"]
    )
    assert tags["article:author"] == f"{SITE}/author/{post.author.slug}/"
    assert tags["twitter:card"] == "summary" and "og:image" not in tags
    posting = json_ld(page, "BlogPosting")
    assert posting["headline"] == "Patch Tuesday"
    assert posting["datePublished"] == "2025-03-03T09:30:00+00:00"
    assert posting["author"] == {
        "@type": "Person",
        "name": "Ada Writer",
        "url": f"{SITE}/author/{post.author.slug}/",
    }
    assert posting["publisher"]["name"] == "Cyber & Notes"
    assert posting["mainEntityOfPage"]["@id"] == url
    assert posting["commentCount"] == 1 and "image" not in posting
    assert json_ld(page, "BreadcrumbList")  # the breadcrumbs keep theirs


def test_a_post_with_an_image_gets_a_large_card_and_an_absolute_image(
    site_client: FlaskClient,
) -> None:
    post = a_post(
        body="Intro.\n\n![A diagram](/static/diagram.png)\n\n![Second](https://cdn.example/b.png)"
    )
    tags = meta(parse(site_client, f"/blog/{post.slug}/"))
    assert tags["twitter:card"] == "summary_large_image"
    assert tags["og:image"] == f"{SITE}/static/diagram.png"
    posting = json_ld(parse(site_client, f"/blog/{post.slug}/"), "BlogPosting")
    assert posting["image"] == [f"{SITE}/static/diagram.png"]
    remote = a_post("Remote", body="![Pic](https://cdn.example/a.png)")
    assert meta(parse(site_client, f"/blog/{remote.slug}/"))["og:image"] == (
        "https://cdn.example/a.png"
    )


def test_a_hostile_title_stays_text_in_every_tag_and_in_the_json_ld(
    site_client: FlaskClient,
) -> None:
    post = a_post(title=HOSTILE + ' "quoted" & <b>', body=HOSTILE)
    response = site_client.get(f"/blog/{post.slug}/")
    source = response.get_data(as_text=True)
    assert "<script>alert(1)" not in source
    page = lxml_html.fromstring(source)
    tags = meta(page)
    assert tags["og:title"] == tags["twitter:title"] == HOSTILE + ' "quoted" & <b>'
    posting = json_ld(page, "BlogPosting")
    assert posting["headline"] == HOSTILE + ' "quoted" & <b>'
    # Only our own scripts: the page's script elements are the ones the templates write.
    assert all(
        script.get("src") or script.get("type") == "application/ld+json"
        for script in page.xpath("//script")
    )
    ld = page.xpath("//script[@type='application/ld+json']")
    assert all("<" not in script.text and ">" not in script.text for script in ld)


def test_the_home_page_describes_the_site(site_client: FlaskClient) -> None:
    tags = meta(parse(site_client, "/", Host="evil.example"))
    assert tags["og:type"] == "website"
    assert tags["og:title"] == tags["og:site_name"] == "Cyber & Notes"
    assert tags["og:description"] == "Security, plainly"
    assert tags["og:url"] == f"{SITE}/"
    assert tags["twitter:card"] == "summary"


def test_dates_of_the_metadata_carry_the_sites_offset(site_client: FlaskClient) -> None:
    save_settings({"timezone": "America/New_York"})
    post = a_post()
    page = parse(site_client, f"/blog/{post.slug}/")
    assert meta(page)["article:published_time"] == "2025-03-03T04:30:00-05:00"
    assert json_ld(page, "BlogPosting")["datePublished"] == "2025-03-03T04:30:00-05:00"


def test_the_image_address_is_read_whole_from_any_alt_text(site_client: FlaskClient) -> None:
    post = a_post(body='Text.\n\n![a "b" > c src=/not.png](/static/x.png?w=1&h=2 "t > src=z")')
    tags = meta(parse(site_client, f"/blog/{post.slug}/"))
    assert tags["og:image"] == f"{SITE}/static/x.png?w=1&h=2"
    unsafe = a_post("Unsafe", body="![x](javascript:alert(1)) ![y](data:image/png;base64,AAAA)")
    assert "og:image" not in meta(parse(site_client, f"/blog/{unsafe.slug}/"))
