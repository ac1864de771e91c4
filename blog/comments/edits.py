"""A reader's own comment: preview before posting, edit or delete within the edit window.

The window (setting ``comment_edit_window_minutes``, 15 by default, as Isso) runs from the
comment's creation; the commenter cookie (blog.web.commenter) says which comments a browser wrote.
Every edit keeps the replaced text as a CommentRevision for moderators. An edited comment that
was approved or held goes through the moderation rules again
(:func:`blog.comments.policy.decide_again`), its status moving through blog.comments.transitions
with its event and count in the same transaction. A comment with
approved replies is not removed when its author deletes it: its text becomes "This comment was
deleted." and the thread keeps its shape.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from blog.comments import notifications
from blog.comments.policy import decide_again
from blog.comments.privacy import DELETED_TEXT
from blog.comments.revisions import keep_revision
from blog.comments.spam import learning as spam_learning
from blog.comments.spam.features import Sample
from blog.comments.submit import CleanFields, CommentForm, CommentRejected, clean_fields
from blog.comments.transitions import change_status, remove_comments
from blog.database import begin_write
from blog.extensions import db
from blog.models import (
    Comment,
    CommentStatus,
    Post,
    User,
    utcnow,
)
from blog.permissions import Action, can
from blog.posts.reading import is_published
from blog.sanitize import sanitize_comment
from blog.settings import Settings

EDITABLE = frozenset({CommentStatus.PENDING, CommentStatus.APPROVED, CommentStatus.UNCONFIRMED})
DECIDED_AGAIN = frozenset({CommentStatus.PENDING, CommentStatus.APPROVED})
WINDOW_OVER = "The time to edit or delete this comment has passed."
NOT_YOURS = "This comment cannot be edited from this browser."


@dataclass(frozen=True)
class Preview:
    """A comment as it would appear: sanitized HTML, or the message of what is wrong."""

    body_html: str
    error: str = ""


def _clean_body(body: str) -> CleanFields:
    return clean_fields(CommentForm(body=body), None, Settings(require_name_email=False))


def preview_comment(body: str) -> Preview:
    """Sanitize a comment's text exactly as posting would; nothing is stored."""
    fields = _clean_body(body)
    error = fields.errors.get("body", "")
    return Preview("" if error else fields.body_html, error)


def edit_deadline(comment: Comment, settings: Settings) -> datetime | None:
    """Until when its author may edit or delete it; None when editing is off."""
    minutes = settings.comment_edit_window_minutes
    return comment.created_at + timedelta(minutes=minutes) if minutes > 0 else None


def may_edit(
    comment: Comment, own_ids: Iterable[int], settings: Settings, now: datetime | None = None
) -> bool:
    """Did this browser write the comment, is it still shown to them, and is the window open?"""
    deadline = edit_deadline(comment, settings)
    return (
        deadline is not None
        and comment.id in set(own_ids)
        and comment.status in EDITABLE
        and comment.deleted_at is None
        and (now or utcnow()) <= deadline
    )


def editable_ids(
    comments: Iterable[Comment], own_ids: Iterable[int], settings: Settings
) -> frozenset[int]:
    """Which of the shown comments this browser may still edit (no query)."""
    own, now = set(own_ids), utcnow()
    if not own or settings.comment_edit_window_minutes <= 0:
        return frozenset()
    return frozenset(c.id for c in comments if may_edit(c, own, settings, now))


def own_comment(comment_id: int, own_ids: Iterable[int], settings: Settings) -> Comment:
    """The comment for its edit page; CommentRejected 404 or 403 unless it may be edited."""
    comment = db.session.scalars(
        select(Comment)
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.id == comment_id, is_published())
    ).one_or_none()
    return _check(comment, own_ids, settings)


def _check(comment: Comment | None, own_ids: Iterable[int], settings: Settings) -> Comment:
    own = set(own_ids)
    if comment is None or comment.id not in own or comment.status not in EDITABLE:
        raise CommentRejected("No such comment.", 404)
    if comment.deleted_at is not None:
        raise CommentRejected("This comment was deleted.", 404)
    if not may_edit(comment, own, settings):
        raise CommentRejected(WINDOW_OVER, 403)
    return comment


def _lock(comment_id: int, own_ids: Iterable[int], settings: Settings) -> Comment:
    """Begin the write, lock the comment (and read its post), check it may be changed."""
    begin_write()
    comment = db.session.scalars(
        select(Comment)
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.id == comment_id, is_published())
        .with_for_update(key_share=True, of=Comment)
        .execution_options(populate_existing=True)
    ).one_or_none()
    try:
        return _check(comment, own_ids, settings)
    except CommentRejected:
        db.session.rollback()
        raise


def edit_own_comment(
    comment_id: int,
    body: str,
    own_ids: Iterable[int],
    settings: Settings,
    editor: User | None = None,
) -> Comment:
    """Replace the text of the reader's comment, keep the old one as a revision, decide again
    (approved and held comments), commit, then notify. ``editor`` is the signed-in user, if any.

    Raises CommentRejected: 400 (with ``fields``) for a bad text, 404 for a comment this browser
    did not write or cannot see, 403 once the window has passed; the rules' own refusals (closed
    post 403, duplicate 409). Nothing changes then.
    """
    fields = _clean_body(body)
    error = fields.errors.get("body")
    if error:
        raise CommentRejected(error, 400, {"body": error})
    comment = _lock(comment_id, own_ids, settings)
    if fields.body == comment.body_source:
        db.session.rollback()
        return comment
    now = utcnow()
    keep_revision(comment, editor, now)
    revised = dataclasses.replace(Sample.of(comment), body_html=fields.body_html)
    spam_learning.revise_examples([(comment, revised)])  # what it taught, as it reads now
    comment.body_source, comment.body_html, comment.edited_at = fields.body, fields.body_html, now
    moved = comment.status in DECIDED_AGAIN and _decide_edited(comment, settings, editor, now)
    db.session.flush()
    if moved and comment.status == CommentStatus.APPROVED:
        notifications.queue_approved([comment.id])
    elif moved and comment.status == CommentStatus.PENDING:
        notifications.queue_submitted(comment.id)  # back in the queue: tell the moderators
    db.session.commit()
    return comment


def _decide_edited(
    comment: Comment, settings: Settings, editor: User | None, now: datetime
) -> bool:
    """Decide the edited comment again and apply the decision; True when its status moved.
    Raises CommentRejected (rolled back) when the rules refuse the new text."""
    post = db.session.get(Post, comment.post_id)
    assert post is not None  # locked with its post above
    by_moderator = editor is not None and can(editor, Action.MODERATE, post)
    decision = decide_again(comment, post, settings, by_moderator, now)
    if decision.status is None:
        db.session.rollback()
        raise CommentRejected(
            decision.reason, decision.http_status, decision.fields, decision.retry_after
        )
    reason = f"edited: {decision.reason}"
    return change_status(comment, decision.status, None, reason, held_reason=decision.reason)


@dataclass(frozen=True)
class Deletion:
    """What deleting did: removed for good, or kept (text replaced) for its approved replies."""

    post_id: int
    kept: bool


def delete_own_comment(
    comment_id: int, own_ids: Iterable[int], settings: Settings, editor: User | None = None
) -> Deletion:
    """Delete the reader's comment within the window, and commit.

    With approved replies it stays, approved or not as it was, its text replaced by "This
    comment was deleted." (the old text kept as a revision), name, email and website removed.
    Otherwise it is deleted for good, as "Delete Permanently" does (held replies move up, the
    count falls if it was approved). Raises CommentRejected (404, 403) as an edit does.
    """
    comment = _lock(comment_id, own_ids, settings)
    replies = db.session.scalar(
        select(Comment.id)
        .where(Comment.parent_id == comment.id, Comment.status == CommentStatus.APPROVED)
        .limit(1)
    )
    post_id = comment.post_id
    if replies is None:
        spam_learning.revise_examples([(comment, None)])
        remove_comments([comment])
        db.session.commit()
        return Deletion(post_id, kept=False)
    now = utcnow()
    keep_revision(comment, editor, now)
    deleted_html = sanitize_comment(DELETED_TEXT)
    spam_learning.revise_examples([(comment, Sample(body_html=deleted_html))])
    comment.body_source, comment.body_html = DELETED_TEXT, deleted_html
    comment.author_name = comment.author_email = comment.author_url = ""
    comment.notify_replies = comment.notify_approved = False
    comment.deleted_at = comment.edited_at = now
    db.session.flush()
    db.session.commit()
    return Deletion(post_id, kept=True)
