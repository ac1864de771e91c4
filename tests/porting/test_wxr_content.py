"""Imported content as WordPress showed it (issue 16): paragraphs, alignment, more and nextpage,
oEmbed addresses, pingbacks and trackbacks, category descriptions, times, site settings.

The fixture ``fixtures/wordpress-content.xml`` is a WordPress 6.1 export with one classic-editor
post (paragraphs after a heading, a table, a centred paragraph, an aligned image, YouTube and
Vimeo addresses on their own lines, a more tag, three pages, a comment, a reply, a pingback, a
trackback and a held pingback; sticky, the "aside" format) and one block-editor post (an embed
block, a centred paragraph on two lines, a more block).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from lxml import etree
from sqlalchemy import select

from blog.comments.counts import find_drift
from blog.extensions import db
from blog.models import Category, Comment, CommentType, Post
from blog.posts.search import search_posts
from blog.settings import load_settings
from tests.paths import ROOT, WXR_CONTENT_FIXTURE

FIXTURE = WXR_CONTENT_FIXTURE
WP = "{http://wordpress.org/export/1.2/}"
PINGER = "Linking Blog \u2013 A post about it"  # "&#8211;" in the file


def run(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=["blog", *args])
    db.session.expire_all()
    return result


def content_of(page: str) -> str:
    """The post's body and page links on a post page."""
    start = page.index('<div class="entry-content">')
    return page[start : page.index('<footer class="entry-footer">', start)]


def post(slug: str) -> Post:
    return db.session.scalars(select(Post).where(Post.slug == slug)).one()


def comments_by_author(slug: str) -> dict[str, Comment]:
    found = db.session.scalars(select(Comment).join(Post).where(Post.slug == slug))
    return {c.author_name: c for c in found}


@pytest.fixture
def imported(app: Flask) -> Any:
    result = run(app, "import-wxr", str(FIXTURE))
    assert result.exit_code == 0, result.output
    return result


def test_classic_posts_get_wordpress_paragraphs(imported: Any) -> None:
    body = post("classic-layout").body_html
    assert "<p>Intro line.</p>\n<h2>Heading</h2>\n<p>A line right after the heading.</p>" in body
    assert "<p></p>" not in body and "<p>\n<table>" not in body
    assert "</table>\n<p" in body


def test_block_editor_posts_are_not_given_paragraphs(imported: Any) -> None:
    body = post("block-embed").body_html
    # No <br>: WordPress does not autop block-editor content.
    assert '<p class="has-text-align-center">One paragraph\non two lines</p>' in body
    assert "wp:paragraph" not in body and "<!--more-->" not in body


def test_alignment_classes_and_text_align_are_kept(app: Flask, imported: Any) -> None:
    body = post("classic-layout").body_html
    assert '<p style="text-align: center;">Centred text</p>' in body
    assert '<img class="alignright size-medium wp-image-7"' in body
    assert '<p class="has-text-align-center">' in post("block-embed").body_html
    stylesheet = (ROOT / "static" / "style.css").read_text(encoding="utf-8")
    for rule in (".alignright", ".aligncenter", '[style="text-align: center;"]'):
        assert rule in stylesheet


def test_oembed_addresses_become_plain_links(imported: Any) -> None:
    classic, block = post("classic-layout").body_html, post("block-embed").body_html
    youtube = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    assert f'<p><a href="{youtube}" class="embed">{youtube}</a></p>' in classic
    assert '<a href="https://vimeo.com/76979871" class="embed">' in classic
    embedded = "https://www.youtube.com/watch?v=abc123"
    assert f'<a href="{embedded}" class="embed">{embedded}</a>' in block
    for body in (classic, block):
        assert "<iframe" not in body and "<script" not in body


def test_more_and_nextpage_are_kept_in_the_source(imported: Any) -> None:
    classic, block = post("classic-layout"), post("block-embed")
    assert "<p>Teaser ends here.</p>\n\n<!--more-->\n\n<p>Rest of page one.</p>" in (
        classic.body_source
    )
    assert classic.body_source.count("<!--nextpage-->") == 2
    assert "\n\n<!--more-->\n\n<p>After the teaser.</p>" in block.body_source
    assert "<!--more-->" not in classic.body_html


def test_nextpage_splits_the_post_into_pages_with_page_links(app: Flask, imported: Any) -> None:
    client = app.test_client()
    first = content_of(client.get("/blog/classic-layout/").get_data(as_text=True))
    assert "Rest of page one." in first and "Page two begins." not in first
    assert 'class="page-links"' in first and "Pages:" in first
    assert 'href="/blog/classic-layout/2/"' in first and 'href="/blog/classic-layout/3/"' in first
    second = client.get("/blog/classic-layout/2/")
    assert second.status_code == 200
    text = second.get_data(as_text=True)
    assert "Page two begins." in content_of(text) and "Intro line." not in content_of(text)
    assert 'href="/blog/classic-layout/"' in text
    assert '<link rel="canonical" href="http://localhost/blog/classic-layout/2/">' in text
    assert "Page three, the last." in client.get("/blog/classic-layout/3/").get_data(as_text=True)
    assert client.get("/blog/classic-layout/4/").status_code == 404
    one = client.get("/blog/classic-layout/1/")
    assert one.status_code == 301 and one.headers["Location"].endswith("/blog/classic-layout/")
    single = client.get("/blog/block-embed/").get_data(as_text=True)
    assert "page-links" not in single
    assert client.get("/blog/block-embed/2/").status_code == 404


def test_pingbacks_and_trackbacks_keep_their_type_and_count(imported: Any) -> None:
    found = comments_by_author("classic-layout")
    assert found["Grace"].comment_type is CommentType.COMMENT
    assert found["Ada"].comment_type is CommentType.COMMENT  # WordPress before 5.5 wrote ""
    assert found[PINGER].comment_type is CommentType.PINGBACK
    assert found["Tracking Site"].comment_type is CommentType.TRACKBACK
    assert found["Held Pinger"].comment_type is CommentType.PINGBACK
    # WordPress's comment_count: every approved comment, pingbacks and trackbacks included.
    assert post("classic-layout").comment_count == 4
    assert find_drift() == []


def test_linkbacks_are_labelled_without_reply_or_report_links(app: Flask, imported: Any) -> None:
    page = app.test_client().get("/blog/classic-layout/").get_data(as_text=True)
    found = comments_by_author("classic-layout")
    ping, track, reader = (
        found[PINGER],
        found["Tracking Site"],
        found["Grace"],
    )

    def item(comment: Comment) -> str:
        start = page.index(f'id="comment-{comment.id}"')
        return page[start : page.index("</article>", start)]

    assert "comment-linkback pingback" in page and "comment-linkback trackback" in page
    assert '<span class="comment-badge comment-type">Pingback</span>' in item(ping)
    assert '<span class="comment-badge comment-type">Trackback</span>' in item(track)
    for linkback in (ping, track):
        assert "comment-reply-link" not in item(linkback)
        assert "comment-report-link" not in item(linkback)
    assert "comment-reply-link" in item(reader) and "comment-report-link" in item(reader)
    assert "Held Pinger" not in page


def test_linkbacks_are_exported_with_their_type(app: Flask, imported: Any, tmp_path: Path) -> None:
    exported = tmp_path / "export.xml"
    assert run(app, "export-wxr", str(exported)).exit_code == 0
    root = etree.parse(str(exported), etree.XMLParser(resolve_entities=False)).getroot()
    types = {
        c.findtext(f"{WP}comment_author"): c.findtext(f"{WP}comment_type")
        for c in root.iter(f"{WP}comment")
    }
    assert types[PINGER] == "pingback"
    assert types["Tracking Site"] == "trackback"
    assert types["Grace"] == "comment"


def test_category_descriptions_keep_their_sanitized_markup(app: Flask, imported: Any) -> None:
    guides = db.session.scalars(select(Category).where(Category.slug == "guides")).one()
    assert "<strong>guides</strong>" in guides.description_html
    assert '<a href="https://old.example/help/">help</a>' in guides.description_html
    assert "<script" not in guides.description_html and "onclick" not in guides.description_html
    assert "<br>\nSecond line." in guides.description_html
    page = app.test_client().get("/category/guides/").get_data(as_text=True)
    assert '<div class="archive-description"><p>Step-by-step <strong>guides</strong>' in page
    assert "alert(1)" not in page


def test_every_time_is_the_one_in_the_file(imported: Any) -> None:
    found = comments_by_author("classic-layout")
    reply = found["Ada"]
    assert reply.parent_id == found["Grace"].id
    assert reply.created_at == datetime(2024, 4, 3, 10, 15, tzinfo=UTC)
    assert reply.updated_at == reply.created_at  # not the time of the import
    assert all(c.updated_at == c.created_at for c in found.values())
    classic = post("classic-layout")
    assert classic.updated_at == datetime(2024, 4, 20, 12, 30, tzinfo=UTC)
    assert classic.published_at == datetime(2024, 4, 1, 8, 0, tzinfo=UTC)


def test_site_settings_only_when_asked(app: Flask, imported: Any) -> None:
    assert load_settings().site_title == "My Blog"
    assert post("classic-layout").sticky is False and post("classic-layout").post_format == ""
    again = run(app, "import-wxr", "--site-settings", str(FIXTURE))
    assert again.exit_code == 0, again.output
    assert "posts: 0 imported, 2 already there" in again.output
    settings = load_settings()
    assert (settings.site_title, settings.tagline) == (
        "Field Notes & Co",
        "Notes from the old site",
    )
    classic = post("classic-layout")
    assert classic.sticky is True and classic.post_format == "aside"
    assert classic.updated_at == datetime(2024, 4, 20, 12, 30, tzinfo=UTC)
    assert post("block-embed").sticky is False
    page = app.test_client().get("/blog/classic-layout/").get_data(as_text=True)
    assert 'class="post sticky format-aside"' in page
    assert "<title>Classic layout &ndash; Field Notes &amp; Co</title>" in page


def test_site_settings_on_a_first_import(app: Flask) -> None:
    result = run(app, "import-wxr", "--site-settings", str(FIXTURE))
    assert result.exit_code == 0, result.output
    assert "site title, tagline, sticky posts and post formats: imported" in result.output
    assert post("classic-layout").sticky is True
    assert post("block-embed").post_format == ""


def test_importing_again_changes_nothing(app: Flask, imported: Any) -> None:
    def state() -> list[tuple[object, ...]]:
        posts = [
            (p.slug, p.body_source, p.body_html, p.updated_at, p.comment_count)
            for p in db.session.scalars(select(Post).order_by(Post.slug))
        ]
        comments = [
            (c.id, c.comment_type, c.status, c.parent_id, c.updated_at)
            for c in db.session.scalars(select(Comment).order_by(Comment.id))
        ]
        categories = [
            (c.slug, c.description, c.description_html)
            for c in db.session.scalars(select(Category))
        ]
        return [*posts, *comments, *categories]

    before = state()
    again = run(app, "import-wxr", str(FIXTURE))
    assert again.exit_code == 0, again.output
    assert "comments: 0 imported, 5 already there" in again.output
    assert state() == before


def test_a_round_trip_keeps_types_sticky_formats_and_descriptions(
    app: Flask, tmp_path: Path
) -> None:
    run(app, "import-wxr", "--site-settings", str(FIXTURE))
    exported = tmp_path / "export.xml"
    run(app, "export-wxr", str(exported))
    db.session.remove()
    db.drop_all()
    db.create_all()
    result = run(app, "import-wxr", "--site-settings", str(exported))
    assert result.exit_code == 0, result.output
    classic = post("classic-layout")
    assert classic.sticky is True and classic.post_format == "aside"
    assert "<!--nextpage-->" in classic.body_source
    found = comments_by_author("classic-layout")
    assert found["Tracking Site"].comment_type is CommentType.TRACKBACK
    guides = db.session.scalars(select(Category).where(Category.slug == "guides")).one()
    assert "<strong>guides</strong>" in guides.description_html


def test_resanitize_renders_category_descriptions_too(app: Flask, imported: Any) -> None:
    guides = db.session.scalars(select(Category).where(Category.slug == "guides")).one()
    guides.description_html = "<p>stale</p>"
    db.session.commit()
    result = run(app, "resanitize")
    assert result.exit_code == 0, result.output
    assert "categories: 1 of 1 re-rendered" in result.output
    db.session.refresh(guides)
    assert "<strong>guides</strong>" in guides.description_html


def test_search_finds_every_page_and_not_the_page_break(imported: Any) -> None:
    _, found = search_posts("last", 1, 10)
    assert [hit.post.slug for hit in found.items] == ["classic-layout"]  # on page three
    _, found = search_posts("nextpage", 1, 10)
    assert found.items == []
