"""Moderation: the decision for a new comment, status changes with their counts, the queue.

:func:`decide` is the policy of SPEC section 6 as one pure function. Every status change goes
through :func:`_change_statuses`: it writes a ModerationEvent and moves ``posts.comment_count``
through :mod:`blog.comments.counts` in the same transaction.
"""

from __future__ import annotations

import enum
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Exists, func, or_, select, true

from blog.comments import notifications
from blog.comments.counts import apply_count_delta, count_delta
from blog.comments.purge import remove_comments
from blog.comments.spam import filter as spam
from blog.comments.spam import learning as spam_learning
from blog.database import begin_write
from blog.extensions import db
from blog.models import Comment, CommentStatus, ModerationEvent, Post, User
from blog.permissions import Action, post_scope_filter
from blog.sanitize import count_links
from blog.settings import Settings

REASON_LENGTH = 200  # ModerationEvent.reason and Comment.held_reason


def duplicate_exists(
    post_id: ColumnElement[int],
    digest: ColumnElement[str],
    name: ColumnElement[str],
    email: ColumnElement[str] | None,
    *others: ColumnElement[bool],
) -> Exists:
    """Whether a comment not in the trash on the post has the same text (its digest) from the
    same name or, when given, the same email, both compared case-insensitively (SPEC 5, as
    WordPress's wp_allow_comment under MySQL's case-insensitive collation)."""
    same_author = [func.lower(Comment.author_name) == func.lower(name)]
    if email is not None:
        same_author.append(func.lower(Comment.author_email) == func.lower(email))
    return (
        select(Comment.id)
        .where(
            Comment.post_id == post_id,
            Comment.body_digest == digest,
            Comment.status != CommentStatus.TRASH,
            or_(*same_author),
            *others,
        )
        .exists()
    )


# --- The decision for a new comment (pure) ---------------------------------------------------


@dataclass(frozen=True)
class ParentFacts:
    """What the rules need to know about the comment being replied to."""

    post_id: int
    status: CommentStatus
    depth: int  # 1 for a top-level comment


@dataclass(frozen=True)
class Candidate:
    """A submitted comment as the rules see it: the cleaned fields and the facts around it."""

    name: str
    email: str
    url: str
    body: str
    body_html: str
    submitted_at: datetime
    ip_address: str = ""
    user_agent: str = ""
    honeypot: str = ""
    errors: Mapping[str, str] = field(default_factory=dict)  # field -> message (rule 1)
    parent_requested: bool = False
    parent: ParentFacts | None = None
    by_moderator: bool = False  # signed in and allowed to moderate this post
    spam_score: float | None = (
        None  # rule 4b, from blog.comments.spam.filter; None while it is not ready
    )


@dataclass(frozen=True)
class History:
    """The commenter's past, as far as the rules care."""

    duplicate: bool = False  # same post, same name or email, same body
    last_comment_at: datetime | None = None  # latest comment from the same IP or email
    has_approved: bool = False  # this email has an approved comment


@dataclass(frozen=True)
class Decision:
    """``status`` None means rejected: nothing is stored and ``http_status`` says why."""

    status: CommentStatus | None
    reason: str
    rule: int
    http_status: int = 0
    fields: Mapping[str, str] = field(default_factory=dict)
    retry_after: int | None = None

    @property
    def rejected(self) -> bool:
        return self.status is None


DUPLICATE_MESSAGE = "Duplicate comment detected; it looks as though you've already said that!"
FLOOD_MESSAGE = "You are posting comments too quickly. Slow down, and try again in a moment."
REPLY_UNAVAILABLE = "The comment you are replying to is not available. Your reply was not posted."
INVALID_MESSAGE = "Your comment could not be posted. Please correct the fields marked below."


def decide(candidate: Candidate, post: Post, settings: Settings, history: History) -> Decision:
    """The status of a new comment and the rule that decided it; the first rule that applies wins.

    1 invalid: rejected (400); 2 closed: rejected (403); 3 duplicate (409) or flood (429):
    rejected; 4 honeypot or disallowed word: spam; 4b spam score above the threshold: spam;
    5 a moderator of the post: approved;
    6 manual moderation: pending; 7 too many links or a moderation word: pending;
    8 previously approved commenter: approved, else pending (approved when that rule is off).
    """
    return (
        _invalid(candidate, post, settings)
        or _refused(candidate, post, settings, history)
        or _spam(candidate, settings)
        or _held(candidate, settings)
        or _approved(candidate, settings, history)
    )


def _invalid(candidate: Candidate, post: Post, settings: Settings) -> Decision | None:
    """Rule 1: bad fields, or a parent that cannot take a reply."""
    problems = dict(candidate.errors)
    reply_problem = _reply_problem(candidate, post, settings)
    if reply_problem:
        problems["parent_id"] = reply_problem
    if not problems:
        return None
    only_reply = list(problems) == ["parent_id"]
    message = reply_problem if only_reply and reply_problem else INVALID_MESSAGE
    return Decision(None, message, 1, 400, problems)


def _refused(
    candidate: Candidate, post: Post, settings: Settings, history: History
) -> Decision | None:
    """Rules 2 and 3: comments closed, a duplicate, a flood."""
    closed = _closed_reason(post, settings, candidate.submitted_at)
    if closed:
        return Decision(None, closed, 2, 403)
    if history.duplicate:
        return Decision(None, DUPLICATE_MESSAGE, 3, 409)
    wait = _flood_wait(candidate, settings, history)
    if wait:
        return Decision(None, FLOOD_MESSAGE, 3, 429, retry_after=wait)
    return None


def _spam(candidate: Candidate, settings: Settings) -> Decision | None:
    """Rules 4 and 4b: the honeypot, a disallowed word, a spam score above the threshold."""
    if candidate.honeypot.strip():
        return Decision(CommentStatus.SPAM, "spam: the hidden field was filled in", 4)
    found = _find_word(settings.disallowed_keys, candidate)
    if found:
        return Decision(CommentStatus.SPAM, _reason("spam: disallowed word", *found), 4)
    score = candidate.spam_score
    if score is not None and score > settings.spam_threshold:
        return Decision(CommentStatus.SPAM, f"spam score {spam.describe_score(score)}", 4)
    return None


def _held(candidate: Candidate, settings: Settings) -> Decision | None:
    """Rules 5 to 7: a moderator's comment passes; manual moderation, links, moderation words
    hold the others."""
    if candidate.by_moderator:
        return Decision(CommentStatus.APPROVED, "approved: posted by a moderator of the post", 5)
    if settings.comment_moderation:
        return Decision(CommentStatus.PENDING, "held: manual moderation is on", 6)
    limit = settings.comment_max_links
    links = count_links(candidate.body_html)
    if limit and links >= limit:
        return Decision(CommentStatus.PENDING, f"held: {links} links, limit {limit}", 7)
    found = _find_word(settings.moderation_keys, candidate)
    if found:
        return Decision(CommentStatus.PENDING, _reason("held: moderation word", *found), 7)
    return None


def _approved(candidate: Candidate, settings: Settings, history: History) -> Decision:
    """Rule 8: approved when the commenter was approved before (or that rule is off)."""
    if not settings.comment_previously_approved:
        return Decision(CommentStatus.APPROVED, "approved: no rule held it", 8)
    if history.has_approved:
        return Decision(CommentStatus.APPROVED, "approved: previously approved commenter", 8)
    return Decision(CommentStatus.PENDING, "held: first comment from this email address", 8)


def max_thread_depth(settings: Settings) -> int:
    """How deep replies may nest: 1 (no replies) when threading is off."""
    return max(1, settings.thread_comments_depth) if settings.thread_comments else 1


def _reply_problem(candidate: Candidate, post: Post, settings: Settings) -> str | None:
    if not candidate.parent_requested:
        return None
    parent = candidate.parent
    if parent is None or parent.post_id != post.id or parent.status != CommentStatus.APPROVED:
        return REPLY_UNAVAILABLE
    depth = max_thread_depth(settings)
    if parent.depth >= depth:
        if depth == 1:
            return "Replies to comments are turned off on this site."
        return f"Replies can nest at most {depth} levels deep; reply to an earlier comment."
    return None


def _closed_reason(post: Post, settings: Settings, now: datetime) -> str | None:
    if not post.comments_open:
        return "Comments are closed on this post."
    days = settings.close_comments_days_old
    published = post.published_at
    if settings.close_comments_for_old_posts and published and now - published > timedelta(days):
        return f"Comments on this post closed {days} days after it was published."
    return None


def _flood_wait(candidate: Candidate, settings: Settings, history: History) -> int | None:
    """Seconds to wait before commenting again, or None. Moderators are never held back."""
    interval = settings.flood_interval_seconds
    if candidate.by_moderator or not interval or history.last_comment_at is None:
        return None
    elapsed = (candidate.submitted_at - history.last_comment_at).total_seconds()
    if elapsed >= interval:
        return None
    return max(1, math.ceil(interval - elapsed))


def _find_word(keys: str, candidate: Candidate) -> tuple[str, str] | None:
    """The first listed word found (case-insensitively, anywhere) in a field, with the field."""
    words = [line.strip() for line in keys.splitlines() if line.strip()]
    if not words:
        return None
    fields = {
        "name": candidate.name,
        "email": candidate.email,
        "website": candidate.url,
        "comment": candidate.body,
        "IP address": candidate.ip_address,
        "user agent": candidate.user_agent,
    }
    folded = {name: value.casefold() for name, value in fields.items()}
    for word in words:
        needle = word.casefold()
        for name, value in folded.items():
            if needle in value:
                return word, name
    return None


def _reason(prefix: str, word: str, where: str) -> str:
    return f'{prefix} "{word[:60]}" in {where}'[:REASON_LENGTH]


# --- Status changes --------------------------------------------------------------------------


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
# From which statuses each action applies (WordPress's row actions).
UNCONFIRMED = CommentStatus.UNCONFIRMED  # a moderator need not wait for the mailed link
ALLOWED_FROM: dict[ModerationAction, frozenset[CommentStatus]] = {
    ModerationAction.APPROVE: frozenset({PENDING, UNCONFIRMED}),
    ModerationAction.UNAPPROVE: frozenset({APPROVED}),
    ModerationAction.SPAM: frozenset({PENDING, APPROVED, UNCONFIRMED}),
    ModerationAction.NOT_SPAM: frozenset({SPAM}),
    ModerationAction.TRASH: frozenset({PENDING, APPROVED, SPAM, UNCONFIRMED}),
    ModerationAction.RESTORE: frozenset({TRASH}),
    ModerationAction.DELETE: frozenset({SPAM, TRASH}),
}
# Where each action leads; None: back to the status before spam or trash (pending if unknown).
TARGET: dict[ModerationAction, CommentStatus | None] = {
    ModerationAction.APPROVE: APPROVED,
    ModerationAction.UNAPPROVE: PENDING,
    ModerationAction.SPAM: SPAM,
    ModerationAction.NOT_SPAM: None,
    ModerationAction.TRASH: TRASH,
    ModerationAction.RESTORE: None,
}
# A moderator may reply to these (a pending comment is approved first).
REPLYABLE = frozenset({PENDING, APPROVED})


def actions_for(status: CommentStatus) -> list[ModerationAction]:
    """The row actions that apply to a comment of this status, in the queue's order."""
    return [action for action in ModerationAction if status in ALLOWED_FROM[action]]


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


NOT_POSSIBLE = {
    ModerationAction.DELETE: "Only comments in spam or trash can be deleted permanently.",
    ModerationAction.NOT_SPAM: "That comment is not marked as spam.",
    ModerationAction.RESTORE: "That comment is not in the trash.",
}


class ModerationError(Exception):
    """A moderation action that cannot be done; the message is for people."""

    def __init__(self, message: str, status_code: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True)
class Result:
    done: int
    skipped: int


def set_status(
    comment_id: int, to_status: CommentStatus, actor: User | None, reason: str = ""
) -> bool:
    """Move one comment to ``to_status`` (any status), with its event and count, and commit.

    Returns False when the comment already had that status. Raises ModerationError (404) when
    the comment does not exist or lies outside what ``actor`` may moderate.
    """
    begin_write()
    found = _lock_comments([comment_id], actor)
    if not found:
        db.session.rollback()
        raise ModerationError("No such comment.", 404)
    changed = _change_statuses([(found[0], to_status)], actor, reason)
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
    found = _lock_comments(wanted, actor)
    if strict and not found:
        db.session.rollback()
        raise ModerationError("No such comment.", 404)
    eligible = [c for c in found if c.status in ALLOWED_FROM[action]]
    if strict and not eligible:
        message = NOT_POSSIBLE.get(action, f"That comment is already {found[0].status.value}.")
        db.session.rollback()
        raise ModerationError(message)
    changed: list[Comment] = []
    if action == ModerationAction.DELETE:
        remove_comments(eligible)
    else:
        target = TARGET[action]
        previous = _status_before(eligible) if target is None else {}
        changes = [(c, target or previous.get(c.id, PENDING)) for c in eligible]
        changed = _change_statuses(changes, actor, reason or action.value)
    _commit_and_notify(changed)
    return Result(done=len(eligible), skipped=len(wanted) - len(eligible))


def moderation_scope(actor: User | None) -> ColumnElement[bool]:
    """The posts ``actor`` may moderate; None is the system (CLI, imports): everything."""
    return true() if actor is None else post_scope_filter(actor, Action.MODERATE)


def _lock_comments(ids: Sequence[int], actor: User | None) -> list[Comment]:
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


def change_status_locked(
    comment: Comment, to_status: CommentStatus, actor: User | None, reason: str
) -> bool:
    """Move one comment the caller has locked to ``to_status``, with its event and count, in
    the caller's transaction (no commit); False when it already had that status. For domain
    functions that change a comment and its status together (an edit, a report)."""
    return bool(_change_statuses([(comment, to_status)], actor, reason))


def _change_statuses(
    changes: Iterable[tuple[Comment, CommentStatus]], actor: User | None, reason: str
) -> list[Comment]:
    """Change locked comments' statuses, write one event each, move the counts; no commit."""
    changes = list(changes)
    spam_learning.learn_changes(changes, actor)  # the filter learns from people's decisions
    deltas: dict[int, int] = defaultdict(int)
    changed: list[Comment] = []
    actor_id = actor.id if actor is not None else None
    for comment, to_status in changes:
        if comment.status == to_status:
            continue
        deltas[comment.post_id] += count_delta(comment.status, to_status)
        db.session.add(
            ModerationEvent(
                comment_id=comment.id,
                actor_id=actor_id,
                from_status=comment.status,
                to_status=to_status,
                reason=reason[:REASON_LENGTH],
            )
        )
        comment.status = to_status
        changed.append(comment)
    db.session.flush()
    for post_id in sorted(deltas):  # one order for every transaction: no deadlocks
        apply_count_delta(post_id, deltas[post_id])
    return changed


def _commit_and_notify(changed: Sequence[Comment]) -> None:
    approved = [c.id for c in changed if c.status == CommentStatus.APPROVED]
    db.session.flush()
    if approved:
        notifications.queue_approved(approved)  # committed with the decision, sent after
    db.session.commit()
