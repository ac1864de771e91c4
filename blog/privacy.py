"""Commenters' personal data: everything held about an email address, exported or erased, and
commenters' IP addresses shortened once they are old (GDPR's rights of access and erasure and
its storage limitation; WordPress's personal data exporter and eraser).

Erasing anonymizes every comment of the address: the name becomes "Anonymous", the email,
website, IP address and user agent are emptied, the link to an account and the reply
notifications go, and the address, IP or website is struck from the comments' held reasons
and moderation events. With ``delete_text`` the comments go too: deleted for good when no
approved reply hangs on them, otherwise their text becomes "This comment was deleted." so that
the thread keeps its shape. Counts move through :mod:`blog.counts` in the same transaction.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import joinedload

from blog import spam_learning
from blog.database import begin_write
from blog.extensions import db
from blog.models import Comment, CommentRevision, CommentStatus, ModerationEvent, User, utcnow
from blog.purge import remove_comments
from blog.sanitize import sanitize_comment
from blog.spam_features import Sample, host_of

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


# --- Export ----------------------------------------------------------------------------------


def export_personal_data(raw_email: str, now: datetime | None = None) -> dict[str, Any]:
    """Everything held about the address, as JSON-ready data: each comment (its post, text,
    status, times, name, website, IP address, user agent, reply notification) and the
    accounts with that address. Changes nothing. Raises PrivacyError."""
    email = checked_email(raw_email)
    comments = _comments_of(email)
    accounts = db.session.scalars(
        select(User).where(func.lower(User.email) == email).order_by(User.id)
    )
    subscribed = [c.id for c in comments if c.notify_replies]
    return {
        "email": email,
        "exported_at": (now or utcnow()).isoformat(),
        "comments": [_comment_data(c) for c in comments],
        "notifications": {
            "reply_notifications": bool(subscribed),
            "subscribed_comment_ids": subscribed,
        },
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


def _comment_data(comment: Comment) -> dict[str, Any]:
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
    }


# --- Erasure ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    """What :func:`erase_personal_data` did."""

    email: str
    anonymized: int  # comments kept, without anything that names the commenter
    deleted: int  # comments deleted for good (with delete_text)
    text_replaced: int  # comments kept for their approved replies, text replaced
    approved_removed: int  # of the deleted, how many were approved (the posts' counts fell)


def erase_personal_data(raw_email: str, delete_text: bool = False) -> Erasure:
    """Anonymize every comment of the address (and delete them with ``delete_text``); commit.

    Raises PrivacyError for input that is not an email address. Nothing changes status, so no
    ModerationEvent is written; deleted comments take theirs with them.
    """
    email = checked_email(raw_email)
    begin_write()
    comments = _comments_of(email, lock=True)
    if not comments:
        db.session.rollback()
        return Erasure(email, 0, 0, 0, 0)
    traces = _traces(email, comments)
    doomed: list[Comment] = []
    kept = comments
    if delete_text:
        holding = _holding_approved_replies(comments)
        doomed = [c for c in comments if c.id not in holding]
        kept = [c for c in comments if c.id in holding]
    deleted_html = sanitize_comment(DELETED_TEXT)
    approved = sum(1 for c in doomed if c.status == CommentStatus.APPROVED)
    # The spam filter forgets them as they were and the website's name (before events go).
    revisions = [(c, _anonymous(c, deleted_html if delete_text else None)) for c in kept]
    revisions += [(c, None) for c in doomed]
    spam_learning.revise_examples(revisions, {host_of(c.author_url) for c in comments})
    remove_comments(doomed)
    for comment in kept:
        comment.author_name = ANONYMOUS
        comment.author_email = ""
        comment.author_url = ""
        comment.ip_address = ""
        comment.user_agent = ""
        comment.user_id = None
        comment.notify_replies = False
        comment.held_reason = _strike(comment.held_reason, traces)
        if delete_text:
            comment.body_source = DELETED_TEXT
            comment.body_html = deleted_html
    _strike_events([c.id for c in kept], traces)
    _erase_revisions([c.id for c in kept], delete_text)
    db.session.flush()
    db.session.commit()
    return Erasure(
        email,
        anonymized=len(kept),
        deleted=len(doomed),
        text_replaced=len(kept) if delete_text else 0,
        approved_removed=approved,
    )


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
    """The strings that name the commenter in free text: the address, IPs and websites."""
    found = {email}
    for comment in comments:
        found.update(v for v in (comment.ip_address, comment.author_url) if len(v) >= 3)
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


def truncate_old_ips(days: int, now: datetime | None = None) -> int:
    """Shorten the IP address of every comment older than ``days`` (0: keep them all); commit.

    Returns how many comments changed. One UPDATE per distinct address, so the work follows
    the number of addresses, not of comments; running it again changes nothing.
    """
    if days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    begin_write()
    old = (Comment.created_at < cutoff, Comment.ip_address != "")
    # An IPv4 address ending in .0 is already shortened; IPv6 ones are all looked at.
    unshortened = or_(~Comment.ip_address.like("%.0"), Comment.ip_address.like("%:%"))
    addresses = db.session.scalars(
        select(Comment.ip_address).where(*old, unshortened).distinct()
    ).all()
    changed = 0
    for address in addresses:
        shortened = truncate_ip(address)
        if shortened == address:
            continue
        result = db.session.execute(
            update(Comment)
            .where(Comment.ip_address == address, Comment.created_at < cutoff)
            .values(ip_address=shortened, updated_at=Comment.updated_at)
            .execution_options(synchronize_session=False)
        )
        changed += result.rowcount or 0  # type: ignore[attr-defined]
    db.session.commit()
    return changed
