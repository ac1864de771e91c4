"""Why a comment has its status: every hold rule of SPEC section 6 in one pure :func:`decide`.

A new comment (blog.comments.submit), a stored one decided again after its author edited it or
confirmed their address (:func:`decide_again`), and a much-reported one (:func:`decide_reported`)
are all decided here; the sender's history comes from one query (:func:`sender_history`).
Applying a decision (status, held reason, event, count) is blog.comments.transitions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Exists,
    Integer,
    Select,
    bindparam,
    false,
    func,
    or_,
    select,
)

from blog.comments.spam import filter as spam
from blog.comments.spam.features import Sample
from blog.comments.transitions import REASON_LENGTH
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, digest_of_body, utcnow
from blog.sanitize import count_links
from blog.settings import Settings


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
    # Rule 9: anonymous, and the site can send mail, so the address given can be asked to
    # confirm (a stored comment decided again never is: it was confirmed, or never had to be).
    confirmable: bool = False


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
    8 previously approved commenter: approved, else pending (approved when that rule is off);
    9 email confirmation asked of an anonymous commenter: unconfirmed instead of approved or
    pending. A stored comment's reports are :func:`decide_reported` (rule 10).
    """
    decision = (
        _invalid(candidate, post, settings)
        or _refused(candidate, post, settings, history)
        or _spam(candidate, settings)
        or _held(candidate, settings)
        or _approved(candidate, settings, history)
    )
    return _awaiting_confirmation(decision, candidate, settings)


WAITING_REASON = "waiting: the commenter has not confirmed their email address yet"
CONFIRMED_LATER = frozenset({CommentStatus.PENDING, CommentStatus.APPROVED})


def _awaiting_confirmation(
    decision: Decision, candidate: Candidate, settings: Settings
) -> Decision:
    """Rule 9: ``unconfirmed`` instead of approved or pending when the site asks anonymous
    commenters to confirm their address and can mail them (blog.comments.confirmation)."""
    if (
        settings.require_email_confirmation
        and candidate.confirmable
        and candidate.email
        and decision.status in CONFIRMED_LATER
    ):
        return Decision(CommentStatus.UNCONFIRMED, WAITING_REASON, decision.rule)
    return decision


def decide_reported(reports: int, settings: Settings) -> Decision | None:
    """Rule 10: an approved comment goes back to the queue (pending) when the readers' reports
    since it was last approved reach ``report_hold_threshold`` (0: never); None: it stays."""
    threshold = settings.report_hold_threshold
    if threshold and reports >= threshold:
        return Decision(CommentStatus.PENDING, f"held: {reports} reports", 10)
    return None


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


# --- The sender's history (one query) and a stored comment decided again ----------------------


def sender_history(
    post_id: int,
    name: str,
    email: str,
    body: str,
    ip_address: str,
    comment_id: int | None = None,
) -> History:
    """Duplicate, last comment time and previous approval, in one query.

    For a stored comment (``comment_id``) the comment itself is left out: it neither duplicates
    itself nor makes its author a previously approved commenter; and the flood rule does not
    apply (it is not a new comment), so ``last_comment_at`` is None.
    """
    params: dict[str, object] = {
        "post_id": post_id,
        "name": name,
        "email": email,
        "digest": digest_of_body(body),
        "ip_address": ip_address,
        "comment_id": comment_id or 0,
    }
    statement = _history_statement(bool(email), bool(ip_address), comment_id is not None)
    found = db.session.execute(statement, params).one()
    new_sender = comment_id is None and (bool(ip_address) or bool(email))
    return History(
        duplicate=bool(found[0]),
        last_comment_at=found[1] if new_sender else None,
        has_approved=bool(found[2]) and bool(email),
    )


# Built once per shape. Earns its keep: a reply POST at 9.3 ms with it, 10.9 ms without, 15 % of
# the request (12.8 % in a second run; python -m bench.machinery, CPU per request in process,
# SQLite, 2026-12-07; docs/benchmark.md).
@cache
def _history_statement(
    with_email: bool, with_ip: bool, stored: bool
) -> Select[tuple[bool, object, bool]]:
    """The history of a sender: parameters "post_id", "name", "digest" (of the body), "email"
    (compared only ``with_email``), "ip_address" (only ``with_ip``), and "comment_id" (left
    out when ``stored``)."""
    email: BindParameter[str] = bindparam("email")
    others = [Comment.id != bindparam("comment_id", type_=Integer)] if stored else []
    duplicate = duplicate_exists(
        bindparam("post_id", type_=Integer),
        bindparam("digest", type_=Comment.body_digest.type),
        bindparam("name", type_=Comment.author_name.type),
        email if with_email else None,
        *others,
    )
    senders = [Comment.ip_address == bindparam("ip_address")] if with_ip else []
    if with_email:
        senders.append(Comment.author_email == email)
    # Neither an address nor an email: nothing to go by (the flood check is skipped).
    sent_by = or_(*senders) if senders else false()
    last = select(func.max(Comment.created_at)).where(sent_by).scalar_subquery()
    approved = (
        select(Comment.id)
        .where(Comment.author_email == email, Comment.status == CommentStatus.APPROVED, *others)
        .exists()
    )
    return select(duplicate, last, approved)


def decide_again(
    comment: Comment,
    post: Post,
    settings: Settings,
    by_moderator: bool = False,
    now: datetime | None = None,
) -> Decision:
    """The rules for a stored comment's current text (after an edit, or once its author
    confirmed their address), as for a new one but with the history of
    :func:`sender_history` for a stored comment (no flood rule, no email confirmation)."""
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
    history = sender_history(
        comment.post_id,
        comment.author_name,
        comment.author_email,
        comment.body_source,
        comment.ip_address,
        comment.id,
    )
    return decide(candidate, post, settings, history)
