"""The one table of allowed status changes (blog.comments.moderation.MOVES) serves the HTML queue
and the JSON API alike: each surface allows exactly the changes the table has, read from it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blog.accounts.tokens import create_token
from blog.comments.counts import find_drift
from blog.comments.moderation import MOVES, ModerationAction, action_to, actions_for
from blog.extensions import db
from blog.models import Comment, CommentStatus, Role, User
from tests import factories

API = "/api/v1/moderation/comments"


def status_of(comment_id: int) -> CommentStatus | None:
    db.session.expire_all()
    return db.session.scalar(select(Comment.status).where(Comment.id == comment_id))


def expected_after(move_targets: frozenset[CommentStatus]) -> CommentStatus | None:
    """Where the queue's action leads a comment made in its status by the factory: the one
    target; back to pending when it could go back to several (it had no status before); None
    when it is deleted for good."""
    if not move_targets:
        return None
    return next(iter(move_targets)) if len(move_targets) == 1 else CommentStatus.PENDING


@pytest.mark.parametrize("start", list(CommentStatus))
def test_the_queue_allows_exactly_the_tables_actions(
    client_as: Callable[[Role], FlaskClient], start: CommentStatus
) -> None:
    moderator = client_as(Role.MODERATOR)
    post = factories.make_post()
    listed = factories.make_comment(post, status=start).id
    page = moderator.get(f"/admin/comments/?status={start.value}").text
    bulk = {a for a in ModerationAction if f'<option value="{a.value}">' in page}
    row = {a for a in ModerationAction if f"/admin/comments/{listed}/{a.value}?" in page}
    assert bulk == row == set(actions_for(start))  # what the queue offers: the table's
    for action, move in MOVES.items():
        comment_id = factories.make_comment(post, status=start).id
        answer = moderator.post(f"/admin/comments/{comment_id}/{action.value}")
        if start in move.sources:
            assert answer.status_code == 303, (start, action)
            assert status_of(comment_id) == expected_after(move.targets), (start, action)
        else:
            assert answer.status_code == 409, (start, action)
            assert status_of(comment_id) == start, (start, action)
    assert find_drift() == []


@pytest.fixture
def api_moderator(app: Flask, users: dict[Role, User]) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(users[Role.MODERATOR].username).secret}"}


@pytest.mark.parametrize("start", list(CommentStatus))
def test_the_api_allows_exactly_the_tables_changes(
    client: FlaskClient, api_moderator: dict[str, str], start: CommentStatus
) -> None:
    post = factories.make_post()
    for target in CommentStatus:
        comment_id = factories.make_comment(post, status=start).id
        answer = client.post(f"{API}/{comment_id}", json={"status": target}, headers=api_moderator)
        if target == start or action_to(start, target) is not None:
            assert answer.status_code == 200, (start, target)
            assert status_of(comment_id) == target, (start, target)
        else:
            assert answer.status_code == 409, (start, target)
            assert status_of(comment_id) == start, (start, target)
    comment_id = factories.make_comment(post, status=start).id
    deleted = client.delete(f"{API}/{comment_id}", headers=api_moderator)
    if start in MOVES[ModerationAction.DELETE].sources:
        assert deleted.status_code == 204 and status_of(comment_id) is None
    else:
        assert deleted.status_code == 409 and status_of(comment_id) == start
    assert find_drift() == []


def test_every_status_a_move_leads_to_is_a_status_the_queue_can_act_on() -> None:
    """No move leads where nothing can move the comment on, and every status can be left."""
    reached = set().union(*(move.targets for move in MOVES.values()))
    assert all(actions_for(status) for status in CommentStatus)
    assert reached <= set(CommentStatus) and all(actions_for(status) for status in reached)
