"""Readers' reports of comments ("Report"), and holding a much-reported comment.

A report names a reason (and may say more). One report per address and comment counts. When the
reports an approved comment received since it was last approved reach the setting
``report_hold_threshold`` (3 by default, 0 = never), it goes back to the queue: status pending,
held reason "held: N reports" (rule 10, :func:`blog.comments.policy.decide_reported`), through
blog.comments.transitions (event and count in the same transaction). A moderator who approves
it again starts the count afresh.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from blog.comments import notifications
from blog.comments.policy import decide_reported
from blog.comments.transitions import change_status
from blog.database import begin_write
from blog.extensions import db
from blog.models import Comment, CommentReport, CommentStatus, ModerationEvent, Post, utcnow
from blog.posts.reading import is_published
from blog.refusals import Refused
from blog.settings import Settings

REASONS: dict[str, str] = {
    "spam": "Spam or advertising",
    "abuse": "Abusive, hateful or harassing",
    "personal": "Shares someone's personal information",
    "off-topic": "Off topic",
    "other": "Something else",
}
DETAILS_MAX = 400
REASON_LENGTH = 500  # CommentReport.reason
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
ALREADY = "You have reported this comment already; the moderators will look at it."


class ReportRejected(Refused):
    """The report was not stored; ``fields`` maps a form field to its message."""

    def __init__(self, message: str, status_code: int, fields: dict[str, str] | None = None):
        super().__init__(message, status_code)
        self.fields = dict(fields or {})


@dataclass(frozen=True)
class ReportOutcome:
    comment_id: int
    reports: int  # since the comment was last approved, this one included
    held: bool  # this report sent it back to the queue


def reportable(comment_id: int) -> Comment | None:
    """An approved comment on a post readers can see, which readers may report."""
    return db.session.scalars(
        select(Comment)
        .join(Post, Post.id == Comment.post_id)
        .where(
            Comment.id == comment_id,
            Comment.status == CommentStatus.APPROVED,
            Comment.deleted_at.is_(None),
            is_published(),
        )
    ).one_or_none()


def clean_reason(kind: str, details: str) -> str:
    """The reason as stored ("Off topic: what they said"); ReportRejected (400) when unusable."""
    label = REASONS.get(kind.strip())
    errors: dict[str, str] = {}
    if label is None:
        errors["reason"] = "Please choose why you report this comment."
    text = " ".join(_CONTROL.sub("", details).split())
    if len(text) > DETAILS_MAX:
        errors["details"] = f"Please say it in at most {DETAILS_MAX} characters."
    if errors:
        raise ReportRejected("Your report was not sent. Please correct it below.", 400, errors)
    assert label is not None
    return (f"{label}: {text}" if text else label)[:REASON_LENGTH]


def report_comment(
    comment_id: int, kind: str, details: str, ip_address: str, settings: Settings
) -> ReportOutcome:
    """Store a reader's report, hold the comment when the threshold is reached, and commit.

    Raises ReportRejected: 400 for a missing reason, 404 for a comment that cannot be reported,
    409 when this address reported it already since it was last approved.
    """
    reason = clean_reason(kind, details)
    ip = _CONTROL.sub("", ip_address)[:45]
    begin_write()
    comment = db.session.scalars(
        select(Comment)
        .join(Post, Post.id == Comment.post_id)
        .where(
            Comment.id == comment_id,
            Comment.status == CommentStatus.APPROVED,
            Comment.deleted_at.is_(None),
            is_published(),
        )
        .with_for_update(key_share=True, of=Comment)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if comment is None:
        db.session.rollback()
        raise ReportRejected("This comment cannot be reported.", 404)
    reports = _count_earlier(comment.id, ip) + 1
    db.session.add(CommentReport(comment_id=comment.id, reason=reason, ip=ip, created_at=utcnow()))
    decision = decide_reported(reports, settings)
    if decision is not None and decision.status is not None:
        change_status(comment, decision.status, None, decision.reason, decision.reason)
    db.session.flush()
    if decision is not None:
        notifications.queue_submitted(comment_id)  # moderators hear of it as of any held one
    db.session.commit()
    return ReportOutcome(comment_id, reports, decision is not None)


def _count_earlier(comment_id: int, ip: str) -> int:
    """The comment's reports since it was last approved; ReportRejected (409, rolled back) when
    ``ip`` sent one of them."""
    counted = [CommentReport.comment_id == comment_id]
    since = _last_approved(comment_id)
    if since is not None:
        counted.append(CommentReport.created_at > since)
    earlier = db.session.execute(
        select(
            func.count(CommentReport.id),
            func.count(CommentReport.id).filter(CommentReport.ip == ip),
        ).where(*counted)
    ).one()
    if ip and earlier[1]:
        db.session.rollback()
        raise ReportRejected(ALREADY, 409)
    return int(earlier[0])


def _last_approved(comment_id: int) -> datetime | None:
    """When the comment last became approved (reports before that were dealt with)."""
    return db.session.scalar(
        select(func.max(ModerationEvent.at)).where(
            ModerationEvent.comment_id == comment_id,
            ModerationEvent.to_status == CommentStatus.APPROVED,
        )
    )


def reports_of(comment_ids: Sequence[int]) -> dict[int, list[CommentReport]]:
    """Every report of these comments, newest first (one query), for the moderation queue."""
    found: dict[int, list[CommentReport]] = defaultdict(list)
    if comment_ids:
        rows = db.session.scalars(
            select(CommentReport)
            .where(CommentReport.comment_id.in_(comment_ids))
            .order_by(CommentReport.created_at.desc(), CommentReport.id.desc())
        )
        for report in rows:
            found[report.comment_id].append(report)
    return dict(found)
