"""The moderation rules once more, for a comment already stored: after its author edited it, or
confirmed their address (blog.comments.edits, blog.comments.confirmation)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import literal, select

from blog.comments.policy import Candidate, Decision, History, decide, duplicate_exists
from blog.comments.spam import filter as spam
from blog.comments.spam.features import Sample
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, digest_of_body, utcnow
from blog.settings import Settings


def decide_again(
    comment: Comment,
    post: Post,
    settings: Settings,
    by_moderator: bool = False,
    now: datetime | None = None,
) -> Decision:
    """The moderation rules for a stored comment's current text, as for a new one, except the
    flood rule (it is not a new comment) and that the comment itself is not its own history:
    it neither duplicates itself nor makes its author a previously approved commenter."""
    sample = Sample(
        comment.author_name,
        comment.author_email,
        comment.author_url,
        comment.body_html,
        comment.user_agent,
    )
    candidate = Candidate(
        name=comment.author_name,
        email=comment.author_email,
        url=comment.author_url,
        body=comment.body_source,
        body_html=comment.body_html,
        submitted_at=now or utcnow(),
        ip_address=comment.ip_address,
        user_agent=comment.user_agent,
        by_moderator=by_moderator,
        spam_score=spam.submission_score(sample, settings),
    )
    return decide(candidate, post, settings, _history_of(comment))


def _history_of(comment: Comment) -> History:
    """Duplicate and previous approval, leaving the comment itself out (one query)."""
    others = Comment.id != comment.id
    duplicate = duplicate_exists(
        literal(comment.post_id),
        literal(digest_of_body(comment.body_source)),
        literal(comment.author_name),
        literal(comment.author_email) if comment.author_email else None,
        others,
    )
    approved = (
        select(Comment.id)
        .where(
            others,
            Comment.author_email == comment.author_email,
            Comment.status == CommentStatus.APPROVED,
        )
        .exists()
    )
    row = db.session.execute(select(duplicate, approved)).one()
    return History(duplicate=bool(row[0]), has_approved=bool(row[1]) and bool(comment.author_email))
