"""Cleaning up after a spam wave: every comment matching an IP address, an email address, a link
domain or a word, previewed first, then marked as spam or deleted for good in one action.

The preview changes nothing and tells the highest matching id; the action takes the same
criteria and that id, so it touches only comments that were there when the moderator looked,
each checked again under its lock. Authors reach only the comments on their own posts.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import ColumnElement, Select, func, or_, select, true
from sqlalchemy.orm import contains_eager

from blog.comments.moderation import MOVES, ModerationAction, lock_comments, moderation_scope
from blog.comments.spam.features import host_of, link_hosts
from blog.comments.transitions import REASON_LENGTH, change_statuses, remove_comments
from blog.database import begin_write
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, User
from blog.permissions import Action, ensure
from blog.refusals import Refused

PREVIEW_LIMIT = 100  # comments listed in the preview; the count covers them all
MAX_MATCHES = 10_000  # more than this in one go is refused: narrow the criteria
VALUE_MAX = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_DOMAIN = re.compile(r"(?:[^\W_](?:[\w-]*[^\W_])?\.)*[^\W_](?:[\w-]*[^\W_])?")


class Criterion(enum.StrEnum):
    IP = "ip"
    EMAIL = "email"
    DOMAIN = "domain"
    WORD = "word"


LABELS = {
    Criterion.IP: "IP address",
    Criterion.EMAIL: "email address",
    Criterion.DOMAIN: "link domain",
    Criterion.WORD: "word",
}


class CleanupAction(enum.StrEnum):
    SPAM = "spam"
    DELETE = "delete"


class CleanupRejected(Refused, ValueError):
    """Criteria or an action that cannot be used; ``field`` names the form field at fault."""

    def __init__(self, message: str, field: str = "", status_code: int = 400) -> None:
        super().__init__(message, status_code)
        self.field = field


@dataclass(frozen=True)
class Criteria:
    """One criterion and its value, checked and normalized by :func:`parse_criteria`."""

    kind: Criterion
    value: str

    def describe(self) -> str:
        return f'{LABELS[self.kind]} "{self.value}"'


def parse_criteria(kind: str, value: str) -> Criteria:
    """Check what the moderator typed. Raises CleanupRejected with a message for people.

    IP: an address, or an IPv4 or IPv6 network such as ``203.0.113.0/24``. Email: an address
    (any case), or ``@domain`` for every address there. Domain: a host name or a URL; it also
    matches its subdomains. Word: a word or phrase, matched whole, in any case.
    """
    try:
        criterion = Criterion(kind)
    except ValueError:
        raise CleanupRejected("Choose what to match: IP, email, domain or word.", "kind") from None
    text = " ".join(_CONTROL.sub(" ", value).split())
    if not text:
        raise CleanupRejected(f"Please type the {LABELS[criterion]} to look for.", "value")
    if len(text) > VALUE_MAX:
        raise CleanupRejected(f"At most {VALUE_MAX} characters, please.", "value")
    parse = {
        Criterion.IP: _parse_ip,
        Criterion.EMAIL: _parse_email,
        Criterion.DOMAIN: _parse_domain,
        Criterion.WORD: _parse_word,
    }[criterion]
    return Criteria(criterion, parse(text))


def _parse_ip(text: str) -> str:
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise CleanupRejected(
            "That is not an IP address or network, like 203.0.113.7 or 203.0.113.0/24.", "value"
        ) from None
    if network.num_addresses == 1 and "/" not in text:
        return str(network.network_address)
    return str(network)


def _parse_email(text: str) -> str:
    local, at, domain = text.casefold().rpartition("@")
    if not at or " " in text or not _DOMAIN.fullmatch(domain.rstrip(".")):
        raise CleanupRejected(
            "That is not an email address, like name@example.com, or @example.com for every "
            "address there.",
            "value",
        )
    return f"{local}@{domain.rstrip('.')}"


def _parse_domain(text: str) -> str:
    typed = text.casefold()
    host = host_of(typed if "://" in typed else f"http://{typed}")
    if not host or not _DOMAIN.fullmatch(host) or len(host) > 253:
        raise CleanupRejected("That is not a domain name, like example.com.", "value")
    return host


def _parse_word(text: str) -> str:
    if not any(c.isalnum() for c in text):
        raise CleanupRejected("Please type a word with at least one letter or digit.", "value")
    return text


# --- Matching --------------------------------------------------------------------------------


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _prefilter(criteria: Criteria) -> ColumnElement[bool]:
    """A cheap SQL condition that every matching comment meets; :func:`_matches` decides."""
    kind, value = criteria.kind, criteria.value
    if kind == Criterion.IP:
        network = ipaddress.ip_network(value, strict=False)
        if network.num_addresses == 1:
            return Comment.ip_address == str(network.network_address)
        if network.version == 4 and network.prefixlen >= 8:
            octets = str(network.network_address).split(".")[: network.prefixlen // 8]
            return Comment.ip_address.like(".".join(octets) + ".%")
        return Comment.ip_address.like("%:%" if network.version == 6 else "%.%")
    if not value.isascii():  # SQL's lower() and LIKE fold ASCII letters only on SQLite
        return true()
    if kind == Criterion.EMAIL:
        email = func.lower(Comment.author_email)
        if value.startswith("@"):
            return email.like(_like(value)[:-1], escape="\\")
        return email == value
    if kind == Criterion.DOMAIN:
        pattern = _like(value)
        return or_(
            Comment.body_html.ilike(pattern, escape="\\"),
            Comment.author_url.ilike(pattern, escape="\\"),
        )
    pattern = _like(value)
    return or_(
        Comment.body_source.ilike(pattern, escape="\\"),
        Comment.author_name.ilike(pattern, escape="\\"),
    )


class _Fields(Protocol):
    """What matching reads: a Comment, or a row of the same columns."""

    ip_address: str
    author_email: str
    author_name: str
    author_url: str
    body_source: str
    body_html: str


def _matches(criteria: Criteria, comment: _Fields) -> bool:
    kind, value = criteria.kind, criteria.value
    if kind == Criterion.IP:
        try:
            address = ipaddress.ip_address(comment.ip_address)
        except ValueError:
            return False
        return address in ipaddress.ip_network(value, strict=False)
    if kind == Criterion.EMAIL:
        email = comment.author_email.casefold()
        return email.endswith(value) if value.startswith("@") else email == value
    if kind == Criterion.DOMAIN:
        hosts = [*link_hosts(comment.body_html), host_of(comment.author_url)]
        return any(host == value or host.endswith("." + value) for host in hosts if host)
    word = re.compile(r"(?<!\w)" + re.escape(value) + r"(?!\w)", re.IGNORECASE)
    return bool(word.search(comment.body_source) or word.search(comment.author_name))


def _scoped(actor: User, criteria: Criteria, upto: int | None) -> Select[tuple[Comment]]:
    stmt = (
        select(Comment)
        .join(Post, Post.id == Comment.post_id)
        .where(moderation_scope(actor), _prefilter(criteria))
    )
    return stmt if upto is None else stmt.where(Comment.id <= upto)


def _matching(actor: User, criteria: Criteria, upto: int | None = None) -> list[tuple[int, str]]:
    """(id, status) of every matching comment, newest id first, read without loading them."""
    rows = db.session.execute(
        _scoped(actor, criteria, upto)
        .with_only_columns(
            Comment.id,
            Comment.status,
            Comment.ip_address,
            Comment.author_email,
            Comment.author_name,
            Comment.author_url,
            Comment.body_source,
            Comment.body_html,
        )
        .order_by(Comment.id.desc())
        .execution_options(yield_per=1000)
    )
    return [(row.id, row.status) for row in rows if _matches(criteria, row)]


# --- Preview and action ----------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    criteria: Criteria
    total: int
    by_status: dict[CommentStatus, int]
    comments: list[Comment]  # the newest PREVIEW_LIMIT, with their post
    upto: int  # the highest matching id: the action leaves newer comments alone

    @property
    def too_many(self) -> bool:
        return self.total > MAX_MATCHES


def preview(actor: User, criteria: Criteria) -> Preview:
    """The comments ``actor`` may moderate that match, counted per status; changes nothing."""
    ensure(actor, Action.MODERATE)
    found = _matching(actor, criteria)
    statuses = Counter(CommentStatus(status) for _, status in found)
    shown_ids = [comment_id for comment_id, _ in found[:PREVIEW_LIMIT]]
    shown: list[Comment] = []
    if shown_ids:
        shown = list(
            db.session.scalars(
                select(Comment)
                .join(Post, Post.id == Comment.post_id)
                .options(contains_eager(Comment.post).load_only(Post.title, Post.slug))
                .where(Comment.id.in_(shown_ids))
                .order_by(Comment.id.desc())
            )
        )
    return Preview(
        criteria=criteria,
        total=len(found),
        by_status={status: statuses.get(status, 0) for status in CommentStatus},
        comments=shown,
        upto=found[0][0] if found else 0,
    )


@dataclass(frozen=True)
class Cleaned:
    action: CleanupAction
    done: int
    skipped: int  # matched, but already in spam or trash (for "spam")


def clean_up(actor: User, criteria: Criteria, action: CleanupAction, upto: int) -> Cleaned:
    """Mark as spam, or delete for good, every matching comment up to id ``upto``; commit.

    Counts move through blog.comments.transitions and every status change writes its event, in
    this one transaction. Raises NotAllowed, or CleanupRejected when more than MAX_MATCHES match.
    """
    ensure(actor, Action.MODERATE)
    ids = sorted(comment_id for comment_id, _ in _matching(actor, criteria, upto))
    if len(ids) > MAX_MATCHES:
        raise CleanupRejected(
            f"{len(ids):,} comments match; at most {MAX_MATCHES:,} can be cleaned up at once. "
            "Narrow the criteria.",
            "value",
        )
    begin_write()
    locked = lock_comments(ids, actor)  # as moderation locks them: in id order, no deadlock
    matched = [c for c in locked if _matches(criteria, c)]
    reason = f"clean-up: {criteria.describe()}"[:REASON_LENGTH]
    if action == CleanupAction.SPAM:
        eligible = [c for c in matched if c.status in MOVES[ModerationAction.SPAM].sources]
        change_statuses([(c, CommentStatus.SPAM) for c in eligible], actor, reason)
    else:
        eligible = matched
        remove_comments(eligible)
    db.session.commit()
    return Cleaned(action, done=len(eligible), skipped=len(matched) - len(eligible))
