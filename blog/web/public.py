"""The public reading side: home, blog, posts, archives."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from blog.cache.versions import conditional
from blog.comments.edits import editable_ids
from blog.comments.pages import comment_section
from blog.comments.policy import max_thread_depth
from blog.models import Post
from blog.posts import reading as posts
from blog.posts.reading import PageNotFound, PostFilter
from blog.web.commenter import own_comment_ids
from blog.web.templating import site_settings

bp = Blueprint("public", __name__)


def _page_number() -> int:
    try:
        return posts.parse_page(request.args.get("page"))
    except PageNotFound:
        abort(404)


def _render_list(template: str, where: PostFilter | None = None, **context: object) -> str:
    per_page = 10
    try:
        page = posts.list_published(_page_number(), per_page, where)
    except PageNotFound:
        abort(404)
    return render_template(template, page=page, **context)


@bp.route("/")
@conditional
def home() -> str:
    return _render_list("home.html")


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


@bp.route("/blog/<slug>/<int:number>/")
@conditional
def post_page(slug: str, number: int) -> str | Response:
    """Page ``number`` of a post split by ``<!--nextpage-->``; page 1 is the post's own
    address, as WordPress redirects it."""
    found = posts.get_published_post(slug)
    if found is None:
        abort(404)
    if number == 1:
        return redirect(url_for("public.post", slug=slug), 301)
    return render_post(found, number=number)


def render_post(found: Post, comment_form: Any = None, number: int = 1) -> str:
    """The post page (page ``number`` of its body). ``comment_form`` (values, errors, message,
    preview) brings a rejected or previewed reply back. ``?cpage=N`` chooses the comment page
    (404 past the last)."""
    settings = site_settings()
    own = own_comment_ids()
    try:
        content = posts.post_page(found, number)
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
        content=content,
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
    try:
        start, end = posts.month_range(year, month)
    except ValueError:
        abort(404)
    heading = start.strftime("%B %Y") if month else str(year)
    return _render_list(
        "archive.html", PostFilter(start=start, end=end), heading=heading, kind="date"
    )
