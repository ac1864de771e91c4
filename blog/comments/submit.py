"""Leaving a reply (SPEC section 5): validation, limits, the decision, storing, notifying.

Views and the API call :func:`submit_comment`; it raises :class:`CommentRejected` with the
HTTP status, a message for people and one per field, and commits when the comment is stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import Integer, Select, bindparam, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from blog.comments import notifications
from blog.comments.moderation import REPLYABLE, ModerationError, moderation_scope, set_status
from blog.comments.policy import (
    REPLY_UNAVAILABLE,
    Candidate,
    History,
    ParentFacts,
    decide,
    max_thread_depth,
    sender_history,
)
from blog.comments.revisions import keep_revision
from blog.comments.spam import filter as spam
from blog.comments.spam.features import Sample
from blog.comments.transitions import create_comments
from blog.database import begin_write
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, User, utcnow
from blog.permissions import Action, can
from blog.posts.reading import is_published, is_visible
from blog.refusals import Refused
from blog.sanitize import SanitizeFailed, safe_http_url, sanitize_comment
from blog.settings import Settings, load_settings

# WordPress's limits (wp_get_comment_fields_max_lengths).
NAME_MAX = 245
EMAIL_MAX = 100
URL_MAX = 200
BODY_MAX_BYTES = 65_525
# Ours, far past what people write (docs/limits.md): a long comment has a few hundred lines and
# dozens of links. They bound the work of the parsers, the queue and the spam filter.
BODY_MAX_LINES = 3_000
BODY_MAX_LINKS = 500
# `<`, `>` and `&`: each costs the parsers an entity or a tag (65,525 of them cost 0.85 s); a
# long HTML snippet pasted as code has a few thousand.
BODY_MAX_MARKUP = 10_000
MAX_ID = 2**31 - 1

# Control characters other than tab and newline, and lone surrogates: never part of what a
# person typed, and PostgreSQL refuses NUL in text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_SPACES = re.compile(r"\s+")
# What may become a link, counted on the typed text before any parser runs: an <a> tag, or a
# bare http(s):// or www. address (linkified) that is not an attribute's value, an anchor's text
# or the www. of an http:// address.
_LINK_START = re.compile(r"<a[\s/>]|(?<![\w/\"'=.>])(?:https?://|www\.)", re.IGNORECASE)


class CommentRejected(Refused):
    """The comment was not stored. ``fields`` maps a form field to its message."""

    def __init__(
        self,
        message: str,
        status_code: int,
        fields: Mapping[str, str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message, status_code)
        self.fields = dict(fields or {})
        self.retry_after = retry_after


@dataclass(frozen=True)
class CommentForm:
    """What the reader sent, as text. ``website`` is the honeypot field."""

    body: str = ""
    name: str = ""
    email: str = ""
    url: str = ""
    parent_id: str = ""
    website: str = ""
    notify_replies: bool = False
    notify_approved: bool = False  # "Email me when my comment is approved"


@dataclass(frozen=True)
class Submitter:
    """Who sent it: the signed-in user if any, and where from."""

    user: User | None = None
    ip_address: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class CleanFields:
    name: str
    email: str
    url: str
    body: str
    body_html: str
    parent_id: int | None
    errors: dict[str, str] = field(default_factory=dict)


def clean_fields(form: CommentForm, user: User | None, settings: Settings) -> CleanFields:
    """Normalize the fields and check them against WordPress's limits and formats.

    A signed-in user's name and email come from the account. Name and email are required when
    the require-name-email setting is on (the default). Never raises.
    """
    errors: dict[str, str] = {}
    if user is not None:
        name, email = user.display_name, user.email
    else:
        name = _SPACES.sub(" ", _CONTROL.sub("", form.name)).strip()
        email = _CONTROL.sub("", form.email).strip()
    if len(name) > NAME_MAX:
        errors["name"] = f"Your name can be at most {NAME_MAX} characters long."
    elif not name and settings.require_name_email and user is None:
        errors["name"] = "Please enter your name."
    email, email_error = _clean_email(email, settings.require_name_email and user is None)
    if email_error:
        errors["email"] = email_error
    url, url_error = _clean_url(form.url)
    if url_error:
        errors["url"] = url_error
    body = _CONTROL.sub("", form.body.replace("\r\n", "\n").replace("\r", "\n"))
    body_html, body_error = _clean_body(body)
    if body_error:
        errors["body"] = body_error
    try:
        parent_id = parse_id(form.parent_id)
    except ValueError:
        parent_id = None
        errors["parent_id"] = REPLY_UNAVAILABLE
    return CleanFields(name, email, url, body, body_html, parent_id, errors)


def _clean_body(body: str) -> tuple[str, str]:
    """The body's sanitized HTML, or "" and the message of what is wrong with it.

    The limits are checked first, in linear time, so that the parsers never see a refused body.
    """
    size = len(body.encode("utf-8", "surrogatepass"))
    if size > BODY_MAX_BYTES:
        return "", f"Your comment is too long: {size:,} bytes, the limit is 65,525."
    if not body.strip():
        return "", "Please type your comment."
    lines = body.count("\n") + 1
    if lines > BODY_MAX_LINES:
        return "", f"Your comment has {lines:,} lines; the limit is {BODY_MAX_LINES:,}."
    markup = body.count("<") + body.count(">") + body.count("&")
    if markup > BODY_MAX_MARKUP:
        return "", (
            f"Your comment has {markup:,} of the characters <, > and &; "
            f"the limit is {BODY_MAX_MARKUP:,}."
        )
    links = len(_LINK_START.findall(body))
    if links > BODY_MAX_LINKS:
        return "", f"Your comment has {links:,} links; the limit is {BODY_MAX_LINKS:,}."
    try:
        body_html = sanitize_comment(body)
    except SanitizeFailed as failed:
        return "", failed.message
    if not body_html:
        return "", (
            "Nothing of your comment would show once unsafe markup is taken out. "
            "Please write it as plain text."
        )
    return body_html, ""


def _clean_email(email: str, required: bool) -> tuple[str, str | None]:
    if not email:
        return "", "Please enter your email address." if required else None
    if len(email) > EMAIL_MAX:
        return email, f"Your email address can be at most {EMAIL_MAX} characters long."
    try:
        checked = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError:
        return email, "Please enter a valid email address, like name@example.com."
    if len(checked) > EMAIL_MAX:
        return email, f"Your email address can be at most {EMAIL_MAX} characters long."
    return checked, None


def _clean_url(raw: str) -> tuple[str, str | None]:
    typed = _CONTROL.sub("", raw).strip()
    if not typed:
        return "", None
    if len(typed) > URL_MAX:
        return typed, f"Your website address can be at most {URL_MAX} characters long."
    url = safe_http_url(typed)
    if url is None or len(url) > URL_MAX:
        return typed, "Your website must be an http:// or https:// address."
    return url, None


def parse_id(raw: str) -> int | None:
    """An id sent as text: None when empty; ValueError unless it is a positive whole number
    that fits the database's integer columns."""
    text = raw.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit() and len(text) <= 10 and 0 < int(text) <= MAX_ID:
        return int(text)
    raise ValueError(f"not an id: {raw!r}")


def find_post(slug: str) -> Post | None:
    """The published post a reply is sent to; nothing else loaded (the page is not rendered)."""
    found = db.session.scalars(select(Post).where(Post.slug == slug, is_published()))
    return found.one_or_none()


def submit_comment(
    post: Post,
    form: CommentForm,
    submitter: Submitter,
    settings: Settings | None = None,
) -> Comment:
    """Decide on a new comment (:func:`blog.comments.policy.decide`), store it and commit.

    The post's row is locked for the transaction, so the duplicate check and the count are
    exact under concurrent submissions. Notifications go out after the commit and can never
    make this fail. Raises CommentRejected; nothing is stored then.
    """
    settings = settings or load_settings()
    sender = Submitter(
        submitter.user,
        _CONTROL.sub("", submitter.ip_address)[:45],
        _CONTROL.sub("", submitter.user_agent)[:255],
    )
    fields = clean_fields(form, sender.user, settings)
    now = utcnow()
    facts = _Facts(post, None, History(), None)
    if not fields.errors:
        facts = _checked_in_lock(post.id, fields, sender, settings, now)
    candidate = _candidate(form, fields, sender, facts, now)
    decision = decide(candidate, facts.post, settings, facts.history)
    if decision.status is None:
        db.session.rollback()
        raise CommentRejected(
            decision.reason, decision.http_status, decision.fields, decision.retry_after
        )
    comment = _new_comment(facts.post, form, fields, sender, now)
    return _store(comment, decision.status, decision.reason)


@dataclass(frozen=True)
class _Facts:
    """What the rules need beyond the fields, read with the post locked."""

    post: Post
    parent: ParentFacts | None
    history: History
    spam_score: float | None


def _candidate(
    form: CommentForm, fields: CleanFields, sender: Submitter, facts: _Facts, now: datetime
) -> Candidate:
    user = sender.user
    return Candidate(
        name=fields.name,
        email=fields.email,
        url=fields.url,
        body=fields.body,
        body_html=fields.body_html,
        submitted_at=now,
        ip_address=sender.ip_address,
        user_agent=sender.user_agent,
        honeypot=form.website,
        errors=fields.errors,
        parent_requested=fields.parent_id is not None or "parent_id" in fields.errors,
        parent=facts.parent,
        by_moderator=user is not None and can(user, Action.MODERATE, facts.post),
        spam_score=facts.spam_score,
        confirmable=user is None and bool(current_app.config.get("MAIL_SERVER")),
    )


def _checked_in_lock(
    post_id: int, fields: CleanFields, sender: Submitter, settings: Settings, now: datetime
) -> _Facts:
    """Begin the write and lock the post; its parent, the sender's history and the spam score.
    Raises CommentRejected (404) when the post no longer takes comments."""
    begin_write()
    # Locked for the transaction, and reloaded from the database.
    locked = db.session.scalars(
        select(Post)
        .where(Post.id == post_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if locked is None or not is_visible(locked, now):
        db.session.rollback()
        raise CommentRejected("This post does not take comments.", 404)
    parent = None
    if fields.parent_id is not None:
        parent = _parent_facts(fields.parent_id, max_thread_depth(settings))
    history = sender_history(locked.id, fields.name, fields.email, fields.body, sender.ip_address)
    sample = Sample(fields.name, fields.email, fields.url, fields.body_html, sender.user_agent)
    return _Facts(locked, parent, history, spam.submission_score(sample, settings))


def _new_comment(
    post: Post,
    form: CommentForm,
    fields: CleanFields,
    sender: Submitter,
    now: datetime,
) -> Comment:
    # Without a mail server the boxes are not shown, and a request that ticks them anyway (an
    # old page, the API) signs up for nothing: no mail could ever be sent.
    mailable = bool(fields.email) and notifications.sends_mail()
    return Comment(
        post_id=post.id,
        parent_id=fields.parent_id,
        author_name=fields.name,
        author_email=fields.email,
        author_url=fields.url,
        user_id=sender.user.id if sender.user is not None else None,
        body_source=fields.body,
        body_html=fields.body_html,
        ip_address=sender.ip_address,
        user_agent=sender.user_agent,
        notify_replies=form.notify_replies and mailable,
        notify_approved=form.notify_approved and mailable,
        created_at=now,
    )


def _store(comment: Comment, status: CommentStatus, reason: str) -> Comment:
    """Add the new comment with its first status, event and count; queue its mail; commit."""
    try:
        create_comments([(comment, status)], reason, reason, comment.created_at)
    except IntegrityError:  # the parent was deleted for good since it was checked
        db.session.rollback()
        raise CommentRejected(REPLY_UNAVAILABLE, 400, {"parent_id": REPLY_UNAVAILABLE}) from None
    stored_id = comment.id
    notifications.queue_submitted(stored_id)  # committed with the comment, sent after
    db.session.commit()
    # The commit expired the comment; its id cannot have changed, and the caller's first use of
    # it (the redirect to it) need not reload the whole row.
    set_committed_value(comment, "id", stored_id)
    return comment


def _parent_facts(parent_id: int, max_depth: int) -> ParentFacts | None:
    """The parent's post, status and depth, in one query (a recursive walk up its thread)."""
    row = db.session.execute(
        _parent_facts_statement(), {"parent_id": parent_id, "max_depth": max_depth}
    ).one_or_none()
    if row is None:
        return None
    return ParentFacts(post_id=row[0], status=row[1], depth=int(row[2] or 1))


# Built once (the recursive walk and its cache key cost more than running it). Earns its keep: a
# reply POST at 9.9 ms with it, 13.1 ms without, 24 % of the request (python -m bench.machinery,
# CPU per request in process, SQLite, 2026-12-07; docs/benchmark.md).
@cache
def _parent_facts_statement() -> Select[tuple[int, CommentStatus, int]]:
    """The comment's ("parent_id") post, status, and depth counted up to "max_depth" + 1."""
    one = literal_column("1", Integer)
    parent_id = bindparam("parent_id", type_=Integer)
    chain = (
        select(Comment.id, Comment.parent_id, one.label("depth"))
        .where(Comment.id == parent_id)
        .cte("chain", recursive=True)
    )
    above = aliased(Comment)
    chain = chain.union_all(
        select(above.id, above.parent_id, chain.c.depth + one).where(
            above.id == chain.c.parent_id,
            chain.c.depth <= bindparam("max_depth", type_=Integer),
        )
    )
    depth = select(chain.c.depth).order_by(chain.c.depth.desc()).limit(1).scalar_subquery()
    return select(Comment.post_id, Comment.status, depth).where(Comment.id == parent_id)


def reply_as_moderator(parent_id: int, body: str, submitter: Submitter) -> Comment:
    """A moderator's reply from the queue, WordPress's "Approve and Reply".

    A pending comment is approved first; a comment in spam or trash must be restored before
    (ModerationError). The reply itself goes through :func:`submit_comment`.
    """
    user = submitter.user
    form = CommentForm(body=body, parent_id=str(parent_id))
    errors = clean_fields(form, user, Settings()).errors
    if errors:  # checked before the parent is approved, so that a bad reply changes nothing
        raise CommentRejected("Please type your reply.", 400, errors)
    parent = db.session.scalars(
        select(Comment)
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.id == parent_id, moderation_scope(user))
    ).one_or_none()
    if parent is None or user is None:
        raise ModerationError("No such comment.", 404)
    if parent.status not in REPLYABLE:
        raise ModerationError("Restore this comment before replying to it.")
    if parent.status == CommentStatus.PENDING:
        set_status(parent_id, CommentStatus.APPROVED, user, "approved on reply")
    post = db.session.get(Post, parent.post_id)
    if post is None:
        raise ModerationError("No such comment.", 404)
    return submit_comment(post, form, submitter)


def edit_comment(comment_id: int, form: CommentForm, actor: User) -> Comment:
    """A moderator's correction of a comment's author fields and text; re-sanitized, committed.

    Name and email may be left empty; the limits and formats still apply. Raises
    CommentRejected (400 with the fields, 404 when gone or out of the actor's reach).
    """
    fields = clean_fields(form, None, Settings(require_name_email=False))
    errors = {k: v for k, v in fields.errors.items() if k != "parent_id"}
    if errors:
        raise CommentRejected("Please correct the fields marked below.", 400, errors)
    begin_write()
    comment = db.session.scalars(
        select(Comment)
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.id == comment_id, moderation_scope(actor))
        .with_for_update(key_share=True, of=Comment)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if comment is None:
        db.session.rollback()
        raise CommentRejected("No such comment.", 404)
    comment.author_name = fields.name
    comment.author_email = fields.email
    comment.author_url = fields.url
    if fields.body != comment.body_source:
        comment.edited_at = utcnow()
        keep_revision(comment, actor, comment.edited_at)
        comment.body_source = fields.body
        comment.body_html = fields.body_html
    db.session.flush()
    db.session.commit()
    return comment
