"""WordPress import (``flask blog import-wxr``) and export (``flask blog export-wxr``).

The fixture ``fixtures/wordpress-export.xml`` is a WXR 1.2 file as WordPress 6.4 writes it: three
authors (one login with a space), nested categories listed child first, tags, posts and pages,
drafts, pending, private, scheduled and password-protected posts, an attachment, a menu item and
a trashed post, non-ASCII titles and a percent-encoded slug, shortcodes, Gutenberg blocks,
hostile markup, and threaded comments in every status, a pingback among them.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import func, select

from blog.accounts.users import authenticate
from blog.comments.counts import find_drift
from blog.extensions import db
from blog.models import (
    Category,
    Comment,
    CommentStatus,
    ModerationEvent,
    Post,
    PostKind,
    PostStatus,
    Role,
    Tag,
    User,
)
from blog.porting.wxr_import import import_wxr
from blog.porting.wxr_read import WxrError, read_wxr
from tests import factories
from tests.paths import WXR_FIXTURE

FIXTURE = WXR_FIXTURE


def run(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=["blog", *args])
    db.session.expire_all()
    return result


def row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table)) or 0
        for table in db.metadata.sorted_tables
    }


def post(slug: str) -> Post:
    return db.session.scalars(select(Post).where(Post.slug == slug)).one()


def comments_of(slug: str) -> list[Comment]:
    found = db.session.scalars(
        select(Comment).join(Post).where(Post.slug == slug).order_by(Comment.created_at)
    )
    return list(found)


@pytest.fixture
def imported(app: Flask) -> Any:
    result = run(app, "import-wxr", str(FIXTURE))
    assert result.exit_code == 0, result.output
    return result


def test_import_reports_what_it_did_with_a_progress_bar(imported: Any) -> None:
    output = imported.output
    assert "Importing" in output
    assert "authors: 3 imported, 0 already there" in output
    assert "categories: 7 imported" in output
    assert "tags: 3 imported" in output
    assert "posts: 11 imported, 0 already there" in output
    assert "pages: 2 imported, 0 already there" in output
    assert "comments: 13 imported, 0 already there" in output
    # The menu's one item is a custom link without an address: nothing to lead to.
    assert "menu: 0 item(s) imported, 1 skipped (nothing to lead to)" in output
    for skipped in ("'attachment'", "'trash'"):
        assert f"skipped: 1 item(s) of type or status {skipped}" in output


def test_authors_become_authors_who_cannot_sign_in_yet(imported: Any) -> None:
    users = {u.username: u for u in db.session.scalars(select(User))}
    assert set(users) == {"evans", "maria_lopez", "john-smith"}
    assert users["maria_lopez"].display_name == "María López"
    assert users["john-smith"].display_name == "John & Co"
    assert users["evans"].email == "evans@cyber1defense.example"
    assert all(u.role == Role.AUTHOR and u.password_hash == "!" for u in users.values())
    assert authenticate("evans", "!") is None
    assert authenticate("evans", "") is None
    # Their archives: public slugs from the display names, not the WordPress logins.
    # "María López" would give maria-lopez, all but the login maria_lopez: a generated one.
    assert (users["evans"].slug, users["john-smith"].slug) == ("evans-asare", "john-co")
    assert re.fullmatch(r"author-[0-9a-f]{8}", users["maria_lopez"].slug)


def test_categories_keep_their_parents_and_slugs(imported: Any) -> None:
    categories = {c.slug: c for c in db.session.scalars(select(Category))}
    assert set(categories) == {
        "uncategorized",
        "security",
        "malware",
        "ransomware",
        "actualites",
        "новости",
        "empty-category",
    }
    assert categories["ransomware"].parent is categories["malware"]
    assert categories["malware"].parent is categories["security"]
    assert categories["security"].parent is None
    assert categories["actualites"].name == "Actualités & brèves"
    assert categories["security"].description == "<p>Threats, fixes and advice.</p>"
    assert categories["security"].description_html == "<p>Threats, fixes and advice.</p>"
    assert {t.slug: t.name for t in db.session.scalars(select(Tag))} == {
        "uk": "UK",
        "zero-day": "Zero-day",
        "gdpr": "GDPR",
    }


def test_statuses_map_to_published_scheduled_and_draft(imported: Any) -> None:
    posts = {p.slug: p for p in db.session.scalars(select(Post))}
    published = {s for s, p in posts.items() if p.status == PostStatus.PUBLISHED}
    assert published == {
        "kaspersky-closing-down-its-uk-office",
        "ransomware-in-zurich-5-lehren-fur-kmu",
        "новости-безопасности",
        "qa-passwords-whats-next",
        "scheduled-patch-tuesday-recap",
        "about-us",
    }
    drafts = set(posts) - published
    assert drafts == {
        "draft-upcoming-audit",
        "untitled-idea",
        "untitled-idea-2",
        "pending-review-post",
        "private-notes",
        "members-only",
        "contact",
    }
    assert all(posts[s].published_at is None for s in drafts)
    kaspersky = posts["kaspersky-closing-down-its-uk-office"]
    assert kaspersky.published_at == datetime(2024, 3, 5, 9, 30, tzinfo=UTC)
    assert kaspersky.updated_at == datetime(2024, 3, 7, 11, 0, tzinfo=UTC)
    assert posts["scheduled-patch-tuesday-recap"].published_at == datetime(
        2031, 1, 14, 9, 0, tzinfo=UTC
    )
    assert posts["draft-upcoming-audit"].created_at == datetime(2024, 3, 15, 10, tzinfo=UTC)
    assert posts["qa-passwords-whats-next"].title == "Q&A: passwords \u2013 what\u2019s next?"
    assert posts["qa-passwords-whats-next"].comments_open is False
    about = posts["about-us"]
    assert about.kind == PostKind.PAGE and about.categories == [] and about.primary_category is None
    zurich = posts["ransomware-in-zurich-5-lehren-fur-kmu"]
    assert zurich.primary_category is not None and zurich.primary_category.slug == "ransomware"
    assert {c.slug for c in zurich.categories} == {"ransomware", "actualites"}
    assert {t.slug for t in zurich.tags} == {"gdpr", "zero-day"}
    assert zurich.author.username == "maria_lopez"
    assert zurich.excerpt == "Fünf Lehren aus einem Angriff in Zürich & was sie kosten."
    assert posts["новости-безопасности"].author.username == "john-smith"


def test_comments_keep_status_threading_and_counts(imported: Any) -> None:
    kaspersky = comments_of("kaspersky-closing-down-its-uk-office")
    by_author = {c.author_name: c for c in kaspersky}
    assert Counter(c.status for c in kaspersky) == {
        CommentStatus.APPROVED: 4,
        CommentStatus.PENDING: 1,
        CommentStatus.SPAM: 1,
        CommentStatus.TRASH: 1,
    }
    jane, evans, jurgen = (
        by_author["Jane Doe"],
        by_author["Evans Asare"],
        by_author["Jürgen Müller"],
    )
    assert jane.parent_id is None
    assert evans.parent_id == jane.id and jurgen.parent_id == evans.id
    assert by_author["Waiting Reader"].parent_id == jane.id
    assert evans.user is not None and evans.user.username == "evans"
    assert jane.author_url == "https://jane.example.org" and jane.ip_address == "203.0.113.5"
    assert jane.created_at == datetime(2024, 3, 5, 10, 2, 13, tzinfo=UTC)
    assert by_author["Security Weekly \u2013 Roundup"].status == CommentStatus.APPROVED
    assert post("kaspersky-closing-down-its-uk-office").comment_count == 4
    assert post("ransomware-in-zurich-5-lehren-fur-kmu").comment_count == 3
    assert post("about-us").comment_count == 1
    assert post("qa-passwords-whats-next").comment_count == 0
    assert find_drift() == []
    zurich = {c.author_name: c for c in comments_of("ransomware-in-zurich-5-lehren-fur-kmu")}
    assert zurich["Link Dropper"].status == CommentStatus.SPAM
    assert zurich["Tom & Jerry"].author_url == ""  # javascript: dropped
    events = list(db.session.scalars(select(ModerationEvent)))
    assert len(events) == 13
    assert all(e.actor_id is None and e.reason == "imported" for e in events)
    assert {(e.comment_id, e.to_status) for e in events} == {
        (c.id, c.status) for c in db.session.scalars(select(Comment))
    }


def test_bodies_are_sanitized_and_shortcodes_applied(imported: Any) -> None:
    hostile = post("qa-passwords-whats-next").body_html
    for forbidden in ("<script", "onerror", "onclick", "javascript", "<iframe", "<object"):
        assert forbidden not in hostile.lower()
    assert "style=" not in hostile and "<svg" not in hostile and "<form" not in hostile
    assert "A literal CDATA end: ]]&gt; stays text" in hostile
    assert '<img src="https://cyber1defense.example/wp-content/uploads/key.png" alt="A key">' in (
        hostile
    )
    kaspersky = post("kaspersky-closing-down-its-uk-office").body_html
    assert "[caption" not in kaspersky
    assert (
        '<figure class="wp-caption aligncenter"><a href="https://cyber1defense.example/wp-content/'
        'uploads/2024/03/office.jpg"><img class="size-large wp-image-50"'
    ) in kaspersky
    assert (
        '<figcaption class="wp-caption-text">The London office, in better days</figcaption>'
        "</figure>"
    ) in kaspersky
    assert "<p>Customers keep their licences until they expire.<br>\nSupport moves" in kaspersky
    assert "more" not in kaspersky.split("</blockquote>")[1][:20]
    news = post("новости-безопасности").body_html
    assert "[gallery" not in news
    assert '<a href="https://video.example/watch?v=abc123" class="embed">' in news
    assert '[contact-form-7 id="9" title="Kontakt"]' in news  # unknown: shown as WordPress does
    zurich = post("ransomware-in-zurich-5-lehren-fur-kmu").body_html
    assert "wp:paragraph" not in zurich
    assert "<pre><code>restic backup /srv/data\n\nrestic check</code></pre>" in zurich
    comment = {c.author_name: c for c in comments_of("ransomware-in-zurich-5-lehren-fur-kmu")}
    tom = comment["Tom & Jerry"].body_html
    assert "<script" not in tom and "javascript" not in tom and "<img" not in tom
    assert "&lt;script&gt;" in tom  # shown as typed, never run
    anna = next(  # stored by a plugin as <p> and <br />
        c.body_html
        for c in comments_of("ransomware-in-zurich-5-lehren-fur-kmu")
        if "Punkt" in c.body_source
    )
    assert anna == "<p>Punkt 2 ist der wichtigste.<br>\nUnd Punkt 3.</p>\n<p>Danke!</p>"


def test_imported_site_reads_like_the_wordpress_one(app: Flask, imported: Any) -> None:
    client = app.test_client()
    page = client.get("/blog/kaspersky-closing-down-its-uk-office/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "4 Comments" in html and "Three levels deep now" in html
    assert "Still waiting in the moderation queue" not in html
    assert "Cheap Pills" not in html and "Off-topic rant" not in html
    assert client.get("/blog/" + quote("новости-безопасности") + "/").status_code == 200
    for hidden in ("draft-upcoming-audit", "scheduled-patch-tuesday-recap", "members-only"):
        assert client.get(f"/blog/{hidden}/").status_code == 404
    archive = client.get("/category/security/malware/ransomware/").get_data(as_text=True)
    assert "Ransomware in Zürich" in archive
    zurich = client.get("/blog/ransomware-in-zurich-5-lehren-fur-kmu/").get_data(as_text=True)
    assert "3 Comments" in zurich


def test_running_the_import_again_changes_nothing(app: Flask, imported: Any) -> None:
    before = row_counts()
    again = run(app, "import-wxr", str(FIXTURE))
    assert again.exit_code == 0, again.output
    assert "posts: 0 imported, 11 already there" in again.output
    assert "pages: 0 imported, 2 already there" in again.output
    assert "comments: 0 imported, 13 already there" in again.output
    assert row_counts() == before


def test_a_later_export_adds_only_the_new_comments(
    app: Flask, imported: Any, tmp_path: Path
) -> None:
    newer = FIXTURE.read_text(encoding="utf-8").replace(
        "\t\t<wp:comment>\n\t\t\t<wp:comment_id>102</wp:comment_id>",
        """\t\t<wp:comment>
\t\t\t<wp:comment_id>108</wp:comment_id>
\t\t\t<wp:comment_author><![CDATA[Late Reader]]></wp:comment_author>
\t\t\t<wp:comment_author_email><![CDATA[late@example.com]]></wp:comment_author_email>
\t\t\t<wp:comment_date_gmt><![CDATA[2024-03-19 10:00:00]]></wp:comment_date_gmt>
\t\t\t<wp:comment_content><![CDATA[Replying after the first import.]]></wp:comment_content>
\t\t\t<wp:comment_approved><![CDATA[1]]></wp:comment_approved>
\t\t\t<wp:comment_parent>103</wp:comment_parent>
\t\t</wp:comment>
\t\t<wp:comment>
\t\t\t<wp:comment_id>102</wp:comment_id>""",
    )
    path = tmp_path / "later.xml"
    path.write_text(newer, encoding="utf-8")
    result = run(app, "import-wxr", str(path))
    assert result.exit_code == 0, result.output
    assert "comments: 1 imported, 13 already there" in result.output
    found = {c.author_name: c for c in comments_of("kaspersky-closing-down-its-uk-office")}
    assert found["Late Reader"].parent_id == found["Jürgen Müller"].id
    assert post("kaspersky-closing-down-its-uk-office").comment_count == 5
    assert find_drift() == []


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel>
<wp:wxr_version>1.2</wp:wxr_version>
<item><title>&lol9;</title><wp:post_type>post</wp:post_type><wp:status>publish</wp:status>
<wp:post_name>laughs</wp:post_name></item>
</channel></rss>
"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel>
<wp:wxr_version>1.2</wp:wxr_version>
<item><title>&secret;</title><wp:post_type>post</wp:post_type><wp:status>publish</wp:status>
<wp:post_name>leak</wp:post_name></item>
</channel></rss>
"""
HOSTILE_FILES = {
    "billion-laughs": (BILLION_LAUGHS, "document type"),
    "external-entity": (EXTERNAL_ENTITY, "document type"),
    "truncated": (FIXTURE.read_text(encoding="utf-8")[:5000], "Not well-formed XML"),
    "plain-rss": ("<rss version='2.0'><channel><title>x</title></channel></rss>", "wxr_version"),
    "not-rss": ("<html><body>hello</body></html>", "Not a WordPress export"),
    "future-version": (
        '<rss xmlns:wp="http://wordpress.org/export/9.9/"><channel>'
        "<wp:wxr_version>9.9</wp:wxr_version></channel></rss>",
        "not supported",
    ),
    "empty": ("", "Not well-formed XML"),
}


@pytest.mark.parametrize("name", list(HOSTILE_FILES))
def test_hostile_or_malformed_files_are_refused_and_change_nothing(
    app: Flask, tmp_path: Path, name: str
) -> None:
    factories.make_post(title="Already here")
    before = row_counts()
    text, message = HOSTILE_FILES[name]
    path = tmp_path / f"{name}.xml"
    path.write_text(text, encoding="utf-8")
    result = run(app, "import-wxr", str(path))
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert row_counts() == before


def test_a_failure_halfway_stores_nothing(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from blog.porting import wxr_import

    document = read_wxr(str(FIXTURE))
    before = row_counts()
    calls = 0
    real = wxr_import.sanitize_comment

    def fail_on_the_fifth(text: str) -> str:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise RuntimeError("disk full")
        return real(text)

    monkeypatch.setattr(wxr_import, "sanitize_comment", fail_on_the_fifth)
    with pytest.raises(RuntimeError):
        import_wxr(document)
    assert row_counts() == before


def test_progress_is_reported_once_per_item(app: Flask) -> None:
    document = read_wxr(str(FIXTURE))
    steps: list[int] = []
    import_wxr(document, progress=steps.append)
    assert sum(steps) == len(document.items) == 16


def test_read_wxr_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WxrError, match="Cannot read the file"):
        read_wxr(str(tmp_path / "missing.xml"))
