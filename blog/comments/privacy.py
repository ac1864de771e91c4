"""Commenters' personal data: everything held about an email address, exported or erased, and
commenters' IP addresses shortened once they are old (GDPR's rights of access and erasure and
its storage limitation; WordPress's personal data exporter and eraser).

Erasing anonymizes every comment of the address: the name becomes "Anonymous", the email,
website, IP address and user agent are emptied, the link to an account and both notification
settings go, and the address, IP or website is struck from the comments' held reasons, their
moderation events and reports. Reports do not store an email address: those filed from the IP
addresses the comments were sent from lose that address. With ``delete_text`` the comments go
too: deleted for good when no approved reply hangs on them, otherwise their text becomes "This
comment was deleted." so that the thread keeps its shape. Counts move through
:mod:`blog.comments.transitions` in the same transaction.

IP retention shortens every stored IP address older than the setting: the comments', the
reports', and those quoted in held reasons and moderation events (a clean-up by IP, a
disallowed word that is an address).
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, joinedload

from blog.comments.revisions import revisions_of
from blog.comments.spam import learning as spam_learning
from blog.comments.spam.features import Sample, host_of
from blog.comments.transitions import remove_comments
from blog.database import begin_write
from blog.extensions import db
from blog.models import (
    Comment,
    CommentReport,
    CommentRevision,
    CommentStatus,
    ModerationEvent,
    Post,
    User,
    utcnow,
)
from blog.sanitize import sanitize_comment

ANONYMOUS = "Anonymous"
DELETED_TEXT = "This comment was deleted."
ERASED = "[erased]"
EMAIL_MAX = 254
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


class PrivacyError(ValueError):
    """Input that cannot name a commenter; the message is for people."""


def checked_email(raw: str) -> str:
    """The address to look for, folded to lower case. Raises PrivacyError unless it looks like an
    email address: an empty one would otherwise match every comment left without one."""
    text = raw.strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain or len(text) > EMAIL_MAX:
        raise PrivacyError(f"{raw!r} is not an email address, like name@example.com.")
    if _CONTROL.search(text) or any(c.isspace() for c in text):
        raise PrivacyError(f"{raw!r} is not an email address, like name@example.com.")
    return text.casefold()


def _of_address(email: str) -> ColumnElement[bool]:
    """SQL selecting that address in any case. SQLite's lower() folds only ASCII, so others are
    narrowed to addresses of the same length and compared again in Python."""
    if email.isascii():
        return func.lower(Comment.author_email) == email
    return func.length(Comment.author_email) == len(email)


def _comments_of(email: str, lock: bool = False) -> list[Comment]:
    """The address's comments, oldest first; with ``lock``, locked for the transaction (in
    id order, as every status change does), otherwise with their posts."""
    stmt = select(Comment).where(_of_address(email))
    if lock:
        stmt = (
            stmt.order_by(Comment.id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
    else:
        stmt = stmt.options(joinedload(Comment.post)).order_by(Comment.created_at, Comment.id)
    return [c for c in db.session.scalars(stmt) if c.author_email.casefold() == email]


def _full_ips(comments: Iterable[Comment]) -> list[str]:
    """The whole IP addresses the comments were sent from. One already shortened (by IP
    retention) or that is no address is shared by many people, so it names nobody."""
    return sorted(
        {c.ip_address for c in comments if truncate_ip(c.ip_address) not in ("", c.ip_address)}
    )


# --- Export ----------------------------------------------------------------------------------


def export_personal_data(raw_email: str, now: datetime | None = None) -> dict[str, Any]:
    """Everything held about the address, as JSON-ready data: each comment (its post, text,
    status, times, name, website, IP address, user agent, notification settings, earlier
    versions), the reports filed from the comments' IP addresses, and the accounts with that
    address. Changes nothing. Raises PrivacyError."""
    email = checked_email(raw_email)
    comments = _comments_of(email)
    earlier = revisions_of([c.id for c in comments if c.edited_at is not None])
    accounts = db.session.scalars(
        select(User).where(func.lower(User.email) == email).order_by(User.id)
    )
    subscribed = [c.id for c in comments if c.notify_replies]
    approval = [c.id for c in comments if c.notify_approved]
    return {
        "email": email,
        "exported_at": (now or utcnow()).isoformat(),
        "comments": [_comment_data(c, earlier.get(c.id, [])) for c in comments],
        "notifications": {
            "reply_notifications": bool(subscribed),
            "subscribed_comment_ids": subscribed,
            "approval_notifications": bool(approval),
            "approval_comment_ids": approval,
        },
        "reports": _reports_from(_full_ips(comments)),
        "accounts": [
            {
                "username": user.username,
                "display_name": user.display_name,
                "email": user.email,
                "role": user.role.value,
                "active": user.active,
                "bio": user.bio,
                "created_at": user.created_at.isoformat(),
            }
            for user in accounts
            if user.email.casefold() == email
        ],
    }


def _comment_data(comment: Comment, revisions: Sequence[CommentRevision]) -> dict[str, Any]:
    return {
        "id": comment.id,
        "post": {"slug": comment.post.slug, "title": comment.post.title},
        "parent_id": comment.parent_id,
        "status": comment.status.value,
        "name": comment.author_name,
        "email": comment.author_email,
        "url": comment.author_url,
        "body": comment.body_source,
        "created_at": comment.created_at.isoformat(),
        "updated_at": comment.updated_at.isoformat(),
        "ip_address": comment.ip_address,
        "user_agent": comment.user_agent,
        "notify_replies": comment.notify_replies,
        "notify_approved": comment.notify_approved,
        "edited_at": comment.edited_at.isoformat() if comment.edited_at else None,
        # Each earlier text, oldest first, with the edit that replaced it: the commenter's own
        # (under the name they had) or a moderator's (whose name is not theirs to export).
        "revisions": [
            {
                "body": revision.body_source,
                "replaced_at": revision.edited_at.isoformat(),
                "replaced_by": "moderator" if revision.editor_id is not None else "commenter",
                "name": revision.editor_name if revision.editor_id is None else None,
            }
            for revision in reversed(revisions)
        ],
    }


def _reports_from(ips: Sequence[str]) -> list[dict[str, Any]]:
    """The reports filed from these IP addresses, oldest first, with the comment reported."""
    if not ips:
        return []
    rows = db.session.execute(
        select(CommentReport, Post.slug, Post.title)
        .join(Comment, Comment.id == CommentReport.comment_id)
        .join(Post, Post.id == Comment.post_id)
        .where(CommentReport.ip.in_(ips))
        .order_by(CommentReport.created_at, CommentReport.id)
    )
    return [
        {
            "comment_id": report.comment_id,
            "post": {"slug": slug, "title": title},
            "reason": report.reason,
            "ip_address": report.ip,
            "created_at": report.created_at.isoformat(),
        }
        for report, slug, title in rows
    ]


# --- Erasure ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    """What :func:`erase_personal_data` did."""

    email: str
    anonymized: int  # comments kept, without anything that names the commenter
    deleted: int  # comments deleted for good (with delete_text)
    text_replaced: int  # comments kept for their approved replies, text replaced
    approved_removed: int  # of the deleted, how many were approved (the posts' counts fell)
    reports: int = 0  # reports filed from the comments' IP addresses, that address emptied


def _doomed_and_kept(
    comments: list[Comment], delete_text: bool
) -> tuple[list[Comment], list[Comment]]:
    """Which comments go for good and which stay anonymized: with ``delete_text``, only those
    holding approved replies stay (the thread keeps its shape)."""
    if not delete_text:
        return [], comments
    holding = _holding_approved_replies(comments)
    return [c for c in comments if c.id not in holding], [c for c in comments if c.id in holding]


def _anonymize(kept: list[Comment], traces: Sequence[str], deleted_html: str | None) -> None:
    """Remove the author's fields from the comments, their traces from the held reasons, and
    with ``deleted_html`` the text."""
    for comment in kept:
        comment.author_name = ANONYMOUS
        comment.author_email = ""
        comment.author_url = ""
        comment.ip_address = ""
        comment.user_agent = ""
        comment.user_id = None
        comment.notify_replies = False
        comment.notify_approved = False
        comment.held_reason = _strike(comment.held_reason, traces)
        if deleted_html is not None:
            comment.body_source = DELETED_TEXT
            comment.body_html = deleted_html


def erase_personal_data(raw_email: str, delete_text: bool = False) -> Erasure:
    """Anonymize every comment of the address (and delete them with ``delete_text``); commit.

    Raises PrivacyError for input that is not an email address. Nothing changes status, so no
    ModerationEvent is written; deleted comments take theirs (and their revisions and reports)
    with them. Reports filed from the comments' whole IP addresses keep their reason, without
    the address (another reader behind the same address loses it too: it only served to
    refuse a second report of the same comment).
    """
    email = checked_email(raw_email)
    begin_write()
    comments = _comments_of(email, lock=True)
    if not comments:
        db.session.rollback()
        return Erasure(email, 0, 0, 0, 0)
    traces = _traces(email, comments)
    ips = _full_ips(comments)
    doomed, kept = _doomed_and_kept(comments, delete_text)
    deleted_html = sanitize_comment(DELETED_TEXT)
    approved = sum(1 for c in doomed if c.status == CommentStatus.APPROVED)
    # The spam filter forgets them as they were and the website's name (before events go).
    revisions: list[tuple[Comment, Sample | None]] = [
        (c, _anonymous(c, deleted_html if delete_text else None)) for c in kept
    ]
    revisions += [(c, None) for c in doomed]
    spam_learning.revise_examples(revisions, {host_of(c.author_url) for c in comments})
    remove_comments(doomed)
    _anonymize(kept, traces, deleted_html if delete_text else None)
    _strike_events([c.id for c in kept], traces)
    _erase_revisions([c.id for c in kept], delete_text)
    reports = _erase_reports([c.id for c in kept], ips, traces)
    db.session.flush()
    db.session.commit()
    return Erasure(
        email,
        anonymized=len(kept),
        deleted=len(doomed),
        text_replaced=len(kept) if delete_text else 0,
        approved_removed=approved,
        reports=reports,
    )


def _erase_reports(comment_ids: Sequence[int], ips: Sequence[str], traces: Sequence[str]) -> int:
    """Empty the IP address of the reports filed from ``ips`` and strike the commenter from
    the reasons of those and of the reports of their comments. Returns how many reports lost
    their address. (Reports of deleted comments went with them.)"""
    found: list[ColumnElement[bool]] = []
    if ips:
        found.append(CommentReport.ip.in_(ips))
    if comment_ids:
        found.append(CommentReport.comment_id.in_(comment_ids))
    if not found:
        return 0
    blanked = 0
    for report in db.session.scalars(
        select(CommentReport).where(or_(*found)).order_by(CommentReport.id)
    ):
        if report.ip in ips:
            report.ip = ""
            blanked += 1
        struck = _strike(report.reason, traces)
        if struck != report.reason:
            report.reason = struck
    return blanked


def _erase_revisions(comment_ids: list[int], delete_text: bool) -> None:
    """Earlier versions of the comments: their text goes with ``delete_text``; the reader's
    name on their own edits always goes (a moderator's edit keeps the moderator's name)."""
    if not comment_ids:
        return
    of_these = CommentRevision.comment_id.in_(comment_ids)
    if delete_text:
        db.session.execute(delete(CommentRevision).where(of_these))
        return
    db.session.execute(
        update(CommentRevision)
        .where(of_these, CommentRevision.editor_id.is_(None))
        .values(editor_name=ANONYMOUS)
        .execution_options(synchronize_session=False)
    )


def _anonymous(comment: Comment, body_html: str | None) -> Sample:
    """What the spam filter reads of the comment once erased."""
    return Sample(ANONYMOUS, "", "", body_html or comment.body_html, "")


def _holding_approved_replies(comments: Sequence[Comment]) -> set[int]:
    """The comments that must stay for an approved reply that stays (one query).

    A reply by the same address that is itself deleted does not hold its parent.
    """
    ids = {c.id for c in comments}
    children: dict[int, list[int]] = defaultdict(list)
    rows = db.session.execute(
        select(Comment.parent_id, Comment.id).where(
            Comment.parent_id.in_(ids), Comment.status == CommentStatus.APPROVED
        )
    )
    for parent_id, child_id in rows:
        children[parent_id].append(child_id)
    holding: set[int] = set()
    changed = True
    while changed:
        changed = False
        for comment_id in ids - holding:
            if any(child not in ids or child in holding for child in children[comment_id]):
                holding.add(comment_id)
                changed = True
    return holding


def _traces(email: str, comments: Iterable[Comment]) -> list[str]:
    """The strings that name the commenter in free text: the address, IPs and websites (as
    given, and without their scheme, as a reader would quote one in a report)."""
    found = {email}
    for comment in comments:
        url = comment.author_url
        bare = url.partition("://")[2].rstrip("/") if "://" in url else url
        found.update(v for v in (comment.ip_address, url, bare) if len(v) >= 3)
    return sorted(found, key=len, reverse=True)


def _strike(text: str, traces: Sequence[str]) -> str:
    for trace in traces:
        text = re.sub(re.escape(trace), ERASED, text, flags=re.IGNORECASE)
    return text


def _strike_events(comment_ids: Sequence[int], traces: Sequence[str]) -> None:
    if not comment_ids:
        return
    events = db.session.scalars(
        select(ModerationEvent).where(ModerationEvent.comment_id.in_(comment_ids))
    )
    for event in events:
        struck = _strike(event.reason, traces)
        if struck != event.reason:
            event.reason = struck


# --- IP retention ----------------------------------------------------------------------------


def truncate_ip(address: str) -> str:
    """The address with its host part zeroed: IPv4 to its /24 (last octet 0), IPv6 to its /48;
    an IPv4 address mapped into IPv6 counts as IPv4. Something that is no address becomes ""."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ipaddress.IPv4Address(int(ip) & ~0xFF))
    return str(ipaddress.IPv6Address(int(ip) & ~((1 << 80) - 1)))


# An IP address, IPv4 or IPv6 (possibly with an IPv4 tail), possibly a network, in free text.
_QUOTED_IP = re.compile(r"(?<![\w:.])[0-9A-Fa-f]*(?:[:.][0-9A-Fa-f]*){2,}(?:/\d{1,3})?")


def shorten_quoted_ips(text: str) -> str:
    """The text with every IP address in it shortened as :func:`truncate_ip` does; a network
    narrower than a /24 (IPv4) or /48 (IPv6) widens to that, wider ones stay."""
    return _QUOTED_IP.sub(_shortened_match, text)


def _shortened_match(match: re.Match[str]) -> str:
    token = match.group(0)
    address, slash, prefix = token.partition("/")
    tail = ""
    if not slash:  # a full stop after the address is the sentence's
        trimmed = address.rstrip(".")
        address, tail = trimmed, address[len(trimmed) :]
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return token
    short = truncate_ip(address)
    if not slash:
        return short + tail
    widest = 24 if "." in short else 48
    return token if int(prefix) <= widest and short == address else f"{short}/{widest}"


@dataclass(frozen=True)
class Shortened:
    """What :func:`truncate_old_ips` changed."""

    comments: int  # comments whose IP address was shortened
    reports: int  # reports whose IP address was shortened
    reasons: int  # held reasons of comments with an address in them
    events: int  # moderation events whose reason had an address in it


def truncate_old_ips(days: int, now: datetime | None = None) -> Shortened:
    """Shorten every IP address stored more than ``days`` ago (0: keep them all); commit.

    That is the address of each comment and report older than that, and the addresses quoted
    in the held reasons of those comments and in the reasons of moderation events older than
    that. One UPDATE per distinct value, so the work follows the number of addresses, not of
    rows; running it again changes nothing.
    """
    if days <= 0:
        return Shortened(0, 0, 0, 0)
    cutoff = (now or utcnow()) - timedelta(days=days)
    begin_write()
    comments = _shorten_values(
        Comment.ip_address, Comment.created_at, cutoff, truncate_ip, _unshortened
    )
    reports = _shorten_values(
        CommentReport.ip, CommentReport.created_at, cutoff, truncate_ip, _unshortened
    )
    reasons = _shorten_values(
        Comment.held_reason, Comment.created_at, cutoff, shorten_quoted_ips, _may_quote_an_ip
    )
    events = _shorten_values(
        ModerationEvent.reason, ModerationEvent.at, cutoff, shorten_quoted_ips, _may_quote_an_ip
    )
    db.session.commit()
    return Shortened(comments, reports, reasons, events)


def _unshortened(column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    # An IPv4 address ending in .0 is already shortened; IPv6 ones are all looked at.
    return or_(~column.like("%.0"), column.like("%:%"))


def _may_quote_an_ip(column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
    return or_(column.like("%.%.%.%"), column.like("%:%:%"))


def _shorten_values(
    column: InstrumentedAttribute[str],
    at: InstrumentedAttribute[datetime],
    cutoff: datetime,
    shorten: Callable[[str], str],
    candidates: Callable[[InstrumentedAttribute[str]], ColumnElement[bool]],
) -> int:
    """Replace each value of ``column`` in rows older than ``cutoff`` with ``shorten(value)``;
    the number of rows changed. A comment's updated_at stays: nobody edited it."""
    old = (at < cutoff, column != "")
    values = db.session.scalars(select(column).where(*old, candidates(column)).distinct()).all()
    model = column.class_
    kept = {"updated_at": Comment.updated_at} if model is Comment else {}
    changed = 0
    for value in values:
        shortened = shorten(value)
        if shortened == value:
            continue
        result = db.session.execute(
            update(model)
            .where(column == value, at < cutoff)
            .values({column.key: shortened, **kept})
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount or 0  # type: ignore[attr-defined]
    return changed
