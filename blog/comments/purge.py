"""Purging old spam, trash and unconfirmed comments in bulk (``flask blog purge``); the deletion
itself, with its count, is :func:`blog.comments.transitions.remove_comments`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from blog.comments.transitions import remove_comments
from blog.database import begin_write
from blog.extensions import db
from blog.models import Comment, CommentStatus, ModerationEvent, utcnow


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
