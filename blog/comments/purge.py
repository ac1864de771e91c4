"""Deleting comments for good: one at a time from the queue, or old spam and trash in bulk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from blog.comments.counts import apply_count_delta, count_delta
from blog.database import begin_write
from blog.extensions import db
from blog.models import Comment, CommentStatus, ModerationEvent, utcnow


def remove_comments(comments: Sequence[Comment]) -> None:
    """Delete comments for good, in the caller's transaction; their events go with them.

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
    for post_id in sorted(deltas):
        apply_count_delta(post_id, deltas[post_id])


@dataclass(frozen=True)
class Purged:
    spam: int
    trash: int
    unconfirmed: int = 0


UNCONFIRMED_DAYS = 7  # as long as the confirmation link is valid (blog.comments.confirmation)


def purge_comments(spam_days: int, trash_days: int, now: datetime | None = None) -> Purged:
    """Delete spam older than ``spam_days``, trash older than ``trash_days`` and comments never
    confirmed by their author within 7 days, and commit.

    Age counts from when the comment entered spam or trash (its latest event into that status;
    its creation time when it has none, e.g. imported).
    """
    now = now or utcnow()
    begin_write()
    spam = _entered_before(CommentStatus.SPAM, now - timedelta(days=spam_days))
    trash = _entered_before(CommentStatus.TRASH, now - timedelta(days=trash_days))
    unconfirmed = _entered_before(CommentStatus.UNCONFIRMED, now - timedelta(UNCONFIRMED_DAYS))
    remove_comments([*spam, *trash, *unconfirmed])
    db.session.commit()
    return Purged(spam=len(spam), trash=len(trash), unconfirmed=len(unconfirmed))


def _entered_before(status: CommentStatus, cutoff: datetime) -> list[Comment]:
    entered = (
        select(ModerationEvent.comment_id, func.max(ModerationEvent.at).label("at"))
        .where(ModerationEvent.to_status == status)
        .group_by(ModerationEvent.comment_id)
        .subquery()
    )
    since = func.coalesce(entered.c.at, Comment.created_at)
    stmt = (
        select(Comment)
        .outerjoin(entered, entered.c.comment_id == Comment.id)
        .where(Comment.status == status, since < cutoff)
        .order_by(Comment.id)
    )
    return list(db.session.scalars(stmt))
