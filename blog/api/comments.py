"""Comments over the API: a post's approved thread, posting a reply, counts for many posts.

Posting calls blog.comments.submit.submit_comment, the function behind the HTML form: the same
validation, decision, limits and status codes. A spam verdict answers like a held comment.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import load_only
from werkzeug.wrappers import Response

from blog.api.blueprint import bp
from blog.api.errors import ApiError
from blog.api.http import cached_read, cors, private, token_user
from blog.api.inputs import MAX_PER_PAGE, Fields, json_object, paging, past_the_end
from blog.api.posts import clean_slug, visible_post
from blog.api.schemas import page_of, public_comment, recent_comment
from blog.comments.policy import max_thread_depth
from blog.comments.recent import MAX_RECENT, SIDEBAR_COUNT, recent_comments
from blog.comments.submit import CommentForm, Submitter, submit_comment
from blog.comments.threads import ThreadNode, build_thread, visible_comments
from blog.extensions import db, limiter
from blog.models import CommentStatus, Post
from blog.posts.reading import is_visible
from blog.settings import site_settings

DEFAULT_COMMENT_RATE_LIMIT = "10 per minute"
MAX_COUNT_SLUGS = 100


def _in_order(nodes: list[ThreadNode]) -> Iterator[ThreadNode]:
    """The thread as the post page shows it: each comment followed by its replies."""
    for node in nodes:
        yield node
        yield from _in_order(node.children)


@bp.get("/posts/<slug>/comments")
@cors("GET")
@cached_read
def list_comments(slug: str) -> Response:
    post = visible_post(slug)
    settings = site_settings()
    wanted = paging(min(max(settings.comments_per_page, 1), MAX_PER_PAGE))
    thread = build_thread(visible_comments(post), max_depth=max_thread_depth(settings))
    ordered = list(_in_order(thread))
    start = (wanted.page - 1) * wanted.per_page
    if wanted.page > 1 and start >= len(ordered):
        raise past_the_end(wanted.page)
    items = [public_comment(n) for n in ordered[start : start + wanted.per_page]]
    return jsonify(page_of(items, wanted.page, wanted.per_page, len(ordered)))


def _comment_rate_limit() -> str:
    return str(current_app.config.get("API_COMMENT_RATE_LIMIT") or DEFAULT_COMMENT_RATE_LIMIT)


@bp.post("/posts/<slug>/comments")
@cors("POST")
@limiter.limit(_comment_rate_limit, methods=["POST"])
def create_comment(slug: str) -> Response:
    user = token_user(required=False)
    post = visible_post(slug)
    fields = Fields(json_object())
    parent_id = fields.identifier("parent_id")
    form = CommentForm(
        body=fields.text("body"),
        name=fields.text("name"),
        email=fields.text("email"),
        url=fields.text("url"),
        parent_id=str(parent_id) if parent_id is not None else "",
        notify_replies=fields.boolean("notify_replies", False),
    )
    fields.check()
    submitter = Submitter(user, request.remote_addr or "", request.user_agent.string)
    comment = submit_comment(post, form, submitter, site_settings())
    # Spam looks like any held comment: the sender learns nothing about the filters.
    shown = "approved" if comment.status == CommentStatus.APPROVED else "pending"
    response = jsonify({"id": comment.id, "status": shown})
    response.status_code = 201
    return private(response)


@bp.get("/comment-counts")
@cors("GET")
@cached_read
def comment_counts() -> Response:
    """``{"slug": count}`` for each ``slug`` asked; null for a slug of no published post."""
    slugs = request.args.getlist("slug")
    if len(slugs) > MAX_COUNT_SLUGS:
        message = f"Ask for at most {MAX_COUNT_SLUGS} slugs at once."
        raise ApiError(400, message, {"slug": message})
    known = [s for s in slugs if clean_slug(s)]
    counts: dict[str, int | None] = dict.fromkeys(slugs)
    if known:
        # By slug alone, visibility checked here: with the status in the WHERE clause SQLite
        # (no statistics) walked the status index instead of the unique slug (80 ms at 100,000).
        wanted = (Post.slug, Post.comment_count, Post.status, Post.published_at)
        found = db.session.scalars(
            select(Post).options(load_only(*wanted)).where(Post.slug.in_(known))
        )
        counts.update({p.slug: p.comment_count for p in found if is_visible(p)})
    return jsonify(counts)


@bp.get("/comments/recent")
@cors("GET")
@cached_read
def recent_comment_list() -> Response:
    """The newest approved comments on published posts (the sidebar's "Recent Comments")."""
    items = [recent_comment(c) for c in recent_comments(_how_many(), with_text=True)]
    return jsonify({"items": items})


def _how_many() -> int:
    raw = request.args.get("per_page", "")
    if raw == "":
        return SIDEBAR_COUNT
    if raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= MAX_RECENT:
        return int(raw)
    message = f"per_page must be a whole number from 1 to {MAX_RECENT}."
    raise ApiError(400, message, {"per_page": message})
