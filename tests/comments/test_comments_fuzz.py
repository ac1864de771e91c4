"""Property-based: whatever a reader or a moderator sends, no 500, and a refusal stores nothing."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, Role
from blog.settings import save_settings
from tests import factories
from tests.conftest import login
from tests.helpers import seeded, snapshot

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
hostile = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "<script>alert(1)</script>",
        "javascript:alert(1)",
        "http://",
        "a@b",
        "ann@example.com",
        "x" * 246,
        "é" * 40_000,
        "1",
        "-1",
        "99999999999999999999",
        "1e3",
        "%00",
        "yes",
        "\u202e",
        "\ufeff",
        "🙂" * 70,
    ]
)
value = st.one_of(text, hostile)
FIELDS = ["name", "email", "url", "body", "parent_id", "website", "remember", "notify_replies"]
changes = st.dictionaries(st.sampled_from([*FIELDS, "csrf_token", "extra"]), value, max_size=9)
VALID = {"name": "Ann", "email": "ann@example.com", "body": "A fine reply."}
# Half from scratch, half a valid form with a few fields changed, so both refusals and stored
# comments come up.
form = st.one_of(
    changes,
    st.builds(
        lambda changed, n: {**VALID, "body": f"Reply number {n}", **changed},
        st.dictionaries(st.sampled_from(FIELDS), value, max_size=2),
        st.integers(min_value=0),
    ),
)
examples = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def post_with_comments(app: Flask) -> dict[str, Any]:
    """A post with a few comments, made once per test function (hypothesis reruns the body)."""

    def build() -> dict[str, Any]:
        save_settings({"flood_interval_seconds": 0})
        post = factories.make_post()
        factories.make_comment(post)
        factories.make_comment(post, status=CommentStatus.PENDING)
        moderator = factories.make_user(role=Role.MODERATOR)
        return {"slug": post.slug, "post_id": post.id, "moderator": moderator}

    return seeded(app, "comments", build)


@examples
@given(data=form)
def test_reply_form_never_500_and_a_refusal_stores_nothing(
    app: Flask, data: dict[str, str]
) -> None:
    seed = post_with_comments(app)
    before = snapshot()
    response = app.test_client().post(f"/blog/{seed['slug']}/comments", data=data)
    assert response.status_code in (303, 400, 409, 413, 429), response.status_code
    event(f"answered {response.status_code}")
    db.session.rollback()
    if response.status_code == 303:
        assert len(snapshot()[0]) == len(before[0]) + 1  # one comment more
    else:
        assert snapshot() == before


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.binary(max_size=400),
    kind=st.sampled_from(
        ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"]
    ),
)
def test_raw_bytes_to_the_reply_form_never_500(app: Flask, raw: bytes, kind: str) -> None:
    seed = post_with_comments(app)
    before = snapshot()
    response = app.test_client().post(f"/blog/{seed['slug']}/comments", data=raw, content_type=kind)
    assert response.status_code < 500
    db.session.rollback()
    if response.status_code != 303:
        assert snapshot() == before


ACTIONS = ["approve", "unapprove", "spam", "unspam", "trash", "restore", "delete"]
segment = st.one_of(
    st.sampled_from([*ACTIONS, "edit", "reply", "bulk", "", "APPROVE", "approve/", "..", "%00"]),
    st.text(max_size=12),
)
some_id = st.one_of(
    st.integers(min_value=-5, max_value=10), st.sampled_from(["", "x", "1.5", "9" * 30]), text
)
# Half the requests name a real action on a seeded comment; the rest are anything.
target = st.one_of(
    st.tuples(st.integers(0, 5).map(lambda i: ("seeded", i)), st.sampled_from(ACTIONS)),
    st.tuples(some_id, segment),
)


@examples
@given(
    path=target,
    data=st.dictionaries(
        st.sampled_from(["action", "ids", "body", "name", "email", "url"]),
        st.one_of(value, st.lists(some_id.map(str), max_size=4)),
        max_size=5,
    ),
    query=st.dictionaries(
        st.sampled_from(["status", "post", "q", "page", "edit", "reply"]), value, max_size=3
    ),
)
def test_queue_actions_never_500_and_a_refusal_changes_nothing(
    app: Flask, path: tuple[Any, str], data: dict[str, Any], query: dict[str, str]
) -> None:
    seed = post_with_comments(app)
    client = login(app.test_client(), seed["moderator"])
    first, second = path
    if isinstance(first, tuple):  # one of the comments that exist now
        ids = list(db.session.scalars(select(Comment.id).order_by(Comment.id)))
        if len(ids) < 3:
            ids.append(factories.make_comment(db.session.get(Post, seed["post_id"])).id)
        first = ids[first[1] % len(ids)]
    url = f"/admin/comments/{quote(str(first), safe='')}/{quote(second, safe='/')}"
    if second == "bulk":
        url = "/admin/comments/bulk"
    before = snapshot()
    response = client.post(url, data=data, query_string=query)
    assert response.status_code < 500, (url, data, query, response.status_code)
    event(f"answered {response.status_code}")
    db.session.rollback()
    if response.status_code != 303:
        assert snapshot() == before
    listing = client.get("/admin/comments/", query_string=query)
    assert listing.status_code < 500, (query, listing.status_code)
