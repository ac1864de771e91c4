"""The public reading side: home, blog, posts, archives."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from werkzeug.wrappers import Response

from blog.cache.conditional import conditional
from blog.comments.edits import editable_ids
from blog.comments.pages import comment_section
from blog.comments.policy import max_thread_depth
from blog.links import this_page
from blog.models import Post
from blog.posts import reading as posts
from blog.posts.reading import PageNotFound, PostFilter
from blog.posts.social import home_metadata, post_metadata
from blog.settings import site_settings
from blog.web.commenter import own_comment_ids
from blog.web.memoized import count_published

bp = Blueprint("public", __name__)


def _page_number() -> int:
    try:
        return posts.parse_page(request.args.get("page"))
    except PageNotFound:
        abort(404)


def _render_list(template: str, where: PostFilter | None = None, **context: object) -> str:
    per_page = 10
    try:
        page = posts.list_published(_page_number(), per_page, where, count_published)
    except PageNotFound:
        abort(404)
    return render_template(template, page=page, **context)


@bp.route("/")
@conditional
def home() -> str:
    return _render_list("home.html", social=home_metadata(site_settings(), this_page()))


@bp.route("/blog/")
@conditional
def blog() -> str:
    return _render_list("archive.html", heading="Blog", kind="blog")


@bp.route("/blog/<slug>/")
@conditional
def post(slug: str) -> str | Response:
    found = posts.get_published_post(slug)
    if found is None:
        abort(404)
    return render_post(found)


def render_post(found: Post, comment_form: Any = None) -> str:
    """The post page. ``comment_form`` (values, errors, message, preview) brings a rejected or
    previewed reply back. ``?cpage=N`` chooses the comment page (404 past the last)."""
    settings = site_settings()
    own = own_comment_ids()
    try:
        cpage = posts.parse_page(request.args.get("cpage")) if request.args.get("cpage") else None
        section = comment_section(found, own, settings, cpage)
    except PageNotFound:
        abort(404)
    depth = max_thread_depth(settings)
    wanted = (comment_form.values.get("parent_id") if comment_form else None) or request.args.get(
        "replytocom", ""
    )
    return render_template(
        "post.html",
        post=found,
        social=post_metadata(found, settings),
        breadcrumbs=posts.breadcrumbs_for(found, settings.site_title),
        thread=section.thread,
        section=section,
        editable=editable_ids(section.comments, own, settings),
        comments_label=posts.comments_label(found.comment_count),
        thread_depth=depth,
        comment_form=comment_form,
        replying_to=next((c for c in section.comments if str(c.id) == wanted), None),
    )


@bp.route("/category/<path:path>/")
@conditional
def category(path: str) -> str:
    found = posts.find_category(path)
    if found is None:
        abort(404)
    where = PostFilter(category_ids=posts.descendant_ids(found))
    crumbs = posts.category_chain(found)
    return _render_list(
        "archive.html", where, heading=found.name, kind="category", category=found, chain=crumbs
    )


@bp.route("/tag/<slug>/")
@conditional
def tag(slug: str) -> str:
    found = posts.find_tag(slug)
    if found is None:
        abort(404)
    return _render_list("archive.html", PostFilter(tag_id=found.id), heading=found.name, kind="tag")


@bp.route("/author/<slug>/")
@conditional
def author(slug: str) -> str:
    found = posts.find_public_author(slug)
    if found is None:
        abort(404)
    return _render_list(
        "archive.html",
        PostFilter(author_id=found.id),
        heading=found.display_name,
        kind="author",
        author=found,
    )


@bp.route("/archive/<int:year>/")
@bp.route("/archive/<int:year>/<int:month>/")
@conditional
def date_archive(year: int, month: int | None = None) -> str:
    zone = site_settings().zone
    try:
        start, end = posts.month_range(year, month, zone)
    except ValueError:
        abort(404)
    heading = start.astimezone(zone).strftime("%B %Y") if month else str(year)
    return _render_list(
        "archive.html", PostFilter(start=start, end=end), heading=heading, kind="date"
    )
