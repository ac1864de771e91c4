"""Mail about comments, sent by SMTP after the commit and never in the reader's way.

Moderators hear of held comments, a post's author of approved ones, and a commenter who ticked
"notify me" of approved replies to their comment, with a signed one-click unsubscribe link
(RFC 8058); a commenter who ticked "Email me when my comment is approved" of its first
approval, and an anonymous one of the link confirming their address when the site asks for it.
Messages are handed to a background thread: a slow or dead mail server delays nobody's answer
and loses no comment; a failed delivery is logged.
"""

from __future__ import annotations

import logging
import os
import smtplib
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from email.message import EmailMessage

from flask import current_app, render_template, url_for
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import joinedload

from blog import links
from blog.database import begin_write
from blog.extensions import db
from blog.models import Comment, CommentStatus, ModerationEvent, Post, User
from blog.permissions import ALL, MATRIX, OWN, Action
from blog.sanitize import html_to_text
from blog.settings import Settings, load_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    timeout: float


def comment_submitted(comment_id: int) -> None:
    """After a new comment is committed: mail about it if it is held or approved."""
    _safely(_on_submitted, [comment_id])


def comments_approved(comment_ids: Sequence[int]) -> None:
    """After approvals are committed: mail about the comments approved for the first time."""
    _safely(_on_approved, comment_ids)


def _safely(
    step: Callable[[Sequence[int], Settings], list[EmailMessage]], comment_ids: Sequence[int]
) -> None:
    server = _server()
    if server is None:
        return
    try:
        messages = step(comment_ids, load_settings())
    except Exception:  # a notification must never undo or fail the action that caused it
        db.session.rollback()
        log.exception("could not prepare comment notifications")
        return
    if messages:
        send_later(server, messages)


def _on_submitted(comment_ids: Sequence[int], settings: Settings) -> list[EmailMessage]:
    messages: list[EmailMessage] = []
    for comment_id in comment_ids:
        comment = _load(comment_id)
        if comment is None:
            continue
        if comment.status == CommentStatus.PENDING:
            messages.extend(_held_messages(comment, settings))
        elif comment.status == CommentStatus.APPROVED:
            messages.extend(_approved_messages(comment, settings))
        elif comment.status == CommentStatus.UNCONFIRMED:
            messages.append(_confirmation_message(comment, settings))
    return messages


def _on_approved(comment_ids: Sequence[int], settings: Settings) -> list[EmailMessage]:
    approvals = dict(
        db.session.execute(
            select(ModerationEvent.comment_id, func.count(ModerationEvent.id))
            .where(
                ModerationEvent.comment_id.in_(comment_ids),
                ModerationEvent.to_status == CommentStatus.APPROVED,
            )
            .group_by(ModerationEvent.comment_id)
        ).all()
    )
    messages: list[EmailMessage] = []
    for comment_id in comment_ids:
        comment = _load(comment_id) if approvals.get(comment_id) == 1 else None
        if comment is not None and comment.status == CommentStatus.APPROVED:
            messages.extend(_approved_messages(comment, settings))
            if comment.notify_approved and comment.author_email:
                messages.append(_approval_notice(comment, settings))
    return messages


def _load(comment_id: int) -> Comment | None:
    return db.session.scalars(
        select(Comment)
        .where(Comment.id == comment_id)
        .options(joinedload(Comment.post).joinedload(Post.author))
    ).one_or_none()


def _held_messages(comment: Comment, settings: Settings) -> list[EmailMessage]:
    """To everyone who may moderate the post (WordPress's moderation_notify)."""
    if not settings.moderation_notify:
        return []
    everywhere = [role for role, scope in MATRIX[Action.MODERATE].items() if scope == ALL]
    own_posts = [role for role, scope in MATRIX[Action.MODERATE].items() if scope == OWN]
    moderators = db.session.scalars(
        select(User).where(
            User.active.is_(True),
            User.email != "",
            or_(
                User.role.in_(everywhere),
                and_(User.role.in_(own_posts), User.id == comment.post.author_id),
            ),
        )
    )
    context = _context(comment, settings)
    return [
        _message(user.email, f'Please moderate: "{comment.post.title}"', "moderate.txt", context)
        for user in moderators
        if user.id != comment.user_id and not _same_email(user.email, comment.author_email)
    ]


def _approved_messages(comment: Comment, settings: Settings) -> list[EmailMessage]:
    """To the post's author (comments_notify), and to the replied-to commenter if subscribed."""
    messages: list[EmailMessage] = []
    context = _context(comment, settings)
    author = comment.post.author
    if (
        settings.comments_notify
        and author.active
        and author.email
        and author.id != comment.user_id
        and not _same_email(author.email, comment.author_email)
    ):
        subject = f'Comment: "{comment.post.title}"'
        messages.append(_message(author.email, subject, "approved.txt", context))
    parent = db.session.get(Comment, comment.parent_id) if comment.parent_id else None
    if (
        parent is not None
        and parent.notify_replies
        and parent.status == CommentStatus.APPROVED
        and parent.author_email
        and not _same_email(parent.author_email, comment.author_email)
    ):
        link = _absolute(url_for("comments.unsubscribe", token=unsubscribe_token(parent)))
        subject = f'New reply to your comment on "{comment.post.title}"'
        parent_text = html_to_text(parent.body_html, limit=300)
        context = {**context, "parent_text": parent_text, "unsubscribe_url": link}
        message = _message(parent.author_email, subject, "reply.txt", context)
        message["List-Unsubscribe"] = f"<{link}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        messages.append(message)
    return messages


def _approval_notice(comment: Comment, settings: Settings) -> EmailMessage:
    """To a commenter who ticked "Email me when my comment is approved", with the one-click
    unsubscribe link of reply notifications (it stops both)."""
    link = _absolute(url_for("comments.unsubscribe", token=unsubscribe_token(comment)))
    context = {**_context(comment, settings), "unsubscribe_url": link}
    subject = f'Your comment on "{comment.post.title}" is published'
    message = _message(comment.author_email, subject, "comment_approved.txt", context)
    message["List-Unsubscribe"] = f"<{link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


def _confirmation_message(comment: Comment, settings: Settings) -> EmailMessage:
    """To an anonymous commenter, when comments wait for a confirmed address."""
    link = _absolute(url_for("reader.confirm", token=confirmation_token(comment)))
    context = {**_context(comment, settings), "confirm_url": link}
    subject = f'Please confirm your comment on "{comment.post.title}"'
    return _message(comment.author_email, subject, "confirm.txt", context)


def _context(comment: Comment, settings: Settings) -> dict[str, object]:
    from blog.comment_pages import locate_comment  # it needs blog.moderation, which needs us

    post = comment.post
    post_url = _absolute(url_for("public.post", slug=post.slug))
    queue = url_for("moderation.queue", status=comment.status.value, post=post.id)
    location = locate_comment(comment.id, settings)  # the comment page holding it
    cpage = location.page_arg if location is not None else None
    anchor = f"comment-{comment.id}"
    return {
        "site": settings,
        "comment": comment,
        "post": post,
        "text": html_to_text(comment.body_html),
        "comment_url": _absolute(
            url_for("public.post", slug=post.slug, cpage=cpage, _anchor=anchor)
        ),
        "post_url": post_url,
        "queue_url": _absolute(queue),
    }


def _message(to: str, subject: str, template: str, context: dict[str, object]) -> EmailMessage:
    message = EmailMessage()
    site = context["site"]
    assert isinstance(site, Settings)
    message["Subject"] = _one_line(f"[{site.site_title}] {subject}")
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message.set_content(render_template(f"email/{template}", **context))
    return message


def _one_line(text: str) -> str:
    return " ".join(text.split())[:250]


def _same_email(a: str, b: str) -> bool:
    return bool(a) and a.casefold() == b.casefold()


def _absolute(path: str) -> str:
    """An absolute link: SITE_URL's scheme and host when configured, else the current
    request's (blog.links); the bare path with neither."""
    return links.absolute(path)


# --- Unsubscribing ---------------------------------------------------------------------------


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="blog.unsubscribe")


def unsubscribe_token(comment: Comment) -> str:
    """A signed token naming the subscriber's email and the comment the mail was about."""
    return _signer().dumps({"email": comment.author_email, "comment": comment.id})


def read_unsubscribe_token(token: str) -> str | None:
    """The email address a token was made for, or None if it is forged or malformed."""
    try:
        data = _signer().loads(token)
    except BadSignature:
        return None
    email = data.get("email") if isinstance(data, dict) else None
    return email if isinstance(email, str) and email else None


def unsubscribe(token: str) -> str | None:
    """Stop reply notifications to the token's email address, on every comment; commit.

    Returns the address, or None for a bad token. Safe to repeat.
    """
    email = read_unsubscribe_token(token)
    if email is None:
        return None
    begin_write()
    subscribed = or_(Comment.notify_replies.is_(True), Comment.notify_approved.is_(True))
    db.session.execute(
        update(Comment)
        .where(Comment.author_email == email, subscribed)
        .values(notify_replies=False, notify_approved=False)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return email


# --- Confirming an address (require_email_confirmation) -------------------------------------

CONFIRMATION_MAX_AGE = 7 * 24 * 3600  # unconfirmed comments are purged after 7 days


def _confirm_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="blog.confirm")


def confirmation_token(comment: Comment) -> str:
    """A signed, dated token naming the comment and the address it was sent to."""
    return _confirm_signer().dumps({"comment": comment.id, "email": comment.author_email})


def read_confirmation_token(token: str) -> tuple[int, str] | None:
    """(comment id, email) of a token younger than 7 days, or None."""
    try:
        data = _confirm_signer().loads(token, max_age=CONFIRMATION_MAX_AGE)
    except BadSignature:  # SignatureExpired is one too
        return None
    if not isinstance(data, dict):
        return None
    comment_id, email = data.get("comment"), data.get("email")
    if not isinstance(comment_id, int) or not isinstance(email, str):
        return None
    return comment_id, email


# --- Delivery --------------------------------------------------------------------------------


def _server() -> MailServer | None:
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return None
    return MailServer(
        config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25), config.get("MAIL_TIMEOUT", 10)
    )


_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_executor_pid = 0
_pending: set[Future[None]] = set()


def send_later(server: MailServer, messages: Iterable[EmailMessage]) -> None:
    """Queue messages for the background sender of this process."""
    global _executor, _executor_pid
    batch = list(messages)
    with _lock:
        if _executor is None or _executor_pid != os.getpid():
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blog-mail")
            _executor_pid = os.getpid()
            _pending.clear()
        future = _executor.submit(deliver, server, batch)
        _pending.add(future)
    future.add_done_callback(_pending.discard)


def wait_for_mail(timeout: float = 30) -> None:
    """Block until every queued message has been tried (for tests and command-line tools)."""
    with _lock:
        pending = list(_pending)
    wait(pending, timeout=timeout)


def deliver(server: MailServer, messages: Sequence[EmailMessage]) -> None:
    """Send over one SMTP connection; failures are logged, never raised."""
    try:
        with smtplib.SMTP(server.host, server.port, timeout=server.timeout) as smtp:
            for message in messages:
                try:
                    smtp.send_message(message)
                except smtplib.SMTPRecipientsRefused:
                    log.warning("mail server refused %s", message["To"])
    except (OSError, smtplib.SMTPException) as error:
        log.warning("could not send %d notification(s): %s", len(messages), error)
