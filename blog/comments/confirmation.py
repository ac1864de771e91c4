"""Optional email confirmation of anonymous comments (setting ``require_email_confirmation``).

With the setting on and a mail server configured, an anonymous comment with an email address
that the rules would publish or hold is stored as ``unconfirmed`` instead: seen by its author
only, not counted, not in the moderators' mail. Rules 1 to 4 (refusals and spam) still apply at
once. The signed link mailed to the address (blog.comments.notifications, valid 7 days) confirms
it; the
moderation rules then run again (:func:`blog.comments.policy.decide_again`) and it is published or
held as any comment. Whether a new comment waits for confirmation is rule 9 of
:func:`blog.comments.policy.decide`.
``flask blog purge`` deletes unconfirmed comments older than 7 days.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from blog.comments import notifications
from blog.comments.policy import decide_again
from blog.comments.transitions import change_status
from blog.database import begin_write
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, utcnow
from blog.posts.reading import is_visible
from blog.refusals import Refused
from blog.settings import Settings

INVALID_LINK = "This confirmation link is not valid, or it is older than 7 days."


class ConfirmationError(Refused):
    """The link cannot confirm a comment; the message is for people."""

    def __init__(self, message: str, status_code: int = 404) -> None:
        super().__init__(message, status_code)


@dataclass(frozen=True)
class Confirmation:
    comment: Comment
    done_now: bool  # False: it had been confirmed before (the link was opened twice)


def _find(token: str, lock: bool = False) -> Comment:
    found = notifications.read_confirmation_token(token)
    if found is None:
        raise ConfirmationError(INVALID_LINK)
    comment_id, email = found
    stmt = select(Comment).where(Comment.id == comment_id, Comment.author_email == email)
    if lock:
        stmt = stmt.with_for_update(key_share=True).execution_options(populate_existing=True)
    comment = db.session.scalars(stmt).one_or_none()
    if comment is None:
        raise ConfirmationError(INVALID_LINK)
    return comment


def comment_to_confirm(token: str) -> Comment:
    """The comment a link names (for the page asking to confirm); ConfirmationError if none."""
    return _find(token)


def confirm_comment(token: str, settings: Settings) -> Confirmation:
    """Confirm the comment the link names: the moderation rules decide its status; commit and
    notify as for a new comment. Opening the link again changes nothing.

    Raises ConfirmationError: 404 for a forged, expired or dead link; the rules' refusal (the
    post closed meanwhile 403, a duplicate 409), which leaves the comment unconfirmed.
    """
    begin_write()
    try:
        comment = _find(token, lock=True)
    except ConfirmationError:
        db.session.rollback()
        raise
    if comment.status != CommentStatus.UNCONFIRMED:
        db.session.rollback()
        return Confirmation(comment, done_now=False)
    post = db.session.get(Post, comment.post_id)
    if post is None or not is_visible(post):
        db.session.rollback()
        raise ConfirmationError("This post does not take comments.")
    decision = decide_again(comment, post, settings, now=utcnow())
    if decision.status is None:
        db.session.rollback()
        raise ConfirmationError(decision.reason, decision.http_status)
    reason = f"confirmed: {decision.reason}"
    change_status(comment, decision.status, None, reason, held_reason=decision.reason)
    db.session.flush()
    notifications.queue_submitted(comment.id)  # moderators or the post's author, as usual
    db.session.commit()
    return Confirmation(comment, done_now=True)
