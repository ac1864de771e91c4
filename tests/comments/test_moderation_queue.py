"""The moderation queue page: what a row shows, filters, counts per status, pages, queries."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from blog.accounts.tokens import create_token
from blog.comments import queue as moderation_queue
from blog.comments.queue import pending_counts
from blog.extensions import db
from blog.models import CommentStatus, Role
from blog.settings import save_settings
from tests import factories
from tests.commenting import comment_id, page_text, post_comment, reader

P, A, S, T = CommentStatus.PENDING, CommentStatus.APPROVED, CommentStatus.SPAM, CommentStatus.TRASH


def listed_ids(response: Any) -> list[int]:
    return [int(i) for i in re.findall(r'name="ids" value="(\d+)"', response.text)]


def test_a_row_shows_who_where_when_why_and_the_rendered_text(
    app: Any, moderator: FlaskClient
) -> None:
    save_settings({"comment_moderation": False})
    post = factories.make_post(title="The reference post")
    new_id = comment_id(
        post_comment(
            reader(app), post, name="Ann Reader", email="ann@example.com",
            url="https://ann.example/", body="See https://a.example and https://b.example **x**",
        )
    )  # fmt: skip
    page = moderator.get("/admin/comments/")
    assert page.status_code == 200
    text = page_text(page)
    for expected in (
        "Ann Reader",
        "ann@example.com",
        "https://ann.example/",
        "10.",
        "The reference post",
        "held: 2 links, limit 2",
        "Pending (1)",
    ):
        assert expected in text
    row = re.search(rf'<tr id="comment-{new_id}".*?</tr>', page.text, re.S)
    assert row is not None
    assert '<a href="https://a.example" rel="nofollow ugc noopener">' in row.group(0)
    for action in ("approve", "spam", "trash"):
        assert f"/admin/comments/{new_id}/{action}" in row.group(0)
    assert f"/admin/comments/{new_id}/delete" not in row.group(0)
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_counts_per_status_and_the_status_filter(moderator: FlaskClient) -> None:
    post = factories.make_post()
    made = {
        status: [factories.make_comment(post, status=status).id for _ in range(n)]
        for status, n in ((P, 2), (A, 3), (S, 1), (T, 4))
    }
    page = page_text(moderator.get("/admin/comments/"))
    assert "Pending (2) Approved (3) Spam (1) Trash (4)" in page
    for status, ids in made.items():
        shown = listed_ids(moderator.get(f"/admin/comments/?status={status.value}"))
        assert sorted(shown) == sorted(ids)


def test_post_filter_narrows_the_list_and_the_counts(moderator: FlaskClient) -> None:
    first = factories.make_post(title="First post")
    second = factories.make_post(title="Second post")
    mine = [factories.make_comment(first, status=P).id for _ in range(2)]
    factories.make_comment(second, status=P)
    response = moderator.get(f"/admin/comments/?post={first.id}")
    assert sorted(listed_ids(response)) == mine
    text = page_text(response)
    assert "Comments on “ First post ”" in text and "Pending (2)" in text


@pytest.mark.parametrize(
    ("q", "expected"), [("ann", {"ann"}), ("203.0.113", {"ip"}), ("BANANA", {"body"}), ("%", set())]
)
def test_search_finds_author_email_ip_or_text(
    moderator: FlaskClient, q: str, expected: set[str]
) -> None:
    post = factories.make_post()
    made = {
        "ann": factories.make_comment(post, status=P, author_name="Ann", author_email="a@x.org"),
        "body": factories.make_comment(post, status=P, body="I like bananas"),
    }
    ip = factories.make_comment(post, status=P, body="From afar")
    ip.ip_address = "203.0.113.9"
    db.session.commit()
    made["ip"] = ip
    response = moderator.get("/admin/comments/", query_string={"q": q})
    assert set(listed_ids(response)) == {made[k].id for k in expected}


def test_pages_of_twenty_newest_first(moderator: FlaskClient) -> None:
    post = factories.make_post()
    factories.make_comments(post, 25, status=P)
    first = listed_ids(moderator.get("/admin/comments/"))
    second = listed_ids(moderator.get("/admin/comments/?page=2"))
    assert len(first) == 20 and len(second) == 5
    assert first == sorted(first, reverse=True) and min(first) > max(second)
    assert "Page 1 of 2" in page_text(moderator.get("/admin/comments/"))
    emptied = moderator.get("/admin/comments/?page=3")
    assert emptied.status_code == 303 and emptied.headers["Location"] == "/admin/comments/"


def test_long_lists_count_up_to_the_cap_and_still_page_to_the_end(
    app: Any,
    moderator: FlaskClient,
    users: dict[Role, Any],
    client_as: Callable[[Role], FlaskClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(moderation_queue, "COUNT_CAP", 40)
    post = factories.make_post()
    factories.make_comments(post, 45, status=P)
    factories.make_comments(post, 3, status=S)
    own = factories.make_post(author=users[Role.AUTHOR])
    factories.make_comments(own, 2, status=P)
    first = moderator.get("/admin/comments/")
    assert "Pending (40+) Approved (0) Spam (3)" in page_text(first)
    assert "Page 1 of 2+" in page_text(first)
    seen = listed_ids(first) + listed_ids(moderator.get("/admin/comments/?page=2"))
    last = moderator.get("/admin/comments/?page=3")  # past the cap: counted in full
    assert "Page 3 of 3" in page_text(last)
    seen += listed_ids(last)
    assert len(seen) == len(set(seen)) == 47
    assert moderator.get("/admin/comments/?page=4").status_code == 303  # past the end
    # An author's counts go through their posts only.
    assert "Pending (2)" in page_text(client_as(Role.AUTHOR).get("/admin/comments/"))
    # The JSON API counts exactly.
    token = create_token(users[Role.MODERATOR].username).secret
    listed = app.test_client().get(
        "/api/v1/moderation/comments", headers={"Authorization": f"Bearer {token}"}
    )
    assert listed.get_json()["counts"]["pending"] == 47 and listed.get_json()["total"] == 47


@pytest.mark.parametrize(
    ("query", "status"),
    [("status=bogus", 400), ("post=abc", 400), ("post=99999999999", 400), ("page=0", 404)],
)
def test_bad_filters_answer_4xx(moderator: FlaskClient, query: str, status: int) -> None:
    assert moderator.get(f"/admin/comments/?{query}").status_code == status


def test_the_queue_runs_the_same_number_of_queries_for_3_or_60_comments(
    moderator: FlaskClient, count_queries: Callable[[], Any]
) -> None:
    def measure(n: int) -> int:
        posts = [factories.make_post() for _ in range(3)]
        for i in range(n):
            parent = factories.make_comment(posts[i % 3], commit=False) if i % 4 == 0 else None
            factories.make_comment(posts[i % 3], status=P, parent=parent, commit=False)
        db.session.commit()
        with count_queries() as counter:
            for query in ("", "?status=approved", "?q=reply", f"?post={posts[0].id}"):
                assert moderator.get(f"/admin/comments/{query}").status_code == 200
        return counter.count

    small = measure(3)
    large = measure(60)
    assert small == large, (small, large)
    assert small <= 4 * 9  # the spam filter's model: one query; readers' reports: one


def test_pending_counts_per_post_in_one_query(count_queries: Callable[[], Any]) -> None:
    busy, quiet, other = factories.make_post(), factories.make_post(), factories.make_post()
    for _ in range(3):
        factories.make_comment(busy, status=P)
    factories.make_comment(quiet, status=A)
    factories.make_comment(other, status=P)
    busy_id, quiet_id = busy.id, quiet.id
    with count_queries() as counter:
        found = pending_counts([busy_id, quiet_id])
    assert found == {busy_id: 3}
    assert counter.count == 1


def test_pending_count_links_from_each_row(moderator: FlaskClient) -> None:
    post = factories.make_post()
    for _ in range(2):
        factories.make_comment(post, status=P)
    factories.make_comment(post, status=A)
    page = moderator.get("/admin/comments/?status=approved")
    assert "2 pending" in page_text(page)
    assert f'href="/admin/comments/?status=pending&amp;post={post.id}"' in page.text
