"""The hot pages' queries are served by indexes, on SQLite and PostgreSQL (README, "Indexes").

Each page is requested as a reader (or moderator) would, with the page cache off, while a hook
records every SELECT it runs; each statement is then explained with the parameters it ran with.

- SQLite: ``EXPLAIN QUERY PLAN`` must never ``SCAN`` comments or posts (not even a whole index:
  "SCAN ... USING INDEX" reads every entry). Without ``ANALYZE`` statistics, as on a fresh
  install, SQLite's plans do not depend on the number of rows, so a small data set shows the plan
  a large one gets.
- PostgreSQL, with ``enable_seqscan = off`` so that an index is used whenever one can be: no
  ``Seq Scan`` of comments or posts, and no condition on one of their indexes that leaves out
  its first column (PostgreSQL takes such a condition by reading the whole index).
- SQLite: the indexes a page depends on appear in its plans, so the test fails when one is
  dropped or changed so that it no longer serves the query. (PostgreSQL chooses among the
  usable indexes by statistics, which a few rows do not have the shape of.)

The few statements that count a whole table by design are listed in KNOWN_FULL_COUNTS; the
README says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, PostStatus, Role, User, utcnow
from blog.settings import save_settings
from tests import factories
from tests.commenting import post_comment, reader
from tests.conftest import login

# A query plan depends on the statistics PostgreSQL keeps of a table: new tables for each test.
pytestmark = pytest.mark.fresh_schema

BIG_TABLES = ("comments", "posts")
_SQLITE_FULL_SCAN = re.compile(r"^SCAN (comments|posts)\b")

# Statements that count every row in reach on purpose, matched by a fragment of their SQL:
# the admin's counts of posts by state and of comments by status, with no narrowing condition.
KNOWN_FULL_COUNTS = (
    "coalesce(sum(CASE WHEN (posts.status",  # dashboard / posts list: posts per state
)


@dataclass(frozen=True)
class Captured:
    statement: str
    parameters: Any


@contextmanager
def capturing() -> Iterator[list[Captured]]:
    """Record the SELECT statements run on the app's engine, with their parameters."""
    found: list[Captured] = []

    def record(_c: Any, _cur: Any, statement: str, parameters: Any, *_a: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            found.append(Captured(statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield found
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@dataclass(frozen=True)
class Plan:
    statement: str
    lines: list[str]  # SQLite: the detail column; PostgreSQL: one line per plan node
    problems: list[str]
    indexes: set[str]


def _explain_sqlite(conn: Any, captured: Captured) -> Plan:
    rows = conn.exec_driver_sql(
        "EXPLAIN QUERY PLAN " + captured.statement, captured.parameters
    ).all()
    lines = [str(row[3]) for row in rows]
    problems = [line for line in lines if _SQLITE_FULL_SCAN.match(line)]
    indexes = {m[1] for line in lines for m in re.finditer(r"INDEX (\w+)", line)}
    return Plan(captured.statement, lines, problems, indexes)


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def _leading_columns(conn: Any) -> dict[str, str]:
    """The first column of each index on the big tables, by index name."""
    rows = conn.exec_driver_sql(
        "SELECT ix.relname, a.attname FROM pg_index i "
        "JOIN pg_class ix ON ix.oid = i.indexrelid "
        "JOIN pg_class t ON t.oid = i.indrelid "
        "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0] "
        "WHERE t.relname IN ('comments', 'posts') "
        "AND t.relnamespace = current_schema()::regnamespace"
    )
    return {name: column for name, column in rows}


def _explain_postgresql(conn: Any, captured: Captured, leading: dict[str, str]) -> Plan:
    raw = conn.exec_driver_sql(
        "EXPLAIN (FORMAT JSON) " + captured.statement, captured.parameters
    ).scalar()
    lines: list[str] = []
    problems: list[str] = []
    indexes: set[str] = set()
    for node in _nodes(raw[0]["Plan"]):
        kind, table, index = node["Node Type"], node.get("Relation Name"), node.get("Index Name")
        condition = str(node.get("Index Cond", ""))
        line = f"{kind} on {table or '-'} using {index or '-'} cond={condition}"
        lines.append(line)
        if index:
            indexes.add(index)
        if kind == "Seq Scan" and table in BIG_TABLES:
            problems.append(line)
        # A condition on a big table's index must hold its first column: one on a later column
        # only filters while reading the whole index. (An index read with no condition at all
        # is how a few rows get joined with sequential scans off; it is not judged.)
        if index in leading and condition and not re.search(rf"\b{leading[index]}\b", condition):
            problems.append(line)
    return Plan(captured.statement, lines, problems, indexes)


def explain_all(statements: list[Captured]) -> list[Plan]:
    plans = []
    with db.engine.connect() as conn:
        leading: dict[str, str] = {}
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
            leading = _leading_columns(conn)
        for captured in statements:
            if any(fragment in captured.statement for fragment in KNOWN_FULL_COUNTS):
                continue
            if conn.dialect.name == "postgresql":
                plans.append(_explain_postgresql(conn, captured, leading))
            else:
                plans.append(_explain_sqlite(conn, captured))
        conn.rollback()
    return plans


def assert_served_by_indexes(plans: list[Plan], required: set[str]) -> None:
    assert plans, "no statement was captured"
    bad = [(plan.problems, " ".join(plan.statement.split())) for plan in plans if plan.problems]
    assert not bad, "\n".join(f"{problems}\n  in: {statement}" for problems, statement in bad)
    if db.engine.dialect.name != "sqlite":
        # PostgreSQL picks among usable indexes by statistics, which a small data set does not
        # have the shape of; SQLite without statistics picks as it does on a large data set.
        return
    used = set().union(*(plan.indexes for plan in plans))
    assert required <= used, (sorted(required - used), [(p.statement, p.lines) for p in plans])


# --- the data: a little of everything a hot page shows ------------------------------------------


@dataclass(frozen=True)
class Site:
    post: Post
    threaded_comment: Comment
    author: User
    category_path: str
    tag: str


@pytest.fixture
def site(make_app: Callable[..., Flask]) -> Iterator[tuple[Flask, Site]]:
    app = make_app(PAGE_CACHE=False)
    with app.app_context():
        author = factories.make_user(role=Role.AUTHOR, username="writer")
        parent = factories.make_category("Security")
        child = factories.make_category("Malware", parent=parent)
        earlier = utcnow() - timedelta(days=3)
        for i in range(12):
            factories.make_post(
                author=author,
                categories=[child if i % 2 else parent],
                tags=["patch"],
                published_at=earlier + timedelta(hours=i),
            )
        factories.make_post(author=author, status=PostStatus.DRAFT)
        post = factories.make_post(author=author, title="Many replies", categories=[child])
        factories.make_comments(post, 12)
        for status in (CommentStatus.PENDING, CommentStatus.SPAM, CommentStatus.TRASH):
            factories.make_comment(post, status=status, author_email="someone@example.org")
        comment = db.session.scalars(
            select(Comment).where(Comment.post_id == post.id, Comment.parent_id.is_not(None))
        ).first()
        assert comment is not None
        # Two threads per comment page, so that ?cpage=N reaches a later page; no flood wait
        # between the two submissions of the same reader.
        save_settings({"comments_per_page": 2, "flood_interval_seconds": 0})
        db.session.commit()
        yield app, Site(post, comment, author, "security", "patch")


def _page_plans(
    app: Flask, requests: list[tuple[FlaskClient, str, str]], expected_status: int = 200
) -> list[Plan]:
    plans: list[Plan] = []
    for client, method, url in requests:
        with app.app_context(), capturing() as captured:
            response = client.open(url, method=method)
            assert response.status_code == expected_status, (url, response.status_code)
        with app.app_context():
            plans.extend(explain_all(captured))
    return plans


PUBLIC_PAGES: dict[str, tuple[Callable[[Site], str], set[str]]] = {
    "home": (
        lambda s: "/",
        {"ix_posts_status_published_at_id", "ix_posts_sticky_status_published_at_id"},
    ),
    "post page": (
        lambda s: f"/blog/{s.post.slug}/",
        {"ix_comments_post_id_status_created_at", "ix_comments_status_created_at"},
    ),
    "post page, later comment page": (
        lambda s: f"/blog/{s.post.slug}/?cpage=3",
        {"ix_comments_post_id_status_created_at"},
    ),
    "comment permalink": (
        lambda s: f"/comments/{s.threaded_comment.id}",
        {"ix_comments_post_id_status_created_at"},
    ),
    "category archive": (
        lambda s: f"/category/{s.category_path}/",
        {"ix_posts_status_published_at_id", "ix_post_categories_category_id_post_id"},
    ),
    "tag archive": (
        lambda s: f"/tag/{s.tag}/",
        {"ix_posts_status_published_at_id", "ix_post_tags_tag_id_post_id"},
    ),
    "author archive": (
        lambda s: f"/author/{s.author.slug}/",
        {"ix_posts_author_id_status_published_at_id"},
    ),
    "JSON comment list": (
        lambda s: f"/api/v1/posts/{s.post.slug}/comments",
        {"ix_comments_post_id_status_created_at"},
    ),
    "JSON recent comments": (
        lambda s: "/api/v1/comments/recent",
        {"ix_comments_status_created_at"},
    ),
    "posts feed": (lambda s: "/feed/", {"ix_posts_status_published_at_id"}),
    "comments feed": (lambda s: "/comments/feed/", {"ix_comments_status_created_at"}),
    "a post's comments feed": (
        lambda s: f"/blog/{s.post.slug}/feed/",
        {"ix_comments_post_id_status_created_at"},
    ),
    "sitemap": (lambda s: "/sitemap.xml", {"ix_posts_status_published_at_id"}),
    "sitemap of posts": (lambda s: "/sitemap-posts-1.xml", {"ix_posts_status_published_at_id"}),
}


@pytest.mark.parametrize("page", list(PUBLIC_PAGES))
def test_public_pages_read_comments_and_posts_through_indexes(
    site: tuple[Flask, Site], page: str
) -> None:
    app, data = site
    path, required = PUBLIC_PAGES[page]
    url = path(data)
    status = 302 if page == "comment permalink" else 200
    plans = _page_plans(app, [(app.test_client(), "GET", url)], expected_status=status)
    assert_served_by_indexes(plans, required)


def _signed_in(app: Flask, user: User) -> FlaskClient:
    return login(app.test_client(), user)


@pytest.mark.parametrize(
    "query",
    ["", "?status=approved", "?status=spam&page=1", "?status=trash", "POST", "?q=someone"],
)
def test_the_moderation_queue_and_its_filters_use_indexes(
    site: tuple[Flask, Site], query: str
) -> None:
    app, data = site
    with app.app_context():
        moderator = factories.make_user(role=Role.MODERATOR, username="mod")
        url = "/admin/comments/" + (f"?post_id={data.post.id}" if query == "POST" else query)
        client = _signed_in(app, moderator)
    required = {"ix_comments_status_created_at"}
    if query == "POST":
        required.add("ix_comments_post_id_status_created_at")
    assert_served_by_indexes(_page_plans(app, [(client, "GET", url)]), required)


def test_the_dashboard_lists_the_newest_comments_through_the_status_index(
    site: tuple[Flask, Site],
) -> None:
    """An admin's counts cover everything (KNOWN_FULL_COUNTS); an author's are narrowed to
    their posts, so every statement of their dashboard must seek."""
    app, data = site
    with app.app_context():
        admin = factories.make_user(role=Role.ADMIN, username="boss")
        clients = [_signed_in(app, admin), _signed_in(app, data.author)]
    plans = _page_plans(app, [(client, "GET", "/admin/") for client in clients])
    assert_served_by_indexes(
        plans, {"ix_comments_status_created_at", "ix_posts_author_id_status_published_at_id"}
    )


def test_the_checks_on_a_submission_seek_by_post_address_and_email(
    site: tuple[Flask, Site],
) -> None:
    """Duplicate, flood and "approved before?" checks, and the reply's thread depth."""
    app, data = site
    client = reader(app)
    plans: list[Plan] = []
    with app.app_context():
        for fields in ({}, {"email": "someone@example.org", "parent_id": data.threaded_comment.id}):
            with capturing() as captured:
                response = post_comment(client, data.post, **fields)
                assert response.status_code == 303, response.status_code
            plans.extend(explain_all(captured))
    assert_served_by_indexes(
        plans,
        {
            "ix_comments_post_id_body_digest",  # the duplicate rule
            "ix_comments_author_email_status_created_at",
            "ix_comments_ip_address_created_at",
        },
    )


def test_the_admin_posts_list_reads_its_page_from_the_end_of_an_index(
    site: tuple[Flask, Site],
) -> None:
    """The list is ordered by publish date, else creation date: without the expression index
    every post was read and sorted for each page (about 250 ms at 100,000 posts)."""
    app, _data = site
    with app.app_context():
        admin = factories.make_user(role=Role.ADMIN, username="boss")
        client = _signed_in(app, admin)
    with app.app_context(), capturing() as captured:
        assert client.get("/admin/posts/").status_code == 200
    listing = [c for c in captured if "ORDER BY coalesce(posts.published_at" in c.statement]
    assert len(listing) == 1, [c.statement for c in captured]
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
            raw = conn.exec_driver_sql(
                "EXPLAIN (FORMAT JSON) " + listing[0].statement, listing[0].parameters
            ).scalar()
            kinds = [(n["Node Type"], n.get("Index Name")) for n in _nodes(raw[0]["Plan"])]
            assert not any(kind == "Sort" for kind, _ in kinds), kinds
            assert any(index == "ix_posts_listed_at_id" for _, index in kinds), kinds
        else:
            lines = [
                str(row[3])
                for row in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + listing[0].statement, listing[0].parameters
                )
            ]
            assert any("ix_posts_listed_at_id" in line for line in lines), lines
            assert not any("TEMP B-TREE FOR ORDER BY" in line for line in lines), lines
        conn.rollback()
