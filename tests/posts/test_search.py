"""Full-text search: what it finds, in what order, how it marks the words, and odd queries."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text

from blog import create_app
from blog.extensions import db
from blog.models import PostStatus, utcnow
from blog.posts.search import parse_query, search_posts
from blog.settings import save_settings
from tests import factories
from tests.helpers import seeded


def titles(response: Any) -> list[str]:
    """The result titles in order, marks removed."""
    html = response.get_data(as_text=True)
    found = re.findall(r'<h2 class="entry-title"><a href="[^"]+">(.*?)</a></h2>', html, re.S)
    return [re.sub(r"</?mark>", "", t) for t in found]


def search(client: FlaskClient, q: str, **args: str) -> Any:
    return client.get("/search/", query_string={"q": q, **args})


def test_finds_published_posts_by_title_and_body_title_matches_first(client: FlaskClient) -> None:
    factories.make_post(title="Patch notes", body="The ransomware spread through old servers.")
    factories.make_post(title="Ransomware explained", body="What it is and how to stop it.")
    factories.make_post(title="Gardening", body="Tomatoes need sun.")
    response = search(client, "ransomware")
    assert response.status_code == 200
    assert titles(response) == ["Ransomware explained", "Patch notes"]


def test_drafts_and_scheduled_posts_are_never_found(client: FlaskClient) -> None:
    factories.make_post(title="Visible zebra", body="zebra")
    factories.make_post(title="Draft zebra", status=PostStatus.DRAFT)
    factories.make_post(title="Future zebra", published_at=utcnow() + timedelta(days=1))
    assert titles(search(client, "zebra")) == ["Visible zebra"]


def test_words_match_word_beginnings_phrases_in_order_and_minus_excludes(
    client: FlaskClient,
) -> None:
    factories.make_post(title="One", body="The **security** team met on Monday.")
    factories.make_post(title="Two", body="Monday's team met security later.")
    assert sorted(titles(search(client, "secur"))) == ["One", "Two"]
    assert titles(search(client, '"security team"')) == ["One"]
    assert titles(search(client, "security -later")) == ["One"]
    assert titles(search(client, "security team -later -monday")) == []


def test_markup_in_the_body_does_not_match_and_does_not_split_words(
    client: FlaskClient,
) -> None:
    factories.make_post(title="Styled", body="Some <strong>bold</strong> claims and a [link](/x).")
    assert titles(search(client, "strong")) == []
    assert titles(search(client, "href")) == []
    assert titles(search(client, '"some bold claims"')) == ["Styled"]


def test_index_follows_edits_and_deletions(client: FlaskClient) -> None:
    from blog.sanitize import render_markdown

    post = factories.make_post(title="Before the edit", body="original wording")
    assert titles(search(client, "original")) == ["Before the edit"]
    post.title = "After the edit"
    post.body_source = "rewritten wording"
    post.body_html = render_markdown(post.body_source)
    db.session.commit()
    assert titles(search(client, "original")) == []
    assert titles(search(client, "rewritten")) == ["After the edit"]
    post.comment_count = 3  # a change that leaves the indexed text alone
    db.session.commit()
    assert titles(search(client, "rewritten")) == ["After the edit"]
    db.session.delete(post)
    db.session.commit()
    assert titles(search(client, "rewritten")) == []


def test_accents_and_case_are_ignored_on_sqlite(app: Flask, client: FlaskClient) -> None:
    factories.make_post(title="Café in Zürich", body="ÉLAN")
    assert titles(search(client, "CAFÉ zürich")) == ["Café in Zürich"]
    if db.engine.dialect.name == "sqlite":
        assert titles(search(client, "cafe zurich elan")) == ["Café in Zürich"]


def test_query_words_are_marked_and_everything_else_escaped(client: FlaskClient) -> None:
    factories.make_post(
        title="<script>alert(1)</script> Phishing",
        body="Beware of phishing mails &lt;b&gt; and of `<img src=x onerror=alert(2)>` too.",
    )
    response = search(client, "phishing <script>alert</script>")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>alert" not in html and "<img src=x" not in html
    assert (
        "&lt;<mark>script</mark>&gt;<mark>alert</mark>(1)&lt;/<mark>script</mark>&gt; "
        "<mark>Phishing</mark>"
    ) in html
    assert "Beware of <mark>phishing</mark> mails &lt;b&gt; and of &lt;img src=x" in html
    assert "&lt;script&gt;alert&lt;/script&gt;" in html  # the query shown back, escaped


def test_snippet_is_cut_around_the_first_match(client: FlaskClient) -> None:
    filler = " ".join(f"word{i}" for i in range(200))
    factories.make_post(title="Long", body=f"{filler} needle {filler}")
    html = search(client, "needle").get_data(as_text=True)
    summary = re.search(r'<div class="entry-summary"><p>(.*?)</p></div>', html, re.S)
    assert summary is not None
    snippet = summary.group(1)
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert "<mark>needle</mark>" in snippet
    assert len(snippet.split()) < 60


def test_breadcrumbs_title_and_noindex(client: FlaskClient) -> None:
    save_settings({"site_title": "Test Site"})
    html = search(client, "anything at all").get_data(as_text=True)
    crumbs = re.search(r'<nav class="breadcrumbs.*?</nav>', html, re.S)
    assert crumbs is not None
    labels = re.findall(r">([^<>]+)</(?:a|span)>", crumbs.group(0))
    assert labels == ["Test Site", "Search results for “anything at all”"]
    assert "<title>Search results for “anything at all” &ndash; Test Site</title>" in html
    assert '<meta name="robots" content="noindex, follow">' in html
    assert "Sorry, but nothing matched your search terms." in html


def test_pages_of_ten_and_bad_pages_are_404(client: FlaskClient) -> None:
    start = utcnow() - timedelta(days=30)
    for i in range(23):
        factories.make_post(title=f"Kiwi {i:02d}", body="kiwi", published_at=start + timedelta(i))
    first = search(client, "kiwi")
    assert len(titles(first)) == 10
    assert "23 posts found" in first.get_data(as_text=True)
    assert 'href="/search/?q=kiwi&amp;page=2"' in first.get_data(as_text=True)
    third = search(client, "kiwi", page="3")
    assert third.status_code == 200 and len(titles(third)) == 3
    seen = titles(first) + titles(search(client, "kiwi", page="2")) + titles(third)
    assert len(set(seen)) == 23
    for page in ("4", "0", "-1", "abc", "1.5", "99999999999"):
        assert search(client, "kiwi", page=page).status_code == 404, page
    assert search(client, "", page="2").status_code == 404
    assert search(client, "no-such-word", page="1").status_code == 200


def test_query_count_does_not_grow_with_results(
    client: FlaskClient, count_queries: Callable[[], Any]
) -> None:
    category = factories.make_category("Fruit")
    factories.make_post(title="Lemon 1", body="lemon", categories=[category])
    search(client, "lemon")  # warm up
    with count_queries() as few:
        assert len(titles(search(client, "lemon"))) == 1
    for i in range(12):
        author = factories.make_user()
        factories.make_post(author=author, title=f"Lemon {i + 2}", body="lemon", tags=[f"t{i}"])
    search(client, "lemon")  # the test's own pending writes are committed before a request
    with count_queries() as many:
        assert len(titles(search(client, "lemon"))) == 10
    assert many.count == few.count
    assert many.count <= 6


ODD_QUERIES = [
    '"',
    '""',
    '"unclosed phrase',
    "*",
    "a*",
    "NEAR",
    "NEAR(a b, 2)",
    "AND",
    "a AND OR NOT b",
    "-",
    "--x",
    "-a -b -c -d -e -f",
    "^a",
    "()",
    "(a OR b",
    "title:x",
    "{a b}:c",
    "a + b",
    "'; DROP TABLE posts; --",
    "\\",
    "'''",
    "🙂🙃",
    "日本語のテキスト",
    "ﬁ ß İ",
    "\u200b\u200d",
    "e\u0301",
    "%00",
    "x" * 5000,
    " ".join(["word"] * 300),
    "a:* & !b | c <-> d",
]


@pytest.mark.parametrize("q", ODD_QUERIES)
def test_odd_queries_answer_normally(client: FlaskClient, q: str) -> None:
    factories.make_post(title="Something", body="word and text")
    response = search(client, q)
    assert response.status_code == 200


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=st.text(max_size=80), page=st.sampled_from(["", "1", "2", "x"]))
def test_random_queries_never_500(app: Flask, q: str, page: str) -> None:
    seeded(
        app,
        "search",
        lambda: factories.make_post(title="Fuzz target", body="Some words to find, like café."),
    )
    response = app.test_client().get("/search/", query_string={"q": q, "page": page})
    assert response.status_code < 500, (q, page)  # 400 for a NUL byte, 404 for a bad page


@given(q=st.text(max_size=200))
@example(q="ῶ")  # casefold() decomposes it: a letter and a combining mark
@example(q="İstanbul")  # casefold() gives "i" and a combining dot, with no composed form
def test_parsed_queries_are_bounded(q: str) -> None:
    parsed = parse_query(q)
    assert len(parsed.words) + len(parsed.phrases) <= 8
    assert len(parsed.excluded) <= 4
    for word in (*parsed.words, *parsed.excluded, *(w for p in parsed.phrases for w in p)):
        assert word and len(word) <= 40 and re.fullmatch(r"[^\W_]+", word)


def test_search_posts_is_callable_without_http(app: Flask) -> None:
    factories.make_post(title="Domain call", body="plain function")
    query, page = search_posts("plain", 1, 10)
    assert query.words == ("plain",)
    assert [hit.post.title for hit in page.items] == ["Domain call"]
    assert "<mark>plain</mark>" in str(page.items[0].snippet_html)


def test_sidebar_has_a_search_form(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    form = re.search(r'<form[^>]*role="search"[^>]*>', html)
    assert form is not None and 'action="/search/"' in form.group(0)
    assert 'name="q"' in html


def test_migration_indexes_existing_posts_and_downgrade_removes_the_index(
    database: dict[str, Any], tmp_path: Path
) -> None:
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x", **database}, instance_path=str(tmp_path / "i")
    )
    with app.app_context():
        upgrade(revision="0001")
        db.session.execute(
            text(
                "INSERT INTO users (id, username, display_name, email, password_hash, role, "
                "active, session_token, bio, created_at) VALUES (1, 'old', 'Old', '', '!', "
                "'author', true, 't', '', :now)"
            ),
            {"now": utcnow().replace(tzinfo=None)},
        )
        db.session.execute(
            text(
                "INSERT INTO posts (id, title, slug, body_source, body_html, excerpt, author_id, "
                "status, published_at, created_at, updated_at, comments_open, comment_count) "
                "VALUES (1, 'Written before search', 'before', '', '<p>an <em>old</em> post</p>',"
                " '', 1, 'published', :then, :then, :then, true, 0)"
            ),
            {"then": (utcnow() - timedelta(days=1)).replace(tzinfo=None)},
        )
        db.session.commit()
        upgrade(revision="0002")
        upgrade()  # the models of today read the posts (their authors have later columns)
        _, page = search_posts("old post", 1, 10)
        assert [hit.post.slug for hit in page.items] == ["before"]
        db.session.rollback()  # let go of the read locks before the schema changes
        downgrade(revision="0001")
        tables = set(inspect(db.engine).get_table_names())
        indexes = {i["name"] for i in inspect(db.engine).get_indexes("posts")}
        assert not {t for t in tables if t.startswith("posts_fts")}
        assert "ix_posts_search" not in indexes
        downgrade(revision="base")
        db.session.remove()
        db.engine.dispose()


def test_search_works_on_a_database_built_by_every_migration(
    database: dict[str, Any], tmp_path: Path
) -> None:
    """A later migration that rebuilds ``posts`` (SQLite batch mode) must recreate the index."""
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x", **database}, instance_path=str(tmp_path / "i")
    )
    with app.app_context():
        upgrade()
        post = factories.make_post(title="Migrated", body="indexed after every migration")
        _, page = search_posts("indexed", 1, 10)
        assert [hit.post.slug for hit in page.items] == [post.slug]
        post.body_html = "<p>changed</p>"
        db.session.commit()
        _, page = search_posts("changed", 1, 10)
        assert [hit.post.slug for hit in page.items] == [post.slug]
        db.session.rollback()
        downgrade(revision="base")
        db.session.remove()
        db.engine.dispose()


def test_the_index_can_be_dropped_for_a_bulk_load_and_rebuilt(app: Flask) -> None:
    from blog.models import Post
    from blog.posts.search import create_search_index, drop_search_index

    author = factories.make_user()
    factories.make_post(author=author, title="Before the load", body="walrus")
    author_id = author.id
    db.session.commit()  # no read snapshot of the session's spans the load
    with db.engine.begin() as connection:
        drop_search_index(connection)
        connection.execute(
            Post.__table__.insert(),
            [
                {
                    "title": f"Loaded {i}",
                    "slug": f"loaded-{i}",
                    "body_source": "",
                    "body_html": "<p>a <em>walrus</em> in bulk</p>",
                    "excerpt": "",
                    "author_id": author_id,
                    "status": "published",
                    "published_at": utcnow() - timedelta(minutes=i),
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                    "comments_open": True,
                }
                for i in range(3)
            ],
        )
        create_search_index(connection)
    _, page = search_posts("walrus", 1, 10)
    assert page.total == 4
    assert titles_of(page) == {"Before the load", "Loaded 0", "Loaded 1", "Loaded 2"}


def titles_of(page: Any) -> set[str]:
    return {hit.post.title for hit in page.items}
