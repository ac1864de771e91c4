"""Moderation over the API, with a bearer token: the queue, a status change, deleting for good.

The role matrix decides as in the HTML queue: admins, editors and moderators see and act on
every comment, authors on the comments of their own posts. The queue is blog.comments.queue's,
a status change is blog.comments.moderation.set_status: only a change that the queue's table of
allowed changes has (blog.comments.moderation.MOVES; 409 otherwise), with one event and the count
kept exact; deleting is the queue's "Delete Permanently": only from spam or the trash.
"""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import select
from werkzeug.wrappers import Response

from blog.api.blueprint import bp
from blog.api.errors import ApiError
from blog.api.http import private, token_user
from blog.api.inputs import Fields, json_object, paging, past_the_end, query_text
from blog.api.posts import clean_slug
from blog.api.schemas import moderated_comment, page_of
from blog.comments.moderation import ModerationAction, moderate_comment, set_status
from blog.comments.queue import QUEUE_PER_PAGE, QueueFilter, moderation_queue
from blog.comments.submit import MAX_ID
from blog.extensions import db
from blog.models import Comment, CommentStatus, Post, User
from blog.permissions import Action, can
from blog.posts.reading import PageNotFound

STATUSES = ", ".join(s.value for s in CommentStatus)


def _moderator() -> User:
    user = token_user()
    if user is None or not can(user, Action.MODERATE):
        raise ApiError(403, "Your account may not moderate comments.")
    return user


def _status(raw: str) -> CommentStatus:
    try:
        return CommentStatus(raw)
    except ValueError:
        message = f"status must be one of {STATUSES}."
        raise ApiError(400, message, {"status": message}) from None


def _comment(comment_id: int, user: User) -> Comment:
    """The comment (404), if ``user`` may moderate it (403)."""
    comment = db.session.get(Comment, comment_id) if 0 < comment_id <= MAX_ID else None
    if comment is None:
        raise ApiError(404, "No such comment.")
    if not can(user, Action.MODERATE, comment):
        raise ApiError(403, "You may moderate only the comments on your own posts.")
    return comment


@bp.get("/moderation/comments")
def moderation_list() -> Response:
    user = _moderator()
    wanted = paging(QUEUE_PER_PAGE)
    status = _status(request.args.get("status") or CommentStatus.PENDING.value)
    post_id = None
    if post_slug := query_text("post"):
        clean = clean_slug(post_slug)
        post_id = db.session.scalar(select(Post.id).where(Post.slug == clean)) if clean else None
        if post_id is None:
            raise ApiError(400, "Unknown post.", {"post": f"No post has the slug {post_slug!r}."})
    where = QueueFilter(status=status, post_id=post_id, q=query_text("q"), page=wanted.page)
    try:
        queue = moderation_queue(user, where, wanted.per_page, exact=True)
    except PageNotFound:
        raise past_the_end(wanted.page) from None
    listed = queue.comments
    body = page_of(
        [moderated_comment(c) for c in listed.items], listed.page, listed.per_page, listed.total
    )
    body["counts"] = {status.value: n for status, n in queue.counts.items()}
    return private(jsonify(body))


@bp.post("/moderation/comments/<int:comment_id>")
def moderation_set_status(comment_id: int) -> Response:
    user = _moderator()
    _comment(comment_id, user)
    fields = Fields(json_object())
    raw = fields.text("status")
    fields.check()
    status = _status(raw)
    set_status(comment_id, status, user, f"{status.value} (API)")
    comment = db.session.get(Comment, comment_id)
    if comment is None:  # deleted in between
        raise ApiError(404, "No such comment.")
    return private(jsonify(moderated_comment(comment)))


@bp.delete("/moderation/comments/<int:comment_id>")
def moderation_delete(comment_id: int) -> Response:
    user = _moderator()
    _comment(comment_id, user)
    moderate_comment(comment_id, ModerationAction.DELETE, user)
    return private(Response(status=204))
