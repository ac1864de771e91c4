"""The one writer of a comment's status: where the count changes.

A comment enters with its first status (:func:`create_comments`), moves between statuses
(:func:`change_statuses`) and leaves for good (:func:`remove_comments`) only here. Each step
writes, in the caller's transaction and in the same breath, the comment's status, its held
reason when one is given, one ``ModerationEvent`` per change, and the post's
``comment_count``: an atomic ``UPDATE ... SET comment_count = comment_count + n``, never a
read-modify-write in Python, so ``posts.comment_count`` always equals the post's approved
comments. Which statuses a moderator may move a comment between is the table in
:mod:`blog.comments.moderation`; why a comment gets a status is :func:`blog.comments.policy.decide`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update

from blog.comments.spam import learning as spam_learning
from blog.extensions import db
from blog.models import Comment, CommentStatus, ModerationEvent, Post, User, utcnow

REASON_LENGTH = 200  # ModerationEvent.reason and Comment.held_reason


def count_delta(from_status: CommentStatus | None, to_status: CommentStatus | None) -> int:
    """How a status change moves the approved count: +1, -1 or 0 (None: created or deleted)."""
    was = from_status == CommentStatus.APPROVED
    now = to_status == CommentStatus.APPROVED
    return int(now) - int(was)


def apply_count_delta(post_id: int, delta: int) -> None:
    """Move the post's count by ``delta`` in SQL, in the caller's transaction (no commit)."""
    if delta:
        db.session.execute(
            update(Post)
            .where(Post.id == post_id)
            # updated_at set to itself: a comment is not an edit of the post (the column's
            # onupdate would otherwise move the sitemap's lastmod on every approval).
            .values(comment_count=Post.comment_count + delta, updated_at=Post.updated_at)
            .execution_options(synchronize_session=False)
        )


def _apply_deltas(deltas: dict[int, int]) -> None:
    for post_id in sorted(deltas):  # one order for every transaction: no deadlocks
        apply_count_delta(post_id, deltas[post_id])


def _event(
    comment: Comment,
    from_status: CommentStatus | None,
    to_status: CommentStatus,
    actor: User | None,
    reason: str,
    at: datetime | None = None,
) -> ModerationEvent:
    return ModerationEvent(
        comment_id=comment.id,
        actor_id=actor.id if actor is not None else None,
        from_status=from_status,
        to_status=to_status,
        reason=reason[:REASON_LENGTH],
        at=at or utcnow(),
    )


def create_comments(
    new: Sequence[tuple[Comment, CommentStatus]],
    reason: str,
    held_reason: str = "",
    at: datetime | None = None,
) -> None:
    """Add new comments with their first status and held reason, one event each (from no
    status, with ``reason``, at ``at`` or now), and their posts' counts; flush, no commit.

    The flush that gives the comments their ids may raise IntegrityError (a parent deleted
    meanwhile); nothing of the events or counts is written then.
    """
    for comment, status in new:
        comment.status = status
        comment.held_reason = held_reason[:REASON_LENGTH]
        db.session.add(comment)
    db.session.flush()
    deltas: dict[int, int] = defaultdict(int)
    for comment, status in new:
        db.session.add(_event(comment, None, status, None, reason, at))
        deltas[comment.post_id] += count_delta(None, status)
    db.session.flush()
    _apply_deltas(deltas)


def change_statuses(
    changes: Iterable[tuple[Comment, CommentStatus]],
    actor: User | None,
    reason: str,
    held_reason: str | None = None,
) -> list[Comment]:
    """Move locked comments to new statuses: one event each, the counts, the spam filter's
    lesson (:func:`blog.comments.spam.learning.learn_changes`), and the held reason when one is
    given (also for a comment whose status stays); no commit. Returns the comments that moved.
    """
    changes = list(changes)
    spam_learning.learn_changes(changes, actor)  # the filter learns from people's decisions
    deltas: dict[int, int] = defaultdict(int)
    changed: list[Comment] = []
    for comment, to_status in changes:
        if held_reason is not None:
            comment.held_reason = held_reason[:REASON_LENGTH]
        if comment.status == to_status:
            continue
        deltas[comment.post_id] += count_delta(comment.status, to_status)
        db.session.add(_event(comment, comment.status, to_status, actor, reason))
        comment.status = to_status
        changed.append(comment)
    db.session.flush()
    _apply_deltas(deltas)
    return changed


def change_status(
    comment: Comment,
    to_status: CommentStatus,
    actor: User | None,
    reason: str,
    held_reason: str | None = None,
) -> bool:
    """:func:`change_statuses` for one locked comment; False when it already had that status."""
    return bool(change_statuses([(comment, to_status)], actor, reason, held_reason))


def remove_comments(comments: Sequence[Comment]) -> None:
    """Delete comments for good, in the caller's transaction; their events go with them and
    their posts' counts fall by the approved ones.

    Replies move up to the deleted comment's parent (WordPress's behaviour), so a thread keeps
    its shape. The parent is read inside each UPDATE, so deleting a comment and its parent in
    one go re-parents the replies to the nearest survivor.
    """
    deltas: dict[int, int] = defaultdict(int)
    for comment in comments:
        deltas[comment.post_id] += count_delta(comment.status, None)
        grandparent = select(Comment.parent_id).where(Comment.id == comment.id).scalar_subquery()
        db.session.execute(
            update(Comment)
            .where(Comment.parent_id == comment.id)
            .values(parent_id=grandparent)
            .execution_options(synchronize_session=False)
        )
    if comments:
        db.session.execute(
            delete(Comment)
            .where(Comment.id.in_([c.id for c in comments]))
            .execution_options(synchronize_session=False)
        )
    _apply_deltas(deltas)


def recount(post_id: int) -> None:
    """Set the post's count from its approved comments (a repair: :mod:`blog.comments.counts`)."""
    approved = (
        select(func.count(Comment.id))
        .where(Comment.post_id == post_id, Comment.status == CommentStatus.APPROVED)
        .scalar_subquery()
    )
    db.session.execute(
        update(Post)
        .where(Post.id == post_id)
        .values(comment_count=approved)
        .execution_options(synchronize_session=False)
    )
