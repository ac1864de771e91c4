"""The queue's statements are built once per kind of filter and reused: each request's own
values (status, post, search, page) must still decide what it lists, for staff and authors."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from blog.models import CommentStatus, Role
from tests import factories
from tests.commenting import page_text

P, A = CommentStatus.PENDING, CommentStatus.APPROVED


def listed_ids(response: Any) -> set[int]:
    return {int(i) for i in re.findall(r'name="ids" value="(\d+)"', response.text)}


def test_each_request_lists_by_its_own_filters(
    client_as: Callable[[Role], FlaskClient], users: dict[Role, Any]
) -> None:
    theirs = factories.make_post(title="Staff post")
    own = factories.make_post(author=users[Role.AUTHOR], title="Author post")
    staff_pending = factories.make_comment(theirs, status=P, body="apples on the staff post")
    staff_approved = factories.make_comment(theirs, status=A, body="pears on the staff post")
    own_pending = factories.make_comment(own, status=P, body="apples on the author post")
    own_approved = factories.make_comment(own, status=A, body="pears on the author post")
    moderator, author = client_as(Role.MODERATOR), client_as(Role.AUTHOR)

    expected: list[tuple[FlaskClient, str, set[int]]] = [
        (moderator, "", {staff_pending.id, own_pending.id}),
        (moderator, "?status=approved", {staff_approved.id, own_approved.id}),
        (moderator, f"?post={theirs.id}", {staff_pending.id}),
        (moderator, f"?post={own.id}", {own_pending.id}),
        (moderator, f"?status=approved&post={own.id}", {own_approved.id}),
        (moderator, "?q=apples", {staff_pending.id, own_pending.id}),
        (moderator, "?q=apples+on+the+author", {own_pending.id}),
        (moderator, "?status=approved&q=pears", {staff_approved.id, own_approved.id}),
        (author, "", {own_pending.id}),
        (author, "?status=approved", {own_approved.id}),
        (author, "?q=apples", {own_pending.id}),
        (author, f"?post={theirs.id}", set()),
        (author, f"?post={own.id}&status=approved&q=pears", {own_approved.id}),
    ]
    for _ in range(2):  # the second round runs every kind of statement again, reused
        for client, query, ids in expected:
            assert listed_ids(client.get(f"/admin/comments/{query}")) == ids, query

    assert "Pending (2) Approved (2)" in page_text(moderator.get("/admin/comments/"))
    assert "Pending (1) Approved (1)" in page_text(author.get("/admin/comments/"))
    filtered = page_text(moderator.get(f"/admin/comments/?post={theirs.id}"))
    assert "Pending (1) Approved (1)" in filtered
