"""Who may move a comment where: the one table of allowed status changes, and the moderators'
actions that apply it (the HTML queue, its bulk actions and the JSON API alike).

:data:`MOVES` says, for each action, from which statuses it applies and to which it leads
(WordPress's row actions). The queue shows :func:`actions_for` a status; the API's status
change is allowed when :func:`action_to` finds a row for it. Whether a user may moderate a
comment at all is :mod:`blog.permissions` (``Action.MODERATE``); the writes themselves are
:mod:`blog.comments.transitions`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, true

from blog.comments import notifications
from blog.comments.transitions import change_statuses, remove_comments
from blog.database import begin_write
from blog.extensions import db
from blog.models import Comment, CommentStatus, ModerationEvent, Post, User
from blog.permissions import Action, post_scope_filter
from blog.refusals import Refused


class ModerationAction(enum.StrEnum):
    APPROVE = "approve"
    UNAPPROVE = "unapprove"
    SPAM = "spam"
    NOT_SPAM = "unspam"
    TRASH = "trash"
    RESTORE = "restore"
    DELETE = "delete"


PENDING, APPROVED = CommentStatus.PENDING, CommentStatus.APPROVED
SPAM, TRASH = CommentStatus.SPAM, CommentStatus.TRASH
UNCONFIRMED = CommentStatus.UNCONFIRMED  # a moderator need not wait for the mailed link
# A moderator may reply to these (a pending comment is approved first); "not spam" and
# "restore" lead back to one of them.
REPLYABLE = frozenset({PENDING, APPROVED})


@dataclass(frozen=True)
class Move:
    """An action, the statuses it applies to, and those it may lead to. Several targets: back
    to the status before (pending if unknown) from the queue; the API names one of them."""

    sources: frozenset[CommentStatus]
    targets: frozenset[CommentStatus]  # empty: the comment is deleted for good


def _move(sources: set[CommentStatus], *targets: CommentStatus) -> Move:
    return Move(frozenset(sources), frozenset(targets))


# The table of allowed status changes, in the queue's order.
MOVES: dict[ModerationAction, Move] = {
    ModerationAction.APPROVE: _move({PENDING, UNCONFIRMED}, APPROVED),
    ModerationAction.UNAPPROVE: _move({APPROVED}, PENDING),
    ModerationAction.SPAM: _move({PENDING, APPROVED, UNCONFIRMED}, SPAM),
    ModerationAction.NOT_SPAM: _move({SPAM}, *REPLYABLE),
    ModerationAction.TRASH: _move({PENDING, APPROVED, SPAM, UNCONFIRMED}, TRASH),
    ModerationAction.RESTORE: _move({TRASH}, *REPLYABLE),
    ModerationAction.DELETE: _move({SPAM, TRASH}),
}


def actions_for(status: CommentStatus) -> list[ModerationAction]:
    """The row actions that apply to a comment of this status, in the queue's order."""
    return [action for action, move in MOVES.items() if status in move.sources]


def action_to(from_status: CommentStatus, to_status: CommentStatus) -> ModerationAction | None:
    """The action that moves a comment from one status to another, or None: not allowed."""
    for action, move in MOVES.items():
        if from_status in move.sources and to_status in move.targets:
            return action
    return None


# What the admin calls each action, and how the notice after it says what was done.
ACTION_LABELS: dict[ModerationAction, tuple[str, str]] = {
    ModerationAction.APPROVE: ("Approve", "approved"),
    ModerationAction.UNAPPROVE: ("Unapprove", "unapproved"),
    ModerationAction.SPAM: ("Spam", "marked as spam"),
    ModerationAction.NOT_SPAM: ("Not Spam", "restored from spam"),
    ModerationAction.TRASH: ("Trash", "moved to the trash"),
    ModerationAction.RESTORE: ("Restore", "restored from the trash"),
    ModerationAction.DELETE: ("Delete Permanently", "deleted permanently"),
}
# Beside a comment on its post page (the queue has the rest: restoring, deleting for good).
PAGE_ACTIONS = frozenset(
    {
        ModerationAction.APPROVE,
        ModerationAction.UNAPPROVE,
        ModerationAction.SPAM,
        ModerationAction.TRASH,
    }
)


def page_actions_for(status: CommentStatus) -> list[ModerationAction]:
    """The actions offered beside a comment of this status on its post page."""
    return [action for action in actions_for(status) if action in PAGE_ACTIONS]


def keeps_it_shown(action: ModerationAction) -> bool:
    """Whether the comment is still shown on its post page after the action (it is approved)."""
    return MOVES[action].targets == {APPROVED}


NOT_POSSIBLE = {
    ModerationAction.DELETE: "Only comments in spam or trash can be deleted permanently.",
    ModerationAction.NOT_SPAM: "That comment is not marked as spam.",
    ModerationAction.RESTORE: "That comment is not in the trash.",
}


class ModerationError(Refused):
    """A moderation action that cannot be done; the message is for people."""

    def __init__(self, message: str, status_code: int = 409) -> None:
        super().__init__(message, status_code)


@dataclass(frozen=True)
class Result:
    done: int
    skipped: int


def set_status(
    comment_id: int, to_status: CommentStatus, actor: User | None, reason: str = ""
) -> bool:
    """Move one comment to ``to_status`` as the table allows, with its event and count; commit.

    Returns False when the comment already had that status. Raises ModerationError: 404 when
    the comment does not exist or lies outside what ``actor`` may moderate, 409 when the table
    has no move from its status to ``to_status``.
    """
    begin_write()
    found = lock_comments([comment_id], actor)
    if not found:
        db.session.rollback()
        raise ModerationError("No such comment.", 404)
    comment = found[0]
    if comment.status != to_status and action_to(comment.status, to_status) is None:
        db.session.rollback()
        raise ModerationError(f"A comment in {comment.status.value} cannot become {to_status}.")
    changed = change_statuses([(comment, to_status)], actor, reason)
    _commit_and_notify(changed)
    return bool(changed)


def moderate_comment(
    comment_id: int, action: ModerationAction, actor: User | None, reason: str = ""
) -> None:
    """Apply a row action to one comment; ModerationError when it does not apply to it."""
    _moderate([comment_id], action, actor, reason, strict=True)


def moderate_comments(
    comment_ids: Sequence[int], action: ModerationAction, actor: User | None, reason: str = ""
) -> Result:
    """Apply a bulk action in one transaction; comments it does not apply to are skipped."""
    return _moderate(comment_ids, action, actor, reason, strict=False)


def _moderate(
    ids: Sequence[int], action: ModerationAction, actor: User | None, reason: str, strict: bool
) -> Result:
    wanted = sorted(set(ids))
    begin_write()
    found = lock_comments(wanted, actor)
    if strict and not found:
        db.session.rollback()
        raise ModerationError("No such comment.", 404)
    eligible = [c for c in found if c.status in MOVES[action].sources]
    if strict and not eligible:
        message = NOT_POSSIBLE.get(action, f"That comment is already {found[0].status.value}.")
        db.session.rollback()
        raise ModerationError(message)
    changed: list[Comment] = []
    if action == ModerationAction.DELETE:
        remove_comments(eligible)
    else:
        changes = _targets(eligible, MOVES[action])
        changed = change_statuses(changes, actor, reason or action.value)
    _commit_and_notify(changed)
    return Result(done=len(eligible), skipped=len(wanted) - len(eligible))


def _targets(comments: Sequence[Comment], move: Move) -> list[tuple[Comment, CommentStatus]]:
    """Where each comment goes: the move's one target, or back to the status it had before."""
    if len(move.targets) == 1:
        (target,) = move.targets
        return [(c, target) for c in comments]
    previous = _status_before(comments)
    return [(c, previous.get(c.id, PENDING)) for c in comments]


def moderation_scope(actor: User | None) -> ColumnElement[bool]:
    """The posts ``actor`` may moderate; None is the system (CLI, imports): everything."""
    return true() if actor is None else post_scope_filter(actor, Action.MODERATE)


def lock_comments(ids: Sequence[int], actor: User | None) -> list[Comment]:
    """Load and lock the comments (in id order, so that concurrent bulk actions cannot deadlock).

    ``FOR NO KEY UPDATE`` on PostgreSQL: a concurrent reply's foreign-key check is not blocked.
    On SQLite the transaction already holds the write lock.
    """
    if not ids:
        return []
    stmt = (
        select(Comment)
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.id.in_(ids), moderation_scope(actor))
        .order_by(Comment.id)
        .with_for_update(key_share=True, of=Comment)
        .execution_options(populate_existing=True)
    )
    return list(db.session.scalars(stmt))


def _status_before(comments: Sequence[Comment]) -> dict[int, CommentStatus]:
    """The status each comment had before it entered its current one (one query)."""
    if not comments:
        return {}
    current = {c.id: c.status for c in comments}
    rows = db.session.execute(
        select(ModerationEvent.comment_id, ModerationEvent.from_status, ModerationEvent.to_status)
        .where(ModerationEvent.comment_id.in_(current))
        .order_by(ModerationEvent.id.desc())
    )
    found: dict[int, CommentStatus] = {}
    for comment_id, before, to in rows:
        if comment_id not in found and to == current[comment_id]:
            found[comment_id] = before if before in REPLYABLE else PENDING
    return found


def _commit_and_notify(changed: Sequence[Comment]) -> None:
    approved = [c.id for c in changed if c.status == CommentStatus.APPROVED]
    db.session.flush()
    if approved:
        notifications.queue_approved(approved)  # committed with the decision, sent after
    db.session.commit()
