"""Mail about comments, queued in the transaction of the change and sent after the commit.

Moderators hear of held comments, a post's author of approved ones, and a commenter who ticked
"notify me" of approved replies to their comment, with a signed one-click unsubscribe link
(RFC 8058); a commenter who ticked "Email me when my comment is approved" of its first
approval, and an anonymous one of the link confirming their address when the site asks for it.
The messages are rows of the outbox (blog.mail.outbox), written before the caller commits: they are
committed with the comment or not at all, and sent by a background thread after the commit (or
by ``flask blog send-mail``), so a slow or dead mail server delays nobody and loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from flask import current_app, render_template, url_for
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import joinedload

from blog import links
from blog.comments.pages import locate_comment
from blog.database import begin_write
from blog.extensions import db
from blog.mail import outbox
from blog.mail.outbox import Mail
from blog.models import Comment, CommentStatus, ModerationEvent, Post, User
from blog.permissions import ALL, MATRIX, OWN, Action
from blog.sanitize import html_to_text
from blog.settings import Settings, load_settings

log = logging.getLogger(__name__)

ONE_CLICK = "List-Unsubscribe=One-Click"


def queue_submitted(comment_id: int) -> None:
    """Before a new (or newly held) comment is committed: queue mail about it if it is held,
    approved or waits for its author's confirmation, in the caller's transaction."""
    _queue_safely(_on_submitted, [comment_id])


def queue_approved(comment_ids: Sequence[int]) -> None:
    """Before approvals are committed: queue mail about the comments approved for the first
    time, in the caller's transaction."""
    _queue_safely(_on_approved, comment_ids)


def sends_mail() -> bool:
    """Whether the site has a mail server (``MAIL_SERVER``): without one nobody is offered, or
    signed up for, mail about their comment."""
    return bool(current_app.config.get("MAIL_SERVER"))


def _queue_safely(
    step: Callable[[Sequence[int], Settings], list[Mail]], comment_ids: Sequence[int]
) -> None:
    if not sends_mail():
        return
    try:
        # A savepoint: a notification must never undo or fail the change that caused it.
        with db.session.begin_nested():
            outbox.queue(step(comment_ids, load_settings()), current_app.config["MAIL_FROM"])
    except Exception:
        log.exception("could not queue comment notifications")


def _on_submitted(comment_ids: Sequence[int], settings: Settings) -> list[Mail]:
    messages: list[Mail] = []
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


def _on_approved(comment_ids: Sequence[int], settings: Settings) -> list[Mail]:
    approvals = dict(
        db.session.execute(
            select(ModerationEvent.comment_id, func.count(ModerationEvent.id))
            .where(
                ModerationEvent.comment_id.in_(comment_ids),
                ModerationEvent.to_status == CommentStatus.APPROVED,
            )
            .group_by(ModerationEvent.comment_id)
        )
        .tuples()
        .all()
    )
    messages: list[Mail] = []
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


def _held_messages(comment: Comment, settings: Settings) -> list[Mail]:
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


def _approved_messages(comment: Comment, settings: Settings) -> list[Mail]:
    """To the post's author (comments_notify), and to the replied-to commenter if subscribed."""
    messages: list[Mail] = []
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
        messages.append(
            _message(parent.author_email, subject, "reply.txt", context, _one_click(link))
        )
    return messages


def _approval_notice(comment: Comment, settings: Settings) -> Mail:
    """To a commenter who ticked "Email me when my comment is approved", with the one-click
    unsubscribe link of reply notifications (it stops both)."""
    link = _absolute(url_for("comments.unsubscribe", token=unsubscribe_token(comment)))
    context = {**_context(comment, settings), "unsubscribe_url": link}
    subject = f'Your comment on "{comment.post.title}" is published'
    return _message(
        comment.author_email, subject, "comment_approved.txt", context, _one_click(link)
    )


def _confirmation_message(comment: Comment, settings: Settings) -> Mail:
    """To an anonymous commenter, when comments wait for a confirmed address."""
    link = _absolute(url_for("reader.confirm", token=confirmation_token(comment)))
    context = {**_context(comment, settings), "confirm_url": link}
    subject = f'Please confirm your comment on "{comment.post.title}"'
    return _message(comment.author_email, subject, "confirm.txt", context)


def _context(comment: Comment, settings: Settings) -> dict[str, object]:
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


def _message(
    to: str,
    subject: str,
    template: str,
    context: dict[str, object],
    headers: dict[str, str] | None = None,
) -> Mail:
    site = context["site"]
    assert isinstance(site, Settings)
    body = render_template(f"email/{template}", **context)
    return Mail(to, _one_line(f"[{site.site_title}] {subject}"), body, headers or {})


def _one_click(link: str) -> dict[str, str]:
    """RFC 8058: the link a mail provider POSTs ``List-Unsubscribe=One-Click`` to."""
    return {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": ONE_CLICK}


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
