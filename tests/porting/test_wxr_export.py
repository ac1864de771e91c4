"""``flask blog export-wxr``: a WXR 1.2 file WordPress's importer accepts and ours reads back."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from blog.comments.counts import find_drift
from blog.extensions import db
from blog.models import Category, Comment, CommentStatus, Post, PostStatus, Tag, utcnow
from blog.porting.wxr_export import NAMESPACES
from tests import factories
from tests.paths import WXR_FIXTURE

FIXTURE = WXR_FIXTURE
SITE = "https://blog.example.com"
WP = "{http://wordpress.org/export/1.2/}"


def run(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=["blog", *args])
    db.session.expire_all()
    assert result.exit_code == 0, result.output
    return result


def snapshot() -> dict[str, Any]:
    """Everything a reader or a moderator can tell apart, without database ids."""
    posts = db.session.scalars(
        select(Post).options(selectinload(Post.categories), selectinload(Post.tags))
    ).all()
    comments = db.session.scalars(select(Comment)).all()
    by_id = {c.id: c for c in comments}

    def key(comment: Comment | None) -> tuple[str, str, str] | None:
        if comment is None:
            return None
        return (comment.author_email, comment.created_at.replace(microsecond=0).isoformat(), "")

    return {
        "posts": {
            p.slug: (
                p.title,
                p.status,
                p.published_at and p.published_at.replace(microsecond=0),  # WXR has seconds
                p.updated_at.replace(microsecond=0),
                p.body_source,
                p.body_html,
                p.excerpt,
                p.primary_category.slug if p.primary_category else None,
                sorted(c.slug for c in p.categories),
                sorted(t.slug for t in p.tags),
                (p.author.username, p.author.display_name, p.author.email),
                p.comments_open,
                p.comment_count,
            )
            for p in posts
        },
        "categories": {
            c.slug: (c.name, c.parent.slug if c.parent else None, c.description)
            for c in db.session.scalars(select(Category))
        },
        "tags": {t.slug: t.name for t in db.session.scalars(select(Tag))},
        "comments": sorted(
            (
                c.post.slug,
                key(c),
                c.author_name,
                c.author_url,
                c.ip_address,
                c.body_source,
                c.body_html,
                c.status,
                key(by_id.get(c.parent_id)) if c.parent_id else None,
            )
            for c in comments
        ),
    }


def add_native_content() -> None:
    """Content written here rather than imported: Markdown, microseconds, odd characters."""
    parent = factories.make_category("Research")
    child = factories.make_category("Papers & notes", parent=parent)
    author = factories.make_user(username="writer", display_name="A <b>bold</b> writer")
    post = factories.make_post(
        author=author,
        title="Markdown ]]> and <tags> & ampersands",
        body="# Heading\n\nSome *emphasis*, a [link](https://example.com) and ]]> in the source.",
        categories=[child, parent],
        tags=["Zürich", "c++"],
        published_at=utcnow() - timedelta(hours=3, microseconds=123),
    )
    top = factories.make_comment(
        post, body="Native <em>reply</em> ]]> here", author_name="Tom & Ann"
    )
    factories.make_comment(post, body="Nested one", parent=top, author_name="Bo")
    factories.make_comment(post, body="Held back", status=CommentStatus.PENDING)
    factories.make_post(author=author, title="Native draft", status=PostStatus.DRAFT)


def test_export_then_import_into_an_empty_database_gives_the_same_content(
    app: Flask, tmp_path: Path
) -> None:
    run(app, "import-wxr", str(FIXTURE))
    add_native_content()
    before = snapshot()
    exported = tmp_path / "export.xml"
    result = run(app, "export-wxr", str(exported))
    assert "exported 15 post(s), 16 comment(s)" in result.output

    db.session.remove()
    db.drop_all()
    db.create_all()
    assert db.session.scalars(select(Post)).first() is None
    run(app, "import-wxr", str(exported))
    after = snapshot()
    assert after["categories"] == before["categories"]
    assert after["tags"] == before["tags"]
    assert after["comments"] == before["comments"]
    assert after["posts"] == before["posts"]
    assert find_drift() == []


def test_importing_our_own_export_again_adds_nothing(app: Flask, tmp_path: Path) -> None:
    add_native_content()
    exported = tmp_path / "export.xml"
    run(app, "export-wxr", str(exported))
    before = snapshot()
    result = run(app, "import-wxr", str(exported))
    assert "posts: 0 imported, 2 already there" in result.output
    assert "comments: 0 imported, 3 already there" in result.output
    assert snapshot() == before


def test_export_is_the_wxr_wordpress_importer_reads(app: Flask, tmp_path: Path) -> None:
    from flask import current_app

    current_app.config["SITE_URL"] = SITE
    run(app, "import-wxr", str(FIXTURE))
    add_native_content()
    exported = tmp_path / "export.xml"
    run(app, "export-wxr", str(exported))
    raw = exported.read_text(encoding="utf-8")
    assert "]]]]><![CDATA[>" in raw  # "]]>" in a source, split across CDATA sections
    root = etree.fromstring(raw.encode("utf-8"), etree.XMLParser(resolve_entities=False))
    assert root.tag == "rss" and root.get("version") == "2.0"
    assert {k: v for k, v in root.nsmap.items() if k} == NAMESPACES
    channel = root.find("channel")
    assert channel is not None
    assert channel.findtext(f"{WP}wxr_version") == "1.2"
    assert channel.findtext(f"{WP}base_site_url") == SITE
    logins = {a.findtext(f"{WP}author_login") for a in channel.iter(f"{WP}author")}
    assert {"evans", "maria_lopez", "john-smith", "writer"} <= logins
    seen: set[str] = set()
    for category in channel.iter(f"{WP}category"):
        parent = category.findtext(f"{WP}category_parent")
        assert not parent or parent in seen  # WordPress needs the parent first
        seen.add(category.findtext(f"{WP}category_nicename") or "")
    items = channel.findall("item")
    assert len(items) == 15
    statuses = set()
    kinds: Counter[str] = Counter()
    for item in items:
        kind = item.findtext(f"{WP}post_type") or ""
        kinds[kind] += 1
        statuses.add(item.findtext(f"{WP}status"))
        assert item.findtext("{http://purl.org/dc/elements/1.1/}creator") in logins
        prefix = f"{SITE}/blog/" if kind == "post" else f"{SITE}/"
        assert (item.findtext("link") or "").startswith(prefix)
        assert item.find("{http://purl.org/rss/1.0/modules/content/}encoded") is not None
        ids = {c.findtext(f"{WP}comment_id") for c in item.iter(f"{WP}comment")}
        for comment in item.iter(f"{WP}comment"):
            assert comment.findtext(f"{WP}comment_parent") in ids | {"0"}
            assert comment.findtext(f"{WP}comment_approved") in {"1", "0", "spam", "trash"}
        for term in item.findall("category"):
            assert term.get("domain") in {"category", "post_tag"} and term.get("nicename")
    assert statuses == {"publish", "future", "draft"}
    assert kinds == {"post": 13, "page": 2}  # pages stay pages
    titles = {i.findtext("title") for i in items}
    assert "Markdown ]]&gt; and &lt;tags&gt; &amp; ampersands" in titles  # HTML, as WordPress keeps


def test_characters_xml_cannot_carry_are_left_out(app: Flask, tmp_path: Path) -> None:
    factories.make_post(title="Bell\x07 and\x0b tab", body="Form\x0cfeed")
    exported = tmp_path / "export.xml"
    run(app, "export-wxr", str(exported))
    root = etree.parse(str(exported)).getroot()
    assert [i.findtext("title") for i in root.iter("item")] == ["Bell and tab"]
